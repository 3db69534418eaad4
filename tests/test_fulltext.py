"""Full-text search and the catalog on real Parquet fixtures: exact hits, filters, safe snippets, friendly errors."""
from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from inspector import InspectorError, InvalidQuery, build_index, open_index

from .test_cli import run


@pytest.fixture(scope="module")
def rows(corpus_dir):
    table = pq.read_table(sorted(corpus_dir.glob("*.parquet")))
    return [r for r in table.to_pylist() if r["text"]]  # in document order: empty texts are not documents


def words(text: str) -> set[str]:
    """Tantivy's default analysis: alphanumeric runs, lower-cased."""
    return {w.lower() for w in re.findall(r"[^\W_]+", text)}


def test_planted_phrase_finds_exactly_its_document(index):
    result = index.search('"purple elephant umbrella"')
    assert result.total == 1 and [h.doc for h in result.hits] == [3]
    assert result.hits[0].id == "doc-003" and result.hits[0].metadata["url"] == "https://example.org/3"
    assert index.search('"elephant purple"').total == 0  # a phrase, not a bag of words


@pytest.mark.parametrize(
    "where,keep",
    [
        ("quality >= 0.5", lambda r: r["quality"] >= 0.5),
        ("quality < 0.25 AND source = 'web'", lambda r: r["quality"] < 0.25 and r["source"] == "web"),
        ("source != books", lambda r: r["source"] != "books"),
    ],
)
def test_filters_keep_exactly_what_they_should(index, rows, where, keep):
    expected = {d for d, r in enumerate(rows) if "data" in words(r["text"]) and keep(r)}
    result = index.search("data", where=where, limit=100)
    assert result.total == len(expected) and {h.doc for h in result.hits} == expected
    assert expected and len(expected) < sum("data" in words(r["text"]) for r in rows)


def test_source_option_and_injection_are_literal(index_dir, rows):
    got = run("search", index_dir, "model", "--source", "code", "--limit", "100")
    expected = {d for d, r in enumerate(rows) if "model" in words(r["text"]) and r["source"] == "code"}
    assert got["total"] == len(expected) and {h["doc"] for h in got["hits"]} == expected
    assert run("search", index_dir, "model", "--source", "' OR 1=1--")["total"] == 0


def test_snippets_mark_matches_and_escape_html(index):
    hit = index.search("script alert").hits[0]
    assert hit.doc == 10
    assert "<script>" not in hit.snippet_html and "&lt;<mark>script</mark>&gt;" in hit.snippet_html
    assert "<img" not in hit.snippet_html and "&lt;img src=x onerror=<mark>alert</mark>(1)&gt;" in hit.snippet_html
    for a, b in hit.highlights:
        assert hit.snippet[a:b].lower() in {"script", "alert"}


def test_non_ascii_highlights_are_character_ranges(index):
    hit = index.search("café").hits[0]
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["café"]


def test_bad_syntax_is_a_warning_not_an_error(index):
    result = index.search('nosuchfield:x AND "unbalanced quote')
    assert any("nosuchfield" in w for w in result.warnings) and any("delimiter" in w for w in result.warnings)
    with pytest.raises(InvalidQuery, match="no filterable column 'nope'; the columns are: id, quality, source, url"):
        index.search("data", where="nope > 1")
    with pytest.raises(InvalidQuery, match="holds numbers"):
        index.search("data", where="quality > high")
    with pytest.raises(InvalidQuery, match="cannot read a condition"):
        index.search("data", where="quality >>> 1")


def test_stats_match_the_parquet_files(index, rows):
    stats = index.stats()
    assert stats.documents == len(rows) and stats.tokens == index.n_tokens
    by_source = {g.value: g.documents for g in stats.facets["source"]}
    assert by_source == {s: sum(r["source"] == s for r in rows) for s in {r["source"] for r in rows}}
    assert sum(g.tokens for g in stats.facets["source"]) == index.n_tokens
    assert "url" not in stats.facets and "id" not in stats.facets  # one value per document: not a facet
    quality = stats.distributions["quality"]
    assert quality.count == len(rows) and sum(quality.bin_counts) == len(rows)
    assert quality.max == max(r["quality"] for r in rows)
    assert stats.distributions["chars"].mean == pytest.approx(sum(len(r["text"]) for r in rows) / len(rows))


def test_catalog_columns_come_from_an_allow_list(index):
    with pytest.raises(InvalidQuery, match="no column"):
        index.catalog.column('source"; DROP TABLE documents; --')
    assert index.catalog.group_counts("source")


def test_no_fulltext_build_says_how_to_search(tmp_path, corpus_dir):
    build_index([corpus_dir], tmp_path / "i", fulltext=False)
    idx = open_index(tmp_path / "i")
    assert idx.count("data").count > 0
    with pytest.raises(InspectorError, match="--no-fulltext"):
        idx.search("data")


def test_stemming_is_an_option(tmp_path):
    from .conftest import write_parquet

    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "Language models learn."}, {"text": "A model learned."}])
    build_index([tmp_path / "c"], tmp_path / "plain")
    build_index([tmp_path / "c"], tmp_path / "stem", stem=True)
    assert {h.doc for h in open_index(tmp_path / "plain").search("model").hits} == {1}
    assert {h.doc for h in open_index(tmp_path / "stem").search("model").hits} == {0, 1}


def test_a_long_hit_gets_its_snippet_from_the_start_of_its_text(tmp_path):
    """A hit's snippet is chosen from the first `snippet_source_chars` characters only: a page of hits costs the
    same however long its documents are. A term found only further in still makes the hit, without marks."""
    from inspector import Settings

    from .conftest import write_parquet

    text = "alpha " * 300 + "omega " * 10 + "filler " * 1000
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": text}])
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    with open_index(tmp_path / "idx", settings=Settings(snippet_source_chars=1000)) as index:
        (hit,) = index.search("omega").hits
        assert hit.highlights == () and set(hit.snippet.split()) <= {"alpha"}
        (hit,) = index.search("alpha").hits
        assert hit.highlights and hit.snippet.startswith("alpha")
    with open_index(tmp_path / "idx") as index:
        (hit,) = index.search("omega").hits
        assert "omega" in hit.snippet and hit.highlights
