"""Compiled loops of the suffix-array build (numba, see `jit`): where a NumPy step per element would cost more than
the work. Imported only by the build (`suffix_array.build_suffix_array`, `shard_merge`).

The suffix order they share (`suffix_array`'s module doc): tokens compared up to and including the first separator;
suffixes equal that far (documents ending in the same tokens) in order of position. It is a total order that does
not depend on how the corpus was cut, so a shard's suffix array is the same whichever parts sorted it.
"""
from __future__ import annotations

import numpy as np

from .jit import jit as _jit

#: buckets of 4096 bytes: a byte position's document is found from its bucket's first document by a short bisection
BUCKET_SHIFT = 12


@_jit
def token_positions(byte_sa, tagged_starts, doc_starts, buckets, width, out) -> int:
    """Token positions of the suffixes in `byte_sa` (byte positions in the tagged text, see
    `suffix_array.build_suffix_array`) that start a real token, in order, into `out`; how many.

    `tagged_starts[k]`: where document k starts in the tagged text (one more entry: its length); `doc_starts[k]`: in
    tokens; `buckets[b]`: the document holding byte b << BUCKET_SHIFT (one entry past the text's last bucket). Suffixes that start inside a tag, mid-token
    or on a separator are dropped.
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


@_jit
def _key(tok, p, width):
    """The 8 bytes at token p, big-endian, every token from a separator on set to all ones; and whether one was."""
    b = p * width
    w = np.uint64(0)
    for j in range(8):
        w = (w << np.uint64(8)) | np.uint64(tok[b + j])
    per = 8 // width
    bits = 8 * width
    mask = np.uint64((1 << bits) - 1)
    for t in range(per):
        shift = np.uint64(bits * (per - 1 - t))
        if (w >> shift) & mask == mask:
            if t == 0:
                return np.uint64(0xFFFFFFFFFFFFFFFF), True
            return w | ((np.uint64(1) << (shift + np.uint64(bits))) - np.uint64(1)), True
    return w, False


@_jit
def _less(tok, p, q, width) -> bool:
    """Whether the suffix at token p comes before the one at q (p != q) in the shared order."""
    per = 8 // width
    a, b = p, q
    while True:
        ka, ends = _key(tok, a, width)
        kb, _ = _key(tok, b, width)
        if ka != kb:
            return ka < kb
        if ends:
            return p < q
        a += per
        b += per


@_jit
def merge_runs(tok, width, runs, offsets, starts, ends, out) -> None:
    """Merge sorted runs into `out`: run r's ranks [starts[r], ends[r]), each a token position plus offsets[r].

    One pass, k heads; a head's first word is kept, so most steps compare two integers and read no text.
    """
    k = len(runs)
    at = starts.copy()
    head = np.zeros(k, np.int64)
    keys = np.zeros(k, np.uint64)
    for r in range(k):
        if at[r] < ends[r]:
            head[r] = np.int64(runs[r][at[r]]) + offsets[r]
            keys[r], _ = _key(tok, head[r], width)
    for o in range(len(out)):
        best = -1
        for r in range(k):
            if at[r] >= ends[r]:
                continue
            if best < 0 or keys[r] < keys[best] or (keys[r] == keys[best] and _less(tok, head[r], head[best], width)):
                best = r
        out[o] = head[best]
        at[best] += 1
        if at[best] < ends[best]:
            head[best] = np.int64(runs[best][at[best]]) + offsets[best]
            keys[best], _ = _key(tok, head[best], width)


@_jit
def lower_bound(tok, width, run, offset, lo, hi, target) -> int:
    """First rank in [lo, hi) of a sorted run whose suffix is not before the one at token `target`."""
    while lo < hi:
        mid = (lo + hi) >> 1
        p = np.int64(run[mid]) + offset
        if p != target and _less(tok, p, target, width):
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
