"""`inspector build`: Parquet shards -> n-gram shards + full-text index + catalog, published atomically.

One pass over the corpus: the main process reads, tokenizes (tiktoken on both cores) and hands texts to Tantivy's
writer threads; each full shard's suffix array is sorted in a worker process while the next shard is tokenized.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import numbers
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from index import storage
from index.catalog import build_catalog
from index.errors import CorpusError, InspectorError
from index.fulltext import FieldSpec, FulltextWriter, field_specs
from index.suffix_array import ShardWriter, SuffixArrayStats, build_suffix_array, width_for

from .corpus import SourceFile, find_parquet_files, inspect_source, metadata_schema, read_batches
from .normalize import normalize
from .quality import signals_table
from .results import BuildReport
from .settings import DEFAULT, Settings
from .tokenizer import Tokenizer, make_tokenizer

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _die_with_parent() -> None:
    """A worker forked from a build that is killed must not live on (holding the build's lock) until it finishes."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _idle_worker() -> None:
    """The quality-signals worker: dies with its build, and runs only on CPU time nothing else of the build wants
    (SCHED_IDLE; tokenizing takes both cores of a small machine, sorting the last shard one)."""
    _die_with_parent()
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def _corpus_signals(paths: list[str], text_column: str, batch_rows: int) -> tuple[pa.Table, np.ndarray]:
    """The quality signals of every non-empty text of `paths` in the build's order, read from the files anew (so
    no text crosses between processes or waits in memory), and each text's CRC-32 (the build checks the two passes
    read the same texts)."""
    parts, crcs = [], []
    for path in paths:
        for record in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=[text_column]):
            texts = record.column(0).cast(pa.large_string())
            texts = texts.filter(pc.not_equal(texts, ""))
            _, offsets, data = texts.buffers()
            bounds = np.frombuffer(offsets, np.int64)[texts.offset : texts.offset + len(texts) + 1]
            raw = memoryview(data) if data is not None else memoryview(b"")
            crcs.extend(zlib.crc32(raw[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()))
            parts.append(signals_table(texts))
    return (pa.concat_tables(parts) if parts else signals_table(pa.array([], pa.large_string()))), np.array(crcs)


def _spawn_pool(workers: int, initializer) -> ProcessPoolExecutor:
    """Worker processes started with "spawn", not "fork": libdivsufsort runs on OpenMP, and a child forked after the
    parent has used OpenMP (an inline sort, an earlier build in the same process) hangs in its first parallel region."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer)


class _Workers:
    """A build step's worker pool, started when first needed and shut down when the build ends, failed or not."""

    _pool: ProcessPoolExecutor | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


class _Signals(_Workers):
    """The quality signals of the corpus, computed beside the build: in a worker process on idle CPU when the corpus
    is large (`worker`), else in this process at the end; `table()` checks they describe the indexed texts."""

    def __init__(self, plan: _Plan, batch_rows: int, worker: bool):
        self._args = ([s.path for s in plan.sources], plan.text_column, batch_rows)
        self._job = None
        if worker:
            self._pool = _spawn_pool(1, _idle_worker)
            self._job = self._pool.submit(_corpus_signals, *self._args)

    def table(self, text_crcs: list[int]) -> pa.Table:
        table, crcs = self._job.result() if self._job is not None else _corpus_signals(*self._args)
        if not np.array_equal(crcs, np.asarray(text_crcs, crcs.dtype)):
            raise CorpusError("a source file changed while the build read it (the quality signals read other texts "
                              "than the index); build again")
        return table


class _SuffixArrayPool(_Workers):
    """Sorts shards' suffix arrays: small ones inline, large ones in two worker processes beside tokenizing."""

    INLINE_TOKENS = 2_000_000

    def __init__(self, width: int, n_symbols: int):
        self.width, self.n_symbols = width, n_symbols
        self._jobs: list = []

    def submit(self, writer: ShardWriter) -> None:
        args = (writer.folder, self.width, writer.n_tokens, self.n_symbols, len(writer.doc_starts))
        if writer.n_tokens < self.INLINE_TOKENS:
            self._jobs.append(build_suffix_array(*args))
            return
        if self._pool is None:
            self._pool = _spawn_pool(2, _die_with_parent)
        self._jobs.append(self._pool.submit(build_suffix_array, *args))

    def wait(self, progress: Progress) -> float:
        """Seconds of the suffix-array step (sort, keep token starts, write), summed over shards."""
        seconds = 0.0
        progress("suffix arrays", 0, len(self._jobs))
        for done, job in enumerate(self._jobs, 1):
            seconds += (job if isinstance(job, SuffixArrayStats) else job.result()).total_seconds
            progress("suffix arrays", done, len(self._jobs))
        return seconds


@dataclass(slots=True)
class _Plan:
    """What a build reads and how: decided before anything is written."""

    sources: list[SourceFile]
    specs: list[FieldSpec]
    tokenizer: Tokenizer
    width: int
    shard_tokens: int
    text_column: str
    id_column: str | None
    stem: bool
    fulltext: bool
    #: also index the normalised text (`inspector.normalize`) for `contam --normalize`
    normalized: bool
    #: compute the heuristic quality signals (`inspector.quality`) into the catalog
    signals: bool = False


_DOCUMENT_FACTS = ("file", "row", "id", "tokens", "chars", "shard", "text_crc")


@dataclass(slots=True)
class _Ingested:
    """What the pass over the corpus produced: one row per document for the document table, the shards' facts."""

    docs: dict[str, list] = field(default_factory=lambda: {k: [] for k in _DOCUMENT_FACTS})
    shards: list[dict] = field(default_factory=list)
    normalized_shards: list[dict] = field(default_factory=list)
    empty: int = 0
    tokenize_seconds: float = 0.0
    fulltext_seconds: float = 0.0
    suffix_array_seconds: float = 0.0
    #: the quality signals' columns, one row per document (None without signals)
    signals: pa.Table | None = None

    @property
    def n_tokens(self) -> int:
        return int(sum(self.docs["tokens"]))


def build_index(
    corpus: Sequence[str | Path],
    out: str | Path,
    *,
    text_column: str = "text",
    id_column: str | None = "id",
    tokenizer: str = "gpt2",
    shard_tokens: int | None = None,
    fulltext: bool = True,
    stem: bool = False,
    settings: Settings = DEFAULT,
    progress: Progress | None = None,
    allow_empty: bool = False,
    normalized: bool = False,
    signals: bool = True,
) -> BuildReport:
    """Index Parquet files, folders or globs into `out`: n-gram shards, the full-text index and the catalog.

    One pass over the corpus feeds both indexes; the previous index in `out` stays live until the very end.
    Shards of 2M tokens or more are sorted in worker processes started with "spawn", so a script that calls this
    must do so under `if __name__ == "__main__":`, as with any multiprocessing code.
    A corpus without a single non-empty text is refused (it would replace a live index with an empty one) unless
    `allow_empty`; a failed write (disk full, no permission) is one InspectorError naming the path.
    `signals` (on unless turned off) adds the heuristic quality signals of `inspector.quality` to the catalog.
    """
    started = time.perf_counter()
    progress = progress or _no_progress
    shard_tokens = settings.shard_tokens if shard_tokens is None else shard_tokens
    plan = _plan(corpus, text_column, id_column, tokenizer, shard_tokens, fulltext, stem, normalized)
    plan.signals = signals
    try:
        with storage.build_area(Path(out)) as tmp:
            ingested = _ingest(plan, tmp, settings, progress)
            if not ingested.docs["file"] and not allow_empty:
                rows = sum(s.rows for s in plan.sources)
                raise CorpusError(
                    f"no documents to index: {rows:,} rows in {len(plan.sources)} file(s), {ingested.empty:,} of them "
                    f"empty texts; nothing was written to {out} (pass --allow-empty to build an empty index)"
                )
            table = _write_document_table(tmp, ingested)
            progress("catalog", 0, 1)
            build_catalog(tmp / "catalog.duckdb", table, [s.path for s in plan.sources], text_column, id_column,
                          ingested.signals)
            progress("catalog", 1, 1)
            plan.tokenizer.save(tmp)
            progress("publish", 0, 1)
            final = storage.commit(tmp, _manifest(plan, ingested))
            progress("publish", 1, 1)
    except OSError as exc:  # disk full, file too large, read-only or missing folder: the temporary build is gone
        where = exc.filename or out
        raise InspectorError(
            f"build failed writing {where}: {exc.strerror or exc}; the previous index in {out}, if any, is kept"
        ) from None
    return _report(final.parent, plan, ingested, time.perf_counter() - started)


def _plan(corpus, text_column, id_column, tokenizer, shard_tokens, fulltext, stem, normalized) -> _Plan:
    """Find and check the input files and the tokenizer; choose the token width."""
    files = find_parquet_files(corpus)
    sources = [inspect_source(path, text_column) for path in files]
    specs = field_specs(metadata_schema(sources, text_column)) if fulltext else []
    tok = make_tokenizer(tokenizer)
    width = width_for(tok.max_id)
    integer = isinstance(shard_tokens, numbers.Integral) and not isinstance(shard_tokens, bool)
    if not integer or not 1 <= shard_tokens * width < 2**31 - 1:
        raise InspectorError(
            f"--shard-tokens must be between 1 and {(2**31 - 2) // width:,} for this tokenizer, not {shard_tokens!r}"
        )
    return _Plan(sources, specs, tok, width, shard_tokens, text_column, id_column, stem, fulltext, normalized)


def _ingest(plan: _Plan, tmp: Path, settings: Settings, progress: Progress) -> _Ingested:
    """The one pass: read batches, tokenize, append to n-gram shards (each sorted once full) and to Tantivy; with
    `normalized`, also the normalised texts' tokens to their own shards (same documents, same numbers)."""
    done = _Ingested()
    text_index = FulltextWriter(tmp / "fulltext", plan.specs, plan.stem) if plan.fulltext else None
    try:
        _read_and_index(plan, tmp, settings, progress, done, text_index)
    except BaseException:
        if text_index is not None:
            text_index.abort()
        raise
    return done


def _read_and_index(plan: _Plan, tmp: Path, settings: Settings, progress: Progress, done: _Ingested,
                    text_index: FulltextWriter | None) -> None:
    total_rows = sum(s.rows for s in plan.sources)
    docs = done.docs
    # signals of a corpus over 8 MB of Parquet are computed in a worker process, on idle CPU
    worker = plan.signals and sum(s.size for s in plan.sources) > 8_000_000
    with _SuffixArrayPool(plan.width, plan.tokenizer.max_id + 1) as pool, _Signals(plan, settings.batch_rows, worker) as quality:
        shards = _ShardSink(tmp, "", plan.width, plan.shard_tokens, pool, done.shards)
        normalized = None
        if plan.normalized:
            normalized = _ShardSink(tmp / "normalized", "normalized/", plan.width, plan.shard_tokens, pool,
                                    done.normalized_shards)
        rows_done = 0
        progress("read, tokenize, index", 0, total_rows)
        metadata = [spec.column for spec in plan.specs]
        for batch in read_batches(plan.sources, plan.text_column, plan.id_column, settings.batch_rows, metadata):
            keep = [i for i, text in enumerate(batch.texts) if text]
            done.empty += len(batch.texts) - len(keep)
            texts = [batch.texts[i] for i in keep]
            t0 = time.perf_counter()
            encoded = plan.tokenizer.encode_batch(texts)
            if normalized is not None:
                normalized.add(plan.tokenizer.encode_batch([normalize(t) for t in texts]))
            done.tokenize_seconds += time.perf_counter() - t0
            if text_index is not None:
                t0 = time.perf_counter()
                columns = {c: None if v is None else [v[i] for i in keep] for c, v in batch.columns.items()}
                first_doc = len(docs["file"])
                text_index.add(range(first_doc, first_doc + len(texts)), texts, columns)
                done.fulltext_seconds += time.perf_counter() - t0
            for i, text, tokens, shard in zip(keep, texts, encoded, shards.add(encoded)):
                docs["file"].append(batch.file_index)
                docs["row"].append(batch.first_row + i)
                docs["id"].append(batch.ids[i] if batch.ids is not None else None)
                docs["tokens"].append(len(tokens))
                docs["chars"].append(len(text))
                docs["shard"].append(shard)
                docs["text_crc"].append(zlib.crc32(text.encode()))
            rows_done += len(batch.texts)
            progress("read, tokenize, index", rows_done, total_rows)
        shards.close()
        if normalized is not None:
            normalized.close()
        if text_index is not None:
            progress("full-text commit", 0, 1)
            t0 = time.perf_counter()
            text_index.commit()
            done.fulltext_seconds += time.perf_counter() - t0
            progress("full-text commit", 1, 1)
        done.suffix_array_seconds = pool.wait(progress)
        if plan.signals:
            progress("quality signals", 0, 1)
            done.signals = quality.table(docs["text_crc"])
            progress("quality signals", 1, 1)


class _ShardSink:
    """Appends tokenized documents to the current shard of `folder`; a shard that would pass `shard_tokens` is
    closed and handed to the suffix-array pool, and the next one begins. `shards` collects each shard's facts."""

    def __init__(self, folder: Path, prefix: str, width: int, shard_tokens: int, pool: _SuffixArrayPool,
                 shards: list[dict]):
        self.folder, self.prefix, self.width, self.shard_tokens = folder, prefix, width, shard_tokens
        self.pool, self.shards = pool, shards
        self.documents = 0
        self.writer: ShardWriter | None = None

    def add(self, encoded: list[np.ndarray]) -> list[int]:
        """Append documents (in corpus order); the shard number of each."""
        numbers = []
        pending: list[np.ndarray] = []
        pending_tokens = 0
        for tokens in encoded:
            if self.writer is not None and self.writer.n_tokens + pending_tokens + len(tokens) + 1 > self.shard_tokens:
                self.writer.add(pending)
                pending, pending_tokens = [], 0
                self.close()
            if self.writer is None:
                self.writer = ShardWriter(self.folder / f"shard-{len(self.shards):04d}", self.width)
                self.shards.append({"name": self.prefix + self.writer.folder.name, "doc_lo": self.documents,
                                    "documents": 0})
            pending.append(tokens)
            pending_tokens += len(tokens) + 1
            self.shards[-1]["documents"] += 1
            self.documents += 1
            numbers.append(len(self.shards) - 1)
        if self.writer is not None:
            self.writer.add(pending)
        return numbers

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.shards[-1]["tokens"] = self.writer.n_tokens
            self.pool.submit(self.writer)
            self.writer = None


def _write_document_table(tmp: Path, done: _Ingested) -> pa.Table:
    """documents.arrow: one chunk, uncompressed, so it is opened memory-mapped and read without a copy."""
    docs = done.docs
    table = pa.table(
        {
            "doc": pa.array(np.arange(len(docs["file"]), dtype=np.int64)),
            "file": pa.array(docs["file"], pa.int32()),
            "row": pa.array(docs["row"], pa.int64()),
            "id": pa.array(docs["id"], pa.string()),
            "tokens": pa.array(docs["tokens"], pa.int64()),
            "chars": pa.array(docs["chars"], pa.int64()),
            "shard": pa.array(docs["shard"], pa.int32()),
            "text_crc": pa.array(docs["text_crc"], pa.int64()),
        }
    )
    feather.write_feather(table, tmp / "documents.arrow", compression="uncompressed", chunksize=max(1, table.num_rows))
    return table


def _manifest(plan: _Plan, done: _Ingested) -> dict:
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tokenizer": plan.tokenizer.identity(),
        "width": plan.width,
        "text_column": plan.text_column,
        "id_column": plan.id_column,
        "documents": len(done.docs["file"]),
        "tokens": done.n_tokens,
        "empty_skipped": done.empty,
        "sources": [asdict(s) for s in plan.sources],
        "shards": done.shards,
        "fulltext": {"stem": plan.stem, "fields": [asdict(s) for s in plan.specs]} if plan.fulltext else None,
        "normalized": {"shards": done.normalized_shards} if plan.normalized else None,
    }


def _report(path: Path, plan: _Plan, done: _Ingested, seconds: float) -> BuildReport:
    return BuildReport(
        path=str(path),
        documents=len(done.docs["file"]),
        tokens=done.n_tokens,
        empty_skipped=done.empty,
        shards=len(done.shards),
        seconds=round(seconds, 3),
        tokenize_seconds=round(done.tokenize_seconds, 3),
        suffix_array_seconds=round(done.suffix_array_seconds, 3),
        fulltext_seconds=round(done.fulltext_seconds, 3),
        text_bytes=sum(s.size for s in plan.sources),
        tokens_per_second=round(done.n_tokens / seconds, 1) if seconds else 0.0,
    )
