"""What the corpus repeats (`inspector.repeats`) against brute force over the Parquet text: the top n-grams of any
length, their counts, ties and documents, one shard and many; and `inspector top --json`.

The reference counts every n-gram of the reference documents (tests/reference.py: the Parquet rows encoded with the
tokenizer), never the index's own files. Random corpora use a tiny alphabet, so n-grams repeat, within documents
and across them and across shard edges."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.errors import InvalidQuery
from inspector.cli import main
from inspector.repeats import duplicated_fractions, repeated_spans, top_ngrams

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

    monkeypatch.setattr(index.lcp, "_CHUNK", 3)
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


# -- duplicated spans ----------------------------------------------------------------------------------------------


def spans_answered(index, length: int, min_docs: int):
    found = repeated_spans(index, length, min_docs, limit=10_000)
    return found, [(s.ids_length, s.count, list(s.documents)) for s in found.spans]


@SETTINGS
@example(texts=["ab\U00100000", "b\U00100000", "\U00100000"], shard_tokens=5, length=2, min_docs=2)
@given(texts=st.lists(st.text(alphabet=CHARS, max_size=30), min_size=1, max_size=8), shard_tokens=st.integers(1, 12),
       length=st.integers(1, 6), min_docs=st.integers(2, 3))
def test_duplicated_spans_match_brute_force(texts, shard_tokens, length, min_docs):
    """The spans and their documents, the figures, and each document's share, one shard and many (where a window
    held once by each of two shards is found only by looking across them)."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        covered, expected = ref.repeated_spans(made.docs, length, min_docs)
        for index in made.indexes:
            found, spans = spans_answered(index, length, min_docs)
            assert spans == expected
            assert found.tokens == sum(map(len, made.docs))
            assert found.tokens_in_repeats == sum(map(sum, covered))
            assert found.documents_with_repeats == sum(any(marks) for marks in covered)
            shares = duplicated_fractions(index, length, min_docs).tolist()
            assert shares == pytest.approx([sum(m) / max(len(m), 1) for m in covered])


def test_repeats_as_text_and_json(tmp_path):
    shared = "the same long paragraph of boilerplate text, word for word"
    texts = [f"{shared} one", f"two {shared}", "nothing shared here at all"]
    made = ref.build_both(tmp_path, texts, tokenizer="gpt2")
    covered, expected = ref.repeated_spans(made.docs, 5, 2)
    out = CliRunner().invoke(main, ["repeats", str(tmp_path / "many"), "--min-len", "5", "--limit", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert list(data) == ["min_len", "min_docs", "tokens", "tokens_in_repeats", "documents_with_repeats", "spans"]
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
