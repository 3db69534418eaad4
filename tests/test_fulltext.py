"""Full-text search and the catalog on real Parquet fixtures: exact hits, filters, safe snippets, friendly errors."""
from __future__ import annotations

import random
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
    from .corpora import write_parquet

    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "Language models learn."}, {"text": "A model learned."}])
    build_index([tmp_path / "c"], tmp_path / "plain")
    build_index([tmp_path / "c"], tmp_path / "stem", stem=True)
    assert {h.doc for h in open_index(tmp_path / "plain").search("model").hits} == {1}
    assert {h.doc for h in open_index(tmp_path / "stem").search("model").hits} == {0, 1}


def test_a_long_hit_gets_its_snippet_from_the_start_of_its_text(tmp_path):
    """A hit's snippet is chosen from the first `snippet_source_chars` characters only: a page of hits costs the
    same however long its documents are. A term found only further in still makes the hit, without marks."""
    from inspector import Settings

    from .corpora import write_parquet

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


# -- CJK words inside unsegmented text (`--fulltext-tokenizer`) ----------------------------------------------------

CJK_CHARS = "東京大阪都日本語学生のにはカタ한국"


def cjk_rows(seed: int = 5, n: int = 60) -> list[dict]:
    """Runs of CJK characters from a small alphabet (so short words recur inside them), Latin words, spaces and
    punctuation, glued or apart at random; every fifth document without CJK (the two go to different fields)."""
    rng = random.Random(seed)

    def pieces(i: int) -> list[str]:
        latin = [rng.choice(["data", "Model", "x1"]), rng.choice([" ", "", ", "])]
        return latin if i % 5 == 0 else latin + ["".join(rng.choices(CJK_CHARS, k=rng.randint(1, 12))), "、", "。"]

    return [{"text": "".join(rng.choice(pieces(i)) for _ in range(rng.randint(1, 30)))} for i in range(n)]


def cjk_found(text: str) -> str:
    """The text as the cjk terms' positions see it: a phrase's characters may stand apart by what is no term
    (spaces, punctuation), as the words of any phrase may."""
    return re.sub(r"[\W_]+", "", text)


@pytest.fixture(scope="module")
def cjk_indexes(tmp_path_factory):
    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp("cjk")
    rows = cjk_rows()
    write_parquet(folder / "c" / "a.parquet", rows)
    build_index([folder / "c"], folder / "cjk", tokenizer="bytes")  # the default full-text tokenizer: cjk
    run("build", folder / "c", "--out", folder / "words", "--tokenizer", "bytes", "--fulltext-tokenizer", "words")
    with open_index(folder / "cjk") as cjk, open_index(folder / "words") as plain:
        yield [r["text"] for r in rows], cjk, plain


def test_a_cjk_word_is_found_inside_unsegmented_text(cjk_indexes):
    """Every document holding the query (string search) is a hit and no other, its marks over the query's
    characters; the words tokenizer finds only a whole run (the weaker answer that cjk, the default, replaces)."""
    texts, cjk, plain = cjk_indexes
    assert cjk.manifest.fulltext.tokenizer == "cjk" and plain.manifest.fulltext.tokenizer == "words"
    rng = random.Random(1)
    queries = {t[i : i + n] for t in rng.sample([cjk_found(t) for t in texts], 20) for n in (1, 2, 3)
               for i in [rng.randrange(max(1, len(t) - n))] if re.fullmatch(f"[{CJK_CHARS}]+", t[i : i + n])}
    queries |= {"東京", "日本語", "学生", "カタ", "한국", "京東大"}
    weaker = 0
    for query in sorted(queries):
        expected = {d for d, t in enumerate(texts) if query in cjk_found(t)}
        result = cjk.search(query, limit=100)
        assert result.total == len(expected) and {h.doc for h in result.hits} == expected, query
        for hit in result.hits:
            marked = [cjk_found(hit.snippet[a:b]) for a, b in hit.highlights]
            assert marked and set(marked) == {query}, (query, hit.snippet)
            text = texts[hit.doc]  # and every place in the text, overlapping ones too
            apart = "[\\W_]*".join(map(re.escape, query))
            expected_marks = [m.span(1) for m in re.finditer(f"(?=({apart}))", text)]
            assert list(cjk.search_highlights(text, query)) == expected_marks
        whole = {d for d, t in enumerate(texts) if query in re.findall(r"[^\W_]+", t)}
        assert {h.doc for h in plain.search(query, limit=100).hits} == whole <= expected
        weaker += whole != expected
    assert weaker > len(queries) / 2  # the words tokenizer misses most of them
    latin = {d for d, t in enumerate(texts) if "data" in re.split(f"[\\W_{CJK_CHARS}]+", t.lower())}
    assert {h.doc for h in cjk.search("data", limit=100).hits} == latin  # a word glued to CJK is a word


def test_an_index_from_before_the_tokenizer_choice_opens_as_words(tmp_path):
    """An index whose manifest does not name its full-text tokenizer is searched as it was built (words), and an
    append keeps it so; a manifest naming an unknown one is one clear error."""
    from index.errors import IndexCorrupt

    from .corpora import write_parquet
    from .test_integrity import _rewrite_manifest

    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "今日は東京に行きます"}, {"text": "東京"}])
    write_parquet(tmp_path / "d" / "b.parquet", [{"text": "東京 data"}])
    out = tmp_path / "idx"
    build_index([tmp_path / "c"], out, fulltext_tokenizer="words")
    _rewrite_manifest(out, lambda m: m["fulltext"].pop("tokenizer"))
    with open_index(out) as index:
        assert index.manifest.fulltext.tokenizer is None  # not recorded: read as "words"
        assert [(h.doc, h.highlights) for h in index.search("東京").hits] == [(1, ((0, 2),))]
    with pytest.raises(InspectorError, match=r"--fulltext-tokenizer \(the index: 'words', here: 'cjk'\)"):
        build_index([tmp_path / "d"], out, append=True, fulltext_tokenizer="cjk")
    build_index([tmp_path / "d"], out, append=True)
    with open_index(out) as index:
        assert index.manifest.fulltext.tokenizer == "words"
        assert {h.doc for h in index.search("東京").hits} == {1, 2}
    _rewrite_manifest(out, lambda m: m["fulltext"].update(tokenizer="thai"))
    with pytest.raises(IndexCorrupt, match="unknown tokenizer 'thai'"), open_index(out) as index:
        index.search("東京")


def test_a_document_with_any_character_the_cjk_terms_cut_apart_goes_to_them():
    """Only documents holding CJK go to the field of the (slower) cjk terms: the test for one must take in every
    character those terms cut apart, as Tantivy's regex knows them (each code point tried)."""
    from index.fulltext import has_cjk, text_analyzer

    glued = " ".join("a" + chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
    apart = {term for term in text_analyzer("cjk", False).analyze(glued) if len(term) == 1 and term != "a"}
    assert len(apart) > 90_000 and all(has_cjk(c) for c in apart)
    assert not has_cjk("naïve café — data 🎉") and has_cjk("今日") and has_cjk("서울") and has_cjk("カタカナ")
    assert has_cjk("é" * (1 << 20) + "東") and has_cjk("𠀋") and not has_cjk("é" * (1 << 20) + "x")
