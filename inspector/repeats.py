"""What the corpus repeats: its most frequent n-grams, exact, from the suffix arrays' LCP arrays (`index.lcp`).

In one shard the occurrences of an n-gram are one run of ranks sharing n tokens, so its count is a run length and the
top K are the K longest runs. Across shards counts add up, and an n-gram frequent overall may be in no shard's top:
each shard offers its top runs, the candidates are counted exactly in every shard, and the list is final once the
K-th count beats what any n-gram left out could reach (the sum of each shard's largest count not offered);
otherwise each shard offers more.

Duplicated spans (Lee et al.'s): a window of L tokens is duplicated when at least D documents hold it, which a run of
`lcp >= L` tells within a shard; every token such a window covers is in a duplicated span, and a span is a maximal
stretch of covered tokens of one document (what deduplicate-text-datasets' `collect` step would remove). Spans with
the same ids are one entry, with their places. Across shards, each shard's distinct windows (its runs and the
windows it holds once, both in suffix-array order) are merged with every other shard's (`index.lcp.held_in_other`),
adding the documents that hold a window there: a walk of the two orders, not a search per window.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from index import lcp as index_lcp
from index.errors import InspectorError, InvalidQuery
from index.lcp import cover_from_starts, held_in_other, runs_by_chunk, single_ranks, singles_by_chunk, top_runs

from .atomic_file import write_then_rename
from .contamination.report import FlaggedDocument
from .query import check_int
from .results import MaximalRepeats, RepeatedSpan, Repeats, SourceRepeats, TopNgram, TopNgrams

MAX_N = 1000
MAX_K = 10_000
#: `inspector repeats --out`'s columns: one row per place of a duplicated span
SPAN_COLUMNS = {"doc": pa.int64(), "id": pa.string(), "file": pa.string(), "row": pa.int64(),
                "token_start": pa.int64(), "token_end": pa.int64(), "char_start": pa.int64(), "char_end": pa.int64()}


def top_ngrams(index, n: int, k: int = 20, min_count: int = 1, progress=None) -> TopNgrams:
    """The `k` most frequent n-grams of `n` tokens with at least `min_count` occurrences, most frequent first, ties
    by ids; each with its count and how many documents hold it. The first call on an opened index computes its LCP
    arrays (`progress(stage, tokens done, tokens)`), later ones reuse them."""
    n = check_int("n", n, 1, MAX_N)
    k = check_int("k", k, 1, MAX_K)
    min_count = check_int("the least count", min_count, 1, 2**62)
    engine = index.engine
    _lcp_arrays(engine, progress)
    ids, counts, _ = _most_frequent(engine, n, k, min_count)
    return TopNgrams(n=n, total=_total(engine, n), ngrams=_listed(index, [(ids, counts)]))


def maximal_repeats(index, shortest: int, longest: int, k: int = 20, progress=None) -> MaximalRepeats:
    """The `k` most frequent maximal repeats of `shortest` to `longest` tokens, most frequent first, ties by ids: an
    n-gram occurring twice or more that no token before or after extends without losing an occurrence (so not the
    13-gram inside a 40-gram that always stands whole). Exact over every shard.

    Per length, the most frequent n-grams are the candidates (`_most_frequent`); one occurrence of each tells the
    only token that could extend it on each side, and a batch count of the extensions whether one keeps every
    occurrence. The list is final once its k-th count beats what any n-gram left out at any length may have;
    until then each length that may hold one offers more."""
    shortest = check_int("the shortest repeat", shortest, 1, MAX_N)
    longest = check_int("the longest repeat", longest, shortest, MAX_N)
    k = check_int("k", k, 1, MAX_K)
    engine = index.engine
    _lcp_arrays(engine, progress)
    offered = dict.fromkeys(range(shortest, longest + 1), k)
    found: dict[int, list] = {}
    unlisted: dict[int, int] = {}
    pending = list(offered)
    while pending:
        for n in pending:
            ids, counts, unlisted[n] = _most_frequent(engine, n, offered[n], 2)
            keep = _maximal(engine, ids, counts)
            found[n] = [(row, int(c)) for row, c in zip(ids[keep], counts[keep])]
        ranked = sorted((f for listed in found.values() for f in listed), key=lambda f: (-f[1], f[0].tolist()))[:k]
        floor = ranked[-1][1] if len(ranked) == k else 2  # what an n-gram left out must reach to matter
        pending = [n for n in offered if unlisted[n] >= floor]  # a length that may hold one offers more
        for n in pending:
            offered[n] *= 4
    groups = [(row[None, :], np.array([count])) for row, count in ranked]
    return MaximalRepeats(n=(shortest, longest), ngrams=_listed(index, groups))


def _maximal(engine, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Which n-grams (rows of `ids`, all of one length, each present) no token before or after extends with the
    same count: the only candidates are the tokens beside one occurrence (none beside a document's edge)."""
    n = ids.shape[1]
    before = np.full(len(ids), -1, dtype=np.int64)  # -1: at a document's edge, nothing extends it on that side
    after = np.full(len(ids), -1, dtype=np.int64)
    seen = np.zeros(len(ids), dtype=bool)
    lo, hi = engine.find_many(ids) if len(ids) else (None, None)
    for number, shard in enumerate(engine.shards if len(ids) else ()):
        here = np.flatnonzero((hi[number] > lo[number]) & ~seen)
        seen[here] = True
        at = shard.sa[lo[number, here]].astype(np.int64)
        doc = shard.document_of(at)
        starts = np.asarray(shard.doc_starts)
        inside = at > starts[doc]
        before[here[inside]] = shard.tokens[at[inside] - 1]
        inside = at + n < starts[doc + 1] - 1  # the separator ends the document
        after[here[inside]] = shard.tokens[at[inside] + n]
    keep = np.ones(len(ids), dtype=bool)
    for side, extend in ((before, lambda rows, t: np.column_stack([t, rows])),
                         (after, lambda rows, t: np.column_stack([rows, t]))):
        inner = np.flatnonzero(side >= 0)
        if len(inner):
            keep[inner[engine.count_many(extend(ids[inner], side[inner])) == counts[inner]]] = False
    return keep


def _most_frequent(engine, n: int, k: int, min_count: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The k most frequent n-grams with `min_count`+ occurrences ((k, n) ids and counts, ties by ids), and the
    largest count an n-gram left out may have. Each shard offers its top runs; the list is final once its k-th count
    beats what any n-gram not offered could reach (the sum of each shard's largest count not offered)."""
    offered = k
    while True:
        candidates, bound = _offers(engine, n, offered, min_count)
        ids, counts = _counted(engine, candidates, n)
        keep = counts >= min_count
        ids, counts = ids[keep], counts[keep]
        order = np.lexsort((*ids.T[::-1], -counts))[:k] if len(ids) else np.zeros(0, dtype=np.int64)
        ids, counts = ids[order], counts[order]
        if bound < min_count:  # every n-gram of `min_count`+ was offered
            return ids, counts, int(counts[-1]) if len(counts) == k else min_count - 1
        if len(counts) == k and counts[-1] > bound:
            return ids, counts, int(counts[-1])
        offered *= 4


def _listed(index, groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[TopNgram, ...]:
    """(ids, counts) groups, each of one length, as TopNgrams with their text and documents, in the order given."""
    tokenizer, listed = index.tokenizer, []
    for ids, counts in groups:
        documents = _documents(index.engine, ids)
        listed += [TopNgram(tuple(int(t) for t in row), tokenizer.decode(row.tolist()), int(c), int(d))
                   for row, c, d in zip(ids, counts, documents)]
    return tuple(listed)


def _lcp_arrays(engine, progress) -> None:
    """Every shard's LCP array, progress counted in the tokens of all shards."""
    total, done = sum(s.n_tokens for s in engine.shards), 0
    for number, shard in enumerate(engine.shards):
        engine.lcp(number, progress and (lambda stage, at, _, done=done: progress(stage, done + at, total)))
        done += shard.n_tokens


def _offers(engine, n: int, k: int, min_count: int) -> tuple[list[np.ndarray], int]:
    """Each shard's top-k n-grams (as (k, n) ids) and the largest shard count left out, summed over shards."""
    offers, bound = [], 0
    for number, shard in enumerate(engine.shards):
        lcp = engine.lcp(number)
        lo, hi = top_runs(lcp, n, k)
        counts = hi - lo
        if len(counts) > k:
            bound += int(counts[k])  # the largest count left out
            ranks = lo[:k]
        else:
            # then n-grams that occur once in the shard (in the others too, they may reach `min_count`)
            need = k - len(counts)
            singles = single_ranks(shard, lcp, n, need + 1)
            bound += int(len(singles) > need)
            ranks = np.concatenate([lo, singles[:need]])
        starts = shard.sa[ranks].astype(np.int64)
        offers.append(shard.tokens[starts[:, None] + np.arange(n)].astype(np.int64))
    return offers, bound


def _counted(engine, offers: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct offered n-grams and their exact counts in the whole corpus."""
    ids = np.unique(np.concatenate(offers), axis=0) if offers else np.zeros((0, n), dtype=np.int64)
    if not len(ids):
        return ids, np.zeros(0, dtype=np.int64)
    return ids, engine.count_many(ids)


def _documents(engine, ids: np.ndarray) -> np.ndarray:
    """How many documents hold each row of `ids` (documents of different shards are different documents)."""
    held = np.zeros(len(ids), dtype=np.int64)
    if not len(ids):
        return held
    lo, hi = engine.find_many(ids)
    for number, shard in enumerate(engine.shards):
        found = np.flatnonzero(hi[number] > lo[number])
        ranks, run_of = _ranks_of(lo[number, found], hi[number, found])
        held[found] += _distinct_per_run(run_of, shard.document_of(shard.sa[ranks].astype(np.int64)), len(found))
    return held


def _ranks_of(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every rank of the ranges [lo, hi), in order, and which range each is of."""
    counts = (hi - lo).astype(np.int64)
    run_of = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(lo.astype(np.int64), counts) + offsets, run_of


def _total(engine, n: int) -> int:
    """n-gram occurrences in the corpus: each document of L tokens holds max(0, L - n + 1)."""
    total = 0
    for shard in engine.shards:
        lengths = np.diff(np.asarray(shard.doc_starts)) - 1
        total += int(np.maximum(lengths - n + 1, 0).sum())
    return total


def repeated_spans(index, min_len: int = 50, min_docs: int = 2, limit: int = 100, progress=None, *,
                   cover: Cover | None = None) -> Repeats:
    """Every maximal span of the corpus covered by windows of `min_len` tokens that occur in at least `min_docs`
    documents (Lee et al.'s duplicated spans), grouped by their ids, largest count x length first (`limit` of
    them); the figures (tokens inside such spans, documents holding any) always cover the whole corpus.

    In a shard, a window's occurrences are one run of `lcp >= min_len`; across shards, each shard's distinct
    windows are merged with the others' (exact; an index of many shards walks each pair of shards)."""
    limit = check_int("the spans listed", limit, 0, MAX_K)
    cover = _cover_for(index, min_len, min_docs, progress, cover)
    engine = index.engine
    groups: dict[bytes, list] = {}
    inside = [np.zeros(0, dtype=np.int64)]  # per document, its tokens inside duplicated spans
    for number, covered, starts, ends in _spans_by_shard(cover):
        shard = engine.shards[number]
        inside.append(_per_document(shard, covered))
        docs = (shard.document_of(starts) + engine.doc_lo[number]).tolist()
        raw, w = shard.tokens.view(np.uint8), shard.width
        for start, end, doc in zip(starts.tolist(), ends.tolist(), docs):
            key = raw[start * w : end * w].tobytes()
            groups.setdefault(key, [end - start, start, number, []])[3].append(doc)
    ranked = sorted(groups.values(), key=lambda g: (-len(g[3]) * g[0], g[3][0]))[:limit]
    spans = tuple(RepeatedSpan(length, len(docs), tuple(docs), _text(index, engine, number, start, length))
                  for length, start, number, docs in ranked)
    inside = np.concatenate(inside)
    return Repeats(min_len=cover.min_len, min_docs=cover.min_docs, tokens=engine.n_tokens,
                   tokens_in_repeats=int(inside.sum()), documents_with_repeats=int((inside > 0).sum()), spans=spans,
                   by_source=_by_source(index.documents, inside))


def _by_source(documents, inside: np.ndarray) -> tuple[SourceRepeats, ...]:
    """The figures per source file holding documents, from each document's tokens inside duplicated spans."""
    files = np.asarray(documents.file_numbers, dtype=np.int64)
    sources = len(documents.sources)
    held = np.bincount(files, minlength=sources)
    tokens = np.bincount(files, weights=np.asarray(documents.token_counts, dtype=np.float64), minlength=sources)
    with_repeats = np.bincount(files, weights=(inside > 0), minlength=sources)
    tokens_in = np.bincount(files, weights=inside.astype(np.float64), minlength=sources)
    return tuple(SourceRepeats(documents.sources[f].path, int(held[f]), int(tokens[f]), int(with_repeats[f]),
                               int(tokens_in[f])) for f in np.flatnonzero(held).tolist())


def duplicated_documents(index, min_len: int = 50, min_docs: int = 2, progress=None, *,
                         cover: Cover | None = None) -> tuple[FlaggedDocument, ...]:
    """Every document holding duplicated spans (`repeated_spans`), with its spans in its own tokens: every place,
    none kept as "the original", as deduplicate-text-datasets' `collect` lists them. What `write_span_table` writes
    and `decontaminate(..., mask=True)` blanks."""
    engine, listed = index.engine, []
    for number, _, starts, ends in _spans_by_shard(_cover_for(index, min_len, min_docs, progress, cover)):
        shard = engine.shards[number]
        local = shard.document_of(starts)  # in order: the spans are
        first = np.asarray(shard.doc_starts)[local]
        held, cut = np.unique(local, return_index=True)
        for each, lo, hi in zip(held.tolist(), cut.tolist(), [*cut[1:].tolist(), len(local)]):
            doc = int(engine.doc_lo[number]) + each
            spans = tuple(zip((starts[lo:hi] - first[lo:hi]).tolist(), (ends[lo:hi] - first[lo:hi]).tolist()))
            listed.append(FlaggedDocument(doc=doc, id=index.documents.id(doc), file=index.documents.file(doc),
                                          row=index.documents.row(doc), items=(),
                                          tokens_matched=sum(b - a for a, b in spans), spans=spans))
    return tuple(listed)


def write_span_table(index, documents: Sequence[FlaggedDocument], path: str | Path) -> int:
    """The duplicated spans as Parquet, one row per place (a dedup pipeline's input): doc, id, file, row, token
    start and end in the document, character start and end in its text. Written beside `path` and renamed onto it.
    Returns the rows written."""
    path = Path(path)
    rows: dict[str, list] = {key: [] for key in SPAN_COLUMNS}
    for flagged in documents:
        chars = index.tokenizer.char_offsets(index.document_tokens(flagged.doc))
        for start, end in flagged.spans:
            for key, value in zip(SPAN_COLUMNS, (flagged.doc, flagged.id, flagged.file, flagged.row, start, end,
                                                 int(chars[start]), int(chars[end]))):
                rows[key].append(value)
    table = pa.table({key: pa.array(values, type=SPAN_COLUMNS[key]) for key, values in rows.items()})
    write_then_rename(path, lambda partial: pq.write_table(table, partial),
                      lambda reason: InspectorError(f"cannot write {path}: {reason}"))
    return table.num_rows


@dataclass(frozen=True, eq=False)
class Cover:
    """Which token positions of each shard (separators included, never covered) lie under a window of `min_len`
    tokens held by `min_docs` documents or more: the costly part of every answer about duplicated spans, computed
    once and read by the figures, the places and the per-document shares."""

    min_len: int
    min_docs: int
    shards: tuple[np.ndarray, ...]


def duplicated_cover(index, min_len: int = 50, min_docs: int = 2, progress=None) -> Cover:
    """The cover of duplicated windows (`Cover`), for `repeated_spans`, `duplicated_documents` and
    `duplicated_fractions` to share (each computes it when not given one)."""
    min_len = check_int("the least span length", min_len, 1, MAX_N)
    min_docs = check_int("the least documents", min_docs, 2, 2**62)
    engine = index.engine
    _lcp_arrays(engine, progress)
    many = len(engine.shards) > 1
    tables = {number: _window_table(engine, number, min_len) for number in range(len(engine.shards))} if many else {}
    passes = 2 if many else 1  # many shards: the windows held once are merged with the others' too
    covers, done, total = [], 0, passes * sum(s.n_tokens for s in engine.shards)
    if progress is not None:
        progress("duplicated windows", 0, total)
    for number, shard in enumerate(engine.shards):
        tick = progress and (lambda at, done=done: progress("duplicated windows", done + at, total))
        covers.append(_covered(engine, number, min_len, min_docs, tables, tick))
        done += passes * shard.n_tokens
        if progress is not None:
            progress("duplicated windows", done, total)
    return Cover(min_len, min_docs, tuple(covers))


def _cover_for(index, min_len: int, min_docs: int, progress, cover: Cover | None) -> Cover:
    if cover is None:
        return duplicated_cover(index, min_len, min_docs, progress)
    if (cover.min_len, cover.min_docs) != (min_len, min_docs):
        raise InvalidQuery(f"the cover given is for windows of {cover.min_len} tokens in {cover.min_docs}+ "
                           f"documents, not {min_len} in {min_docs}+")
    return cover


def _spans_by_shard(cover: Cover) -> Iterator[tuple]:
    """Per shard: (its number, its cover, the covered spans' starts and ends), spans never crossing a document."""
    for number, covered in enumerate(cover.shards):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.view(np.int8), [0]])))
        yield number, covered, edges[0::2], edges[1::2]


def duplicated_fractions(index, min_len: int = 50, min_docs: int = 2, progress=None, *,
                         cover: Cover | None = None) -> np.ndarray:
    """Each document's share of its tokens inside duplicated spans (`repeated_spans`), float64 [documents]: the
    quality signal `q_dup_span_frac`."""
    cover = _cover_for(index, min_len, min_docs, progress, cover)
    engine, parts = index.engine, [np.zeros(0)]
    for number, covered in enumerate(cover.shards):
        shard = engine.shards[number]
        lengths = np.diff(np.asarray(shard.doc_starts)) - 1
        parts.append(_per_document(shard, covered) / np.maximum(lengths, 1))
    return np.concatenate(parts)


def _per_document(shard, covered: np.ndarray) -> np.ndarray:
    """Covered tokens per document of the shard."""
    if not shard.n_documents:
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(covered, np.asarray(shard.doc_starts[:-1]), dtype=np.int64)


def _covered(engine, number: int, length: int, min_docs: int, tables: dict, tick=None) -> np.ndarray:
    """Per token position of shard `number` (separators included, never covered): whether a window of `length`
    tokens over it occurs in at least `min_docs` documents of the corpus. `tick(ranks)`: the ranks walked so far (a
    shard of many is walked twice)."""
    covered = np.zeros(engine.shards[number].n_tokens, dtype=bool)
    for starts, walked in _window_starts(engine, number, length, min_docs, tables):
        covered[starts] = True
        if tick is not None:
            tick(walked)
    cover_from_starts(covered, length)  # a window ends before its separator, so no separator is covered
    return covered


def _window_starts(engine, number: int, length: int, min_docs: int,
                   tables: dict) -> Iterator[tuple[np.ndarray, int]]:
    """Token positions in shard `number` where a window of `length` tokens starts that occurs in at least
    `min_docs` documents of the corpus (its documents in this shard and, for an index of many shards, in the
    others: `tables`, each other shard's `_window_table`), a chunk of ranks at a time, each with the ranks walked
    so far."""
    shard, lcp, many = engine.shards[number], engine.lcp(number), len(engine.shards) > 1
    ranks_in = len(lcp)
    for chunk, (lo, hi) in enumerate(runs_by_chunk(lcp, length)):
        ranks, run_of = _ranks_of(lo, hi)
        positions = shard.sa[ranks].astype(np.int64)
        held = _distinct_per_run(run_of, shard.document_of(positions), len(lo))
        if many:
            held += _elsewhere(engine, number, lo, length, tables)
        yield positions[held[run_of] >= min_docs], min((chunk + 1) * index_lcp.CHUNK, ranks_in)
    if many:  # windows held once by this shard, and by documents of the others
        for chunk, single in enumerate(singles_by_chunk(shard, lcp, length)):
            held = _elsewhere(engine, number, single, length, tables) + 1
            yield shard.sa[single[held >= min_docs]].astype(np.int64), ranks_in + min((chunk + 1) * index_lcp.CHUNK,
                                                                                      ranks_in)


def _window_table(engine, number: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Shard `number`'s distinct windows of `length` tokens in suffix-array order: a rank holding each (uint32),
    and how many of the shard's documents hold it (int32). What the other shards merge their windows with."""
    shard, lcp = engine.shards[number], engine.lcp(number)
    ranks, held, none = [np.zeros(0, np.uint32)], [np.zeros(0, np.int32)], np.zeros(0, np.int64)
    # the runs closed in a chunk and the chunk's singles all lie after the chunk before's: sort a chunk at a time
    for runs, single in zip_longest(runs_by_chunk(lcp, length), singles_by_chunk(shard, lcp, length)):
        (lo, hi), single = runs or (none, none), none if single is None else single
        every, run_of = _ranks_of(lo, hi)
        documents = _distinct_per_run(run_of, shard.document_of(shard.sa[every].astype(np.int64)), len(lo))
        chunk = np.concatenate([lo, single]).astype(np.uint32)
        order = np.argsort(chunk, kind="stable")
        ranks.append(chunk[order])
        held.append(np.concatenate([documents, np.ones(len(single), np.int64)]).astype(np.int32)[order])
    return np.concatenate(ranks), np.concatenate(held)


def _elsewhere(engine, number: int, ranks: np.ndarray, length: int, tables: dict) -> np.ndarray:
    """For the window at each rank of shard `number` (sorted), the documents of the other shards holding it."""
    shard, held = engine.shards[number], np.zeros(len(ranks), dtype=np.int64)
    for other, (windows, counts) in tables.items():
        if other != number:
            held += held_in_other(shard, ranks, engine.shards[other], windows, counts, length)
    return held


def _distinct_per_run(run_of: np.ndarray, docs: np.ndarray, runs: int) -> np.ndarray:
    """How many distinct documents each run's occurrences fall in."""
    if not len(run_of):
        return np.zeros(runs, dtype=np.int64)
    base = int(docs.max()) + 1
    pairs = np.sort(run_of * base + docs)
    distinct = np.concatenate([[True], pairs[1:] != pairs[:-1]])
    return np.bincount(pairs[distinct] // base, minlength=runs)


def _text(index, engine, number: int, start: int, length: int) -> str:
    """The span's text, its first 200 characters."""
    ids = engine.shards[number].tokens[start : start + min(length, 400)].astype(np.int64).tolist()
    return index.tokenizer.decode(ids)[:200]
