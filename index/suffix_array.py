"""Exact n-gram search over a token shard with a suffix array (the infini-gram design, in NumPy).

On disk, per shard folder:

    tokens.bin      token ids, big-endian, fixed width (1, 2 or 4 bytes); each document is followed by the
                    separator (the largest value of the width), then 8 bytes of padding after the last one
    sa.bin          suffix array: uint32 little-endian token positions in order of their suffixes, compared token
                    by token up to and including the first separator, and suffixes equal that far (documents that
                    end alike) by position; suffixes that start with a separator sort last and are never
                    searched, so they are left out
    first.npy       int64 [n_symbols + 2]: SA rank where suffixes starting with token v begin (the separator's
                    range, v = n_symbols, is empty), so a one-token query is a table look-up and longer ones start
                    narrowed
    keys.npy        uint64 [ceil(searchable / KEY_EVERY)]: the first 8 bytes of every KEY_EVERY-th suffix in SA
                    order, each token from a separator on set to all ones (so the keys never decrease): a batch
                    of queries finds its ranges to within two samples with one np.searchsorted
    doc_starts.npy  int64 [documents + 1]: where each document starts (the last entry is the token count)

Because ids are big-endian, byte order is token order: a part of the corpus is sorted by libdivsufsort over its
bytes (`build_suffix_array`, keeping only suffixes that start on a token boundary), and a query compares as a plain
`bytes` slice of the mapped file. No query contains the separator and every document ends with one, so no match
crosses a document boundary. The order ends at the separator and ties go by position, so it is defined by the
shard's documents alone: the suffix array of any run of documents is that of a longer run with the other positions
dropped, and a shard is sorted in runs side by side and merged (`shard_merge`) into the same bytes as one sort.
"""
from __future__ import annotations

import mmap
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt

PAD = 8
#: the first word of every KEY_EVERY-th suffix is kept in keys.npy: a batch search starts within two samples
KEY_EVERY = 128
_DTYPES = {1: ">u1", 2: ">u2", 4: ">u4"}
_BLOCK = 4  # query words compared per NumPy call


def cpu_count() -> int:
    """The cores this process may use (`os.process_cpu_count` from Python 3.13, the affinity mask before)."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: the batch searches' threads, one per core
CORES = cpu_count()
SEARCH_POOL = ThreadPoolExecutor(CORES, thread_name_prefix="ngram-search")


def width_for(max_id: int) -> int:
    """Smallest token width whose largest value is free to serve as the document separator."""
    for width in (1, 2, 4):
        if max_id < (1 << (8 * width)) - 1:
            return width
    raise ValueError(f"token id {max_id} does not fit in 32 bits")


def separator(width: int) -> int:
    return (1 << (8 * width)) - 1


#: the files of a shard folder (see the module docstring)
SHARD_FILES = ("tokens.bin", "sa.bin", "first.npy", "keys.npy", "doc_starts.npy")


def shard_sizes(width: int, n_tokens: int, n_documents: int) -> dict[str, int]:
    """Sizes of a shard's raw files from its counts (tokens with separators, documents): what a manifest's numbers
    and the mapped files must agree with."""
    return {"tokens.bin": n_tokens * width + PAD, "sa.bin": 4 * (n_tokens - n_documents)}


class ShardWriter:
    """Appends documents' tokens to a shard folder; `close` writes the document offsets."""

    def __init__(self, folder: Path, width: int):
        folder.mkdir(parents=True)
        self.folder = folder
        self.width = width
        self.dtype = np.dtype(_DTYPES[width])
        self._sep = np.array([separator(width)], dtype=np.int64)
        self._file = open(folder / "tokens.bin", "wb")
        self.doc_starts: list[int] = []
        self.n_tokens = 0

    def add(self, docs: list[np.ndarray]) -> None:
        parts = []
        for tokens in docs:
            self.doc_starts.append(self.n_tokens)
            parts += [tokens, self._sep]
            self.n_tokens += len(tokens) + 1
        if parts:  # concatenate returns native byte order: convert after joining
            self._file.write(np.concatenate(parts).astype(self.dtype).tobytes())

    def close(self) -> None:
        self._file.write(b"\xff" * PAD)
        self._file.close()
        np.save(self.folder / "doc_starts.npy", np.array(self.doc_starts + [self.n_tokens], dtype=np.int64))


@dataclass(frozen=True, slots=True)
class SuffixArrayStats:
    tokens: int
    sort_seconds: float
    total_seconds: float


#: bytes of the tag after each document's separator while sorting: its number, big-endian
TAG_BYTES = 4
#: most bytes one sort takes (tokens and tags): libdivsufsort's array is 32-bit
RUN_BYTES = 2**31 - 2
#: most tokens of a shard: sa.bin holds 32-bit positions
MAX_SHARD_TOKENS = 2**32 - 1 - PAD


def build_suffix_array(folder: Path, width: int, n_tokens: int, n_documents: int) -> SuffixArrayStats:
    """Sort the suffixes of the token file in `folder` into sa.bin, in the order of the module doc.

    libdivsufsort sorts bytes and compares past a separator into the next document; so each separator is followed
    by a tag, its document's number (TAG_BYTES, big-endian), while sorting: suffixes equal through their separator
    then compare by document, that is by position, and the order is the same whatever text follows. The tags and
    suffixes starting inside them, mid-token or on a separator are dropped. Peak memory is about 5 bytes per byte
    sorted (the tagged text and libdivsufsort's 32-bit array).
    """
    import pydivsufsort

    from . import sa_kernels

    start = time.perf_counter()
    doc_starts = np.load(folder / "doc_starts.npy")
    raw = np.fromfile(folder / "tokens.bin", dtype=np.uint8, count=n_tokens * width)
    tagged = np.empty(n_tokens * width + TAG_BYTES * n_documents, dtype=np.uint8)
    tagged_starts = doc_starts * width + TAG_BYTES * np.arange(n_documents + 1, dtype=np.int64)
    sa_kernels.tag_documents(raw, doc_starts, width, TAG_BYTES, tagged)
    del raw
    if len(tagged) > RUN_BYTES:
        raise ValueError(f"a run of {len(tagged):,} bytes is too large for a 32-bit sort: lower --shard-tokens")
    byte_sa = pydivsufsort.divsufsort(tagged) if len(tagged) else np.zeros(0, np.int32)
    del tagged
    sort_seconds = time.perf_counter() - start
    bucket = 1 << sa_kernels.BUCKET_SHIFT
    bucket_starts = np.arange(0, int(tagged_starts[-1]) + 2 * bucket, bucket)
    buckets = (np.searchsorted(tagged_starts, bucket_starts, side="right") - 1).clip(0, max(0, n_documents - 1))
    written = 0
    with open(folder / "sa.bin", "wb") as out:
        step = 1 << 24
        buffer = np.empty(step, dtype=np.uint32)
        for i in range(0, len(byte_sa), step):
            kept = sa_kernels.token_positions(byte_sa[i : i + step], tagged_starts, doc_starts, buckets, width, buffer)
            out.write(buffer[:kept].astype("<u4", copy=False).tobytes())
            written += kept
    if written != n_tokens - n_documents:  # every token but the separators starts one suffix
        raise ValueError(f"sorting {folder} kept {written:,} suffixes, not {n_tokens - n_documents:,}")
    return SuffixArrayStats(n_tokens, sort_seconds, time.perf_counter() - start)


def finish_shard(folder: Path, width: int, n_tokens: int, n_symbols: int) -> None:
    """first.npy and keys.npy of a shard whose tokens.bin, doc_starts.npy and sa.bin are written."""
    n_documents = len(np.load(folder / "doc_starts.npy", mmap_mode="r")) - 1
    tokens = np.memmap(folder / "tokens.bin", dtype=_DTYPES[width], mode="r", shape=(n_tokens,)) if n_tokens else (
        np.zeros(0, _DTYPES[width]))
    counts = np.zeros(n_symbols + 1, dtype=np.int64)
    for i in range(0, n_tokens, 1 << 24):  # the separator counts as symbol n_symbols
        counts += np.bincount(np.minimum(tokens[i : i + (1 << 24)], n_symbols), minlength=n_symbols + 1)
    first = np.zeros(n_symbols + 2, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    first[-1] = first[-2]
    np.save(folder / "first.npy", first)
    np.save(folder / "keys.npy", _sample_keys(folder, width, n_tokens, n_tokens - n_documents))


def _sample_keys(folder: Path, width: int, n_tokens: int, searchable: int) -> np.ndarray:
    """keys.npy: the first word of every KEY_EVERY-th suffix, cut at its first separator (see the module doc)."""
    if not searchable:
        return np.zeros(0, dtype=np.uint64)
    data = np.memmap(folder / "tokens.bin", dtype=np.uint8, mode="r")
    windows = np.ndarray((n_tokens,), dtype=">u8", buffer=data, strides=(width,))
    sa = np.memmap(folder / "sa.bin", dtype="<u4", mode="r", shape=(searchable,))
    keys = windows[sa[::KEY_EVERY].astype(np.int64)].astype(np.uint64)
    per, token_mask = 8 // width, np.uint64(separator(width))
    cut = np.zeros(len(keys), dtype=bool)
    for t in range(per):
        shift = np.uint64(8 * width * (per - 1 - t))
        cut |= ((keys >> shift) & token_mask) == token_mask
        keys[cut] |= token_mask << shift
    return keys


class Shard:
    """A memory-mapped shard answering exact range queries; opening it maps files and reads nothing else.

    Queries are token ids (any integer sequence or array, each id below `n_symbols`); packing them into the shard's
    byte form happens here and nowhere else.
    """

    def __init__(self, folder: Path, width: int, n_tokens: int, n_symbols: int):
        self.folder, self.width, self.n_tokens, self.n_symbols = folder, width, n_tokens, n_symbols
        self.separator = separator(width)
        self.dtype = np.dtype(_DTYPES[width])
        try:
            self._tok_map = _map(folder / "tokens.bin")
            self._sa_map = _map(folder / "sa.bin")
            self.first = np.load(folder / "first.npy")
            self.keys = np.load(folder / "keys.npy", mmap_mode="r")
            self.doc_starts = np.load(folder / "doc_starts.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"index shard {folder} is corrupt or incomplete ({exc}): rebuild it") from None
        self.searchable = n_tokens - (len(self.doc_starts) - 1)
        sizes = shard_sizes(width, n_tokens, len(self.doc_starts) - 1)
        if (
            len(self._tok_map) != sizes["tokens.bin"]
            or len(self._sa_map) != sizes["sa.bin"]
            or len(self.first) != n_symbols + 2
            or self.first[-1] != self.searchable
            or self.doc_starts[-1] != n_tokens
            or len(self.keys) != -(-self.searchable // KEY_EVERY)
        ):
            raise IndexCorrupt(f"index shard {folder} is corrupt or incomplete (sizes disagree): rebuild it")
        self.tokens = np.frombuffer(self._tok_map, dtype=self.dtype, count=n_tokens)
        self.sa = np.frombuffer(self._sa_map, dtype="<u4")
        self._text = None  # the compiled search's view of the text, made on its first use
        # A big-endian 8-byte window starting at every token: compares up to 8 // width tokens at once.
        self._words = np.ndarray((n_tokens,), dtype=">u8", buffer=self._tok_map, strides=(width,))
        self._per_word = 8 // width
        self._first = self.first.tolist()
        self._sa_items = memoryview(self._sa_map).cast("I") if sys.byteorder == "little" else self.sa
        # mask of the first t tokens of a word, t = 0..per_word
        self._prefix_masks = np.array(
            [((1 << (8 * width * t)) - 1) << (8 * width * (self._per_word - t)) for t in range(self._per_word + 1)],
            dtype=np.uint64,
        )

    @property
    def n_documents(self) -> int:
        return len(self.doc_starts) - 1

    # -- single queries (plain Python over the mapped bytes: fastest for one query) ---------------------------

    def find_range(self, ids) -> tuple[int, int]:
        """SA ranks [lo, hi) of the suffixes that start with the token sequence `ids` (not empty)."""
        first_token = int(ids[0])
        lo, hi = self._first[first_token], self._first[first_token + 1]
        if len(ids) == 1 or lo == hi:
            return lo, hi
        query = np.asarray(ids, dtype=self.dtype).tobytes()
        w, sa, tok, n = self.width, self._sa_items, self._tok_map, len(query)
        a, b = lo, hi
        while a < b:
            m = (a + b) >> 1
            p = sa[m] * w
            if tok[p : p + n] < query:
                a = m + 1
            else:
                b = m
        lo, b = a, hi
        while a < b:
            m = (a + b) >> 1
            p = sa[m] * w
            if tok[p : p + n] <= query:
                a = m + 1
            else:
                b = m
        return lo, a

    # -- batches (vectorised NumPy binary search, all queries in lock-step) ------------------------------------

    def find_ranges(self, queries: np.ndarray, lengths: np.ndarray | None = None,
                    compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """SA ranks [lo, hi) for each row of `queries` (Q x n token ids); row r is its first `lengths[r]` ids
        (all n when `lengths` is None; every length >= 1). `compiled`: numba's search (`search_kernels`), else
        NumPy's lock-step one (the reference it is tested against)."""
        rows = self._pack(queries, lengths)
        lower, upper = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)

        def search(part: slice) -> None:
            which = np.arange(len(rows))[part]
            lo, hi = self._bracket(rows, which)
            if compiled:
                lower[part], upper[part] = self._compiled_search(rows, which, lo, hi, lower_only=False)
                return
            low = self._lower_bounds(lo, hi, rows, which)
            hit = np.nonzero(low < hi)[0]
            hit = hit[self._compare(low[hit], rows, which[hit]) == 0]
            # a row's range ends where the next distinct row's starts when neither is a prefix of the other
            ceiling = hi.copy()
            disjoint = rows.next_is_disjoint[which[:-1]]
            ceiling[:-1][disjoint] = np.minimum(hi[:-1], low[1:])[disjoint]
            high = low.copy()
            high[hit] = self._upper_bounds(low[hit], ceiling[hit], rows, which[hit])
            lower[part], upper[part] = low, high

        _in_parallel(search, len(rows))
        return rows.expand(lower), rows.expand(upper)

    def occurrences_many(self, queries: np.ndarray, lengths: np.ndarray | None = None,
                         compiled: bool = True) -> np.ndarray:
        """A token position where each row occurs, or -1: the lower bound alone, half the work of `find_ranges`."""
        rows = self._pack(queries, lengths, exact=False)
        found = np.full(len(rows), -1, dtype=np.int64)

        def search(part: slice) -> None:
            which = np.arange(len(rows))[part]
            lo, hi = self._bracket(rows, which)
            if compiled:
                low, high = self._compiled_search(rows, which, lo, hi, lower_only=True)
                hit = high > low
                found[which[hit]] = self.sa[low[hit]]
                return
            low = self._lower_bounds(lo, hi, rows, which)
            candidates = np.nonzero(low < hi)[0]
            equal = self._compare(low[candidates], rows, which[candidates]) == 0
            found[which[candidates[equal]]] = self.sa[low[candidates[equal]]]

        _in_parallel(search, len(rows))
        return rows.expand(found)

    def text_words(self) -> np.ndarray:
        """The 8 bytes at every token as a strided little-endian uint64 array, as the compiled loops read the text
        (`jit.word_view`); made on first use."""
        if self._text is None:
            from .jit import word_view

            self._text = word_view(np.frombuffer(self._tok_map, dtype=np.uint8), self.width, self.n_tokens)
        return self._text

    def _compiled_search(self, rows: _PackedRows, which: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                         lower_only: bool) -> tuple[np.ndarray, np.ndarray]:
        from . import search_kernels

        low, high = np.empty(len(which), np.int64), np.empty(len(which), np.int64)
        words, masks = rows.words[which], rows.masks[which]
        n_words = -(-rows.lengths[which] // self._per_word)
        search_kernels.find_ranges(self.text_words(), self.width, self.sa, words, masks, n_words, lo, hi, low, high,
                                   lower_only)
        return low, high

    def _pack(self, queries, lengths, exact: bool = True) -> _PackedRows:
        return _PackedRows(queries, lengths, self.width, self._prefix_masks, exact)

    def _bracket(self, rows: _PackedRows, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rank bounds [lo, hi) holding both ends of each row's range, from the sampled keys (every KEY_EVERY-th
        rank's first word) and the first-token table: a row's first word lies between two samples."""
        first_word, first_mask = rows.first_word[which], rows.first_mask[which]
        low = np.searchsorted(self.keys, first_word, side="left")
        high = np.searchsorted(self.keys, first_word | ~first_mask, side="right")
        lo = np.maximum((low - 1) * KEY_EVERY + 1, 0)
        hi = np.minimum(high * KEY_EVERY, self.searchable)
        head = (first_word >> np.uint64(64 - 8 * self.width)).astype(np.int64)
        lo, hi = np.maximum(lo, self.first[head]), np.minimum(hi, self.first[head + 1])
        return lo, np.maximum(hi, lo)

    def _compare(self, ranks: np.ndarray, rows: _PackedRows, which: np.ndarray, start: int = 0) -> np.ndarray:
        """-1, 0 or 1: how the suffix at each SA rank compares with query row `which` over that row's length
        (words before `start` are known to be equal).

        Words are read in blocks of four per row (neighbouring bytes, mostly one cache line): few NumPy calls
        however long the rows, and only rows still equal read the next block.
        """
        pos = self.sa[ranks].astype(np.int64)
        result = np.zeros(len(which), dtype=np.int8)
        open_ = np.arange(len(which))
        last = self.n_tokens - 1
        for block in range(start, rows.n_words, _BLOCK):
            words = np.arange(block, min(block + _BLOCK, rows.n_words))
            if block > start:  # only rows still equal and still longer read on
                open_ = open_[rows.lengths[which[open_]] > block * self._per_word]
            if not len(open_):
                break
            r = which[open_]
            # reads past a document's end (into the next one, harmlessly) are masked off; none leaves the file
            at = np.minimum(pos[open_, None] + words * self._per_word, last)
            window = self._words[at] & rows.masks[r[:, None], words]
            target = rows.words[r[:, None], words]
            differ = window != target
            decided = differ.any(axis=1)
            j = differ.argmax(axis=1)[decided]
            hit = np.nonzero(decided)[0]
            result[open_[hit]] = np.where(window[hit, j] < target[hit, j], -1, 1)
            open_ = open_[~decided]
        return result

    def _lower_bounds(self, lo: np.ndarray, hi: np.ndarray, rows: _PackedRows, which: np.ndarray) -> np.ndarray:
        """First rank in [lo, hi) whose suffix is >= its row `which` (hi when none), for all at once.

        The hot loop of every batch: it keeps the unfinished rows packed together and decides most steps on the
        first word alone, reading the rest of a row only where the first words are equal.
        """
        out = lo.copy()
        slot = np.nonzero(lo < hi)[0]
        which, a, b = which[slot], lo[slot], hi[slot]
        first_word, first_mask = rows.first_word[which], rows.first_mask[which]
        longer = rows.n_words > 1
        while len(which):
            mid = (a + b) >> 1
            window = self._words[self.sa[mid]] & first_mask
            less = window < first_word
            if longer:
                tie = np.nonzero(window == first_word)[0]
                if len(tie):
                    less[tie] = self._compare(mid[tie], rows, which[tie], start=1) < 0
            a = np.where(less, mid + 1, a)
            b = np.where(less, b, mid)
            done = a >= b
            if done.any():
                out[slot[done]] = a[done]
                keep = ~done
                slot, which, a, b = slot[keep], which[keep], a[keep], b[keep]
                first_word, first_mask = first_word[keep], first_mask[keep]
        return out

    def _upper_bounds(self, lower: np.ndarray, hi: np.ndarray, rows: _PackedRows, which: np.ndarray) -> np.ndarray:
        """First rank past each found row's range: gallop from its lower bound (most n-grams occur a few times),
        then bisect the last step."""
        a, b = lower + 1, hi.copy()  # the answer lies in [a, b]
        step = np.ones(len(which), dtype=np.int64)
        active = np.nonzero(a < b)[0]
        while len(active):
            probe = a[active] + step[active] - 1
            inside = probe < b[active]
            equal = np.zeros(len(active), dtype=bool)
            equal[inside] = self._compare(probe[inside], rows, which[active[inside]]) == 0
            a[active[equal]] = probe[equal] + 1
            stop = active[~equal]
            b[stop] = np.minimum(b[stop], probe[~equal])
            step[active] *= 2
            active = active[equal]
            active = active[a[active] < b[active]]
        active = np.nonzero(a < b)[0]  # bisect [a, b): the first rank whose suffix is past the row
        while len(active):
            mid = (a[active] + b[active]) >> 1
            equal = self._compare(mid, rows, which[active]) == 0
            a[active[equal]] = mid[equal] + 1
            b[active[~equal]] = mid[~equal]
            active = active[a[active] < b[active]]
        return a

    # -- reading a range --------------------------------------------------------------------------------------

    def next_token_runs(self, lo: int, hi: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct tokens at `offset` after each suffix in [lo, hi), with their counts: exact at any range size.

        Within a range of suffixes sharing their first `offset` tokens, the next token is non-decreasing in SA
        order, so it forms runs; bisecting between samples that differ finds every run boundary with
        O(distinct x log(range)) reads instead of reading the whole range.
        """
        if hi <= lo:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)

        def value(ranks: np.ndarray) -> np.ndarray:
            return self.tokens[self.sa[ranks].astype(np.int64) + offset].astype(np.int64)

        a, b = np.array([lo]), np.array([hi - 1])
        va, vb = value(a), value(b)
        starts = [np.array([lo])]
        while len(a):
            differ = va != vb
            a, b, va, vb = a[differ], b[differ], va[differ], vb[differ]
            adjacent = b - a == 1
            starts.append(b[adjacent])
            keep = ~adjacent
            a, b, va, vb = a[keep], b[keep], va[keep], vb[keep]
            if not len(a):
                break
            m = (a + b) >> 1
            vm = value(m)
            a, b = np.concatenate([a, m]), np.concatenate([m, b])
            va, vb = np.concatenate([va, vm]), np.concatenate([vm, vb])
        run_starts = np.unique(np.concatenate(starts))
        counts = np.diff(np.append(run_starts, hi))
        return value(run_starts), counts

    def positions(self, lo: int, hi: int, cap: int) -> tuple[np.ndarray, bool]:
        """Token positions of SA ranks [lo, hi); beyond `cap`, an evenly spaced sample (and True)."""
        if hi - lo <= cap:
            return self.sa[lo:hi].astype(np.int64), False
        ranks = lo + (np.arange(cap, dtype=np.int64) * (hi - lo)) // cap
        return self.sa[ranks].astype(np.int64), True

    def document_of(self, positions: np.ndarray) -> np.ndarray:
        """Shard-local document number of each token position."""
        return np.searchsorted(self.doc_starts, positions, side="right") - 1

    def document_tokens(self, local_doc: int) -> np.ndarray:
        start, end = int(self.doc_starts[local_doc]), int(self.doc_starts[local_doc + 1]) - 1
        return self.tokens[start:end].astype(np.int64)


class _PackedRows:
    """A batch of queries as the windows read them, sorted and with duplicates dropped.

    Per word j, big-endian 8-byte words and masks (one column each, so a gather is 1-D), and each row's length.
    Sorted rows read neighbouring parts of the suffix array, and a row's range ends where the next one's starts;
    `expand` maps answers back to the caller's rows.
    """

    def __init__(self, queries, lengths, width: int, prefix_masks: np.ndarray, exact: bool = True):
        """`exact`: sort by every word and drop duplicates (needed for ranges); otherwise by the first word only."""
        q = np.asarray(queries, dtype=np.int64)
        count, n = q.shape
        lengths = np.full(count, n, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
        per_word = 8 // width
        n_words = max(1, -(-n // per_word))
        columns = q.view(np.uint64)  # a strided column read beats a transpose
        token = np.uint64((1 << (8 * width)) - 1)  # padding past a row's length may hold any value: keep it in its slot
        words, masks = [], []
        for j in range(n_words):  # big-endian: a word's first token is its highest bits
            word = np.zeros(count, dtype=np.uint64)
            for t in range(j * per_word, min(n, (j + 1) * per_word)):
                word |= (columns[:, t] & token) << np.uint64(8 * width * (per_word - 1 - t % per_word))
            mask = prefix_masks[np.clip(lengths - j * per_word, 0, per_word)]
            words.append(word & mask)
            masks.append(mask)
        order = np.argsort(words[0])
        first = words[0][order]
        new_first = np.r_[True, first[1:] != first[:-1]] if count else np.zeros(0, dtype=bool)
        tied = ~new_first  # rows sharing their first word: sort only those by the rest (lexsort is slow)
        tied[:-1] |= tied[1:]
        at = np.nonzero(tied)[0] if exact else np.zeros(0, np.int64)
        if len(at):
            sub = order[at]
            keys = [lengths[sub]] + [words[j][sub] for j in range(n_words - 1, 0, -1)] + [np.cumsum(new_first)[at]]
            order[at] = sub[np.lexsort(keys)]
        words, masks, lengths = [w[order] for w in words], [m[order] for m in masks], lengths[order]
        distinct = np.ones(count, dtype=bool)
        if count > 1 and exact:
            distinct[1:] = lengths[1:] != lengths[:-1]
            for word in words:
                distinct[1:] |= word[1:] != word[:-1]
        self._order, self._run = order, np.cumsum(distinct) - 1
        self.words = np.stack([w[distinct] for w in words], axis=1)
        self.masks = np.stack([m[distinct] for m in masks], axis=1)
        self.first_word, self.first_mask = self.words[:, 0].copy(), self.masks[:, 0].copy()
        self.n_words = n_words
        self.lengths = lengths[distinct]
        #: the next row has the same length, so (being distinct and sorted) its range starts past this one's
        self.next_is_disjoint = np.zeros(len(self.lengths), dtype=bool)
        self.next_is_disjoint[:-1] = self.lengths[1:] == self.lengths[:-1]

    def __len__(self) -> int:
        return len(self.lengths)

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-distinct-row answers back in the caller's row order."""
        out = np.empty(len(self._order), dtype=values.dtype)
        out[self._order] = values[self._run]
        return out


def _in_parallel(search: Callable[[slice], None], count: int) -> None:
    """Run `search` over a batch's rows in contiguous parts, one per core: NumPy's gathers and comparisons release
    the GIL, so the parts overlap (1.5x on two cores)."""
    parts = min(CORES, max(1, count // 20_000))
    bounds = [count * i // parts for i in range(parts + 1)]
    slices = [slice(bounds[i], bounds[i + 1]) for i in range(parts)]
    if parts == 1:
        search(slices[0])
        return
    for future in [SEARCH_POOL.submit(search, part) for part in slices]:
        future.result()


def _map(path: Path) -> mmap.mmap | bytes:
    with open(path, "rb") as f:
        if path.stat().st_size == 0:  # mmap refuses empty files; a shard of empty documents has an empty SA
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
