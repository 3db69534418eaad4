"""The Repeats page (pages/repeats.py) through AppTest and in a real browser: the most frequent n-grams against brute
force over the Parquet text, the URL as the view, a bad link as one error, and a click through to an n-gram's
documents on the N-grams page."""
from __future__ import annotations

import pytest

from . import reference as ref
from .browser import screenshot, serve, settle
from .pages import dataframe, no_trouble, open_page

BOILERPLATE = "Accept all cookies to continue reading."
TEXTS = [f"Story {i}: the river rose {i} feet. {BOILERPLATE}" if i % 3 else f"Notes {i}, nothing repeated here."
         for i in range(12)]


@pytest.fixture(scope="module")
def repeats_made(tmp_path_factory):
    made = ref.build_both(tmp_path_factory.mktemp("repeats"), TEXTS, tokenizer="gpt2", shard_tokens=40)
    yield made
    made.one.close()
    made.many.close()


@pytest.mark.parametrize("which", ["one", "many"])
def test_the_table_is_the_brute_force_top(repeats_made, monkeypatch, which):
    at = open_page(repeats_made.corpus.parent / which, monkeypatch, "repeats", n="4", k="6")
    no_trouble(at)
    table = dataframe(at, "count")
    expected, total = ref.top_ngrams(repeats_made.docs, 4, 6, 1)
    assert [tuple(int(t) for t in ids.split(",")) for ids in table["ids"]] == [g for g, _, _ in expected]
    assert table["count"].tolist() == [c for _, c, _ in expected]
    assert table["documents"].tolist() == [d for _, _, d in expected]
    assert f"{total:,} 4-gram occurrences" in " ".join(c.value for c in at.caption)


def test_the_view_is_the_url(repeats_made, monkeypatch):
    at = open_page(repeats_made.corpus.parent / "one", monkeypatch, "repeats")
    no_trouble(at)
    assert len(dataframe(at, "count")) == len(ref.top_ngrams(repeats_made.docs, 13, 20, 1)[0])  # n 13, k 20
    at.number_input(key="repeats_n").set_value(3).run()
    at.number_input(key="repeats_k").set_value(2).run()
    no_trouble(at)
    assert at.query_params["n"] in ("3", ["3"]) and at.query_params["k"] in ("2", ["2"])
    assert len(dataframe(at, "count")) == 2
    at.number_input(key="repeats_n").set_value(13).run()  # the default leaves the URL
    assert "n" not in at.query_params


@pytest.mark.parametrize("which", ["one", "many"])
def test_a_range_lists_the_brute_force_maximal_repeats(repeats_made, monkeypatch, which):
    at = open_page(repeats_made.corpus.parent / which, monkeypatch, "repeats", n="3", upto="9", k="6")
    no_trouble(at)
    expected = ref.maximal_repeats(repeats_made.docs, 3, 9, 6)
    table = dataframe(at, "tokens")
    assert list(zip(table["count"], table["tokens"], table["documents"])) == [
        (count, len(ids), documents) for ids, count, documents in expected]
    assert table["ids"].tolist() == [",".join(map(str, ids)) for ids, _, _ in expected]
    assert "--n 3..9 --k 6" in at.code[0].value
    at.number_input(key="repeats_n").set_value(10).run()  # past the range's end: one length again
    assert "upto" not in at.query_params and "share" in dataframe(at, "count").columns


@pytest.mark.parametrize("which", ["one", "many"])
def test_the_duplicated_spans_are_the_brute_force_ones(repeats_made, monkeypatch, which):
    at = open_page(repeats_made.corpus.parent / which, monkeypatch, "repeats", show="spans", len="6", k="5")
    no_trouble(at)
    covered, expected = ref.repeated_spans(repeats_made.docs, 6, 2)
    table = dataframe(at, "rank")
    assert list(zip(table["tokens"], table["count"])) == [(length, count) for length, count, _ in expected[:5]]
    assert table["documents"].tolist()[0].startswith(", ".join(map(str, expected[0][2][:10])))
    shown = [m.value for m in at.metric]
    assert shown[0] == f"{sum(map(sum, covered)) / sum(map(len, repeats_made.docs)):.2%}"
    assert shown[1] == f"{sum(any(m) for m in covered):,}"
    command = at.code[0].value  # what gives the same figures, and every place, on the command line
    assert "--min-len 6 --min-docs 2 --limit 5\n" in command
    assert "--limit 0 --out spans.parquet --masked-copy" in command
    sources = dataframe(at, "share in spans")
    files = [row.file for row in repeats_made.rows]
    assert sources["source"].tolist() == list(dict.fromkeys(files))  # the two Parquet files, in corpus order
    assert sources["holding one"].tolist() == [sum(any(m) for f, m in zip(files, covered) if f == file)
                                               for file in dict.fromkeys(files)]


@pytest.mark.parametrize("which", ["one", "many"])
def test_spans_beyond_the_app_limit_are_left_to_the_cli(repeats_made, monkeypatch, which):
    """Minutes of work are no request for a shared server: past its limit the page says so and gives the command."""
    import sys
    from dataclasses import replace

    at = open_page(repeats_made.corpus.parent / which, monkeypatch, "repeats", show="spans", len="6")
    no_trouble(at)  # under the limit: answered
    shared = sys.modules["pages._shared"]
    monkeypatch.setattr(shared, "SETTINGS", replace(shared.SETTINGS, app_max_span_tokens=10))
    at.run()
    assert not at.exception and not at.metric and not at.dataframe
    assert [e.value for e in at.error][0].startswith("Duplicated spans over")
    assert "inspector repeats" in at.code[0].value and "--min-len 6" in at.code[0].value


@pytest.mark.parametrize("params, said", [
    ({"n": "0"}, "n (tokens per n-gram) must be from 1 to 1,000, not 0"),
    ({"n": "x"}, "n (tokens per n-gram) must be a whole number from 1 to 1,000, not 'x'"),
    ({"k": "500"}, "k (n-grams or spans listed) must be from 1 to 100, not 500"),
    ({"show": "lines"}, "show must be one of ngrams, spans, not 'lines'"),
    ({"n": "8", "upto": "4"}, "upto (the longest maximal repeat) must be from 8 to 1,000, not 4"),
    ({"show": "spans", "docs": "1"}, "docs (documents a window stands in) must be from 2 to 1,000, not 1"),
])
def test_a_bad_link_is_one_error(repeats_made, monkeypatch, params, said):
    at = open_page(repeats_made.corpus.parent / "one", monkeypatch, "repeats", **params)
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [said]
    assert not at.dataframe


@pytest.fixture(scope="module")
def repeats_server(repeats_made):
    yield from serve(repeats_made.corpus.parent / "one")


def test_an_ngram_opens_its_documents_in_context(page, repeats_server, repeats_made):
    """The boilerplate's 8-gram is the most frequent; its link opens the N-grams page's documents of exactly it."""
    page.goto(f"{repeats_server}/repeats?n=8&k=3")
    settle(page)
    expected, _ = ref.top_ngrams(repeats_made.docs, 8, 1, 1)
    ids, count, documents = expected[0]
    assert count == documents == 8
    screenshot(page, "repeats")
    page.get_by_role("link", name="1. ").first.click()
    page.locator("h1", has_text="N-grams").wait_for(timeout=30_000)
    settle(page)
    assert "mode=Documents" in page.url and "ids=1" in page.url
    assert f"q={'%2C'.join(map(str, ids))}" in page.url or f"q={','.join(map(str, ids))}" in page.url
    assert page.get_by_text("Accept all cookies").count() >= 1


def test_the_spans_view_says_whether_the_catalog_holds_the_signal(tmp_path, monkeypatch):
    from inspector import add_duplication_signal, open_index

    made = ref.build_both(tmp_path, TEXTS[:6], tokenizer="gpt2", shard_tokens=1 << 20)
    made.one.close()
    made.many.close()
    at = open_page(tmp_path / "one", monkeypatch, "repeats", show="spans", len="6")
    no_trouble(at)
    assert at.code[0].value.endswith("--limit 0 --signal")
    assert any("no q_dup_span_frac yet" in c.value for c in at.caption)
    with open_index(tmp_path / "one") as index:
        add_duplication_signal(index, 6, 2)
    for length, said in [("6", "windows of 6 tokens in 2+ documents."), ("7", "(not these settings")]:
        at = open_page(tmp_path / "one", monkeypatch, "repeats", show="spans", len=length)
        no_trouble(at)
        assert any(said in c.value for c in at.caption), [c.value for c in at.caption]
