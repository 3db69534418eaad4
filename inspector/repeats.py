"""What the corpus repeats: its most frequent n-grams, exact, from the suffix arrays' LCP arrays (`index.lcp`).

In one shard the occurrences of an n-gram are one run of ranks sharing n tokens, so its count is a run length and the
top K are the K longest runs. Across shards counts add up, and an n-gram frequent overall may be in no shard's top:
each shard offers its top runs, the candidates are counted exactly in every shard, and the list is final once the
K-th count beats what any n-gram left out could reach (the sum of each shard's largest count not offered);
otherwise each shard offers more.
"""
from __future__ import annotations

import numpy as np

from index.lcp import repeated_runs, single_ranks

from .query import check_int
from .results import TopNgram, TopNgrams

MAX_N = 1000
MAX_K = 10_000


def top_ngrams(index, n: int, k: int = 20, min_count: int = 1, progress=None) -> TopNgrams:
    """The `k` most frequent n-grams of `n` tokens with at least `min_count` occurrences, most frequent first, ties
    by ids; each with its count and how many documents hold it. The first call on an opened index computes its LCP
    arrays (`progress(stage, tokens done, tokens)`), later ones reuse them."""
    n = check_int("n", n, 1, MAX_N)
    k = check_int("k", k, 1, MAX_K)
    min_count = check_int("the least count", min_count, 1, 2**62)
    engine = index.engine
    _lcp_arrays(engine, progress)
    offered = k
    while True:
        candidates, bound = _offers(engine, n, offered, min_count)
        ids, counts = _counted(engine, candidates, n)
        keep = counts >= min_count
        ids, counts = ids[keep], counts[keep]
        order = np.lexsort((*ids.T[::-1], -counts))[:k] if len(ids) else np.zeros(0, dtype=np.int64)
        ids, counts = ids[order], counts[order]
        if bound < min_count or (len(counts) == k and counts[-1] > bound):
            break
        offered *= 4
    documents = _documents(engine, ids)
    tokenizer = index.tokenizer
    grams = tuple(TopNgram(tuple(int(t) for t in row), tokenizer.decode(row.tolist()), int(c), int(d))
                  for row, c, d in zip(ids, counts, documents))
    return TopNgrams(n=n, total=_total(engine, n), ngrams=grams)


def _lcp_arrays(engine, progress) -> None:
    """Every shard's LCP array, progress counted in the tokens of all shards."""
    total, done = sum(s.n_tokens for s in engine.shards), 0
    for number, shard in enumerate(engine.shards):
        engine.lcp(number, progress and (lambda stage, at, _, done=done: progress(stage, done + at, total)))
        done += shard.n_tokens


def _offers(engine, n: int, k: int, min_count: int) -> tuple[list[np.ndarray], int]:
    """Each shard's top-k n-grams (as (k, n) ids) and the largest shard count left out, summed over shards."""
    offers, bound = [], 0
    for number, shard in enumerate(engine.shards):
        lcp = engine.lcp(number)
        lo, hi = repeated_runs(lcp, n)
        counts = hi - lo
        if len(counts) > k:
            cut = np.partition(counts, len(counts) - k - 1)[len(counts) - k - 1]  # the (k+1)-th largest
            keep = np.flatnonzero(counts >= cut)
            keep = keep[np.lexsort((keep, -counts[keep]))]
            bound += int(counts[keep[k]])
            ranks = lo[keep[:k]]
        else:
            # then n-grams that occur once in the shard (in the others too, they may reach `min_count`)
            need = k - len(counts)
            singles = single_ranks(shard, lcp, n, need + 1)
            bound += int(len(singles) > need)
            ranks = np.concatenate([lo[np.lexsort((lo, -counts))], singles[:need]])
        starts = shard.sa[ranks].astype(np.int64)
        offers.append(shard.tokens[starts[:, None] + np.arange(n)].astype(np.int64))
    return offers, bound


def _counted(engine, offers: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct offered n-grams and their exact counts in the whole corpus."""
    ids = np.unique(np.concatenate(offers), axis=0) if offers else np.zeros((0, n), dtype=np.int64)
    if not len(ids):
        return ids, np.zeros(0, dtype=np.int64)
    return ids, engine.count_many(ids)


def _documents(engine, ids: np.ndarray) -> list[int]:
    """How many documents hold each n-gram (documents of different shards are different documents)."""
    if not len(ids):
        return []
    lo, hi = engine.find_many(ids)
    held = np.zeros(len(ids), dtype=np.int64)
    for number, shard in enumerate(engine.shards):
        for row in np.flatnonzero(hi[number] > lo[number]):
            positions = shard.sa[lo[number, row] : hi[number, row]].astype(np.int64)
            held[row] += len(np.unique(shard.document_of(positions)))
    return held.tolist()


def _total(engine, n: int) -> int:
    """n-gram occurrences in the corpus: each document of L tokens holds max(0, L - n + 1)."""
    total = 0
    for shard in engine.shards:
        lengths = np.diff(np.asarray(shard.doc_starts)) - 1
        total += int(np.maximum(lengths - n + 1, 0).sum())
    return total
