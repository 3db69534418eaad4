"""The Search and Document pages through AppTest on a small seeded index: bad links are one error box, phrases are
marked as phrases, long documents open at their matches and step from one to the next, the query semantics, filters
and page kept in the URL, and each hit's facts."""
from __future__ import annotations

import pytest

from inspector import InvalidQuery, Settings, build_index, open_index

from .corpora import MIDDLE, PHRASE, phrase_starts, write_parquet
from .pages import no_trouble, open_page


def shown(at) -> str:
    """The document text as the page sends it (HTML)."""
    return next(h.value for h in at.html if "document-text" in h.value)


def param(at, name: str) -> list[str]:
    """A URL parameter's values (AppTest keeps a value given as text as text, one the page set as a list)."""
    value = at.query_params[name]
    return value if isinstance(value, list) else [value]


def errors(at) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


# -- 1. bad document links --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, said", [
    ("99999999", "doc (the document number) must be from 0 to 26, not 99,999,999"),
    ("abc", "doc (the document number) must be a whole number from 0 to 26, not 'abc'"),
    ("-5", "doc (the document number) must be from 0 to 26, not -5"),
])
def test_a_bad_document_link_is_one_error_and_no_document(search_index_dir, monkeypatch, value, said):
    at = open_page(search_index_dir, monkeypatch, "document", doc=value)
    assert not at.exception and errors(at) == [said]
    assert not any("document-text" in h.value for h in at.html)  # no other document shown instead
    assert param(at, "doc") == [value]  # the link is left as it was, not rewritten to a valid one


# -- 2. phrases marked as phrases -------------------------------------------------------------------------------

def test_a_phrase_is_marked_as_one_span_and_only_where_it_stands(search_index):
    apart = search_index.document(1).text
    assert search_index.search_highlights(apart, PHRASE) == ()  # both words there, not as the phrase
    assert [apart[a:b] for a, b in search_index.search_highlights(apart, "kernel module")] == ["kernel", "module"]
    phrase = search_index.document(0).text
    assert [phrase[a:b] for a, b in search_index.search_highlights(phrase, PHRASE)] == ["kernel module"]
    assert [phrase[a:b] for a, b in search_index.search_highlights(phrase, "kernel-module")] == ["kernel module"]
    assert search_index.search_highlights(phrase, f"{PHRASE} -boot") == ((10, 23),)
    assert search_index.search_highlights(phrase, "boot -kernel") == ((27, 31),)  # an excluded word is not marked
    hit = next(h for h in search_index.search(PHRASE).hits if h.doc == 0)
    assert "a <mark>kernel module</mark> at" in hit.snippet_html


@pytest.mark.smoke
def test_the_document_page_marks_the_phrase_not_its_words(search_index_dir, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "document", doc="1", search=PHRASE)
    no_trouble(at)
    assert "<mark>" not in shown(at)
    at = open_page(search_index_dir, monkeypatch, "document", doc="0", search=PHRASE)
    no_trouble(at)
    assert "Loading a <mark>kernel module</mark> at boot" in shown(at)


@pytest.mark.smoke
def test_search_snippets_mark_the_phrase(search_index_dir, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "search", q=PHRASE)
    no_trouble(at)
    snippets = [h.value for h in at.html if "<mark>" in h.value]
    assert snippets and all("<mark>kernel module</mark>" in s for s in snippets)
    assert not any("<mark>kernel</mark>" in s or "<mark>module</mark>" in s for s in snippets)


# -- 3. long documents: open at the first match, step from match to match ---------------------------------------

@pytest.mark.parametrize("marks", [{"search": PHRASE}, {"ngram": "kernel module"}])
def test_a_long_document_opens_at_its_first_match_and_steps(search_index_dir, search_index, monkeypatch, marks):
    text = search_index.document(2).text
    starts = phrase_starts(text)
    assert len(text) > 250_000 and len(starts) == 3 and starts[0] > 189_000
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", **marks)
    no_trouble(at)
    assert any(m.value == "match 1 of 3" for m in at.markdown)
    body = shown(at)
    assert "kernel module</mark> now" in body and "load the " in body
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert f"Characters {starts[0] - 300:,}–" in caption
    at.button(key="next_match").click().run()
    no_trouble(at)
    assert param(at, "match") == ["2"] and "at" not in at.query_params
    assert any("match 2 of 3" in m.value for m in at.markdown)
    assert f"Characters {starts[1] - 300:,}–" in " ".join(c.value for c in at.caption).replace("\\", "")
    at.button(key="next_match").click().run()
    assert at.button(key="next_match").disabled and not at.button(key="previous_match").disabled
    at.button(key="previous_match").click().run()
    assert param(at, "match") == ["2"]


def test_a_window_named_by_at_steps_to_the_matches_around_it(search_index_dir, search_index, monkeypatch):
    starts = phrase_starts(search_index.document(2).text)
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, at=str(starts[1]))
    no_trouble(at)
    assert any(m.value == "3 matches" for m in at.markdown)
    at.button(key="previous_match").click().run()
    assert param(at, "match") == ["1"] and "at" not in at.query_params
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, at="0")
    assert at.button(key="previous_match").disabled
    at.button(key="next_match").click().run()
    assert param(at, "match") == ["1"]


def test_a_match_link_opens_that_match_and_a_bad_one_is_an_error(search_index_dir, search_index, monkeypatch):
    starts = phrase_starts(search_index.document(2).text)
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, match="3")
    no_trouble(at)
    assert f"Characters {starts[2] - 300:,}–" in " ".join(c.value for c in at.caption).replace("\\", "")
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, match="4")
    assert not at.exception and errors(at) == [
        "match (the match shown) must be from 1 to 3 (the matches in document 2), not 4"]
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", match="1")
    assert not at.exception and len(at.error) == 1 and "needs an n-gram" in errors(at)[0]
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, match="x")
    assert not at.exception and len(at.error) == 1 and "match (the match shown) must be a whole number" in errors(at)[0]


def test_new_marks_or_another_document_open_at_the_first_match(search_index_dir, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE, match="3")
    at.text_input(key="doc_search").input("lorem").run()
    no_trouble(at)
    assert param(at, "search") == ["lorem"] and "match" not in at.query_params
    assert any(m.value == "match 1 of 1,000 \\(the first 1,000 matches\\)" for m in at.markdown)
    at.number_input(key="doc_number").set_value(0).run()
    no_trouble(at)
    assert param(at, "doc") == ["0"] and param(at, "search") == ["lorem"] and "match" not in at.query_params
    assert any(i.value == "Nothing marked occurs in this document." for i in at.info)


def test_matches_are_capped_and_say_so(search_index):
    from inspector.document_view import document_matches

    found = document_matches(search_index, 2, search="lorem", limit=50)
    assert len(found.spans) == 50 and found.limited == "the first 50 matches"
    assert document_matches(search_index, 2, search=PHRASE).limited == ""
    cut = document_matches(search_index, 2, search=PHRASE, scan_chars=1_000)
    assert cut.spans == () and cut.limited == "searched the first 1,000 characters"


# -- 4. query semantics ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, said", [
    ("kernel AND", "ends with AND"),
    ("OR kernel", "has OR at the start"),
    ("kernel AND OR module", "has OR after AND"),
    ("kernel NOT", "ends with NOT"),
])
def test_a_dangling_operator_is_an_error(search_index_dir, search_index, monkeypatch, query, said):
    with pytest.raises(InvalidQuery, match=said):
        search_index.search(query)
    at = open_page(search_index_dir, monkeypatch, "search", q=query)
    assert not at.exception and len(at.error) == 1 and said in errors(at)[0]
    assert search_index.search(query.replace("AND", '"and"').replace("OR", '"or"').replace("NOT", '"not"')).total >= 0


def test_a_field_clause_joins_the_query_with_and(search_index):
    both = search_index.search("source:linux-doc kernel", limit=50)
    assert {h.doc for h in both.hits} == {0, 2} and both.total == 2
    assert search_index.search("source:linux-doc OR kernel").total == 27  # OR still says OR
    assert search_index.search("kernel module").total == 27  # without a field: any word


# -- 5. filters and page in the URL ------------------------------------------------------------------------------

def test_filters_and_page_come_from_the_url_and_go_back_to_it(search_index_dir, search_index, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel", f_source="web", f_quality="0.05..0.8", page="2")
    no_trouble(at)
    expected = search_index.search("kernel", filters=[("source", "in", ["web"]), ("quality", ">=", 0.05),
                                                       ("quality", "<=", 0.8)], limit=10, offset=10)
    assert at.metric[0].value == f"{expected.total:,}" and expected.total > 10
    shown_docs = [t.value.split(" · ")[0] for t in at.text if t.value.startswith("doc ")]
    assert shown_docs == [f"doc {h.doc}" for h in expected.hits]
    said = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Filtered by: source in [web]; quality 0.05 to 0.8" in said and "page 2 of" in said
    assert at.multiselect(key="filter_source").value == ["web"]
    assert at.number_input(key="filter_quality_min").value == 0.05
    assert at.number_input(key="filter_quality_max").value == 0.8
    at.number_input(key="filter_quality_max").set_value(0.5).run()  # a precise bound; back to page 1
    no_trouble(at)
    assert param(at, "f_quality") == ["0.05..0.5"] and "page" not in at.query_params
    at.number_input(key="search_page").set_value(2).run()
    assert param(at, "page") == ["2"]
    at.text_input(key="search_query").input("notes").run()  # a new query: page 1
    no_trouble(at)
    assert param(at, "q") == ["notes"] and "page" not in at.query_params
    assert param(at, "f_source") == ["web"] and at.number_input(key="search_page").value == 1
    at.multiselect(key="filter_source").set_value(["web", "books"]).run()
    assert param(at, "f_source") == ["web", "books"]


@pytest.mark.parametrize("params, said", [
    ({"f_nope": "1"}, "f_nope: no filterable column 'nope'"),
    ({"f_quality": "high"}, "f_quality must be LOW..HIGH with numbers"),
    ({"f_quality": "0.9..0.1"}, "f_quality must go from low to high"),
    ({"f_quality": "nan.."}, "f_quality must be LOW..HIGH"),
    ({"f_quality": "1e999.."}, "f_quality must be LOW..HIGH"),
    ({"f_year": "2000.5..2010"}, "f_year holds whole numbers"),
    ({"page": "0"}, "page must be from 1"),
    ({"sort": "source"}, "sort must be one of: -quality, quality, -year, year"),
])
def test_bad_filter_links_are_one_error(search_index_dir, monkeypatch, params, said):
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel", **params)
    assert not at.exception and len(at.error) == 1 and said in errors(at)[0], errors(at)


def test_the_sort_comes_from_the_url_and_goes_back_to_it(search_index_dir, search_index, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel", sort="-quality", page="2")
    no_trouble(at)
    expected = search_index.search("kernel", sort="-quality", limit=10, offset=10)
    qualities = [h.metadata["quality"] for h in expected.hits]
    assert qualities == sorted(qualities, reverse=True) and expected.hits[0].score != expected.hits[0].score  # NaN
    assert [t.value.split(" · ")[0] for t in at.text if t.value.startswith("doc ")] == [
        f"doc {h.doc}" for h in expected.hits]
    assert not any("score" in t.value for t in at.text if t.value.startswith("doc "))  # no relevance score to show
    at.selectbox(key="search_sort").set_value("year").run()  # another order: page 1
    no_trouble(at)
    assert param(at, "sort") == ["year"] and "page" not in at.query_params
    assert at.text[0].value.startswith("doc 0 ")  # the lowest year holding kernel
    at.selectbox(key="search_sort").set_value("").run()
    assert "sort" not in at.query_params and "score" in at.text[0].value
    with pytest.raises(InvalidQuery, match="cannot sort by 'source'"):
        search_index.search("kernel", sort="source")


def test_an_open_range_filters_one_side(search_index_dir, search_index, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel", f_quality="0.5..", f_year="..2020")
    no_trouble(at)
    assert at.metric[0].value == str(search_index.search("kernel", where="quality >= 0.5 AND year <= 2020").total)
    assert "quality ≥ 0.5; year ≤ 2020" in " ".join(c.value for c in at.caption).replace("\\", "")
    assert at.number_input(key="filter_year_max").value == 2020 and at.number_input(key="filter_year_min").value is None


# -- 6. each hit's facts -----------------------------------------------------------------------------------------

def test_each_hit_shows_its_score_source_length_and_quality(search_index_dir, search_index, monkeypatch):
    at = open_page(search_index_dir, monkeypatch, "search", q=PHRASE)
    no_trouble(at)
    hit = search_index.search(PHRASE).hits[0]
    facts = next(t.value for t in at.text if t.value.startswith(f"doc {hit.doc} "))
    assert facts == (f"doc {hit.doc} · id phrase · score {hit.score:.3f} · "
                     f"{search_index.documents.tokens(hit.doc):,} tokens · source linux-doc · quality 0.9")


def test_hostile_metadata_is_shown_as_text(tmp_path, monkeypatch):
    rows = [{"text": "kernel words", "source": "<b>x</b> [a](javascript:alert(1))", "quality": 0.5},
            {"text": "other words", "source": "web", "quality": 0.1}]
    write_parquet(tmp_path / "c" / "a.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    at = open_page(tmp_path / "idx", monkeypatch, "search", q="kernel")
    no_trouble(at)
    assert any(t.value.endswith("source <b>x</b> [a](javascript:alert(1)) · quality 0.5") for t in at.text)
    assert all("<b>" not in h.value for h in at.html)


def test_snippet_settings_still_bound_the_work(search_index_dir):
    with open_index(search_index_dir, settings=Settings(snippet_source_chars=1000)) as index:
        (hit,) = [h for h in index.search(PHRASE, limit=5).hits if h.doc == 2]
        assert hit.highlights == ()  # the phrase is past the first 1,000 characters: no marks, the text's start


# -- the Document page: an empty or bad doc, a document that fits one window, the window's caption ------------------

@pytest.mark.parametrize("value, said", [
    ("", "doc (the document number) is empty: give a whole number from 0 to 26"),
    ("abc", "doc (the document number) must be a whole number from 0 to 26, not 'abc'"),
])
def test_an_empty_or_bad_doc_is_an_error_with_a_box_to_open_another(search_index_dir, search_index, monkeypatch,
                                                                     value, said):
    at = open_page(search_index_dir, monkeypatch, "document", doc=value)
    assert not at.exception and errors(at) == [said]
    assert not any("document-text" in h.value for h in at.html)  # document 0 is not opened instead
    box = at.number_input(key="doc_number")
    assert box.value is None
    box.set_value(3).run()
    no_trouble(at)
    assert param(at, "doc") == ["3"] and search_index.document(3).text in shown(at)


@pytest.mark.parametrize(
    "marks",
    [{"search": "needle"}, {"ngram": "needle"}, {"mark": f"{MIDDLE.index('needle')}-{MIDDLE.index('needle') + 6}"}],
)
def test_a_document_that_fits_one_window_opens_whole_at_its_start(middle_index_dir, monkeypatch, marks):
    """A match 20,000 characters in: the whole document is shown from its first character, no caption of a window;
    the page scrolls to the match (the script names which mark: the first, here)."""
    assert 10_000 < MIDDLE.index("needle") < len(MIDDLE) < Settings().document_window_chars
    at = open_page(middle_index_dir, monkeypatch, "document", doc="0", **marks)
    no_trouble(at)
    assert shown(at).startswith("<pre") and ">" + MIDDLE[:40] in shown(at) and "<mark>needle</mark>" in shown(at)
    assert not any("Characters" in c.value for c in at.caption) and not at.code
    script = [h.value for h in at.html if "<script>" in h.value]
    assert len(script) == 1 and 'querySelectorAll(".document-text mark")[0]' in script[0]


def test_a_window_says_it_is_one_and_names_the_command_for_the_whole_text(search_index_dir, search_index,
                                                                           monkeypatch):
    from click.testing import CliRunner

    from inspector.cli import main

    text = search_index.document(2).text
    start = phrase_starts(text)[0] - 300
    at = open_page(search_index_dir, monkeypatch, "document", doc="2", search=PHRASE)
    no_trouble(at)
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    end = min(len(text), start + Settings().document_window_chars)
    assert caption.startswith(f"Characters {start:,}–{end:,} of {len(text):,}: a window of the document.")
    assert "a window of the document" in caption and "INDEX" not in caption
    assert [c.value for c in at.code] == [f"inspector doc {search_index_dir} 2"]
    printed = CliRunner().invoke(main, at.code[0].value.split()[1:])
    assert printed.exit_code == 0 and printed.output.endswith(text + "\n")


# -- paging: below the results too, and past the end a message and a way back ------------------------------------

def hit_docs(at) -> list[str]:
    return [t.value.split(" · ")[0] for t in at.text if t.value.startswith("doc ")]


def test_a_page_past_the_end_says_so_and_leads_back(search_index_dir, search_index, monkeypatch):
    total = search_index.search("kernel").total
    pages = (total + 9) // 10
    assert pages >= 2
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel", page="99")
    no_trouble(at)
    assert [w.value for w in at.warning] == [f"Page 99 is past the end: the answer has {pages} page(s) of 10."]
    assert hit_docs(at) == []
    at.button(key="search_pager_last").click().run()
    no_trouble(at)
    assert param(at, "page") == [str(pages)] and not at.warning
    last = search_index.search("kernel", limit=10, offset=(pages - 1) * 10)
    assert hit_docs(at) == [f"doc {h.doc}" for h in last.hits]


def test_paging_controls_below_the_results_share_the_url_with_the_box_above(search_index_dir, search_index,
                                                                            monkeypatch):
    pages = (search_index.search("kernel").total + 9) // 10
    at = open_page(search_index_dir, monkeypatch, "search", q="kernel")
    assert at.button(key="search_pager_previous").disabled and not at.button(key="search_pager_next").disabled
    at.button(key="search_pager_next").click().run()
    no_trouble(at)
    assert param(at, "page") == ["2"] and at.number_input(key="search_page").value == 2
    assert hit_docs(at) == [f"doc {h.doc}" for h in search_index.search("kernel", limit=10, offset=10).hits]
    assert any(c.value == f"page 2 of {pages}" for c in at.caption)
    at.number_input(key="search_page").set_value(pages).run()
    assert at.button(key="search_pager_next").disabled and not at.button(key="search_pager_previous").disabled
    at.button(key="search_pager_previous").click().run()
    assert param(at, "page") == [str(pages - 1)] and at.number_input(key="search_page").value == pages - 1
