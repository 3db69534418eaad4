"""LCP arrays: how many tokens each suffix shares with the one before it in suffix-array order.

`lcp[r]` counts the tokens the suffixes at ranks r - 1 and r have in common before either's document separator
(`lcp[0] = 0`). A run of ranks whose LCP is at least n holds the occurrences of one n-gram, side by side: so every
n-gram's count, for any n, is a run length, and the repeated ones are the runs of `lcp >= n`. No run crosses a
document: the separator is no token of any n-gram, and the count stops there.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .suffix_array import Shard

Progress = Callable[[str, int, int], None]


def lcp_array(shard: Shard, progress: Progress | None = None) -> np.ndarray:
    """The shard's LCP array, uint32 [searchable], in one linear pass (`lcp_kernels.kasai`); it needs a scratch
    array of 4 bytes per token beside the 4 of its answer. `progress(stage, tokens done, tokens)` as it goes."""
    from .lcp_kernels import kasai, ranks

    out = np.zeros(shard.searchable, dtype=np.uint32)
    if shard.searchable:
        rank = np.empty(shard.n_tokens, dtype=np.uint32)
        ranks(shard.sa, rank)
        text, h = shard.text_words(), 0
        if progress is not None:
            progress("LCP of the shards", 0, shard.n_tokens)
        for start in range(0, shard.n_tokens, CHUNK):
            stop = min(start + CHUNK, shard.n_tokens)
            h = kasai(text, shard.width, shard.sa, rank, out, start, stop, h)
            if progress is not None:
                progress("LCP of the shards", stop, shard.n_tokens)
    return out


CHUNK = 1 << 24  # tokens (or ranks) per kernel call or chunk of a walk: progress every ~2 s


def runs_by_chunk(lcp: np.ndarray, n: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """SA rank ranges [lo, hi) of the n-grams that occur at least twice in the shard, one per n-gram, in SA order
    (the n-grams' order by ids), a chunk of ranks at a time: the temporaries stay small whatever the shard's size."""
    open_at = -1  # the first rank of a run still open at the chunk's end
    for lo in range(0, len(lcp), CHUNK):
        inside = lcp[lo : lo + CHUNK] >= n  # rank r shares n tokens with r - 1
        edges = np.flatnonzero(inside != np.concatenate([[open_at >= 0], inside[:-1]]))
        rising = inside[edges]
        starts, ends = lo + edges[rising] - 1, lo + edges[~rising]
        if open_at >= 0:
            starts = np.concatenate([[open_at], starts])
        open_at = int(starts[-1]) if len(starts) > len(ends) else -1
        yield starts[: len(ends)], ends
    if open_at >= 0:
        yield np.array([open_at]), np.array([len(lcp)])


def top_runs(lcp: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k + 1 longest runs of `runs_by_chunk` (all of them when fewer), longest first, ties in SA order: kept
    chunk by chunk, so memory holds one chunk's runs, not every run of the shard."""
    best_lo, best_hi = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for starts, ends in runs_by_chunk(lcp, n):
        lo, hi = np.concatenate([best_lo, starts]), np.concatenate([best_hi, ends])
        if len(lo) > k + 1:  # only runs at least as long as the (k + 1)-th longest can stay: sort those alone
            counts = hi - lo
            kept = np.flatnonzero(counts >= -np.partition(-counts, k)[k])
            lo, hi = lo[kept], hi[kept]
        order = np.lexsort((lo, lo - hi))[: k + 1]
        best_lo, best_hi = lo[order], hi[order]
    return best_lo, best_hi


def singles_by_chunk(shard: Shard, lcp: np.ndarray, n: int) -> Iterator[np.ndarray]:
    """The ranks, in SA order and a chunk at a time, whose suffix is an n-gram that occurs once in the shard: shares
    fewer than n tokens with both neighbours and has n tokens before its separator."""
    for lo in range(0, len(lcp), CHUNK):
        hi = min(lo + CHUNK, len(lcp))
        after = np.zeros(hi - lo, dtype=bool)
        after[: hi - lo - 1] = lcp[lo + 1 : hi] >= n
        if hi < len(lcp):
            after[-1] = lcp[hi] >= n
        ranks = lo + np.flatnonzero((lcp[lo:hi] < n) & ~after)
        positions = shard.sa[ranks].astype(np.int64)
        ends = shard.doc_starts[shard.document_of(positions) + 1] - 1  # the separator after each
        yield ranks[ends - positions >= n]


def single_ranks(shard: Shard, lcp: np.ndarray, n: int, limit: int) -> np.ndarray:
    """The first `limit` ranks of `singles_by_chunk`."""
    found, total = [], 0
    for ranks in singles_by_chunk(shard, lcp, n):
        found.append(ranks)
        total += len(ranks)
        if total >= limit:
            break
    return np.concatenate(found)[:limit] if found else np.zeros(0, dtype=np.int64)




def held_in_other(shard: Shard, ranks: np.ndarray, other: Shard, windows: np.ndarray, held: np.ndarray,
                  n: int) -> np.ndarray:
    """For the n-gram at each of `shard`'s `ranks` (sorted; each with n tokens before its separator), how many
    documents of `other` hold it: `windows` is a rank of each n-gram of `other` (sorted, as `singles_by_chunk` and
    `runs_by_chunk` give them), `held` its documents there. One merge of the two in suffix-array order
    (`lcp_kernels.held_in_other`), in place of a search per n-gram."""
    from .lcp_kernels import held_in_other as merge

    out = np.zeros(len(ranks), dtype=np.int64)
    merge(shard.text_words(), shard.sa, np.ascontiguousarray(ranks, dtype=np.int64), other.text_words(), other.sa,
          windows, held, shard.width, n, out)
    return out


def cover_from_starts(marks: np.ndarray, n: int) -> None:
    """In place: from `marks` (bool, per token position: a window of n tokens starts here) to whether a window
    holds the position, in one compiled pass (`lcp_kernels.cover_from_starts`). A byte per token, where adding
    +1/-1 at each window's two ends and a cumulative sum would take 4 (8 at the sum) and a scattered add."""
    from .lcp_kernels import cover_from_starts as cover

    cover(marks, n)
