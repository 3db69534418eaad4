"""The text layer (`CorpusIndex`) against brute force: counts, next tokens, probabilities, the ∞-gram, CNF document
search and locate, one test per verb, on random small corpora (hypothesis) and on the GPT-2 test index.

The reference is always the Parquet texts read back with pyarrow and encoded with the tokenizer, never the index's
own files (tests/reference.py). Random corpora use the bytes tokenizer over a tiny alphabet with a space and
multi-byte characters (0xF4, the largest byte id, lies next to the separator 0xFF); queries are text: substrings of
the reference texts (present), strings across a document boundary, random strings (mostly absent) and one longer
than the corpus. The id-level engine has its own tests in test_engine.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inspector import build_index, open_index
from inspector.tokenizer import make_tokenizer

from . import reference as ref
from .corpora import write_parquet
from .profiles import examples

CHARS = "ab é\U00100000"  # the last character encodes as F4 80 80 80: the largest byte valid UTF-8 has
SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

texts_strategy = st.lists(st.text(alphabet=CHARS, min_size=0, max_size=30), min_size=1, max_size=8)
shard_sizes = st.integers(1, 12)
seeds = st.integers(0, 2**16)


def encode(text: str) -> list[int]:
    """The reference's ids of a text (the bytes tokenizer: its UTF-8 bytes)."""
    return ref.reference_tokenizer("bytes").encode(text)


def token_text(token_id: int) -> str:
    """A byte token as shown: a partial UTF-8 sequence as an escape."""
    return bytes([token_id]).decode("utf-8", "backslashreplace")


def quoted(term: str) -> str:
    return f'"{term}"'


# -- count, ntd, prob, infgram -------------------------------------------------------------------------------------


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_count(texts, shard_tokens, seed):
    """Text and ids give one variant (bytes have no word-boundary trap) with its ids, tokens and count; the
    per-shard counts add up; the empty query counts every token."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        queries = ref.text_queries(made.texts, np.random.default_rng(seed), CHARS)
        for index in made.indexes:
            assert index.count("").count == index.engine.count([]) == sum(map(len, made.docs))
            for text in queries:
                ids = encode(text)
                expected = ref.count(made.docs, ids)
                for result in (index.count(text, boundary="exact"), index.count(text), index.count(ids=ids)):
                    assert result.count == expected, text
                    assert [v.ids for v in result.variants] == [tuple(ids)]
                    assert result.variants[0].count == expected
                    assert result.variants[0].tokens == tuple(token_text(i) for i in ids)
                    assert len(result.per_shard) == len(index.engine.shards) and sum(result.per_shard) == expected


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_ntd(texts, shard_tokens, seed):
    """Prompt count, every next token's count and probability (most frequent first), document ends; `top` keeps the
    head of that order; the empty prompt is followed by every token."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        queries = ref.text_queries(made.texts, np.random.default_rng(seed), CHARS) + [""]
        for index in made.indexes:
            for text in queries:
                prompt_count, nxt, ends = ref.ntd(made.docs, encode(text))
                dist = index.ntd(text, top=0, boundary="exact")
                assert dist.prompt_count == prompt_count, text
                assert dist.document_ends == ends, text
                assert {t.id: t.count for t in dist.next_tokens} == dict(nxt), text
                assert dist.distinct == len(nxt)
                ranked = sorted(nxt.items(), key=lambda kv: (-kv[1], kv[0]))  # most frequent first, then by id
                assert [(t.id, t.count) for t in dist.next_tokens] == ranked
                assert all(t.prob == t.count / prompt_count for t in dist.next_tokens)
                assert index.ntd(text, top=2, boundary="exact").next_tokens == dist.next_tokens[:2]


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_prob(texts, shard_tokens, seed):
    """count(prompt + next) / count(prompt), `next` one or several tokens (a 4-byte character is a chain of 4)."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        rng = np.random.default_rng(seed)
        queries = ref.text_queries(made.texts, rng, CHARS)
        for index in made.indexes:
            for text in queries:
                nxt = str(rng.choice(list(CHARS)))
                prompt_count = ref.count(made.docs, encode(text))
                joint = ref.count(made.docs, encode(text + nxt))
                p = index.prob(text, nxt, boundary="exact")
                assert (p.prompt_count, p.count) == (prompt_count, joint), (text, nxt)
                assert p.prob == (joint / prompt_count if prompt_count else None)
                by_ids = index.prob(None, ids=encode(text), next_ids=encode(nxt))
                assert (by_ids.prompt_count, by_ids.count) == (prompt_count, joint)


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_infgram(texts, shard_tokens, seed):
    """Per token: match length, the suffix the ∞-gram backs off to, its counts and probability."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        rng = np.random.default_rng(seed)
        pieces = ref.text_queries(made.texts, rng, CHARS)[:-1]
        for _ in range(3):
            text = "".join(pieces[int(i)] for i in rng.choice(len(pieces), size=int(rng.integers(1, 5))))
            ids = encode(text)
            expected = ref.infgram(made.docs, ids)
            for index in made.indexes:
                got = index.infgram(text).tokens
                assert [t.id for t in got] == ids
                assert [(t.match_length, t.suffix_length, t.prompt_count, t.count) for t in got] == expected, text
                assert all(t.prob == (t.count / t.prompt_count if t.prompt_count else 0.0) for t in got)


# -- find and locate ------------------------------------------------------------------------------------------------


def char_slice_is(text: str, match, tokens: list[int]) -> bool:
    """A match's character offsets slice the document's text to exactly its tokens' text."""
    return encode(text[match.char_start : match.char_end]) == tokens[match.token_start : match.token_end]


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_find(texts, shard_tokens, seed):
    """A text CNF query of quoted substrings of the reference texts (AND of ORs, boundary exact): the documents,
    each clause term's count, and per hit its source row and every match (token spans and character offsets)."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        rng = np.random.default_rng(seed)
        terms = [t for t in ref.text_queries(made.texts, rng, CHARS) if '"' not in t]
        for _ in range(3):
            clauses = [
                [terms[int(i)] for i in rng.choice(len(terms), size=int(rng.integers(1, 4)))]
                for _ in range(int(rng.integers(1, 4)))
            ]
            query = " AND ".join("(" + " OR ".join(quoted(t) for t in clause) + ")" for clause in clauses)
            id_clauses = [[encode(t) for t in clause] for clause in clauses]
            expected = ref.find(made.docs, id_clauses)
            event(f"documents found: {'some' if expected else 'none'}")
            every = [s for clause in id_clauses for s in clause]
            for index in made.indexes:
                found = index.find(query, limit=1000, boundary="exact")
                assert found.count == len(expected) and not found.approx
                assert [h.doc for h in found.documents] == expected, query
                assert [[(v.ids, v.count) for v in c] for c in found.clauses] == [
                    [(tuple(s), ref.count(made.docs, s)) for s in clause] for clause in id_clauses
                ]
                for hit in found.documents:
                    row, tokens = made.rows[hit.doc], made.docs[hit.doc]
                    assert (hit.file, hit.row, hit.id) == (row.file, row.row, row.id)
                    spans = ref.spans(tokens, every)[:200]
                    assert [(m.token_start, m.token_end) for m in hit.matches] == spans
                    assert all(char_slice_is(row.text, m, tokens) for m in hit.matches)
                    first = hit.matches[0]
                    assert hit.snippet.match == row.text[first.char_start : first.char_end]


@SETTINGS
@given(texts=texts_strategy, shard_tokens=shard_sizes, seed=seeds)
def test_locate(texts, shard_tokens, seed):
    """Matches of one text (cnf=False) or of several quoted terms (OR) inside a document: the reference's token spans,
    and character offsets that slice the document's text to the matched string."""
    with ref.built(texts, "bytes", shard_tokens) as made:
        rng = np.random.default_rng(seed)
        terms = [t for t in ref.text_queries(made.texts, rng, CHARS) if '"' not in t]
        for index in made.indexes:
            for d, (row, tokens) in enumerate(zip(made.rows, made.docs)):
                for _ in range(3):
                    term = terms[int(rng.integers(len(terms)))]
                    matches = index.locate(d, term, cnf=False, boundary="exact")
                    assert [(m.token_start, m.token_end) for m in matches] == ref.spans(tokens, [encode(term)])
                    assert all(row.text[m.char_start : m.char_end] == term for m in matches)
                    some = [terms[int(i)] for i in rng.choice(len(terms), size=int(rng.integers(1, 4)))]
                    matches = index.locate(d, " OR ".join(map(quoted, some)), boundary="exact")
                    expected = ref.spans(tokens, [encode(t) for t in some])
                    assert [(m.token_start, m.token_end) for m in matches] == expected
                    assert all(row.text[m.char_start : m.char_end] in some for m in matches)


# -- the largest token id next to the separator (2- and 4-byte indexes) ----------------------------------------------


@pytest.mark.parametrize("vocab_size,width", [(65535, 2), (65536, 4)])
def test_largest_token_id_beside_the_separator(tmp_path, vocab_size, width):
    tok = ref.word_tokenizer(tmp_path / "tokenizer.json", vocab_size)
    rng = np.random.default_rng(vocab_size)
    words = ["hi", "lo", "w0", "w1"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 12)))) for _ in range(12)]
    made = ref.build_both(tmp_path, texts, tokenizer=str(tok), shard_tokens=9)
    one, many = made.indexes
    assert one.manifest.width == width and len(many.engine.shards) > 1
    docs = made.docs
    assert max(map(max, docs)) == vocab_size - 1 and any(doc[-1] == vocab_size - 1 for doc in docs)
    queries = ref.id_queries(docs, rng, [0, 1, vocab_size - 2, vocab_size - 1], n=40)
    for index in (one, many):
        assert [index.document_tokens(d).tolist() for d in range(index.n_documents)] == docs
        for q in queries:
            assert index.count(ids=q).count == ref.count(docs, q)
            prompt_count, nxt, ends = ref.ntd(docs, q)
            dist = index.ntd(ids=q, top=0)
            assert dist.prompt_count == prompt_count
            assert {t.id: t.count for t in dist.next_tokens} == dict(nxt) and dist.document_ends == ends
        for n in (1, 2, 3, 5):
            batch = [q[:n] for q in queries if len(q) >= n]
            if batch:
                assert index.count_many(np.array(batch)).tolist() == [ref.count(docs, q) for q in batch]


# -- the GPT-2 test index -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2():
    return make_tokenizer("gpt2")


@pytest.fixture(scope="module")
def gpt2_rows(corpus_dir) -> list[ref.Row]:
    return ref.documents(ref.parquet_rows(corpus_dir))


@pytest.fixture(scope="module")
def gpt2_docs(gpt2_rows, gpt2) -> list[list[int]]:
    return ref.encode_all([r.text for r in gpt2_rows], gpt2)


def test_gpt2_documents_read_back(index, gpt2_rows, gpt2_docs):
    """Every non-empty Parquet row is a document, in corpus order, with its text, source row and tokens."""
    assert index.n_documents == len(gpt2_rows) == 59
    for d, (row, tokens) in enumerate(zip(gpt2_rows, gpt2_docs)):
        document = index.document(d)
        assert (document.text, document.file, document.row, document.id) == (row.text, row.file, row.row, row.id)
        assert index.document_tokens(d).tolist() == tokens
        assert document.tokens == len(tokens)


def test_gpt2_word_mode_counts_both_spellings(index, gpt2, gpt2_docs):
    """'language' in word mode = ' language' (mid-text) + 'language' (document start), with no double count."""
    result = index.count("language model")
    spellings = {tuple(gpt2.encode(" language model")), tuple(gpt2.encode("language model"))}
    assert {v.ids for v in result.variants} == spellings
    for v in result.variants:
        assert v.count == ref.count(gpt2_docs, list(v.ids))
    assert result.count == sum(v.count for v in result.variants) > 0
    exact = index.count("language model", boundary="exact")
    assert [v.ids for v in exact.variants] == [tuple(gpt2.encode("language model"))]
    assert exact.count == ref.count(gpt2_docs, gpt2.encode("language model"))


def test_gpt2_count_many_matches_brute_force_on_13_grams(index, gpt2_docs):
    docs = gpt2_docs
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


NON_ASCII = ["naïve", "café", " café", "東京", " 東京", "🎉", " 🎉", " —", "é", "emoji 🎉 then", " language",
             "language"]


def test_gpt2_locate_non_ascii(index, gpt2, gpt2_rows, gpt2_docs):
    """Token spans equal the reference's in every document, and character offsets slice the text to the query,
    also for accents, CJK and an emoji split over several tokens."""
    found = 0
    for d, (row, tokens) in enumerate(zip(gpt2_rows, gpt2_docs)):
        for term in NON_ASCII:
            matches = index.locate(d, term, cnf=False, boundary="exact")
            assert [(m.token_start, m.token_end) for m in matches] == ref.spans(tokens, [gpt2.encode(term)]), term
            assert all(row.text[m.char_start : m.char_end] == term for m in matches), term
            found += len(matches)
        matches = index.locate(d, " OR ".join(map(quoted, NON_ASCII)), boundary="exact")
        assert [(m.token_start, m.token_end) for m in matches] == ref.spans(tokens, [gpt2.encode(t) for t in NON_ASCII])
        assert all(row.text[m.char_start : m.char_end] in NON_ASCII for m in matches)
    assert found > 10


@pytest.mark.parametrize(
    "query,clauses",
    [
        ('(" 東京" OR " café") AND " language"', [[" 東京", " café"], [" language"]]),
        ('"🎉" OR " purple elephant"', [["🎉", " purple elephant"]]),
        ("language AND model", [[" language", "language"], [" model", "model"]]),
    ],
)
def test_gpt2_find(index, gpt2, gpt2_rows, gpt2_docs, query, clauses):
    boundary = "word" if '"' not in query else "exact"
    id_clauses = [[gpt2.encode(t) for t in clause] for clause in clauses]
    expected = ref.find(gpt2_docs, id_clauses)
    found = index.find(query, limit=1000, boundary=boundary)
    assert [h.doc for h in found.documents] == expected and found.count == len(expected) > 0
    every = [s for clause in id_clauses for s in clause]
    for hit in found.documents:
        row, tokens = gpt2_rows[hit.doc], gpt2_docs[hit.doc]
        assert [(m.token_start, m.token_end) for m in hit.matches] == ref.spans(tokens, every)
        for m in hit.matches:
            assert gpt2.encode(row.text[m.char_start : m.char_end]) == tokens[m.token_start : m.token_end]


def test_empty_corpus_and_one_token(tmp_path):
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": ""}, {"text": ""}])
    build_index([tmp_path / "c"], tmp_path / "empty", tokenizer="bytes", allow_empty=True)  # refused without it
    empty = open_index(tmp_path / "empty")
    assert empty.n_documents == 0 and empty.info().empty_skipped == 2
    assert empty.count("a").count == 0 and empty.count("").count == 0
    assert empty.ntd("a").prompt_count == 0 and empty.find("a").count == 0
    assert empty.count_many(np.array([[97, 98]])).tolist() == [0]
    assert empty.engine.match_lengths_many([[97], []])[0].tolist() == [0]
    write_parquet(tmp_path / "d" / "a.parquet", [{"text": "x"}])
    build_index([tmp_path / "d"], tmp_path / "one", tokenizer="bytes")
    one = open_index(tmp_path / "one")
    assert [encode(r.text) for r in ref.parquet_rows(tmp_path / "d")] == [[ord("x")]]
    assert one.count("x").count == 1 and one.count("xx").count == 0 and one.count("").count == 1
    assert one.ntd("x").document_ends == 1 and one.ntd("").next_tokens[0].id == ord("x")
    assert one.find("x").documents[0].snippet.match == "x"
    assert one.document_tokens(0).tolist() == [ord("x")] and one.engine.match_lengths([ord("x")] * 2).tolist() == [1, 1]
