"""Every verb of the id-level engine (`NgramIndex`) against brute force on random small corpora (hypothesis).

Each corpus is written as two Parquet files and built twice by `build_index`, as one shard and as many tiny ones;
both engines must equal the reference, which is the Parquet texts encoded apart from the build (tests/reference.py).
Corpora are UTF-8 bytes over a tiny alphabet (many repeats; 0xF4, the largest byte id, lies next to the separator
0xFF) or words of a tokenizer.json whose largest id lies next to the separator of a 2-byte or a 4-byte index.
The batch verbs are checked against their single forms as well as against brute force.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from index.errors import InvalidQuery
from inspector.tokenizer import make_tokenizer

from . import reference as ref
from .profiles import examples

SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

BYTE_CHARS = "ab\U00100000"  # the last character encodes as F4 80 80 80: the largest byte valid UTF-8 has
BYTE_IDS = [0x61, 0x62, 0xF4, 0x80, 0x00]  # corpus ids first (the long query repeats the first), then an absent one
WORDS = ["hi", "lo", "w0", "w1", "zz"]  # 'hi' is the largest id, 'zz' is unknown ([UNK])

byte_corpora = st.tuples(st.just("bytes"), st.lists(st.text(alphabet=BYTE_CHARS, max_size=30), min_size=1, max_size=8))
word_corpora = st.tuples(
    st.sampled_from([65535, 65536]),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join), min_size=1, max_size=8),
)
#: mostly bytes (the cheapest builds, the smallest alphabet); a quarter words, for 2- and 4-byte indexes
corpora = st.one_of(byte_corpora, byte_corpora, byte_corpora, word_corpora)
shard_sizes = st.integers(1, 12)
seeds = st.integers(0, 2**16)


@pytest.fixture(scope="module")
def word_tokenizers(tmp_path_factory) -> dict[int, str]:
    """tokenizer.json files with 65535 words (largest id 65534, 2-byte index) and 65536 (4-byte index)."""
    folder = tmp_path_factory.mktemp("tokenizers")
    return {v: str(ref.word_tokenizer(folder / f"tokenizer-{v}.json", v)) for v in (65535, 65536)}


@contextmanager
def random_corpus(word_tokenizers, corpus, shard_tokens):
    """The corpus built both ways, and the ids random queries are made of."""
    kind, texts = corpus
    spec = "bytes" if kind == "bytes" else word_tokenizers[kind]
    with ref.built(texts, spec, shard_tokens) as made:
        max_id = 0xF4 if kind == "bytes" else kind - 1
        alphabet = BYTE_IDS if kind == "bytes" else [0, 1, kind - 3, kind - 2, kind - 1]
        if kind == "bytes":  # the bytes tokenizer is plain UTF-8: check the reference's encoding apart from it too
            assert made.docs == [list(r.text.encode("utf-8")) for r in made.rows]
        one, many = made.engines
        assert one.max_id == many.max_id == max_id
        assert len(one.shards) == (1 if made.docs else 0) and len(many.shards) >= len(one.shards)
        if len(made.docs) > 1 and sum(len(d) + 1 for d in made.docs) > shard_tokens:
            assert len(many.shards) > 1
        yield made, alphabet


# -- documents ------------------------------------------------------------------------------------------------------


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes)
def test_document_tokens(word_tokenizers, corpus, shard_tokens):
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, _):
        for engine in made.engines:
            assert engine.n_documents == len(made.docs)
            assert engine.n_tokens == sum(map(len, made.docs))
            assert [engine.document_tokens(d).tolist() for d in range(engine.n_documents)] == made.docs
            for bad in (-1, len(made.docs)):
                with pytest.raises(InvalidQuery):
                    engine.document_tokens(bad)


# -- count and find -------------------------------------------------------------------------------------------------


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_count(word_tokenizers, corpus, shard_tokens, seed):
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        queries = ref.id_queries(made.docs, np.random.default_rng(seed), alphabet) + [[]]
        expected = [ref.count(made.docs, q) for q in queries]
        for engine in made.engines:
            assert [engine.count(q) for q in queries] == expected


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_find_ranges_and_doc_at(word_tokenizers, corpus, shard_tokens, seed):
    """Per shard rank ranges summing to the count; `doc_at` of every rank in them is a real occurrence, and together
    they are exactly the reference's occurrences. The empty sequence's ranges hold every token: its ranks reach every
    (doc, offset) once, and in each shard the suffixes (up to their document's end) never decrease."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        docs = made.docs
        queries = ref.id_queries(docs, np.random.default_rng(seed), alphabet)
        end = 1 << 40  # the separator sorts after every token
        for engine in made.engines:
            for q in queries + [[]]:
                ranges = engine.find(q)
                assert len(ranges.by_shard) == len(engine.shards)
                assert ranges.count == sum(hi - lo for lo, hi in ranges.by_shard) == ref.count(docs, q)
                found = []
                for shard, (lo, hi) in enumerate(ranges.by_shard):
                    assert 0 <= lo <= hi <= engine.shards[shard].searchable
                    suffixes = []
                    for rank in range(lo, hi):
                        at = engine.doc_at(shard, rank)
                        assert docs[at.doc][at.offset : at.offset + len(q)] == q, (q, shard, rank, at)
                        found.append((at.doc, at.offset))
                        suffixes.append(docs[at.doc][at.offset :] + [end])
                    assert suffixes == sorted(suffixes), q
                if q:
                    assert sorted(found) == ref.occurrences(docs, q), q
                else:
                    assert sorted(found) == [(d, i) for d, doc in enumerate(docs) for i in range(len(doc))]
            for shard, part in enumerate(engine.shards):
                for bad in (-1, part.searchable):
                    with pytest.raises(InvalidQuery):
                        engine.doc_at(shard, bad)


# -- batches --------------------------------------------------------------------------------------------------------


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_count_many_fixed_length(word_tokenizers, corpus, shard_tokens, seed):
    """(Q, n) batches for n = 0..6 (n = 0: every row counts all tokens), and an empty batch."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        queries = ref.id_queries(made.docs, rng, alphabet)
        for n in range(7):
            rows = [q[:n] for q in queries if len(q) >= n]
            rows += [[int(x) for x in rng.choice(alphabet, size=n)] for _ in range(5)]
            batch = np.array(rows, dtype=np.int64).reshape(len(rows), n)
            expected = [ref.count(made.docs, r) for r in rows]
            for engine in made.engines:
                got = engine.count_many(batch)
                assert got.shape == (len(rows),)
                assert got.tolist() == expected, n
                assert got.tolist() == [engine.count(r) for r in rows]
        for engine in made.engines:
            assert engine.count_many(np.zeros((0, 3), dtype=np.int64)).tolist() == []


def ragged(queries: list[list[int]], rng, alphabet) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Every query and all its prefixes (the empty one too) as one (Q, width) array with lengths; the cells past a
    row's length hold random ids, which must be ignored."""
    rows = [q[:n] for q in queries for n in range(len(q) + 1)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    width = max(map(len, rows))
    batch = rng.choice(alphabet, size=(len(rows), width)).astype(np.int64)
    for r, row in enumerate(rows):
        batch[r, : len(row)] = row
    return batch, np.array([len(r) for r in rows], dtype=np.int64), rows


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_count_many_ragged_lengths(word_tokenizers, corpus, shard_tokens, seed):
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        batch, lengths, rows = ragged(ref.id_queries(made.docs, rng, alphabet, n=15), rng, alphabet)
        expected = [ref.count(made.docs, r) for r in rows]
        for engine in made.engines:
            got = engine.count_many(batch, lengths)
            assert got.tolist() == expected
            assert got.tolist() == [engine.count(r) for r in rows]


def test_count_many_ignores_any_padding_past_lengths():
    """The batch verbs check ids only up to each row's length, so the rest of a row is padding that must be ignored,
    whatever it holds (-1 is a common pad; so is any id past the vocabulary)."""
    with ref.built(["abab", "ba"], "bytes", 3) as made:
        rows = [[0x61], [0x62], [0x61, 0x62], []]
        expected = [ref.count(made.docs, r) for r in rows]
        for engine in made.engines:
            for pad in (0x100, 1 << 20, -1):
                batch = np.full((len(rows), 3), pad, dtype=np.int64)
                for r, row in enumerate(rows):
                    batch[r, : len(row)] = row
                lengths = np.array([len(r) for r in rows])
                assert engine.count_many(batch, lengths).tolist() == expected, pad


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_find_many(word_tokenizers, corpus, shard_tokens, seed):
    """Row by row and shard by shard, the same rank ranges as `find`: fixed-length and ragged batches."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        queries = ref.id_queries(made.docs, rng, alphabet, n=15)
        fixed = [q[:2] for q in queries if len(q) >= 2]
        batches = [(np.array(fixed, dtype=np.int64).reshape(len(fixed), 2), None, fixed)]
        batches.append(ragged(queries, rng, alphabet))
        for engine in made.engines:
            for batch, lengths, rows in batches:
                lo, hi = engine.find_many(batch, lengths)
                assert lo.shape == hi.shape == (len(engine.shards), len(rows))
                for r, row in enumerate(rows):
                    ranges = engine.find(row).by_shard
                    assert [(int(a), int(b)) for a, b in zip(lo[:, r], hi[:, r])] == list(ranges), row
                    assert int((hi[:, r] - lo[:, r]).sum()) == ref.count(made.docs, row), row


# -- next tokens ----------------------------------------------------------------------------------------------------


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_ntd(word_tokenizers, corpus, shard_tokens, seed):
    """Prompt count, every next token with its count (ascending ids), and the occurrences that end a document; the
    empty prompt is followed by every token."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        queries = ref.id_queries(made.docs, np.random.default_rng(seed), alphabet) + [[]]
        for engine in made.engines:
            for q in queries:
                prompt_count, nxt, ends = ref.ntd(made.docs, q)
                got = engine.ntd(q)
                assert got.prompt_count == prompt_count, q
                assert got.document_ends == ends, q
                assert dict(zip(got.ids.tolist(), got.counts.tolist())) == dict(nxt), q
                assert got.ids.tolist() == sorted(nxt) and (got.counts > 0).all()
                assert int(got.counts.sum()) + got.document_ends == got.prompt_count


# -- the ∞-gram pass ------------------------------------------------------------------------------------------------


def passages(docs, rng, alphabet, n=12) -> list[list[int]]:
    """Sequences whose match lengths vary: pieces of different documents glued together with random ids between,
    random sequences, a whole document followed by more, and one longer than the corpus."""
    full = [d for d in docs if d]
    out = []
    for _ in range(n):
        seq = []
        for _ in range(int(rng.integers(1, 5))):
            if full and rng.random() < 0.7:
                doc = full[rng.integers(len(full))]
                a = int(rng.integers(len(doc)))
                seq += doc[a : a + int(rng.integers(1, 9))]
            else:
                seq += [int(x) for x in rng.choice(alphabet, size=int(rng.integers(1, 3)))]
        out.append(seq)
    if full:
        out.append(full[0] + full[-1] + alphabet[:2])
    out.append(alphabet[:1] * (sum(map(len, docs)) + 1))
    return out


CAPS = [None, 0, 1, 2, 3, 5]


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_match_lengths(word_tokenizers, corpus, shard_tokens, seed):
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        grams = ref.ngrams(made.docs)
        seqs = passages(made.docs, rng, alphabet) + [[]]
        for cap in CAPS:
            expected = [ref.match_lengths(made.docs, s, cap, grams) for s in seqs]
            for engine in made.engines:
                assert [engine.match_lengths(s, cap).tolist() for s in seqs] == expected, cap


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_match_lengths_many(word_tokenizers, corpus, shard_tokens, seed):
    """The batch form equals `match_lengths` sequence by sequence (empty sequences included), with and without cap,
    compiled and in NumPy."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        grams = ref.ngrams(made.docs)
        seqs = passages(made.docs, rng, alphabet)
        for at in sorted(rng.choice(len(seqs) + 1, size=2)):
            seqs.insert(int(at), [])
        for cap in CAPS:
            expected = [ref.match_lengths(made.docs, s, cap, grams) for s in seqs]
            for engine in made.engines:
                got = engine.match_lengths_many(seqs, cap)
                assert len(got) == len(seqs)
                assert [g.tolist() for g in got] == expected, cap
                assert [g.tolist() for g in got] == [engine.match_lengths(s, cap).tolist() for s in seqs]
                numpy = engine.match_lengths_many(seqs, cap, compiled=False)  # the compiled pass's reference
                assert [g.tolist() for g in numpy] == expected, cap
        for engine in made.engines:
            assert engine.match_lengths_many([]) == []
            assert [g.tolist() for g in engine.match_lengths_many([[], []])] == [[], []]


# -- CNF document search and locate ---------------------------------------------------------------------------------


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_find_cnf(word_tokenizers, corpus, shard_tokens, seed):
    """Id clauses (AND of ORs) straight to the engine: the documents and every sequence's count equal brute force;
    with a low cap the answer says `approx` exactly when some shard holds more occurrences than the cap, and then
    finds a subset of the documents."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        queries = [q for q in ref.id_queries(made.docs, rng, alphabet) if q]
        for _ in range(6):
            clauses = [
                [queries[int(i)] for i in rng.choice(len(queries), size=int(rng.integers(1, 4)))]
                for _ in range(int(rng.integers(1, 4)))
            ]
            expected = ref.find(made.docs, clauses)
            event(f"documents found: {'some' if expected else 'none'}")
            counts = tuple(tuple(ref.count(made.docs, s) for s in clause) for clause in clauses)
            for engine in made.engines:
                got = engine.find_cnf(clauses, max_clause_freq=10**9)
                assert got.documents.tolist() == expected, clauses
                assert got.counts == counts
                assert not got.approx
                capped = engine.find_cnf(clauses, max_clause_freq=1)
                assert capped.counts == counts
                over = any(hi - lo > 1 for c in clauses for s in c for lo, hi in engine.find(s).by_shard)
                assert capped.approx == over
                assert set(capped.documents.tolist()) <= set(expected)
                if not over:
                    assert capped.documents.tolist() == expected
        for engine in made.engines:
            for bad in ([], [[]], [[[]]]):
                with pytest.raises(InvalidQuery):
                    engine.find_cnf(bad, 10)


@SETTINGS
@given(corpus=corpora, shard_tokens=shard_sizes, seed=seeds)
def test_locate(word_tokenizers, corpus, shard_tokens, seed):
    """Token spans of any of the sequences inside one document, sorted; `limit` keeps the first ones."""
    with random_corpus(word_tokenizers, corpus, shard_tokens) as (made, alphabet):
        rng = np.random.default_rng(seed)
        queries = ref.id_queries(made.docs, rng, alphabet) + [[]]
        for engine in made.engines:
            for d, doc in enumerate(made.docs):
                for _ in range(4):
                    seqs = [queries[int(i)] for i in rng.choice(len(queries), size=int(rng.integers(1, 4)))]
                    expected = ref.spans(doc, seqs)
                    assert engine.locate(d, seqs) == expected, (d, seqs)
                    for limit in (1, 2):
                        assert engine.locate(d, seqs, limit=limit) == expected[:limit]


# -- bad input ------------------------------------------------------------------------------------------------------


def test_ids_outside_the_range_are_refused(word_tokenizers):
    with ref.built(["ab\U00100000", "ba"], "bytes", 3) as made:
        for engine in made.engines:
            for bad in ([-1], [0x61, 0xF5], [0xFF]):
                for call in (
                    lambda engine, bad: engine.count(bad),
                    lambda engine, bad: engine.count(np.array(bad)),
                    lambda engine, bad: engine.find(bad),
                    lambda engine, bad: engine.ntd(bad),
                    lambda engine, bad: engine.match_lengths(bad),
                    lambda engine, bad: engine.match_lengths_many([[0x61], bad]),
                    lambda engine, bad: engine.count_many(np.array([bad])),
                    lambda engine, bad: engine.find_many(np.array([bad])),
                    lambda engine, bad: engine.find_cnf([[bad]], 10),
                    lambda engine, bad: engine.locate(0, [bad]),
                ):
                    with pytest.raises(InvalidQuery):
                        call(engine, bad)
            with pytest.raises(InvalidQuery):
                engine.count_many(np.array([[0x61, 0x62]]), lengths=[3])
            with pytest.raises(InvalidQuery):
                engine.match_lengths([0x61], cap=-1)
            with pytest.raises(InvalidQuery):
                engine.match_lengths_many([[0x61]], cap=-1)


# -- the GPT-2 index (2-byte ids) -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2_docs(corpus_dir) -> list[list[int]]:
    rows = ref.documents(ref.parquet_rows(corpus_dir))
    return ref.encode_all([r.text for r in rows], make_tokenizer("gpt2"))


def test_gpt2_document_tokens(index, gpt2_docs):
    engine = index.engine
    assert engine.n_documents == len(gpt2_docs) and len(engine.shards) > 1
    assert [engine.document_tokens(d).tolist() for d in range(engine.n_documents)] == gpt2_docs


def test_gpt2_match_lengths_many(index, gpt2_docs):
    """Benchmark-like passages: copied stretches of documents broken by random tokens, capped and not."""
    rng = np.random.default_rng(11)
    seqs = passages(gpt2_docs, rng, [int(x) for x in rng.integers(0, 50257, 20)], n=40) + [[]]
    grams = ref.ngrams(gpt2_docs)
    for cap in (None, 4, 13):
        got = [g.tolist() for g in index.engine.match_lengths_many(seqs, cap)]
        assert got == [ref.match_lengths(gpt2_docs, s, cap, grams) for s in seqs]
        assert got == [index.engine.match_lengths(s, cap).tolist() for s in seqs]


def test_gpt2_find_many(index, gpt2_docs):
    rng = np.random.default_rng(5)
    queries = ref.id_queries(gpt2_docs, rng, [int(x) for x in rng.integers(0, 50257, 20)], n=200)
    batch, lengths, rows = ragged(queries[:-1], rng, [0, 50256])
    lo, hi = index.engine.find_many(batch, lengths)
    for r, row in enumerate(rows):
        assert [(int(a), int(b)) for a, b in zip(lo[:, r], hi[:, r])] == list(index.engine.find(row).by_shard)
    assert (hi - lo).sum(axis=0).tolist() == [ref.count(gpt2_docs, r) for r in rows]
