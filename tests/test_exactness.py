"""Every count, range and match against brute force on random small corpora (hypothesis).

Tiny alphabets and repeats stress equal suffixes; the bytes tokenizer reaches its largest id (0xF4) next to the
separator 0xFF; a word-level tokenizer.json reaches id 65534 next to the uint16 separator; 1 shard and many
shards must agree exactly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector import build_index, open_index

from . import reference as ref
from .conftest import write_parquet

ALPHABET = "ab\U00100000"  # the last character encodes as F4 80 80 80: the largest byte valid UTF-8 has
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

texts_strategy = st.lists(st.text(alphabet=ALPHABET, min_size=0, max_size=30), min_size=1, max_size=8)


def build_both(tmp_path: Path, texts: list[str], tokenizer: str = "bytes", shard_tokens: int = 7):
    """The same corpus indexed as one shard and as many small shards, split over two Parquet files."""
    rows = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    corpus = tmp_path / "corpus"
    write_parquet(corpus / "a.parquet", rows[: len(rows) // 2 + 1])
    if rows[len(rows) // 2 + 1 :]:
        write_parquet(corpus / "b.parquet", rows[len(rows) // 2 + 1 :])
    build_index([corpus], tmp_path / "one", tokenizer=tokenizer)
    build_index([corpus], tmp_path / "many", tokenizer=tokenizer, shard_tokens=shard_tokens)
    return open_index(tmp_path / "one"), open_index(tmp_path / "many")


def token_docs(index) -> list[list[int]]:
    return [index.document_tokens(d).tolist() for d in range(index.n_documents)]


def queries_for(docs: list[list[int]], rng: np.random.Generator, alphabet: list[int], n: int = 30) -> list[list[int]]:
    """Substrings of the corpus (present), random sequences (mostly absent), and a query longer than the corpus."""
    out = []
    flat = [d for d in docs if d]
    for _ in range(n):
        if flat and rng.random() < 0.6:
            doc = flat[rng.integers(len(flat))]
            a = int(rng.integers(len(doc)))
            b = int(rng.integers(a + 1, min(len(doc), a + 6) + 1))
            out.append(doc[a:b])
        else:
            out.append([int(x) for x in rng.choice(alphabet, size=int(rng.integers(1, 5)))])
    out.append(alphabet[:1] * (sum(map(len, docs)) + 1))
    return out


@SETTINGS
@given(texts=texts_strategy, seed=st.integers(0, 2**16))
def test_bytes_index_matches_brute_force(tmp_path_factory, texts, seed):
    tmp = tmp_path_factory.mktemp("bytes")
    one, many = build_both(tmp, texts)
    docs = token_docs(one)
    assert docs == [list(t.encode("utf-8")) for t in texts if t]
    assert token_docs(many) == docs
    assert len(many.shards) >= len(one.shards)
    rng = np.random.default_rng(seed)
    alphabet = sorted({b for t in ALPHABET for b in t.encode()})
    queries = queries_for(docs, rng, alphabet)
    for index in (one, many):
        assert index.count(ids=[]).count == ref.count(docs, [])
        for q in queries:
            result = index.count(ids=q)
            assert result.count == ref.count(docs, q), q
            assert sum(result.per_shard) == result.count
            prompt_count, nxt, ends = ref.ntd(docs, q)
            dist = index.ntd(ids=q, top=0)
            assert dist.prompt_count == prompt_count
            assert dist.document_ends == ends
            assert {t.id: t.count for t in dist.next_tokens} == dict(nxt)
            if prompt_count:
                nt = alphabet[0]
                p = index.prob(None, ids=q, next_ids=[nt])
                assert p.count == ref.count(docs, q + [nt]) and p.prompt_count == prompt_count
        same_len = [q[:2] for q in queries if len(q) >= 2]
        if same_len:
            batch = index.count_many(np.array(same_len))
            assert batch.tolist() == [ref.count(docs, q) for q in same_len]
        clauses = [[queries[0]], [queries[1], queries[2]]]
        if all(_quoted(s) is not None for c in clauses for s in c):
            text_query = " AND ".join("(" + " OR ".join(_quoted(s) for s in c) + ")" for c in clauses)
            found = index.find(text_query, limit=1000, boundary="exact")
            assert [h.doc for h in found.documents] == ref.find(docs, clauses)
            assert found.count == len(ref.find(docs, clauses))
            for hit in found.documents:
                doc = docs[hit.doc]
                for m in hit.matches:  # every reported match is a real occurrence of some clause sequence
                    span = doc[m.token_start : m.token_end]
                    assert any(span == s for c in clauses for s in c)
        seq = docs[0][:6] + alphabet[:2] if docs else alphabet[:3]
        got = [(t.match_length, t.suffix_length, t.prompt_count, t.count) for t in index.infgram(ids=seq).tokens]
        assert got == ref.infgram(docs, seq)


def _quoted(seq: list[int]) -> str | None:
    """A token sequence as a quoted CNF term, when its bytes are text without quotes."""
    try:
        text = bytes(seq).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if '"' in text or not text else f'"{text}"'


def word_tokenizer(path: Path, vocab_size: int) -> Path:
    """A real Hugging Face WordLevel tokenizer.json whose last id is vocab_size - 1."""
    vocab = {f"w{i}": i for i in range(vocab_size - 3)}
    vocab.update({"[UNK]": vocab_size - 3, "lo": vocab_size - 2, "hi": vocab_size - 1})
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize("vocab_size,width", [(65535, 2), (65536, 4)])
def test_largest_token_id_beside_the_separator(tmp_path, vocab_size, width):
    tok = word_tokenizer(tmp_path / "tokenizer.json", vocab_size)
    rng = np.random.default_rng(vocab_size)
    words = ["hi", "lo", "w0", "w1"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 12)))) for _ in range(12)]
    one, many = build_both(tmp_path, texts, tokenizer=str(tok), shard_tokens=9)
    assert one.manifest["width"] == width and len(many.shards) > 1
    docs = token_docs(one)
    assert max(map(max, docs)) == vocab_size - 1
    queries = queries_for(docs, rng, [0, 1, vocab_size - 2, vocab_size - 1], n=40)
    for index in (one, many):
        for q in queries:
            assert index.count(ids=q).count == ref.count(docs, q)
            prompt_count, nxt, ends = ref.ntd(docs, q)
            dist = index.ntd(ids=q, top=0)
            assert {t.id: t.count for t in dist.next_tokens} == dict(nxt) and dist.document_ends == ends
        for n in (1, 2, 3, 5):
            batch = [q[:n] for q in queries if len(q) >= n]
            if batch:
                assert index.count_many(np.array(batch)).tolist() == [ref.count(docs, q) for q in batch]


def test_gpt2_word_mode_counts_both_spellings(index):
    """'language' in word mode = ' language' (mid-text) + 'language' (document start), with no double count."""
    docs = token_docs(index)
    result = index.count("language model")
    assert len(result.variants) == 2
    for v in result.variants:
        assert v.count == ref.count(docs, list(v.ids))
    assert result.count == sum(v.count for v in result.variants)
    exact = index.count("language model", boundary="exact")
    assert exact.ids == tuple(index.tokenizer.encode("language model")) and len(exact.variants) == 1


def test_gpt2_count_many_matches_brute_force_on_13_grams(index):
    docs = token_docs(index)
    rng = np.random.default_rng(3)
    grams = []
    for _ in range(300):
        doc = docs[int(rng.integers(len(docs)))]
        if len(doc) >= 13:
            a = int(rng.integers(len(doc) - 12))
            grams.append(doc[a : a + 13])
    grams += [[int(x) for x in rng.integers(0, 50257, 13)] for _ in range(100)]
    grams.append([50256] * 13)
    counts = index.count_many(np.array(grams))
    assert counts.tolist() == [ref.count(docs, g) for g in grams]
    assert (counts[:-101] > 0).all()


def test_empty_corpus_and_one_token(tmp_path):
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": ""}, {"text": ""}])
    build_index([tmp_path / "c"], tmp_path / "empty", tokenizer="bytes")
    empty = open_index(tmp_path / "empty")
    assert empty.n_documents == 0 and empty.info().empty_skipped == 2
    assert empty.count("a").count == 0 and empty.count("").count == 0
    assert empty.ntd("a").prompt_count == 0 and empty.find("a").count == 0
    assert empty.count_many(np.array([[97, 98]])).tolist() == [0]
    write_parquet(tmp_path / "d" / "a.parquet", [{"text": "x"}])
    build_index([tmp_path / "d"], tmp_path / "one", tokenizer="bytes")
    one = open_index(tmp_path / "one")
    assert one.count("x").count == 1 and one.count("xx").count == 0 and one.count("").count == 1
    assert one.ntd("x").document_ends == 1 and one.ntd("").next_tokens[0].id == ord("x")
    assert one.find("x").documents[0].snippet.match == "x"
