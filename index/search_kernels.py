"""Compiled batch search (numba, see `jit`): each query row's suffix-array range by bisection, one row after another.

NumPy's lock-step search (`suffix_array.Shard`, kept as the reference these are tested against) pays a NumPy call
per step for every row still searching; compiled, a step is a few instructions and one read of the text. Rows arrive
sorted (`_PackedRows`), so neighbouring rows read neighbouring parts of the suffix array.
"""
from __future__ import annotations

import numpy as np

from .jit import jit


@jit
def _window(tok, p, width):
    """The 8 bytes at token p, big-endian (the text ends with 8 bytes of padding, so this never leaves it)."""
    b = p * width
    w = np.uint64(0)
    for j in range(8):
        w = (w << np.uint64(8)) | np.uint64(tok[b + j])
    return w


@jit
def _compare(tok, width, p, words, masks, row, n_words) -> int:
    """-1, 0 or 1: the suffix at token p against query row `row` over the row's length. A separator (all ones) is
    above every token, so a suffix reaching one is decided there, before any read past it."""
    per = 8 // width
    for j in range(n_words):
        window = _window(tok, p + j * per, width) & masks[row, j]
        target = words[row, j]
        if window != target:
            return -1 if window < target else 1
    return 0


@jit
def find_ranges(tok, width, sa, words, masks, n_words, lo, hi, out_lo, out_hi, lower_only) -> None:
    """For each row, the ranks [out_lo, out_hi) of the suffixes starting with it, searched within [lo, hi).

    The upper end gallops from the lower (most long n-grams occur a few times), then bisects. `lower_only`: out_hi
    is out_lo + 1 where the row occurs, else out_lo (an occurrence, at half the work).
    """
    for i in range(len(lo)):
        a, b, n = lo[i], hi[i], n_words[i]
        while a < b:
            m = (a + b) >> 1
            if _compare(tok, width, np.int64(sa[m]), words, masks, i, n) < 0:
                a = m + 1
            else:
                b = m
        out_lo[i] = a
        if a >= hi[i] or _compare(tok, width, np.int64(sa[a]), words, masks, i, n) != 0:
            out_hi[i] = a
            continue
        if lower_only:
            out_hi[i] = a + 1
            continue
        # rank a matches: gallop for the first rank past the range, then bisect [a, b)
        a += 1
        step = 1
        b = hi[i]
        while a < b:
            probe = min(a + step - 1, b - 1)
            if _compare(tok, width, np.int64(sa[probe]), words, masks, i, n) == 0:
                a = probe + 1
                step *= 2
            else:
                b = probe
                break
        while a < b:
            m = (a + b) >> 1
            if _compare(tok, width, np.int64(sa[m]), words, masks, i, n) == 0:
                a = m + 1
            else:
                b = m
        out_hi[i] = a


def warm() -> None:
    """Load (or compile, once) the kernels: the app calls this at start, not on a user's first query."""
    tok = np.full(16, 255, dtype=np.uint8)
    tok.flags.writeable = False
    sa = np.zeros(0, dtype=np.uint32)
    sa.flags.writeable = False
    words = np.zeros((1, 1), dtype=np.uint64)
    empty = np.zeros(1, dtype=np.int64)
    find_ranges(tok, 2, sa, words, words, empty, empty, empty, empty.copy(), empty.copy(), False)
