"""Compiled batch search (numba, see `jit`): each query row's suffix-array range by bisection, one row after another.

NumPy's lock-step search (`suffix_array.Shard`, kept as the reference these are tested against) pays a NumPy call
per step for every row still searching; compiled, a step is a few instructions and one read of the text. Rows arrive
sorted (`_PackedRows`), so neighbouring rows read neighbouring parts of the suffix array.
"""
from __future__ import annotations

import numpy as np

from .jit import big_endian, jit


@jit
def _compare(text, width, p, words, masks, row, n_words) -> int:
    """-1, 0 or 1: the suffix at token p against query row `row` over the row's length. A separator (all ones) is
    above every token, so a suffix reaching one is decided there, before any read past it."""
    per = 8 // width
    for j in range(n_words):
        window = big_endian(text[p + j * per]) & masks[row, j]
        target = words[row, j]
        if window != target:
            return -1 if window < target else 1
    return 0


#: rows whose bisections run interleaved: their reads of the text are independent, so the processor overlaps them
GROUP = 16


@jit
def find_ranges(text, width, sa, words, masks, n_words, lo, hi, out_lo, out_hi, lower_only) -> None:
    """For each row, the ranks [out_lo, out_hi) of the suffixes starting with it, searched within [lo, hi);
    `text`: the shard's words (`jit.word_view`).

    The lower ends are bisected GROUP rows at a time, a step of each in turn (memory-level parallelism: one row's
    step waits on a read of the text, the others' reads are under way meanwhile). The upper end gallops from the
    lower (most long n-grams occur a few times), then bisects. `lower_only`: out_hi is out_lo + 1 where the row
    occurs, else out_lo (an occurrence, at half the work).
    """
    a = np.empty(GROUP, np.int64)
    b = np.empty(GROUP, np.int64)
    for base in range(0, len(lo), GROUP):
        count = min(GROUP, len(lo) - base)
        for g in range(count):
            a[g], b[g] = lo[base + g], hi[base + g]
        searching = True
        while searching:
            searching = False
            for g in range(count):
                if a[g] < b[g]:
                    m = (a[g] + b[g]) >> 1
                    i = base + g
                    if _compare(text, width, np.int64(sa[m]), words, masks, i, n_words[i]) < 0:
                        a[g] = m + 1
                    else:
                        b[g] = m
                    searching |= a[g] < b[g]
        for g in range(count):
            i = base + g
            out_lo[i] = a[g]
            out_hi[i] = _upper(text, width, sa, words, masks, i, n_words[i], a[g], hi[i], lower_only)


@jit
def _upper(text, width, sa, words, masks, i, n, a, hi, lower_only) -> int:
    """The end of row i's range, whose lower end is a."""
    if a >= hi or _compare(text, width, np.int64(sa[a]), words, masks, i, n) != 0:
        return a
    if lower_only:
        return a + 1
    a += 1  # rank a matches: gallop for the first rank past the range, then bisect [a, b)
    step = 1
    b = hi
    while a < b:
        probe = min(a + step - 1, b - 1)
        if _compare(text, width, np.int64(sa[probe]), words, masks, i, n) == 0:
            a = probe + 1
            step *= 2
        else:
            b = probe
            break
    while a < b:
        m = (a + b) >> 1
        if _compare(text, width, np.int64(sa[m]), words, masks, i, n) == 0:
            a = m + 1
        else:
            b = m
    return a


def warm() -> None:
    """Load (or compile, once) the kernels: the app calls this at start, not on a user's first query."""
    from .jit import word_view

    raw = np.full(16, 255, dtype=np.uint8)
    raw.flags.writeable = False
    text = word_view(raw, 2, 1)
    sa = np.zeros(0, dtype=np.uint32)
    sa.flags.writeable = False
    words = np.zeros((1, 1), dtype=np.uint64)
    empty = np.zeros(1, dtype=np.int64)
    find_ranges(text, 2, sa, words, words, empty, empty, empty, empty.copy(), empty.copy(), False)
