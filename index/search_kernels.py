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


# -- the ∞-gram pass ----------------------------------------------------------------------------------------------


@jit
def _pack(flat, begin, n, width, words, masks) -> int:
    """Query flat[begin : begin + n] as the text's big-endian words and masks, into `words[0]`/`masks[0]`; how many
    words."""
    per = 8 // width
    bits = 8 * width
    count = (n + per - 1) // per
    for j in range(count):
        w = np.uint64(0)
        mask = np.uint64(0)
        for t in range(per):
            w <<= np.uint64(bits)
            mask <<= np.uint64(bits)
            at = j * per + t
            if at < n:
                w |= np.uint64(flat[begin + at])
                mask |= np.uint64((1 << bits) - 1)
        words[0, j] = w
        masks[0, j] = mask
    return count


@jit
def _occurrence(text, width, sa, keys, first, key_every, flat, begin, n, words, masks) -> int:
    """A token position of the shard where flat[begin : begin + n] (n >= 1) occurs, or -1: its first token's range
    from `first`, narrowed by the sampled `keys` to two samples, then bisected."""
    head = flat[begin]
    lo, hi = first[head], first[head + 1]
    if lo >= hi:
        return -1
    if n == 1:
        return np.int64(sa[lo])
    count = _pack(flat, begin, n, width, words, masks)
    word, mask = words[0, 0], masks[0, 0]
    low = np.searchsorted(keys, word, side="left")
    high = np.searchsorted(keys, word | ~mask, side="right")
    lo = max(lo, max((low - 1) * key_every + 1, 0))
    hi = min(hi, high * key_every)
    while lo < hi:
        m = (lo + hi) >> 1
        if _compare(text, width, np.int64(sa[m]), words, masks, 0, count) < 0:
            lo = m + 1
        else:
            hi = m
    if lo < first[head + 1] and _compare(text, width, np.int64(sa[lo]), words, masks, 0, count) == 0:
        return np.int64(sa[lo])
    return -1


@jit
def _find_any(texts, sas, keys, firsts, width, key_every, flat, begin, n, words, masks):
    """(shard, position) where flat[begin : begin + n] occurs in some shard, or (-1, 0)."""
    for s in range(len(sas)):
        p = _occurrence(texts[s], width, sas[s], keys[s], firsts[s], key_every, flat, begin, n, words, masks)
        if p >= 0:
            return s, p
    return -1, 0


@jit
def match_lengths(texts, sas, keys, firsts, width, key_every, flat, starts, sizes, cap, out) -> None:
    """For each sequence flat[starts[q] : starts[q] + sizes[q]] and each token i of it, the longest n <= cap such
    that the n tokens ending at i occur in the corpus, into out (at the token's place in flat).

    One pass per sequence: the match at i is at most one longer than at i - 1. The previous match's place in the
    text (its anchor) is tried first, one token read, which settles copied text; otherwise the candidate is
    searched, and when it does not occur, the length is bisected below it (occurring is monotone: a longer suffix
    occurring implies every shorter one does).
    """
    per = 8 // width
    shift = np.uint64(64 - 8 * width)
    words = np.zeros((1, cap // per + 2), np.uint64)
    masks = np.zeros((1, cap // per + 2), np.uint64)
    for q in range(len(starts)):
        m = 0
        anchor_shard, anchor = -1, 0
        for i in range(starts[q], starts[q] + sizes[q]):
            k = min(m + 1, cap, i - starts[q] + 1)
            if anchor_shard >= 0 and (big_endian(texts[anchor_shard][anchor + m]) >> shift) == flat[i]:
                anchor += m + 1 - k  # the anchored match and this token occur there: so does their suffix of k
                out[i] = m = k
                continue
            s, p = _find_any(texts, sas, keys, firsts, width, key_every, flat, i + 1 - k, k, words, masks)
            if s < 0:  # bisect the longest occurring length below k
                lo, hi = 0, k - 1
                while lo < hi:
                    mid = (lo + hi + 1) >> 1
                    t, r = _find_any(texts, sas, keys, firsts, width, key_every, flat, i + 1 - mid, mid, words,
                                     masks)
                    if t >= 0:
                        lo, s, p = mid, t, r
                    else:
                        hi = mid - 1
                k = lo
            anchor_shard, anchor = (s, p) if k else (-1, 0)
            out[i] = m = k


def shard_arrays(shards) -> tuple:
    """The shards' text words, suffix arrays, sampled keys and first-token tables as the ∞-gram kernel takes them:
    typed lists, every array read-only (one type per list)."""
    from numba import typeof
    from numba.typed import List

    # text words are strided views (layout 'A'), yet a shard of one word has a contiguous one (a normalised shard
    # whose documents normalise to nothing): that list is typed 'A' so both fit
    lists = [None, List(), List(), List()]
    for shard in shards:
        arrays = (shard.text_words(), shard.sa, np.asarray(shard.keys), np.asarray(shard.first))
        for k, array in enumerate(arrays):
            view = array.view()
            view.flags.writeable = False
            if lists[k] is None:
                lists[k] = List.empty_list(typeof(view).copy(layout="A"))
            lists[k].append(view)
    return (lists[0] if lists[0] is not None else List(), *lists[1:])
