"""Brute-force answers over plain lists of token ids: the reference every index answer is checked against.

A reference never reads what it checks: its corpus is the Parquet rows' texts, read back with pyarrow in corpus order
(sorted file paths, then rows) and encoded with the tokenizer's `encode`, never the index's own token files.
The second half builds the small test corpora (Parquet files and the indexes over them) the tests share.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from inspector import build_index, open_index
from inspector.tokenizer import make_tokenizer

from .corpora import write_parquet

# -- brute force over list[list[int]] ---------------------------------------------------------------------------------


def occurrences(docs: list[list[int]], q: list[int]) -> list[tuple[int, int]]:
    """(doc, position) of every overlapping occurrence of q; never across a document boundary."""
    n = len(q)
    return [(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - n + 1) if doc[i : i + n] == q]


def count(docs, q) -> int:
    if not q:
        return sum(map(len, docs))
    return len(occurrences(docs, q))


def ntd(docs, prompt) -> tuple[int, Counter, int]:
    """(prompt count, Counter of next tokens, occurrences that end a document)."""
    nxt, ends = Counter(), 0
    if not prompt:
        for doc in docs:
            nxt.update(doc)
        return sum(map(len, docs)), nxt, 0
    for d, i in occurrences(docs, prompt):
        j = i + len(prompt)
        if j < len(docs[d]):
            nxt[docs[d][j]] += 1
        else:
            ends += 1
    return count(docs, prompt), nxt, ends


def find(docs, clauses: list[list[list[int]]]) -> list[int]:
    """Documents in which every clause has at least one of its token sequences."""
    hits = []
    for d, doc in enumerate(docs):
        if all(any(count([doc], seq) for seq in clause) for clause in clauses):
            hits.append(d)
    return hits


def spans(doc: list[int], sequences: list[list[int]]) -> list[tuple[int, int]]:
    """Sorted distinct token spans [start, end) of every occurrence of any non-empty sequence inside one document."""
    found = {(i, i + len(q)) for q in sequences if q for _, i in occurrences([doc], list(q))}
    return sorted(found)


def ngrams(docs) -> set[tuple[int, ...]]:
    """Every non-empty token sequence that occurs inside some document."""
    return {tuple(doc[a:b]) for doc in docs for a in range(len(doc)) for b in range(a + 1, len(doc) + 1)}


def match_lengths(docs, seq: list[int], cap: int | None = None, grams: set | None = None) -> list[int]:
    """Per token i, the longest n <= cap (and <= i + 1) such that seq[i+1-n : i+1] occurs in the corpus (0: none)."""
    grams = ngrams(docs) if grams is None else grams
    longest = max(map(len, docs), default=0)  # nothing longer than a document occurs
    out = []
    for i in range(len(seq)):
        top = min(i + 1 if cap is None else cap, i + 1, longest)
        out.append(next((n for n in range(top, 0, -1) if tuple(seq[i + 1 - n : i + 1]) in grams), 0))
    return out


def infgram(docs, seq: list[int]) -> list[tuple[int, int, int, int]]:
    """Per token: (match_length, suffix_length, prompt_count, count), by brute force from the definitions."""
    grams = ngrams(docs)
    out = []
    for i in range(len(seq)):
        match = max(k for k in range(0, i + 2) if k == 0 or tuple(seq[i + 1 - k : i + 1]) in grams)
        suffix = max(k for k in range(0, i + 1) if k == 0 or tuple(seq[i - k : i]) in grams)
        out.append((match, suffix, count(docs, seq[i - suffix : i]), count(docs, seq[i - suffix : i + 1])))
    return out


def top_ngrams(docs: list[list[int]], n: int, k: int, min_count: int) -> tuple[list[tuple], int]:
    """(ids, count, documents) of the k most frequent n-grams with at least min_count occurrences, most frequent
    first, ties by ids; and the n-gram occurrences in all."""
    counts, holders = Counter(), defaultdict(set)
    for d, doc in enumerate(docs):
        for i in range(len(doc) - n + 1):
            gram = tuple(doc[i : i + n])
            counts[gram] += 1
            holders[gram].add(d)
    ranked = sorted((g for g, c in counts.items() if c >= min_count), key=lambda g: (-counts[g], g))[:k]
    return [(g, counts[g], len(holders[g])) for g in ranked], sum(max(0, len(doc) - n + 1) for doc in docs)


def maximal_repeats(docs: list[list[int]], shortest: int, longest: int, k: int) -> list[tuple]:
    """(ids, count, documents) of the k most frequent n-grams of shortest..longest tokens that occur twice or more
    and that no token before or after extends keeping every occurrence (counted over every substring), most
    frequent first, ties by ids."""
    counts, holders = Counter(), defaultdict(set)
    for d, doc in enumerate(docs):
        for n in range(shortest, longest + 2):
            for i in range(len(doc) - n + 1):
                counts[tuple(doc[i : i + n])] += 1
                holders[tuple(doc[i : i + n])].add(d)
    longer = defaultdict(list)  # each (n+1)-gram's count under the n-grams it extends
    for gram, c in counts.items():
        if len(gram) > shortest:
            longer[gram[1:]].append(c)
            longer[gram[:-1]].append(c)
    maximal = [g for g, c in counts.items() if len(g) <= longest and c >= 2 and c not in longer[g]]
    ranked = sorted(maximal, key=lambda g: (-counts[g], g))[:k]
    return [(g, counts[g], len(holders[g])) for g in ranked]


def repeated_spans(docs: list[list[int]], length: int, min_docs: int) -> tuple[list[list[bool]], list[tuple]]:
    """Which tokens lie in a window of `length` tokens held by at least `min_docs` documents (per document), and
    the maximal runs of such tokens grouped by their ids: (length, count, documents in corpus order), largest
    count x length first, ties by first document."""
    holders = defaultdict(set)
    for d, doc in enumerate(docs):
        for i in range(len(doc) - length + 1):
            holders[tuple(doc[i : i + length])].add(d)
    covered = []
    for doc in docs:
        marks = [False] * len(doc)
        for i in range(len(doc) - length + 1):
            if len(holders[tuple(doc[i : i + length])]) >= min_docs:
                marks[i : i + length] = [True] * length
        covered.append(marks)
    groups: dict[tuple, list] = {}
    for d, (doc, marks) in enumerate(zip(docs, covered)):
        i = 0
        while i < len(doc):
            if marks[i]:
                j = i
                while j < len(doc) and marks[j]:
                    j += 1
                groups.setdefault(tuple(doc[i:j]), []).append(d)
                i = j
            else:
                i += 1
    spans = sorted(((len(ids), len(ds), ds) for ids, ds in groups.items()), key=lambda s: (-s[0] * s[1], s[2][0]))
    return covered, spans


# -- the reference corpus: the Parquet rows' texts --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    file: str
    row: int
    id: str | None
    text: str


def parquet_rows(folder: Path) -> list[Row]:
    """Every row of the folder's Parquet files, in corpus order: sorted (resolved) file paths, then row order."""
    rows = []
    for path in sorted((p.resolve() for p in Path(folder).rglob("*.parquet")), key=str):
        table = pq.read_table(path)
        ids = table.column("id").to_pylist() if "id" in table.column_names else [None] * table.num_rows
        for r, (text, id_) in enumerate(zip(table.column("text").to_pylist(), ids)):
            rows.append(Row(str(path), r, None if id_ is None else str(id_), text))
    return rows


def documents(rows: list[Row]) -> list[Row]:
    """The rows that are documents: a build skips empty texts."""
    return [r for r in rows if r.text]


@cache
def reference_tokenizer(spec: str):
    """The tokenizer a reference corpus is encoded with (loaded once per spec: a 65536-word one takes 50 ms)."""
    return make_tokenizer(spec)


def encode_all(texts: list[str], tokenizer) -> list[list[int]]:
    """The reference corpus: `tokenizer.encode(text)` for each text, as plain lists."""
    return [list(tokenizer.encode(t)) for t in texts]


# -- test corpora ----------------------------------------------------------------------------------------------------


def word_tokenizer(path: Path, vocab_size: int) -> Path:
    """A real Hugging Face WordLevel tokenizer.json whose last id is vocab_size - 1 ('hi'; 'lo' is the one before,
    '[UNK]' the one before that, 'w0', 'w1', ... are 0, 1, ...)."""
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


@dataclass
class Built:
    """One corpus written as two Parquet files and indexed twice: as one shard (`one`) and as many (`many`)."""

    corpus: Path
    #: the reference: every document (non-empty row) of the Parquet files in corpus order, and its token ids
    rows: list[Row]
    docs: list[list[int]]
    one: object
    many: object

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.rows]

    @property
    def indexes(self) -> tuple:
        return (self.one, self.many)

    @property
    def engines(self) -> tuple:
        return (self.one.engine, self.many.engine)


def write_two_files(corpus: Path, texts: list[str]) -> None:
    rows = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    write_parquet(corpus / "a.parquet", rows[: len(rows) // 2 + 1])
    if rows[len(rows) // 2 + 1 :]:
        write_parquet(corpus / "b.parquet", rows[len(rows) // 2 + 1 :])


def build_both(
    tmp_path: Path, texts: list[str], tokenizer: str = "bytes", shard_tokens: int = 7, fulltext: bool = False
) -> Built:
    """The same corpus indexed as one shard and as many small shards, split over two Parquet files; the reference
    is read back from those files and encoded with the tokenizer, apart from the build."""
    corpus = tmp_path / "corpus"
    write_two_files(corpus, texts)
    # allow_empty: the generated corpora include ones without a single non-empty text, on purpose; the exact
    # shards only (no normalised text, no quality signals): what these corpora check, at a sixth of the build time
    lean = dict(tokenizer=tokenizer, fulltext=fulltext, allow_empty=True, normalized=False, signals=False)
    build_index([corpus], tmp_path / "one", **lean)
    build_index([corpus], tmp_path / "many", shard_tokens=shard_tokens, **lean)
    rows = documents(parquet_rows(corpus))
    assert [r.text for r in rows] == [t for t in texts if t]  # the files hold what was written, in that order
    docs = encode_all([r.text for r in rows], reference_tokenizer(tokenizer))
    return Built(corpus, rows, docs, open_index(tmp_path / "one"), open_index(tmp_path / "many"))


@contextmanager
def built(texts: list[str], tokenizer: str = "bytes", shard_tokens: int = 7, fulltext: bool = False) -> Iterator[Built]:
    """`build_both` in a temporary folder removed afterwards (hypothesis builds hundreds of these)."""
    folder = Path(tempfile.mkdtemp(prefix="exact-"))
    made = None
    try:
        made = build_both(folder, texts, tokenizer, shard_tokens, fulltext)
        yield made
    finally:
        if made is not None:
            made.one.close()
            made.many.close()
        _CLEANER.submit(shutil.rmtree, folder, True)  # beside the next build: unlinking takes a while


_CLEANER = ThreadPoolExecutor(1, thread_name_prefix="test-cleanup")


# -- queries -------------------------------------------------------------------------------------------------------


def _queries(items: list, rng: np.random.Generator, alphabet, n: int, join) -> list:
    """Substrings of the items (present; some ending one), pieces across a document boundary, random pieces over
    `alphabet` joined by `join` (mostly absent), and one longer than the whole corpus. Never empty."""
    out = []
    full = [d for d in items if d]
    for _ in range(n):
        r = rng.random()
        if full and r < 0.5:
            doc = full[rng.integers(len(full))]
            a = int(rng.integers(len(doc)))
            b = int(rng.integers(a + 1, min(len(doc), a + 6) + 1))
            out.append(doc[a:b])
        elif full and r < 0.6:
            doc = full[rng.integers(len(full))]
            out.append(doc[-int(rng.integers(1, min(len(doc), 4) + 1)) :])
        elif len(full) > 1 and r < 0.7:
            d = int(rng.integers(len(full) - 1))
            out.append(full[d][-int(rng.integers(1, 3)) :] + full[d + 1][: int(rng.integers(1, 3))])
        else:
            out.append(join(rng.choice(list(alphabet), size=int(rng.integers(1, 5)))))
    out.append(alphabet[:1] * (sum(map(len, full)) + 1))
    return out


def id_queries(docs: list[list[int]], rng: np.random.Generator, alphabet: list[int], n: int = 30) -> list[list[int]]:
    """Token-id queries over a corpus of token lists (see `_queries`)."""
    return _queries(docs, rng, alphabet, n, lambda picked: [int(x) for x in picked])


def text_queries(texts: list[str], rng: np.random.Generator, alphabet: str, n: int = 20) -> list[str]:
    """Character queries over a corpus of texts (see `_queries`)."""
    return _queries(texts, rng, alphabet, n, "".join)
