"""What the corpus repeats (`inspector.repeats`) against brute force over the Parquet text: the top n-grams of any
length, their counts, ties and documents, one shard and many; and `inspector top --json`.

The reference counts every n-gram of the reference documents (tests/reference.py: the Parquet rows encoded with the
tokenizer), never the index's own files. Random corpora use a tiny alphabet, so n-grams repeat, within documents
and across them and across shard edges."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.errors import InvalidQuery
from inspector.cli import main
from inspector.repeats import (
    duplicated_cover,
    duplicated_fractions,
    maximal_repeats,
    repeated_spans,
    top_ngrams,
)

from . import reference as ref
from .profiles import examples

CHARS = "ab é\U00100000"  # F4, the largest byte valid UTF-8 has, lies next to the separator FF
SETTINGS = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def answered(index, n: int, k: int, min_count: int = 1) -> tuple[list[tuple], int]:
    top = top_ngrams(index, n, k, min_count)
    assert top.n == n
    return [(g.ids, g.count, g.documents) for g in top.ngrams], top.total


@SETTINGS
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       n=st.integers(1, 6), k=st.integers(1, 12), min_count=st.integers(1, 3))
# the largest suffixes, last in every shard's order, repeat: their run ends at the shard's last rank
@example(texts=["a\U00100000", "\U00100000", "b\U00100000"], shard_tokens=12, n=4, k=2, min_count=1)
@example(texts=["\U00100000\U00100000", "\U00100000"], shard_tokens=5, n=2, k=3, min_count=2)
@example(texts=["\U00100000", "\U00100000"], shard_tokens=12, n=4, k=2, min_count=1)
def test_top_ngrams_match_brute_force(texts, shard_tokens, n, k, min_count):
    with ref.built(texts, "bytes", shard_tokens) as made:
        expected = ref.top_ngrams(made.docs, n, k, min_count)
        for index in made.indexes:
            assert answered(index, n, k, min_count) == expected


def _shared(a: list[int], b: list[int]) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


@SETTINGS
@example(texts=["\U00100000", "\U00100000"], shard_tokens=12)
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12))
def test_lcp_arrays_match_the_documents_suffixes(texts, shard_tokens):
    """Every rank's LCP, first and last included, is what the two suffixes of the reference documents (at the
    places the suffix array names) share, ending at the document's end."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        check_lcp(made)


def check_lcp(made) -> None:
    for engine in made.engines:
        for number, shard in enumerate(engine.shards):
            lcp = engine.lcp(number).tolist()
            assert len(lcp) == shard.searchable and lcp[:1] == [0][: len(lcp)]
            suffixes = []
            for position in shard.sa.tolist():
                local = int(shard.document_of(np.array([position]))[0])
                doc = made.docs[int(engine.doc_lo[number]) + local]
                suffixes.append(doc[position - int(shard.doc_starts[local]) :])
            assert lcp[1:] == [_shared(a, b) for a, b in zip(suffixes, suffixes[1:])]


def test_chunk_edges_change_nothing(tmp_path, monkeypatch):
    """The LCP pass and the run scan go a chunk of ranks at a time (16Mi); with chunks of 3, every carry across a
    chunk edge (the shared length, a run still open) is exercised."""
    import index.lcp

    monkeypatch.setattr(index.lcp, "CHUNK", 3)
    made = ref.build_both(tmp_path, ["abab ab", "ab", "babab ba", "aaaa", "aaa"], shard_tokens=9)
    check_lcp(made)
    for n in (1, 2, 3, 4):
        expected = ref.top_ngrams(made.docs, n, 8, 1)
        for index_ in made.indexes:
            assert answered(index_, n, 8) == expected, n


def test_top_ngrams_across_many_shards_find_what_no_shard_ranks_first(tmp_path):
    """'ab' occurs twice in every shard and so most often in all, while each shard's most frequent bigram is its
    own: the shards' offers alone would miss it."""
    texts = [f"{c * 3}ab{c * 3}ab" for c in "cdefgh"]
    made = ref.build_both(tmp_path, texts, shard_tokens=12)
    assert len(made.many.engine.shards) == 6
    expected = ref.top_ngrams(made.docs, 2, 3, 1)
    assert expected[0][0] == (tuple(b"ab"), 12, 6)
    for index in made.indexes:
        assert answered(index, 2, 3) == expected


@pytest.mark.parametrize("vocab_size,width", [(65535, 2), (65536, 4)])
def test_top_ngrams_with_the_largest_token_id_beside_the_separator(tmp_path, vocab_size, width):
    tok = ref.word_tokenizer(tmp_path / "tokenizer.json", vocab_size)
    texts = ["hi hi lo hi", "w0 hi hi", "hi hi", "lo hi hi hi w1 hi"]
    made = ref.build_both(tmp_path, texts, tokenizer=str(tok), shard_tokens=5)
    assert made.one.manifest.width == width and len(made.many.engine.shards) > 1
    for n in (1, 2, 3, 4):
        expected = ref.top_ngrams(made.docs, n, 5, 1)
        for index in made.indexes:
            assert answered(index, n, 5) == expected, n


def test_top_ngrams_as_text_and_json(tmp_path):
    texts = ["the cat sat", "the cat ran", "a dog sat"]
    made = ref.build_both(tmp_path, texts, tokenizer="gpt2")
    top = top_ngrams(made.one, 2, 1)
    assert [(g.text, g.count, g.documents) for g in top.ngrams] == [("the cat", 2, 2)]
    out = CliRunner().invoke(main, ["top", str(tmp_path / "one"), "--n", "2", "--k", "2", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert "LCP of the shards" in out.stderr  # progress, counted in tokens
    assert list(data) == ["n", "total", "ngrams"] and data["n"] == 2 and data["total"] == sum(
        len(d) - 1 for d in made.docs)
    assert data["ngrams"][0] == {"ids": list(top.ngrams[0].ids), "text": "the cat", "count": 2, "documents": 2}
    shown = CliRunner().invoke(main, ["top", str(tmp_path / "one"), "--n", "2", "--k", "1"])
    assert shown.exit_code == 0 and "the cat" in shown.output


@pytest.mark.parametrize("args,message", [((0, 5), "n must be between 1 and 1,000"),
                                          ((1001, 5), "n must be between 1 and 1,000"),
                                          ((2, 0), "k must be between 1 and 10,000")])
def test_top_ngrams_bounds_its_inputs(tmp_path, args, message):
    made = ref.build_both(tmp_path, ["abab"])
    with pytest.raises(InvalidQuery, match=message):
        top_ngrams(made.one, *args)


# -- maximal repeats of a range of lengths ---------------------------------------------------------------------------


@SETTINGS
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       shortest=st.integers(1, 4), span=st.integers(0, 4), k=st.integers(1, 12))
@example(texts=["abab", "abab", "xab"], shard_tokens=5, shortest=2, span=2, k=5)  # "ab" outside "abab" too
# the most frequent 2- and 3-grams all stand inside "abcdef": the maximal "xy" is found only once more are offered
@example(texts=["abcdef", "abcdef", "abcdef", "axyb", "cxyd", "exyf"], shard_tokens=12, shortest=2, span=1, k=1)
def test_maximal_repeats_match_brute_force(texts, shard_tokens, shortest, span, k):
    with ref.built(texts, "bytes", shard_tokens) as made:
        expected = ref.maximal_repeats(made.docs, shortest, shortest + span, k)
        for index in made.indexes:
            found = maximal_repeats(index, shortest, shortest + span, k)
            assert found.n == (shortest, shortest + span)
            assert [(g.ids, g.count, g.documents) for g in found.ngrams] == expected


def test_top_over_a_range_lists_maximal_repeats_only(tmp_path):
    """A sentence repeated whole: its shorter n-grams all stand inside it, so only the whole sentence is listed (from
    its second token: "the" opening a text and " the" are other tokens)."""
    sentence = "the cat sat on the mat today"
    ref.build_both(tmp_path, [f"{sentence}. One", f"Two: {sentence}!", "nothing here at all"], tokenizer="gpt2")
    out = CliRunner().invoke(main, ["top", str(tmp_path / "many"), "--n", "2..12", "--k", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["n"] == [2, 12] and [g["text"] for g in data["ngrams"]] == [" cat sat on the mat today"]
    assert data["ngrams"][0]["count"] == 2 and data["ngrams"][0]["documents"] == 2
    for bad, said in [("12..2", "its start no larger than its end"), ("x", "a number of tokens or a range A..B")]:
        wrong = CliRunner().invoke(main, ["top", str(tmp_path / "many"), "--n", bad])
        assert wrong.exit_code != 0 and said in wrong.output


# -- duplicated spans ----------------------------------------------------------------------------------------------


def test_a_window_counts_every_document_of_the_other_shard_holding_it(tmp_path):
    """`abcd` stands once in the first shard and in two documents (one of them twice) of the second: three
    documents, so with min_docs 3 it is covered in all of them, and with 4 in none."""
    made = ref.build_both(tmp_path, ["xxxxxxxxabcd", "abcdyabcd", "zabcd"], shard_tokens=16)
    assert [s.n_documents for s in made.many.engine.shards] == [1, 2]
    for min_docs in (3, 4):
        covered, expected = ref.repeated_spans(made.docs, 4, min_docs)
        assert spans_answered(made.many, 4, min_docs)[1] == expected
        assert sum(map(sum, covered)) == (16 if min_docs == 3 else 0)


def test_a_cover_is_used_only_for_the_windows_it_was_computed_for(tmp_path):
    made = ref.build_both(tmp_path, ["abcab", "cabc"])
    cover = duplicated_cover(made.many, 2, 2)
    assert repeated_spans(made.many, 2, 2, cover=cover) == repeated_spans(made.many, 2, 2)
    with pytest.raises(InvalidQuery, match="the cover given is for windows of 2 tokens in 2\\+ documents, not 3"):
        duplicated_fractions(made.many, 3, 2, cover=cover)


def spans_answered(index, length: int, min_docs: int):
    found = repeated_spans(index, length, min_docs, limit=10_000)
    return found, [(s.ids_length, s.count, list(s.documents)) for s in found.spans]


@SETTINGS
@example(texts=["ab\U00100000", "b\U00100000", "\U00100000"], shard_tokens=5, length=2, min_docs=2)
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       length=st.integers(1, 6), min_docs=st.integers(2, 3))
def test_duplicated_spans_match_brute_force(texts, shard_tokens, length, min_docs):
    """The spans and their documents, the figures (whole and per source file), and each document's share, one shard
    and many (where a window held once by each of two shards is found only by looking across them)."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        covered, expected = ref.repeated_spans(made.docs, length, min_docs)
        for index in made.indexes:
            found, spans = spans_answered(index, length, min_docs)
            assert spans == expected
            assert found.tokens == sum(map(len, made.docs))
            assert found.tokens_in_repeats == sum(map(sum, covered))
            assert found.documents_with_repeats == sum(any(marks) for marks in covered)
            by_source: dict[str, list[int]] = {}
            for row, doc, marks in zip(made.rows, made.docs, covered):
                figures = by_source.setdefault(row.file, [0, 0, 0, 0])
                for at, value in enumerate((1, len(doc), any(marks), sum(marks))):
                    figures[at] += value
            assert [(s.file, s.documents, s.tokens, s.documents_with_repeats, s.tokens_in_repeats)
                    for s in found.by_source] == [(file, *figures) for file, figures in by_source.items()]
            shares = duplicated_fractions(index, length, min_docs).tolist()
            assert shares == pytest.approx([sum(m) / max(len(m), 1) for m in covered])


def _places(covered: list[list[bool]]) -> list[tuple[int, int, int]]:
    """(document, start, end) of every maximal run of covered tokens."""
    found = []
    for d, marks in enumerate(covered):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(marks, dtype=np.int8), [0]])))
        found += [(d, int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])]
    return found


def _character(text: str, byte: int) -> int:
    """The character a byte offset of the text falls in or before: how many characters start before it."""
    starts = np.cumsum([0] + [len(c.encode()) for c in text])[:-1]
    return int(np.searchsorted(starts, byte, side="left"))


def _blanked(text: str, ranges: list[tuple[int, int]]) -> str:
    """The text with each character range (touching ones merged) replaced by one space."""
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + " " + text[end:]
    return text


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(texts=["é\U00100000ab", "xé\U00100000a", ""], shard_tokens=3, length=2, min_docs=2)
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       length=st.integers(1, 6), min_docs=st.integers(2, 3))
def test_span_places_and_the_masked_copy_match_brute_force(texts, shard_tokens, length, min_docs):
    """`repeats --out`'s rows (document, its id, file and row, token and character offsets; spans that start or end
    inside a character take all of it) and `--masked-copy`'s Parquet texts, one shard and many, from the Parquet
    text: bytes tokens are the text's bytes, so the reference's offsets come from the text alone."""
    import pyarrow.parquet as pq

    from inspector import duplicated_documents, write_decontaminated, write_span_table

    with ref.built(texts, "bytes", shard_tokens) as made:
        covered, _ = ref.repeated_spans(made.docs, length, min_docs)
        places = _places(covered)
        expected = sorted(
            (d, made.rows[d].id, made.rows[d].file, made.rows[d].row, a, b,
             _character(made.rows[d].text, a), _character(made.rows[d].text, b)) for d, a, b in places)
        blanked = {(Path(r.file).name, r.row): r.text for r in ref.parquet_rows(made.corpus)}
        for d, row in enumerate(made.rows):
            ranges = [(_character(row.text, a), _character(row.text, b)) for e, a, b in places if e == d]
            if ranges:
                blanked[Path(row.file).name, row.row] = _blanked(row.text, ranges)
        for number, index in enumerate(made.indexes):
            flagged = duplicated_documents(index, length, min_docs)
            out = made.corpus.parent / f"spans-{number}.parquet"
            assert write_span_table(index, flagged, out) == len(places)
            rows = pq.read_table(out).to_pylist()
            assert sorted(tuple(r.values()) for r in rows) == expected
            copy = made.corpus.parent / f"masked-{number}"
            write_decontaminated(index, flagged, copy, mask=True)
            written = {(Path(r.file).name, r.row): r.text for r in ref.parquet_rows(copy)}
            assert written == blanked


def test_repeats_writes_its_places_and_a_masked_copy_from_the_command_line(tmp_path):
    """`--out` and `--masked-copy` together: the Parquet's characters are the shared paragraph in each document
    (multi-byte characters included), the copy has it blanked; a copy into a folder in use is one error line and
    writes nothing."""
    import pyarrow.parquet as pq

    shared = "the same long paragraph of boilerplate text, word for word, é and 東京"
    texts = [f"{shared} one", f"two {shared}", "nothing shared here at all"]
    made = ref.build_both(tmp_path, texts, tokenizer="gpt2")
    args = ["repeats", str(tmp_path / "many"), "--min-len", "5"]
    out = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "s.parquet"), "--masked-copy", str(tmp_path / "c")])
    assert out.exit_code == 0, out.output
    assert "2 places of duplicated spans in 2 documents written to" in out.stderr
    rows = pq.read_table(tmp_path / "s.parquet").to_pylist()
    texts_of = {r.id: r.text for r in made.rows}
    duplicated = shared.removeprefix("the")  # "the" and " the" are other tokens
    assert [texts_of[r["id"]][r["char_start"] : r["char_end"]] for r in rows] == [duplicated, duplicated]
    copied = sorted(r.text for r in ref.parquet_rows(tmp_path / "c"))
    assert copied == sorted(["the  one", "two the ", "nothing shared here at all"])
    again = CliRunner().invoke(main, [*args, "--masked-copy", str(tmp_path / "c")])
    assert again.exit_code == 2 and "exists and is not an empty folder: choose a new one for the copy" in again.output


def test_repeats_as_text_and_json(tmp_path):
    shared = "the same long paragraph of boilerplate text, word for word"
    texts = [f"{shared} one", f"two {shared}", "nothing shared here at all"]
    made = ref.build_both(tmp_path, texts, tokenizer="gpt2")
    covered, expected = ref.repeated_spans(made.docs, 5, 2)
    out = CliRunner().invoke(main, ["repeats", str(tmp_path / "many"), "--min-len", "5", "--limit", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert list(data) == ["min_len", "min_docs", "tokens", "tokens_in_repeats", "documents_with_repeats", "spans",
                          "by_source"]
    assert (data["min_len"], data["min_docs"], data["documents_with_repeats"]) == (5, 2, 2)
    assert data["tokens_in_repeats"] == sum(map(sum, covered)) and len(data["spans"]) == 1
    length, count, documents = expected[0]
    assert data["spans"][0] == {"ids_length": length, "count": count, "documents": documents,
                                "text": data["spans"][0]["text"]}
    assert "same long paragraph of boilerplate text, word for word" in data["spans"][0]["text"]  # "the" and " the"
    shown = CliRunner().invoke(main, ["repeats", str(tmp_path / "one"), "--min-len", "5"])
    assert shown.exit_code == 0 and "2 documents hold some" in shown.stdout
    bad = CliRunner().invoke(main, ["repeats", str(tmp_path / "one"), "--min-docs", "1"])
    assert bad.exit_code == 2 and "the least documents must be between 2" in bad.output


def test_long_work_reports_its_start_then_each_chunk(tmp_path):
    """A bar appears when the work starts (0 done), not after its first chunk, and ends at its total."""
    made = ref.build_both(tmp_path, ["the cat sat on the mat", "the cat sat on the mat too"], tokenizer="gpt2")
    seen: list[tuple[str, int, int]] = []
    duplicated_cover(made.many, 3, 2, lambda stage, done, total: seen.append((stage, done, total)))
    for stage in ("LCP of the shards", "duplicated windows"):
        reports = [(done, total) for name, done, total in seen if name == stage]
        assert reports[0][0] == 0 and reports[-1][0] == reports[-1][1] > 0, (stage, reports)
