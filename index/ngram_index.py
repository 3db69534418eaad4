"""The id-level n-gram engine: every shard of an index and its document offsets; integers only, no tokenizer.

Its verbs follow infini-gram's engine (Liu et al., 2024): `count`, `find` (per-shard suffix-array rank ranges, then
`doc_at` fetches an occurrence by rank), `ntd`, CNF document search, and the ∞-gram pass `match_lengths`; each has a
batch form that answers thousands of queries in lock-step (`count_many`, `find_many`, `match_lengths_many`), which
the contamination checks run on. Counts are overlapping occurrences; no match crosses a document boundary.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidQuery
from .suffix_array import CORES, KEY_EVERY, SEARCH_POOL, Shard

if TYPE_CHECKING:
    from .layout import ShardRecord


@dataclass(frozen=True, slots=True)
class Ranges:
    """Where a token sequence occurs: its suffix-array rank range [lo, hi) in each shard."""

    by_shard: tuple[tuple[int, int], ...]

    @property
    def count(self) -> int:
        return sum(hi - lo for lo, hi in self.by_shard)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence, fetched by rank: its global document number and token offset inside that document."""

    doc: int
    offset: int


@dataclass(frozen=True, slots=True)
class Occurrences:
    """Occurrences of a batch of queries: the query row, global document and token offset inside it of each."""

    rows: np.ndarray
    docs: np.ndarray
    offsets: np.ndarray
    #: more occurrences than the cap in some shard: these are an even sample
    approx: bool


@dataclass(frozen=True, slots=True)
class NextTokens:
    """Every token that follows a prompt (ascending ids) with its count; `document_ends`: occurrences that end
    a document, so have no next token."""

    prompt_count: int
    ids: np.ndarray
    counts: np.ndarray
    document_ends: int


@dataclass(frozen=True, slots=True)
class CnfDocuments:
    """Documents holding, for every clause, at least one of its token sequences (ascending global numbers)."""

    documents: np.ndarray
    #: occurrences of each clause's sequences in the whole corpus, clause by clause
    counts: tuple[tuple[int, ...], ...]
    #: a sequence occurred more often than the cap in some shard and was sampled evenly: documents may be missed
    approx: bool


def _int_array(values, what: str) -> np.ndarray:
    """`values` as int64, if they are token ids: integers, or floats that are exactly integers. NaN, 2.5, bools and
    strings are InvalidQuery (NumPy would cut 2.5 to 2, or fail with its own error)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # ragged rows
        raise InvalidQuery(f"{what} must be a regular array of integer token ids (rows of one length)") from None
    if array.dtype.kind == "f" and not (np.isfinite(array) & (array == np.round(array))).all():
        raise InvalidQuery(f"{what} holds NaN, infinite or fractional values: token ids are integers")
    if array.size and array.dtype.kind not in "iuf":
        raise InvalidQuery(f"{what} must hold integer token ids, not {array.dtype} values")
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise InvalidQuery(f"{what} holds {array.max()}, past any token id")
    if array.dtype.kind == "f" and array.size and np.abs(array).max() >= 2.0**63:
        raise InvalidQuery(f"{what} holds {np.abs(array).max()}, past any token id")
    return array.astype(np.int64, copy=False)


class NgramIndex:
    """Exact n-gram queries over an index's shards. Token ids must lie in 0..max_id (InvalidQuery otherwise)."""

    def __init__(self, build: Path, shards: Sequence[ShardRecord], width: int, max_id: int):
        """`shards`: the manifest's shard records (folder `name`, `tokens` including separators), in order."""
        self.max_id = int(max_id)
        self.shards = [Shard(build / s.name, width, int(s.tokens), self.max_id + 1) for s in shards]
        #: global number of each shard's first document (and the total last), from the shards' own document tables
        self.doc_lo = np.cumsum([0] + [s.n_documents for s in self.shards], dtype=np.int64)
        self.n_documents = int(self.doc_lo[-1])
        #: tokens of text (document separators are not tokens of the corpus)
        self.n_tokens = sum(s.searchable for s in self.shards)
        self._kernel_arrays = None  # the shards as the compiled ∞-gram pass takes them, made on its first use
        self._lcp: dict[int, np.ndarray] = {}

    # -- checks -------------------------------------------------------------------------------------------------

    def checked_ids(self, ids) -> np.ndarray:
        """A token sequence as a 1-D int64 array, every id in 0..max_id; InvalidQuery otherwise."""
        array = _int_array(ids, "a token sequence")
        if array.ndim != 1:
            raise InvalidQuery(f"a token sequence is 1-D, not shape {array.shape}")
        if isinstance(ids, (list, tuple)):  # Python's min and max beat two NumPy reductions on a few ids
            if ids and not (0 <= min(ids) and max(ids) <= self.max_id):
                self._check_range(array)
        else:
            self._check_range(array)
        return array

    @staticmethod
    def _cap(cap: int | None, longest: int) -> int:
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, numbers.Integral)):
            raise InvalidQuery(f"the match-length cap must be an integer, not {cap!r}")
        if cap is not None and cap < 0:
            raise InvalidQuery(f"the match-length cap must not be negative, not {cap}")
        return longest if cap is None else int(cap)

    def _check_range(self, array: np.ndarray) -> None:
        if array.size and (array.min() < 0 or array.max() > self.max_id):
            bad = int(array[(array < 0) | (array > self.max_id)][0])
            raise InvalidQuery(f"token id {bad} is outside this index's range 0..{self.max_id}")

    def checked_batch(self, queries, lengths) -> tuple[np.ndarray, np.ndarray]:
        """A batch (Q, n) of token ids and its row lengths, checked as `find_many` takes them; InvalidQuery
        otherwise."""
        q = _int_array(queries, "a batch of token ids")
        if q.ndim != 2:
            raise InvalidQuery(f"a batch is a 2-D array (queries x tokens), not shape {q.shape}")
        if lengths is not None:
            lengths = _int_array(lengths, "lengths")
            if lengths.shape != (len(q),) or (len(q) and (lengths.min() < 0 or lengths.max() > q.shape[1])):
                raise InvalidQuery(f"lengths must give one length in 0..{q.shape[1]} per query row")
        self._check_range(q if lengths is None else q[np.arange(q.shape[1]) < lengths[:, None]])
        return q, lengths

    def _check_doc(self, doc: int) -> int:
        if isinstance(doc, bool) or not isinstance(doc, numbers.Integral):
            raise InvalidQuery(f"a document number is an integer, not {doc!r}")
        doc = int(doc)
        if not 0 <= doc < self.n_documents:
            raise InvalidQuery(f"document {doc} does not exist: this index has documents 0..{self.n_documents - 1}")
        return doc

    # -- count and find -------------------------------------------------------------------------------------------

    def find(self, ids: Sequence[int]) -> Ranges:
        """Per shard, the rank range of the suffixes starting with `ids`; the empty sequence matches every token."""
        q = self.checked_ids(ids)
        if not len(q):
            return Ranges(tuple((0, s.searchable) for s in self.shards))
        return Ranges(tuple(shard.find_range(q) for shard in self.shards))

    def count(self, ids: Sequence[int]) -> int:
        return self.find(ids).count

    def find_many(self, queries, lengths=None) -> tuple[np.ndarray, np.ndarray]:
        """Rank ranges for every row of a (Q, n) array (row r is its first lengths[r] ids): lo and hi, (shards, Q)."""
        q, lengths = self.checked_batch(queries, lengths)
        lo = np.zeros((len(self.shards), len(q)), dtype=np.int64)
        hi = np.zeros_like(lo)
        if q.shape[1] == 0 or (lengths is not None and (lengths == 0).any()):  # the empty n-gram: every token
            empty = np.ones(len(q), dtype=bool) if lengths is None else lengths == 0
            for number, shard in enumerate(self.shards):
                hi[number, empty] = shard.searchable
            q, lengths, rows = q[~empty], None if lengths is None else lengths[~empty], np.nonzero(~empty)[0]
        else:
            rows = slice(None)
        if len(q):
            for number, shard in enumerate(self.shards):
                lo[number, rows], hi[number, rows] = shard.find_ranges(q, lengths)
        return lo, hi

    def count_many(self, queries, lengths=None) -> np.ndarray:
        """Counts of every row of a (Q, n) array in one vectorised pass: (Q,) int64."""
        lo, hi = self.find_many(queries, lengths)
        return (hi - lo).sum(axis=0)

    def doc_at(self, shard: int, rank: int) -> Occurrence:
        """The document and token offset of the occurrence at suffix-array `rank` of `shard`."""
        if not 0 <= shard < len(self.shards) or not 0 <= rank < self.shards[shard].searchable:
            raise InvalidQuery(f"no rank {rank} in shard {shard}")
        part = self.shards[shard]
        position = int(part.sa[rank])
        local = int(part.document_of(np.array([position]))[0])
        return Occurrence(int(self.doc_lo[shard]) + local, position - int(part.doc_starts[local]))

    def occurrences_many(self, queries, lengths=None, cap: int = 1_000_000,
                         budget: int | None = None) -> Occurrences:
        """Every occurrence of each row of `queries` (as in `find_many`) as flat arrays: row, global document,
        token offset inside it. Beyond `cap` occurrences of a row in a shard, an even sample of them (`approx`).
        With a `budget`, at most that many occurrences in all: the cap is lowered, for every row alike, to the
        largest that fits (so memory is bounded whatever the rows' counts)."""
        lo, hi = self.find_many(queries, lengths)
        if budget is not None:
            cap = _fitting_cap(hi - lo, cap, budget)
        rows, docs, offsets, approx = [], [], [], False
        for number, shard in enumerate(self.shards):
            found = np.nonzero(hi[number] > lo[number])[0]
            counts = (hi[number] - lo[number])[found]
            approx |= bool((counts > cap).any())
            take = np.minimum(counts, cap)
            row = np.repeat(found, take)
            step = np.arange(len(row)) - np.repeat(np.cumsum(take) - take, take)  # 0, 1, ... within each row
            # all of a range up to the cap; beyond it, `cap` evenly spaced ranks (as `positions` samples)
            rank = lo[number, row] + step * np.repeat(counts, take) // np.repeat(take, take)
            positions = shard.sa[rank].astype(np.int64)
            local = shard.document_of(positions)
            rows.append(row)
            docs.append(local + self.doc_lo[number])
            offsets.append(positions - shard.doc_starts[local])
        if not rows:
            empty = np.zeros(0, np.int64)
            return Occurrences(empty, empty, empty, False)
        return Occurrences(*(np.concatenate(a).astype(np.int64) for a in (rows, docs, offsets)), approx)

    # -- next tokens ------------------------------------------------------------------------------------------------

    def ntd(self, ids: Sequence[int]) -> NextTokens:
        """The exact next-token distribution after `ids` (after nothing: every token's count), summed over shards."""
        q = self.checked_ids(ids)
        totals = np.zeros(self.max_id + 1, dtype=np.int64)
        prompt_count = ends = 0
        for shard in self.shards:
            if len(q):
                lo, hi = shard.find_range(q)
                values, counts = shard.next_token_runs(lo, hi, len(q))
            else:
                lo, hi = 0, shard.searchable
                counts = np.diff(shard.first)[: shard.n_symbols]
                values = np.arange(shard.n_symbols)
            prompt_count += hi - lo
            ending = values > self.max_id  # the separator: the prompt ends a document here
            ends += int(counts[ending].sum())
            np.add.at(totals, values[~ending], counts[~ending])
        present = np.nonzero(totals)[0]
        return NextTokens(int(prompt_count), present, totals[present], ends)

    # -- the ∞-gram pass ------------------------------------------------------------------------------------------

    def match_lengths(self, ids: Sequence[int], cap: int | None = None) -> np.ndarray:
        """For each token i, the longest n (at most `cap`) such that ids[i+1-n : i+1] occurs in the corpus.

        The longest occurring n-gram ending at i is at most one longer than the one ending at i - 1, so one
        left-to-right pass needs O(len(ids)) searches.
        """
        q = self.checked_ids(ids)
        cap = self._cap(cap, len(q))
        out = np.zeros(len(q), dtype=np.int64)
        k = 0
        for i in range(len(q)):
            k = min(k + 1, cap)
            while k and not any(hi > lo for lo, hi in (s.find_range(q[i + 1 - k : i + 1]) for s in self.shards)):
                k -= 1
            out[i] = k
        return out

    def match_lengths_many(self, sequences: Sequence[Sequence[int]], cap: int | None = None,
                           compiled: bool = True) -> list[np.ndarray]:
        """`match_lengths` of many sequences at once.

        Compiled (`search_kernels.match_lengths`, the sequences split over the cores): one pass per sequence, the
        previous match's place in the text tried first. Else in NumPy (the reference the compiled pass is tested
        against), in lock-step rounds of one batched search per shard: each sequence is cut into segments that run
        side by side, so a round holds thousands of candidates however few the sequences are. A segment first
        finds the match length at its first token by bisection (the longest occurring suffix is monotone: a longer
        one occurring implies every shorter one does), then walks on with the one-pass recurrence of
        `match_lengths`. A shard is asked only about candidates the earlier shards lack.
        """
        arrays = [self.checked_ids(s) for s in sequences]
        if not arrays:
            return []
        flat = np.concatenate(arrays)
        size = np.array([len(a) for a in arrays], dtype=np.int64)
        start = np.cumsum(size) - size
        cap = self._cap(cap, int(size.max(initial=0)))
        result = np.zeros(len(flat), dtype=np.int64)
        if cap > 0 and len(flat):
            (self._match_compiled if compiled else self._match_segments)(flat, start, size, cap, result)
        return [result[a : a + n] for a, n in zip(start.tolist(), size.tolist())]

    def _match_compiled(self, flat, start, size, cap, result) -> None:
        from . import search_kernels

        if not self.shards:  # an empty index: nothing occurs
            return
        if self._kernel_arrays is None:
            self._kernel_arrays = search_kernels.shard_arrays(self.shards)
        width = self.shards[0].width

        def run(part: slice) -> None:
            search_kernels.match_lengths(*self._kernel_arrays, width, KEY_EVERY, flat, start[part], size[part], cap,
                                         result)

        ends = np.cumsum(size)  # sequences cut into one run of about equal tokens per core
        cuts = np.searchsorted(ends, ends[-1] * np.arange(1, CORES) / CORES).tolist()
        parts = [slice(a, b) for a, b in zip([0, *cuts], [*cuts, len(size)]) if b > a]
        for future in [SEARCH_POOL.submit(run, part) for part in parts]:
            future.result()

    def _match_segments(self, flat, start, size, cap, result) -> None:
        seg = max(8, min(256, len(flat) // 16384))  # tokens per segment: ~16k segments side by side
        pieces = []
        for a, n in zip(start.tolist(), size.tolist()):
            if n:
                begins = a + np.arange(0, n, seg)
                pieces.append((begins, np.minimum(begins + seg, a + n), np.full(len(begins), a)))
        pos, end, first = (np.concatenate(p) for p in zip(*pieces))  # flat positions; `first`: its sequence's start
        lo = np.zeros(len(pos), dtype=np.int64)  # bisection of the first token's match length: lo <= it <= hi
        hi = np.minimum(pos - first + 1, cap)
        # the search starts by galloping (1, 2, 4, ... tokens) until a length does not occur: matches are mostly
        # short, and a long item's deep segments would otherwise ask thousands of tokens at once
        galloping = np.ones(len(pos), dtype=bool)
        walking = np.zeros(len(pos), dtype=bool)  # past the first token: `k` is the candidate (previous + 1)
        k = np.zeros(len(pos), dtype=np.int64)
        misses = np.zeros(len(pos), dtype=np.int64)  # candidates that failed at this token while walking
        # where the match ending just before `pos` (length m) occurs: shard and token position, shard -1 if unknown.
        # Text copied from the corpus goes on matching there, so one token read often settles the next candidate.
        m = np.zeros(len(pos), dtype=np.int64)
        anchor_shard = np.full(len(pos), -1, dtype=np.int64)
        anchor = np.zeros(len(pos), dtype=np.int64)
        active = np.arange(len(pos))
        while len(active):
            settled = ~walking[active] & (lo[active] == hi[active])
            if settled.any():  # bisection done: the first token's length is known, walk on from the next token
                rows = active[settled]
                result[pos[rows]] = m[rows] = lo[rows]
                walking[rows] = True
                k[rows] = np.minimum(lo[rows] + 1, cap)
                pos[rows] += 1
                active = active[pos[active] < end[active]]
                continue
            doubled = np.minimum(hi[active], np.maximum(1, 2 * lo[active]))
            middle = np.where(galloping[active], doubled, (lo[active] + hi[active] + 1) >> 1)
            lengths = np.where(walking[active], k[active], middle)
            found = np.zeros(len(active), dtype=bool)
            follow = np.nonzero(walking[active] & (anchor_shard[active] >= 0))[0]
            for number, shard in enumerate(self.shards):
                here = follow[anchor_shard[active[follow]] == number]
                rows = active[here]
                found[here] = shard.tokens[anchor[rows] + m[rows]] == flat[pos[rows]]
            rows = active[found]  # the candidate is a suffix of the anchored match plus one token
            anchor[rows] += m[rows] + 1 - lengths[found]
            anchor_shard[active[follow[~found[follow]]]] = -1
            ask = np.nonzero(~found)[0]
            if len(ask):
                shard_of, where = self._occurrences(flat, pos[active[ask]] + 1 - lengths[ask], lengths[ask])
                found[ask] = shard_of >= 0
                rows = active[ask[shard_of >= 0]]
                anchor_shard[rows], anchor[rows] = shard_of[shard_of >= 0], where[shard_of >= 0]
            bisecting = ~walking[active]
            rows = active[bisecting]
            lo[rows] = np.where(found[bisecting], lengths[bisecting], lo[rows])
            hi[rows] = np.where(found[bisecting], hi[rows], lengths[bisecting] - 1)
            galloping[rows] &= found[bisecting]
            anchor_shard[rows] = -1  # a bisection candidate is not the match ending before the next token
            walk, hit = active[~bisecting], found[~bisecting]
            length = lengths[~bisecting]
            done = hit | (length == 1)  # a 1-gram that does not occur: the match length there is 0
            rows = walk[done]
            result[pos[rows]] = m[rows] = np.where(hit[done], length[done], 0)
            k[rows] = np.minimum(m[rows] + 1, cap)
            misses[rows] = 0
            pos[rows] += 1
            missed = walk[~done]
            k[missed] -= 1
            misses[missed] += 1
            # a long match that breaks would shrink one token a round: after two misses, search this token's length
            # as the first token's is searched (below the failed candidate)
            broken = missed[misses[missed] > 2]
            walking[broken], galloping[broken], misses[broken] = False, True, 0
            lo[broken], hi[broken] = 0, k[broken]
            active = active[pos[active] < end[active]]

    def _occurrences(self, flat: np.ndarray, begin: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each n-gram flat[begin : begin + length], a shard and token position where it occurs (shard -1:
        nowhere). A shard is asked only about the n-grams the earlier shards lack."""
        width = int(lengths.max())
        grams = flat[np.minimum(begin[:, None] + np.arange(width), len(flat) - 1)]
        shard_of = np.full(len(begin), -1, dtype=np.int64)
        where = np.zeros(len(begin), dtype=np.int64)
        for number, shard in enumerate(self.shards):
            ask = np.nonzero(shard_of < 0)[0]
            if not len(ask):
                break
            at = shard.occurrences_many(grams[ask], lengths[ask])
            hit = ask[at >= 0]
            shard_of[hit], where[hit] = number, at[at >= 0]
        return shard_of, where

    def lcp(self, shard: int, progress=None) -> np.ndarray:
        """Shard `shard`'s LCP array (`index.lcp`), computed on first use (`progress` as `lcp_array`'s) and kept
        while the index is open."""
        if shard not in self._lcp:
            from .lcp import lcp_array

            self._lcp[shard] = lcp_array(self.shards[shard], progress)
        return self._lcp[shard]

    # -- documents ----------------------------------------------------------------------------------------------

    def _locate_doc(self, doc: int) -> tuple[Shard, int]:
        shard = int(np.searchsorted(self.doc_lo, doc, side="right")) - 1
        return self.shards[shard], doc - int(self.doc_lo[shard])

    def document_tokens(self, doc: int) -> np.ndarray:
        shard, local = self._locate_doc(self._check_doc(doc))
        return shard.document_tokens(local)

    def find_cnf(self, clauses: Sequence[Sequence[Sequence[int]]], max_clause_freq: int) -> CnfDocuments:
        """Documents in which every clause (AND) has at least one of its sequences (OR) (infini-gram's CNF search).

        A sequence with more than `max_clause_freq` occurrences in a shard is read at that many evenly spaced ranks,
        and the answer says `approx`.
        """
        seqs = [[self.checked_ids(s) for s in clause] for clause in clauses]
        if not seqs or any(not clause or any(not len(s) for s in clause) for clause in seqs):
            raise InvalidQuery("a CNF query needs at least one clause, each of non-empty token sequences")
        approx = False
        counts = [[0] * len(clause) for clause in seqs]
        documents = []
        for number, shard in enumerate(self.shards):
            clause_docs = []
            for c, clause in enumerate(seqs):
                positions = []
                for t, seq in enumerate(clause):
                    lo, hi = shard.find_range(seq)
                    counts[c][t] += hi - lo
                    pos, sampled = shard.positions(lo, hi, max_clause_freq)
                    approx |= sampled
                    positions.append(pos)
                clause_docs.append(np.unique(shard.document_of(np.concatenate(positions))))
            documents.append(reduce(np.intersect1d, clause_docs) + self.doc_lo[number])
        found = np.concatenate(documents) if documents else np.zeros(0, np.int64)
        return CnfDocuments(found, tuple(tuple(c) for c in counts), approx)

    def locate(
        self, doc: int, sequences: Sequence[Sequence[int]], limit: int = 1000, tokens: np.ndarray | None = None
    ) -> list[tuple[int, int]]:
        """Token spans [start, end) of every occurrence of any of `sequences` inside document `doc`, in order; at most
        `limit`. Candidates are a sequence's first-token positions, narrowed token by token: one pass per query
        token, whatever the document's length. `tokens`: the document's, when the caller has read them already."""
        tokens = self.document_tokens(doc) if tokens is None else tokens
        spans: set[tuple[int, int]] = set()
        for seq in sequences:
            q = self.checked_ids(seq)
            n = len(q)
            if not n or n > len(tokens):
                continue
            starts = np.nonzero(tokens[: len(tokens) - n + 1] == q[0])[0]
            for j in range(1, n):
                starts = starts[tokens[starts + j] == q[j]]
            spans.update((int(a), int(a) + n) for a in starts[:limit])
        return sorted(spans)[:limit]


def _fitting_cap(counts: np.ndarray, cap: int, budget: int) -> int:
    """The largest cap <= `cap` such that the counts capped by it sum to at most `budget` (0 when none fits)."""
    counts = counts[counts > 0]
    if int(np.minimum(counts, cap).sum()) <= budget:
        return cap
    low, high = 0, cap  # sum(min(counts, low)) fits, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if int(np.minimum(counts, middle).sum()) <= budget:
            low = middle
        else:
            high = middle
    return low
