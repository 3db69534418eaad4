"""Compiled loops of the LCP array (numba, see `jit`): Kasai et al.'s linear pass, where a NumPy step per token would
cost more than the work."""
import numpy as np

from .jit import big_endian, jit


@jit
def ranks(sa, rank) -> None:
    """rank[sa[r]] = r: the inverse suffix array (separator positions are left as they were)."""
    for r in range(len(sa)):
        rank[sa[r]] = r


@jit
def kasai(text, width, sa, rank, out, start, stop, h) -> int:
    """out[r] for the suffixes at token positions start..stop - 1: the tokens shared by the suffixes at ranks r - 1
    and r before either's separator (out[0] = 0); `h` is what the pass carried to `start` (0 at a document start),
    the return what it carries on to `stop`.

    Kasai's pass visits suffixes in text order: the suffix after p shares at least one token less than p did with
    its predecessor, so the shared length only drops by one per step and the pass is linear. It holds inside a
    document, and a separator starts the count afresh."""
    shift = np.uint64(64 - 8 * width)
    sep = np.uint64((1 << (8 * width)) - 1)
    for p in range(start, stop):
        if (big_endian(text[p]) >> shift) == sep:
            h = 0
            continue
        r = np.int64(rank[p])
        if r == 0:
            out[0] = 0
            h = 0
            continue
        q = np.int64(sa[r - 1])
        while True:
            a = big_endian(text[p + h]) >> shift
            if a == sep or a != (big_endian(text[q + h]) >> shift):
                break
            h += 1
        out[r] = h
        if h > 0:
            h -= 1
    return h


@jit
def _window_order(text_a, p, text_b, q, shift, length) -> int:
    """-1, 0 or 1: the `length` tokens at p of shard a against those at q of shard b (both known to hold them)."""
    for k in range(length):
        a = big_endian(text_a[p + k]) >> shift
        b = big_endian(text_b[q + k]) >> shift
        if a != b:
            return -1 if a < b else 1
    return 0


@jit
def held_in_other(text_a, sa_a, ranks_a, text_b, sa_b, windows_b, held_b, width, length, out) -> None:
    """out[i] += the documents of shard b holding the window of `length` tokens at rank ranks_a[i] of shard a.

    `ranks_a` (sorted) and `windows_b` (a rank of each distinct window of b, sorted, with `held_b` its documents)
    are both in window order, so one merge walks them: the first of b's windows not below a's first is bisected,
    then each step moves the one behind."""
    if len(ranks_a) == 0 or len(windows_b) == 0:
        return
    shift = np.uint64(64 - 8 * width)
    first = np.int64(sa_a[ranks_a[0]])
    lo, hi = 0, len(windows_b)
    while lo < hi:
        mid = (lo + hi) >> 1
        if _window_order(text_b, np.int64(sa_b[windows_b[mid]]), text_a, first, shift, length) < 0:
            lo = mid + 1
        else:
            hi = mid
    j = lo
    for i in range(len(ranks_a)):
        p = np.int64(sa_a[ranks_a[i]])
        while j < len(windows_b):
            order = _window_order(text_b, np.int64(sa_b[windows_b[j]]), text_a, p, shift, length)
            if order > 0:
                break
            if order == 0:
                out[i] += held_b[j]
                break
            j += 1


@jit
def cover_from_starts(marks, length) -> None:
    """In place: marks[p] on entry says a window of `length` tokens starts at p; on return, that p lies inside one
    (a start at most length - 1 tokens before it). One pass and no array beside the marks."""
    last = -np.int64(length)
    for p in range(len(marks)):
        if marks[p]:
            last = p
        marks[p] = p - last < length
