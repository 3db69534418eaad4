"""Exact n-gram search over a token shard with a suffix array (the infini-gram design, in NumPy).

On disk, per shard folder:

    tokens.bin      token ids, big-endian, fixed width (1, 2 or 4 bytes); each document is followed by the
                    separator (the largest value of the width), then 8 bytes of padding after the last one
    sa.bin          suffix array: uint32 little-endian token positions in lexicographic order of their suffixes;
                    suffixes that start with a separator sort last and are never searched, so they are left out
    first.npy       int64 [n_symbols + 2]: SA rank where suffixes starting with token v begin (the separator's
                    range, v = n_symbols, is empty), so a one-token query is a table look-up and longer ones start
                    narrowed
    doc_starts.npy  int64 [documents + 1]: where each document starts (the last entry is the token count)

Because ids are big-endian, byte order is token order: the suffix array is libdivsufsort's over the bytes, keeping
only suffixes that start on a token boundary, and a query compares as a plain `bytes` slice of the mapped file.
No query contains the separator and every document ends with one, so no match crosses a document boundary.
"""
from __future__ import annotations

import mmap
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt

PAD = 8
_DTYPES = {1: ">u1", 2: ">u2", 4: ">u4"}


def width_for(max_id: int) -> int:
    """Smallest token width whose largest value is free to serve as the document separator."""
    for width in (1, 2, 4):
        if max_id < (1 << (8 * width)) - 1:
            return width
    raise ValueError(f"token id {max_id} does not fit in 32 bits")


def separator(width: int) -> int:
    return (1 << (8 * width)) - 1


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


def build_suffix_array(folder: Path, width: int, n_tokens: int, n_symbols: int, n_documents: int) -> SuffixArrayStats:
    """Sort the shard's suffixes (libdivsufsort over the big-endian bytes) and write sa.bin and first.npy.

    Runs in a worker process; peak memory is about 5 bytes per input byte (the text and libdivsufsort's int32 array).
    """
    import pydivsufsort

    start = time.perf_counter()
    raw = np.fromfile(folder / "tokens.bin", dtype=np.uint8, count=n_tokens * width)
    if n_tokens * width >= 2**31 - 1:
        raise ValueError("shard too large for a 32-bit suffix array: lower --shard-tokens")
    byte_sa = pydivsufsort.divsufsort(raw)
    sort_seconds = time.perf_counter() - start
    keep = n_tokens - n_documents  # the separator suffixes are the last n_documents
    with open(folder / "sa.bin", "wb") as out:
        step, written = 1 << 24, 0
        for i in range(0, len(byte_sa), step):
            chunk = byte_sa[i : i + step]
            if width > 1:
                chunk = chunk[(chunk & (width - 1)) == 0] // width
            chunk = chunk[: keep - written]
            out.write(chunk.astype("<u4").tobytes())
            written += len(chunk)
    del byte_sa
    tokens = raw.view(_DTYPES[width])
    symbols = np.minimum(tokens, n_symbols).astype(np.int64)  # the separator becomes n_symbols
    first = np.zeros(n_symbols + 2, dtype=np.int64)
    np.cumsum(np.bincount(symbols, minlength=n_symbols + 1), out=first[1:])
    first[-1] = first[-2]
    np.save(folder / "first.npy", first)
    return SuffixArrayStats(n_tokens, sort_seconds, time.perf_counter() - start)


class Shard:
    """A memory-mapped shard answering exact range queries; opening it maps files and reads nothing else."""

    def __init__(self, folder: Path, width: int, n_tokens: int, n_symbols: int):
        self.folder, self.width, self.n_tokens, self.n_symbols = folder, width, n_tokens, n_symbols
        self.separator = separator(width)
        try:
            self._tok_map = _map(folder / "tokens.bin")
            self._sa_map = _map(folder / "sa.bin")
            self.first = np.load(folder / "first.npy")
            self.doc_starts = np.load(folder / "doc_starts.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"index shard {folder} is corrupt or incomplete ({exc}): rebuild it") from None
        searchable = n_tokens - (len(self.doc_starts) - 1)
        if (
            len(self._tok_map) != n_tokens * width + PAD
            or len(self._sa_map) != 4 * searchable
            or len(self.first) != n_symbols + 2
            or self.first[-1] != searchable
            or self.doc_starts[-1] != n_tokens
        ):
            raise IndexCorrupt(f"index shard {folder} is corrupt or incomplete (sizes disagree): rebuild it")
        self.tokens = np.frombuffer(self._tok_map, dtype=_DTYPES[width], count=n_tokens)
        self.sa = np.frombuffer(self._sa_map, dtype="<u4")
        # A big-endian 8-byte window starting at every token: compares up to 8 // width tokens at once.
        self._words = np.ndarray((n_tokens,), dtype=">u8", buffer=self._tok_map, strides=(width,))
        self._per_word = 8 // width
        self._first = self.first.tolist()
        self._sa_items = memoryview(self._sa_map).cast("I") if sys.byteorder == "little" else self.sa

    @property
    def n_documents(self) -> int:
        return len(self.doc_starts) - 1

    # -- single queries (plain Python over the mapped bytes: fastest for one query) ---------------------------

    def find_range(self, query: bytes) -> tuple[int, int]:
        """SA ranks [lo, hi) of the suffixes that start with `query` (big-endian token bytes, not empty)."""
        w = self.width
        first_token = int.from_bytes(query[:w], "big")
        if first_token >= self.n_symbols:
            return 0, 0
        lo, hi = self._first[first_token], self._first[first_token + 1]
        if len(query) == w or lo == hi:
            return lo, hi
        sa, tok, n = self._sa_items, self._tok_map, len(query)
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

    def find_ranges(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SA ranks [lo, hi) for each row of `queries` (Q x n token ids, n >= 1).

        Rows are searched in sorted order, so each bound is bracketed by its already-found neighbours': a first pass
        over every 4096th row, then every 512th, ... narrows the ranges, and the total work falls from
        Q log N reads towards Q log(N / Q).
        """
        q = np.asarray(queries, dtype=np.int64)
        count, n = q.shape
        head = np.minimum(q[:, 0], self.n_symbols) if count else np.zeros(0, np.int64)
        lo, hi = self.first[head], self.first[head + 1]
        hi[q[:, 0] >= self.n_symbols] = lo[q[:, 0] >= self.n_symbols]  # ids past the vocabulary match nothing
        if n == 1 or count == 0:
            return lo, hi
        words, masks = self._query_words(q)
        # sort by the packed words (as few as 13 / 4 keys) and search each distinct query once
        order = np.lexsort(words.T[::-1])
        words, lo, hi = words[order], lo[order], hi[order]
        first_of_run = np.ones(count, dtype=bool)
        first_of_run[1:] = (words[1:] != words[:-1]).any(axis=1)
        run = np.cumsum(first_of_run) - 1
        words, lo, hi = words[first_of_run], lo[first_of_run], hi[first_of_run]
        distinct = np.arange(len(words))
        lower = self._bracketed_search(lo, hi, words, masks, distinct, upper=False)
        found = np.nonzero(lower < hi)[0]
        hit = found[self._compare(self.sa[lower[found]].astype(np.int64), words, masks, found) == 0]
        upper = lower.copy()
        upper[hit] = self._bracketed_search(lower[hit], hi[hit], words, masks, hit, upper=True)
        out_lo, out_hi = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
        out_lo[order], out_hi[order] = lower[run], upper[run]
        return out_lo, out_hi

    def _bracketed_search(self, lo, hi, words, masks, rows, upper: bool) -> np.ndarray:
        """Bounds for `rows` (sorted queries), coarse strides first; each row starts between its found neighbours."""
        lo, hi = lo.copy(), hi.copy()
        result = np.zeros(len(rows), dtype=np.int64)
        known = np.zeros(len(rows), dtype=bool)
        for stride in (4096, 512, 64, 8, 1):
            todo = np.arange(0, len(rows), stride)
            todo = todo[~known[todo]]
            if not len(todo):
                continue
            done = np.nonzero(known)[0]
            if len(done):
                at = np.searchsorted(done, todo)
                has_prev, has_next = at > 0, at < len(done)
                prev, nxt = done[np.maximum(at - 1, 0)], done[np.minimum(at, len(done) - 1)]
                lo[todo] = np.where(has_prev, np.maximum(lo[todo], result[prev]), lo[todo])
                hi[todo] = np.where(has_next, np.minimum(hi[todo], result[nxt]), hi[todo])
            a, b = lo[todo], np.maximum(hi[todo], lo[todo])
            self._bisect(a, b, words, masks, rows[todo], upper)
            result[todo] = a
            known[todo] = True
        return result

    def _query_words(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pack each query into big-endian 8-byte words (as the windows read them) and a mask per word."""
        per, w = self._per_word, self.width
        n_words = -(-q.shape[1] // per)
        padded = np.zeros((len(q), n_words * per), dtype=_DTYPES[w])
        padded[:, : q.shape[1]] = q
        words = np.frombuffer(padded.tobytes(), dtype=">u8").reshape(len(q), n_words).astype(np.uint64)
        tail = q.shape[1] - (n_words - 1) * per
        masks = np.full(n_words, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
        masks[-1] = np.uint64(((1 << (8 * w * tail)) - 1) << (8 * w * (per - tail)))
        return words, masks

    def _compare(self, pos: np.ndarray, words: np.ndarray, masks: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """-1, 0 or 1: how the n tokens at each `pos` compare with the query in row `rows` of `words`."""
        result = np.zeros(len(rows), dtype=np.int8)
        open_ = np.arange(len(rows))
        for j in range(words.shape[1]):
            window = self._words[pos[open_] + j * self._per_word] & masks[j]
            target = words[rows[open_], j]
            less, more = window < target, window > target
            result[open_[less]] = -1
            result[open_[more]] = 1
            open_ = open_[~(less | more)]  # equal so far: only these read the next word, so reads stay in a document
            if len(open_) == 0:
                break
        return result

    def _bisect(self, lo, hi, words, masks, rows, upper: bool) -> None:
        """In-place binary search: lo ends at the first rank in [lo, hi) whose suffix is >= (upper: >) its query."""
        active = np.nonzero(lo < hi)[0]
        while len(active):
            mid = (lo[active] + hi[active]) >> 1
            c = self._compare(self.sa[mid].astype(np.int64), words, masks, rows[active])
            right = c <= 0 if upper else c < 0
            lo[active[right]] = mid[right] + 1
            hi[active[~right]] = mid[~right]
            active = active[lo[active] < hi[active]]

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


def _map(path: Path) -> mmap.mmap | bytes:
    with open(path, "rb") as f:
        if path.stat().st_size == 0:  # mmap refuses empty files; a shard of empty documents has an empty SA
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
