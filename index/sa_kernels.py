"""Compiled loops of the suffix-array build (numba, see `jit`): where a NumPy step per element would cost more than
the work. Imported only by the build (`suffix_array.build_suffix_array`, `shard_merge`).

The suffix order they share (`suffix_array`'s module doc): tokens compared up to and including the first separator;
suffixes equal that far (documents ending in the same tokens) in order of position. It is a total order that does
not depend on how the corpus was cut, so a shard's suffix array is the same whichever parts sorted it.
"""
from __future__ import annotations

import numpy as np

from .jit import big_endian
from .jit import jit as _jit

#: buckets of 4096 bytes: a byte position's document is found from its bucket's first document by a short bisection
BUCKET_SHIFT = 12


@_jit
def token_positions(byte_sa, tagged_starts, doc_starts, buckets, width, out) -> int:
    """Token positions of the suffixes in `byte_sa` (byte positions in the tagged text, see
    `suffix_array.build_suffix_array`) that start a real token, in order, into `out`; how many.

    `tagged_starts[k]`: where document k starts in the tagged text (one more entry: its length); `doc_starts[k]`: in
    tokens; `buckets[b]`: the document holding byte b << BUCKET_SHIFT (one entry past the text's last bucket).
    Suffixes that start inside a tag, mid-token or on a separator are dropped.
    """
    n = 0
    for i in range(len(byte_sa)):
        m = np.int64(byte_sa[i])
        if m % width:
            continue
        lo = buckets[m >> BUCKET_SHIFT]
        hi = buckets[(m >> BUCKET_SHIFT) + 1]
        while lo < hi:  # the last document starting at or before m
            mid = (lo + hi + 1) >> 1
            if tagged_starts[mid] <= m:
                lo = mid
            else:
                hi = mid - 1
        token = (m - tagged_starts[lo]) // width
        if token < doc_starts[lo + 1] - doc_starts[lo] - 1:  # a real token, not the separator or the tag
            out[n] = doc_starts[lo] + token
            n += 1
    return n


#: per token width, the "has a zero slot" constants (one in each slot's low bit, one in each slot's high bit)
_LOW = np.array([0, 0x0101010101010101, 0x0001000100010001, 0, 0x0000000100000001], dtype=np.uint64)
_HIGH = np.array([0, 0x8080808080808080, 0x8000800080008000, 0, 0x8000000080000000], dtype=np.uint64)


@_jit
def _has_separator(w, width) -> bool:
    """Whether some token of word w is the separator (all ones): a zero slot of ~w, by the classic bit trick."""
    x = ~w
    return ((x - _LOW[width]) & ~x & _HIGH[width]) != np.uint64(0)


@_jit
def _cut(w, width):
    """Word w with every token from its first separator on set to all ones."""
    bits = 8 * width
    per = 8 // width
    mask = np.uint64((1 << bits) - 1)
    for t in range(per):
        shift = np.uint64(bits * (per - 1 - t))
        if (w >> shift) & mask == mask:
            if t == 0:
                return np.uint64(0xFFFFFFFFFFFFFFFF)
            return w | ((np.uint64(1) << (shift + np.uint64(bits))) - np.uint64(1))
    return w


@_jit
def _key(words, p, width):
    """The 8 bytes at token p, big-endian, every token from a separator on set to all ones; and whether one was."""
    w = big_endian(words[p])
    if _has_separator(w, width):
        return _cut(w, width), True
    return w, False


@_jit
def _less(words, p, q, width) -> bool:
    """Whether the suffix at token p comes before the one at q (p != q) in the shared order."""
    per = 8 // width
    a, b = p, q
    while True:
        wa, wb = big_endian(words[a]), big_endian(words[b])
        if wa == wb:
            if _has_separator(wa, width):
                return p < q
        else:
            if _has_separator(wa, width) or _has_separator(wb, width):
                wa, wb = _cut(wa, width), _cut(wb, width)
                if wa == wb:  # equal through a separator: what follows it is another document
                    return p < q
            return wa < wb
        a += per
        b += per


#: words of each head's suffix kept while merging: most comparisons are decided by them, without reading the text
HEAD_WORDS = 2


@_jit
def _load_head(words, p, width, keys, ends, r) -> None:
    """Head r's first HEAD_WORDS words (cut at its separator, the words past it all ones) and whether they end."""
    per = 8 // width
    ends[r] = False
    for j in range(HEAD_WORDS):
        if ends[r]:
            keys[r, j] = np.uint64(0xFFFFFFFFFFFFFFFF)
        else:
            keys[r, j], ends[r] = _key(words, p + j * per, width)


@_jit
def _head_less(words, width, keys, ends, head, r, s) -> bool:
    """Whether head r's suffix comes before head s's."""
    for j in range(HEAD_WORDS):
        if keys[r, j] != keys[s, j]:
            return keys[r, j] < keys[s, j]
    if ends[r]:  # equal through the separator: by position
        return head[r] < head[s]
    skip = HEAD_WORDS * (8 // width)
    return _less(words, head[r] + skip, head[s] + skip, width)


@_jit
def merge_runs(words, width, runs, offsets, starts, ends, out) -> None:
    """Merge sorted runs into `out`: entries [starts[r], ends[r]) of `runs` (the runs' suffix arrays one after
    another, one array: a typed list of arrays costs a reference count per read), each a token position plus
    offsets[r].

    One pass over k heads; each head's first HEAD_WORDS words are kept, so most steps compare a few integers and
    read no text.
    """
    k = len(starts)
    at = starts.copy()
    head = np.zeros(k, np.int64)
    keys = np.zeros((k, HEAD_WORDS), np.uint64)
    done = np.zeros(k, np.bool_)
    for r in range(k):
        if at[r] < ends[r]:
            head[r] = np.int64(runs[at[r]]) + offsets[r]
            _load_head(words, head[r], width, keys, done, r)
    for o in range(len(out)):
        best = -1
        for r in range(k):
            if at[r] >= ends[r]:
                continue
            if best < 0 or keys[r, 0] < keys[best, 0] or (
                    keys[r, 0] == keys[best, 0] and _head_less(words, width, keys, done, head, r, best)):
                best = r
        out[o] = head[best]
        at[best] += 1
        if at[best] < ends[best]:
            head[best] = np.int64(runs[at[best]]) + offsets[best]
            _load_head(words, head[best], width, keys, done, best)


@_jit
def lower_bound(words, width, run, offset, lo, hi, target) -> int:
    """First rank in [lo, hi) of a sorted run whose suffix is not before the one at token `target`."""
    while lo < hi:
        mid = (lo + hi) >> 1
        p = np.int64(run[mid]) + offset
        if p != target and _less(words, p, target, width):
            lo = mid + 1
        else:
            hi = mid
    return lo


def token_positions_reference(byte_sa: np.ndarray, tagged_starts: np.ndarray, doc_starts: np.ndarray,
                              width: int) -> np.ndarray:
    """`token_positions` in NumPy: the test reference."""
    m = byte_sa.astype(np.int64)
    m = m[m % width == 0]
    doc = np.searchsorted(tagged_starts, m, side="right") - 1
    token = (m - tagged_starts[doc]) // width
    real = token < np.diff(doc_starts)[doc] - 1
    return (doc_starts[doc] + token)[real]


@_jit
def tag_documents(raw, doc_starts, width, tag_bytes, out) -> None:
    """The token bytes with each document's number (`tag_bytes`, big-endian) after its separator, into `out`."""
    o = 0
    for k in range(len(doc_starts) - 1):
        a, b = doc_starts[k] * width, doc_starts[k + 1] * width
        out[o : o + b - a] = raw[a:b]
        o += b - a
        for j in range(tag_bytes):
            out[o + j] = (k >> (8 * (tag_bytes - 1 - j))) & 0xFF
        o += tag_bytes
