"""Reproducible samples of documents for spot-checks: uniform, or stratified by a score column.

The population: the catalog's documents that pass the metadata filters (`where`, the search `--where` language,
applied in DuckDB) and, when given, the full-text `query` (Tantivy: every matching document, at most
`Settings.max_sample_query_matches`). Documents whose score is null, NaN or infinite are left out of the bins and
counted (`missing_scores`).

Bins (`low <= score < high`; the last bin also holds its `high`) are computed on that population's finite scores:

- `width`: edge i = lo + (hi - lo) * i / bins in IEEE doubles (lo, hi: the least and greatest score), the last
  edge is hi itself; where hi - lo overflows (scores near ±1.8e308), 2 * (lo/2 + (hi/2 - lo/2) * (i / bins)).
- `quantile`: with the n finite scores sorted ascending as v[0..n-1], edge i = v[(i * n) // bins] (integer
  division) for i < bins, and the last edge is v[n-1]. Without ties, bin i holds exactly the scores of ranks
  (i * n) // bins .. ((i + 1) * n) // bins - 1; every edge is a score of the corpus.

Equal edges merge their bins (a run of ties never straddles two bins; all-equal scores make one bin [v, v]), so a
sample can have fewer bins than asked for. Scores are compared as 64-bit floats (integers past 2**53 round; a
sampled document's score past 2**63 stays that float).

Which documents: each candidate gets the key `sample_key(seed, identity)` = the first 8 bytes (big-endian) of
BLAKE2b(seed as 8 big-endian bytes + identity in UTF-8), where identity is the document's id, or
`<file name>#<row>` for a document without one (file name without its folder); ties go to the lower doc number.
Each bin takes its `per_bin` candidates with the smallest keys. Nothing depends on DuckDB's sampling, thread
count or platform, so the same index, arguments, seed and exclusions give the same sample on any machine. Two useful
consequences: a larger `per_bin` extends a smaller one's sample, and excluding the documents already labelled
(`exclude_docs`) yields the next ones in the same order while the bins stay put (exclusions never move edges or
populations: each bin reports how many of its documents were `excluded`).
"""
from __future__ import annotations

import hashlib
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from index.catalog import INTEGER_TYPES
from index.errors import InvalidQuery

from .query import check_int, check_query_text, parse_where
from .results import Result

BINNINGS = ("width", "quantile")
DEFAULT_BINS = 5
MAX_BINS = 100
MAX_PER_BIN = 10_000
_FOLDERS = re.compile(r"[/\\]")


@dataclass(frozen=True, slots=True)
class SampleBin(Result):
    bin: int
    #: `low <= score < high`; the last bin includes its `high`. None for a uniform sample (no score)
    low: float | None
    high: float | None
    #: documents of the population in this bin (labelled ones included)
    population: int
    #: of them, left out as already labelled (`exclude_docs`)
    excluded: int
    sampled: int


@dataclass(frozen=True, slots=True)
class SampledDocument(Result):
    doc: int
    bin: int
    score: float | int | None
    id: str | None
    #: the document's `source` metadata column (None when the corpus has none)
    source: str | None
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class Sample(Result):
    """A sample and the arguments that reproduce it (`exclude_docs` is echoed as its count, `excluded`)."""

    score: str | None
    binning: str | None
    requested_bins: int
    per_bin: int
    seed: int
    where: str | None
    query: str | None
    #: documents that pass `where` and `query` (with or without a score)
    matched: int
    #: of them, documents without a finite score (null, NaN, inf): in no bin
    missing_scores: int
    #: of the binned documents, those left out as already labelled
    excluded: int
    bins: tuple[SampleBin, ...]
    #: bin by bin, each in sampling order
    documents: tuple[SampledDocument, ...]
    #: parts of the full-text query Tantivy ignored
    warnings: tuple[str, ...] = ()


def sample_key(seed: int, identity: str) -> int:
    """The order in which documents are sampled: BLAKE2b-64 of (seed, identity), an unsigned 64-bit integer."""
    data = int(seed).to_bytes(8, "big") + identity.encode("utf-8", errors="surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def document_identity(doc_id: str | None, file: str, row: int) -> str:
    """What a document's sampling key hashes: its id, else `<file name>#<row>` (the folder left out)."""
    if doc_id is not None:
        return doc_id
    return f"{_FOLDERS.split(file)[-1]}#{int(row)}"


def width_edges(lo: float, hi: float, bins: int) -> list[float]:
    """Equal-width edges: lo + (hi - lo) * i / bins, the last one hi (before equal edges merge)."""
    span = hi - lo
    if span == float("inf"):  # finite scores whose difference overflows (±1e308): in halves, doubled at the end
        edges = [2 * (lo / 2 + (hi / 2 - lo / 2) * (i / bins)) for i in range(bins)]
    else:
        edges = [lo + span * i / bins for i in range(bins)]
    return [min(e, hi) for e in edges] + [hi]


def quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """Equal-count edges: v[(i * n) // bins] of the sorted scores for i < bins, the last one v[n - 1]."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = len(v)
    return [float(v[(i * n) // bins]) for i in range(bins)] + [float(v[-1])]


def sample(
    index,
    score: str | None = None,
    *,
    bins: int | None = None,
    binning: str = "width",
    per_bin: int = 10,
    seed: int = 0,
    where: str | None = None,
    query: str | None = None,
    exclude_docs: Iterable[int] = (),
) -> Sample:
    """Up to `per_bin` documents from each bin of `score` (a numeric metadata column), reproducibly by `seed`.

    `score=None` samples uniformly: one bin of every document that passes the filters (scored or not), `per_bin`
    documents from it; `bins=1` with a score samples uniformly among the scored documents. `bins` defaults to 5
    (1 without a score). `where`: `COLUMN OP VALUE` conditions joined by AND, as in search, over the catalog's
    columns; `query`: Tantivy syntax, keeps only the documents it matches; `exclude_docs`: doc numbers left out
    (e.g. those already labelled). See the module's docstring for the edges and the order of sampling.
    """
    catalog = index.catalog
    per_bin = check_int("per_bin", per_bin, 1, MAX_PER_BIN)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    if score is None:
        if bins not in (None, 1):
            raise InvalidQuery("bins need a score column: give one, or leave bins out for a uniform sample")
        bins, binning = 1, None
    else:
        bins = check_int("bins", DEFAULT_BINS if bins is None else bins, 1, MAX_BINS)
        if binning not in BINNINGS:
            raise InvalidQuery(f"binning must be one of {', '.join(BINNINGS)}, not {binning!r}")
        numeric = catalog.numeric_columns()
        if score not in numeric:
            raise InvalidQuery(
                f"score column {score!r} is not a numeric column of the corpus; the numeric columns are: "
                f"{', '.join(numeric) or 'none'}"
            )
    where = where if where and where.strip() else None
    query = query if query and query.strip() else None
    excluded_docs = _doc_numbers(exclude_docs)

    found, keep, warnings = _population(index, score, where, query)
    docs = np.asarray(found["doc"], dtype=np.int64)
    matched = int(keep.sum())
    scores = np.ma.filled(np.ma.asarray(found["score"], dtype=np.float64), np.nan)
    scored = keep & np.isfinite(scores) if score is not None else keep
    at = np.flatnonzero(scored)  # the binned documents' positions in the fetched rows
    if score is None:  # uniform: one bin without edges
        edges, bin_of, n_bins = None, np.zeros(len(at), dtype=np.int64), 1
    else:
        edges, bin_of = _bins(scores[at], bins, binning)
        n_bins = 0 if edges is None else len(edges) - 1
    labelled = np.isin(docs[at], excluded_docs)
    population = np.bincount(bin_of, minlength=n_bins)
    excluded = np.bincount(bin_of[labelled], minlength=n_bins)

    # the candidates' keys, then per bin the `per_bin` smallest (key, doc)
    ids, files, rows = found["id"], found["file"], found["row"]
    no_id = np.ma.getmaskarray(ids)
    paths = [s["path"] for s in index.sources]
    candidates = at[~labelled]
    keys = np.array(
        [sample_key(seed, document_identity(None if no_id[p] else str(ids[p]), paths[int(files[p])], int(rows[p])))
         for p in candidates.tolist()],
        dtype=np.uint64,
    )
    candidate_bins = bin_of[~labelled]
    order = np.lexsort((docs[candidates], keys, candidate_bins))  # by bin, then key, then doc
    starts = np.searchsorted(candidate_bins[order], np.arange(n_bins))
    rank = np.arange(len(order)) - starts[candidate_bins[order]]
    chosen = order[rank < per_bin]  # indexes into the candidates, bin by bin in sampling order
    taken = np.bincount(candidate_bins[chosen], minlength=n_bins)

    sources = _sources(catalog, docs[candidates[chosen]].tolist())
    integer_score = score is not None and catalog.types[score].startswith(INTEGER_TYPES)
    documents = []
    for c in chosen.tolist():
        p = int(candidates[c])
        value = None if score is None else float(scores[p])
        documents.append(
            SampledDocument(
                doc=int(docs[p]),
                bin=int(candidate_bins[c]),
                score=int(value) if integer_score and value is not None and abs(value) < 2**63 else value,
                id=None if no_id[p] else str(ids[p]),
                source=sources.get(int(docs[p])),
                file=paths[int(files[p])],
                row=int(rows[p]),
            )
        )
    sample_bins = tuple(
        SampleBin(
            bin=b,
            low=None if edges is None else float(edges[b]),
            high=None if edges is None else float(edges[b + 1]),
            population=int(population[b]),
            excluded=int(excluded[b]),
            sampled=int(taken[b]),
        )
        for b in range(n_bins)
    )
    return Sample(
        score=score,
        binning=binning,
        requested_bins=bins,
        per_bin=per_bin,
        seed=seed,
        where=where,
        query=query,
        matched=matched,
        missing_scores=matched - len(at),
        excluded=int(labelled.sum()),
        bins=sample_bins,
        documents=tuple(documents),
        warnings=warnings,
    )


def _population(index, score: str | None, where: str | None, query: str | None):
    """The catalog rows passing `where` (doc, id, file, row, score as DOUBLE; by doc), which of them `query`
    matches, and what Tantivy ignored of the query."""
    catalog, settings = index.catalog, index.settings
    if where is not None:
        check_query_text(where, settings, "filter")
    condition, params = catalog.where(parse_where(where) if where is not None else [])
    score_sql = f"CAST({catalog.column(score)} AS DOUBLE)" if score is not None else "NULL::DOUBLE"
    sql = f"SELECT doc, id, file, row, {score_sql} AS score FROM documents WHERE {condition} ORDER BY doc"
    found = catalog.cursor().execute(sql, params).fetchnumpy()
    keep = np.ones(len(found["doc"]), dtype=bool)
    warnings: tuple[str, ...] = ()
    if query is not None:
        check_query_text(query, settings, "search query")
        parsed, ignored = index.fulltext.parse(query, [])
        warnings = tuple(ignored)
        keep &= np.isin(found["doc"], index.fulltext.matching_docs(parsed, settings.max_sample_query_matches))
    return found, keep, warnings


def _bins(values: np.ndarray, bins: int, binning: str) -> tuple[list[float] | None, np.ndarray]:
    """The merged edges of finite scores (None for no scores) and each score's bin."""
    if not len(values):
        return None, np.zeros(0, dtype=np.int64)
    if binning == "width":
        raw = width_edges(float(values.min()), float(values.max()), bins)
    else:
        raw = quantile_edges(values, bins)
    edges = sorted(set(raw))  # equal edges merge their bins
    if len(edges) == 1:  # every score equal: one bin [v, v]
        edges = edges * 2
    n_bins = len(edges) - 1
    return edges, np.minimum(np.searchsorted(np.array(edges), values, side="right") - 1, n_bins - 1)


def _doc_numbers(docs: Iterable[int]) -> np.ndarray:
    items = list(docs)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise InvalidQuery(f"exclude_docs must hold document numbers, not {item!r}")
    return np.array(sorted({int(i) for i in items}), dtype=np.int64)


def _sources(catalog, docs: list[int]) -> dict[int, str | None]:
    """The `source` column of the sampled documents (none when the catalog has no such column)."""
    if not docs or "source" not in catalog.types:
        return {}
    rows = catalog.cursor().execute(
        f"SELECT doc, CAST({catalog.column('source')} AS VARCHAR) FROM documents "
        "WHERE doc IN (SELECT unnest(?::BIGINT[]))",
        [docs],
    ).fetchall()
    return {int(doc): value for doc, value in rows}
