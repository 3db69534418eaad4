"""The app through Streamlit's AppTest: every page and mode shows the API's numbers; errors are st.error boxes."""
from __future__ import annotations

import html
import random
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inspector import open_index

from .corpora import XSS_TEXT

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(index_dir, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(index_dir))
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)


def no_trouble(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.smoke
def test_overview_shows_the_index_facts(app, index):
    at = app.run()
    no_trouble(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == f"{index.n_documents:,}" and metrics["Tokens"] == f"{index.n_tokens:,}"
    assert at.selectbox(key="facet_column").value == "source"
    at.selectbox(key="distribution_column").set_value("quality").run()
    no_trouble(at)


def test_ngram_modes_show_the_api_answers(app, index):
    at = app.run()
    at.switch_page("pages/ngrams.py").run()
    at.text_area(key="ngram_query").input("data model").run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.count('data model').count:,}"
    at.segmented_control(key="ngram_mode").set_value("Next token").run()
    no_trouble(at)
    ntd = index.ntd("data model")
    assert [m.value for m in at.metric] == [f"{ntd.prompt_count:,}", f"{ntd.distinct:,}", f"{ntd.document_ends:,}"]
    at.segmented_control(key="ngram_mode").set_value("∞-gram").run()
    no_trouble(at)
    assert "title=" in at.html[0].value and "data" in at.html[0].value
    at.segmented_control(key="ngram_mode").set_value("Documents").run()
    no_trouble(at)
    found = index.find("data model")
    assert at.metric[0].value == f"{found.count:,}" and len(at.html) == min(10, found.count)


def test_bad_ngram_query_is_an_error_box(app):
    at = app.run()
    at.switch_page("pages/ngrams.py").run()
    at.segmented_control(key="ngram_mode").set_value("Documents").run()
    at.text_area(key="ngram_query").input("data AND (model").run()
    assert not at.exception and "unbalanced parenthesis" in at.error[0].value


def test_search_filters_and_snippets(app, index):
    at = app.run()
    at.switch_page("pages/search.py").run()
    at.text_input(key="search_query").input("data").run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data').total:,}"
    at.multiselect(key="filter_source").set_value(["web"]).run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data', filters=[('source', 'in', ['web'])]).total:,}"
    at.multiselect(key="filter_source").set_value([])
    at.slider(key="filter_quality").set_value((0.5, at.slider(key="filter_quality").max)).run()
    no_trouble(at)
    assert at.metric[0].value == f"{index.search('data', where='quality >= 0.5').total:,}"
    quality = at.slider(key="filter_quality")
    quality.set_value((quality.min, quality.max))
    at.text_input(key="search_query").input("script alert").run()
    snippet = at.html[0].value
    assert "&lt;<mark>script</mark>&gt;" in snippet and "<script>" not in snippet


def test_document_page_escapes_and_marks(app, monkeypatch):
    at = app.run()
    at.switch_page("pages/document.py")
    at.query_params["doc"] = "10"
    at.query_params["ngram"] = "alert"
    at.run()
    no_trouble(at)
    body = at.html[0].value
    assert html.escape(XSS_TEXT).replace("alert", "<mark>alert</mark>") in body
    assert "<script>" not in body and "<img" not in body


def test_missing_and_damaged_index_are_error_boxes(app, index_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("INSPECTOR_INDEX", str(tmp_path / "nowhere"))
    at = app.run()
    assert not at.exception and any("no index at" in e.value for e in at.error)
    damaged = tmp_path / "damaged"
    shutil.copytree(index_dir, damaged)
    with open_index(damaged) as opened:
        build = opened.build
    (build / "manifest.json").write_text("{")
    monkeypatch.setenv("INSPECTOR_INDEX", str(damaged))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and any("corrupt or incomplete" in e.value for e in at.error)


@pytest.fixture(scope="module")
def long_index(tmp_path_factory):
    """One 4 MB document (bytes tokenizer: a token per byte), with HTML in it."""
    from inspector import build_index

    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp("long")
    text = "".join(f"line {i}: the quick brown fox <b>jumps</b> — naïve\n" for i in range(90_000))
    write_parquet(folder / "c" / "long.parquet", [{"id": "long", "text": text}])
    build_index([folder / "c"], folder / "idx", tokenizer="bytes")
    return folder / "idx", text


def open_document(index_dir, monkeypatch, **params) -> AppTest:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(index_dir))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.switch_page("pages/document.py")
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_long_document_is_shown_a_window_at_a_time(long_index, monkeypatch):
    """Marks are computed, and text sent, for the window named in the URL only; links lead to the next window."""
    import re

    from inspector import Settings, highlight_html

    index_dir, text = long_index
    size, at_ = Settings().document_window_chars, 2_000_003
    at = open_document(index_dir, monkeypatch, doc="0", at=str(at_), ngram="fox", search="jumps")
    no_trouble(at)
    window = text[at_ : at_ + size]
    expected = highlight_html(window, [m.span() for m in re.finditer("fox|jumps", window)])
    assert at.html[0].value.endswith(expected + "</pre>") and len(at.html[0].value) < 3 * size
    assert f"Characters {at_:,}–{at_ + size:,} of {len(text):,}" in at.caption[0].value.replace("\\", "")
    links = {p.proto.label: p.proto.query_string for p in at.get("page_link")}
    assert f"at={at_ + size}" in links[f"Next {size:,} characters"]
    assert f"at={at_ - size}" in links[f"Previous {size:,} characters"]


@pytest.mark.parametrize("params, message", [
    ({"doc": "-1"}, "doc (the document number) must be from 0 to 0, not -1"),
    ({"doc": "99999999999999999999"}, "not 99,999,999,999,999,999,999"),
    ({"doc": "abc"}, "must be a whole number from 0 to 0, not 'abc'"),
    ({"doc": "0", "at": "-5"}, "at (the first character shown) must be from 0"),
    ({"doc": "0", "at": "999999999"}, "has 4,758,890 characters: the window must start at 0..4,758,889"),
    ({"doc": "0", "at": "1e9"}, "must be a whole number"),
    ({"doc": "0", "ngram": "(" * 3000}, "the limit is 16"),
    ({"doc": "0", "search": "x" * 5000}, "the search terms to mark has 5,000 characters"),
    ({"doc": "0", "search": "a\x00b"}, "contains a NUL character"),
])
def test_bad_document_urls_are_one_error_box(long_index, monkeypatch, params, message):
    at = open_document(long_index[0], monkeypatch, **params)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", ""), [e.value for e in at.error]


def test_the_app_switches_to_a_rebuilt_index_and_says_so(tmp_path, corpus_dir, monkeypatch):
    from inspector import build_index

    from .corpora import write_parquet

    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(out))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    no_trouble(at)
    assert {m.label: m.value for m in at.metric}["Documents"] == "59" and not at.toast
    other = write_parquet(tmp_path / "other" / "a.parquet", [{"text": f"a rebuilt corpus, row {i}"} for i in range(7)])
    build_index([other], out)
    at.run()
    no_trouble(at)
    assert {m.label: m.value for m in at.metric}["Documents"] == "7"
    assert "The index was rebuilt" in at.toast[0].value
    at.run()
    assert not at.toast  # said once


def test_a_damaged_index_file_is_an_error_box(tmp_path, corpus_dir, monkeypatch):
    """A file written after the build (its modification time set back, its change time not) fails its checksum on
    open, and the page says so (what no time shows is read in the background thread; see index.storage)."""
    import time

    from inspector import build_index

    from .conftest import damaged_keeping_time

    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    damaged_keeping_time(out)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(out))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    deadline = time.time() + 30
    while not at.error and time.time() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and any("fails its checksum" in e.value for e in at.error)


def test_document_page_says_when_its_source_was_modified(tmp_path, monkeypatch):
    """A source touched after the build: a warning, and the text (checked against the indexed one). A source
    rewritten with other text: an error box (or, from rows the app read before, the indexed text with the warning),
    never the new text shown as if it were indexed."""
    import os

    from inspector import build_index

    from .corpora import write_parquet

    path = write_parquet(tmp_path / "c" / "a.parquet", [{"text": "the indexed words"}, {"text": "more"}])
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    os.utime(path)
    at = open_document(tmp_path / "idx", monkeypatch, doc="0")
    assert not at.exception and not at.error
    assert any("was modified after this index was built" in w.value for w in at.warning)
    write_parquet(path, [{"text": "the changed words"}, {"text": "more"}])
    at = open_document(tmp_path / "idx", monkeypatch, doc="0")
    shown = " ".join(str(h.proto) for h in at.get("html"))
    assert not at.exception and "the changed words" not in shown
    said = [e.value for e in at.error] + [w.value for w in at.warning]
    assert any("changed since the index was built" in m or "was modified after" in m for m in said)


HOSTILE_COLUMN = ":red[q] [a](javascript:alert(1)) **b**"


def test_column_names_from_the_corpus_are_shown_as_text(tmp_path, monkeypatch):
    """A Parquet column's name is corpus data: a filter's label shows it literally, never as Markdown."""
    from inspector import build_index
    from pages._shared import md as escape_markdown

    from .corpora import write_parquet

    rows = [{"text": f"row {i} data", HOSTILE_COLUMN: i / 10, "kind": "ab"[i % 2]} for i in range(9)]
    write_parquet(tmp_path / "c" / "a.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "idx")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(tmp_path / "idx"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    no_trouble(at)
    at.switch_page("pages/search.py").run()
    no_trouble(at)
    assert at.slider(key=f"filter_{HOSTILE_COLUMN}").label == escape_markdown(HOSTILE_COLUMN)


def test_the_app_is_confined_by_default_only_beyond_localhost(tmp_path):
    from inspector.cli import app_roots

    assert app_roots("127.0.0.1", (), tmp_path / "idx") == [] and app_roots("localhost", (), "x") == []
    assert app_roots("0.0.0.0", (), tmp_path / "idx") == [str(tmp_path / "idx")]
    roots = (tmp_path / "a", tmp_path / "b/../c")
    assert app_roots("0.0.0.0", roots, "x") == [str(tmp_path / "a"), str(tmp_path / "c")]


# -- marks in multi-byte text: a character split over tokens, at a window's or the document's end ----------------

LETTER_WORDS = ["東京", "北京", "今日", "עברית", "שלום", "مرحبا", "عربي", "naïve", "data", "ok"]
EMOJI = ["🎉", "👍🏽", "🚀"]


def multibyte_rows(seed: int = 3, n: int = 12) -> list[dict]:
    """Words from many scripts joined by spaces, an emoji now and then glued to a word's end (GPT-2 then splits
    every such word the same way wherever it stands); many documents end with a searched word."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [w + (rng.choice(EMOJI) if rng.random() < 0.2 else "")
                 for w in rng.choices(LETTER_WORDS, k=rng.randint(1, 40))]
        if i % 2:
            words.append(rng.choice(["東京", "עברית", "مرحبا"]))
        rows.append({"id": f"m{i}", "text": " ".join(words)})
    return rows


@pytest.fixture(scope="module", params=["gpt2", "bytes"])
def multibyte_index(request, tmp_path_factory):
    from inspector import build_index

    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp(f"multibyte-{request.param}")
    write_parquet(folder / "c" / "m.parquet", multibyte_rows())
    build_index([folder / "c"], folder / "idx", tokenizer=request.param, fulltext=False)
    with open_index(folder / "idx") as index:
        yield index


def expected_matches(text: str, terms: list[str], kind: str) -> list[tuple[int, int]]:
    """The character spans of a query's terms, by string search: bytes find every occurrence (overlapping too);
    GPT-2 finds a letter word with the space before it (the n-gram's word form), a glued emoji as it stands."""
    spans = set()
    for term in terms:
        spaced = kind == "gpt2" and term[:1].isalnum()
        for i in (m.start() for m in re.finditer(f"(?={re.escape(term)})", text)):
            spans.add((i - 1 if spaced and i else i, i + len(term)))
    return sorted(spans)


@pytest.mark.parametrize("query", ["東京", "עברית", "مرحبا", "🎉", "東京 OR 👍🏽 OR עברית"])
@pytest.mark.slow
def test_every_match_is_marked_with_its_characters(multibyte_index, query):
    """Windows of every size and place, the document's tokens walked in chunks of a few tokens too, mark each match
    (cut at the window's edges) exactly where plain string search finds it."""
    from inspector import document_matches, document_window
    from inspector.document_view import _ngram_marks

    kind = multibyte_index.manifest.tokenizer.kind
    rng = random.Random(kind + query)
    terms = query.split(" OR ")
    for doc in range(multibyte_index.n_documents):
        text = multibyte_index.document(doc).text
        found = expected_matches(text, terms, kind)
        edges = {p for span in found for p in span} | {0, len(text)}
        windows = {(a, b) for a in edges for b in edges if a < b} | {
            (a, min(len(text), a + rng.randint(1, 12))) for a in rng.sample(range(len(text)), min(len(text), 12))}
        for start, end in sorted(windows):
            want = sorted((max(a, start) - start, min(b, end) - start) for a, b in found if a < end and b > start)
            for chunk in (1, 2, 5, 1 << 20):
                assert sorted(_ngram_marks(multibyte_index, doc, query, start, end, chunk)) == want, (
                    doc, start, end, chunk, text)
        assert document_matches(multibyte_index, doc, ngram=query).spans == tuple(found)  # the page's "of N"
        assert sorted(document_window(multibyte_index, doc, 0, 100_000, ngram=query).marks) == found


def test_the_last_match_of_a_document_is_marked_on_the_page(tmp_path, monkeypatch):
    """The reported case: the second match, at the document's end, ends in a token that starts no character."""
    from inspector import build_index

    from .corpora import write_parquet

    rows = [{"text": "שלום עברית ועוד עברית"}, {"text": "今日は東京に行きます 東京"}]
    write_parquet(tmp_path / "c" / "h.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "idx", fulltext=False)
    for doc, word in (("0", "עברית"), ("1", "東京")):
        at = open_document(tmp_path / "idx", monkeypatch, doc=doc, ngram=word, match="2")
        no_trouble(at)
        assert any(m.value == "match 2 of 2" for m in at.markdown)
        assert at.html[0].value.endswith(f"<mark> {word}</mark></pre>")
