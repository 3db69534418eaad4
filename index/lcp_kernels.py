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
