"""One unit of a build: rows of the corpus -> their n-gram shards, Tantivy segments, document facts and quality
signals, all in one folder.

A part reads only its rows and writes only its folder, so the same function runs inline, in the local build's
worker processes, or as a Ray task on another machine; `inspector.build.publish` ties the parts into one index.
Documents are numbered before any part runs (`PartJob.doc_lo`), so parts need not wait for one another.
"""
from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import feather

from index.fulltext import FieldSpec, FulltextWriter
from index.layout import DOCUMENTS, FULLTEXT, PART_DOCUMENT_SCHEMA, SIGNALS, SourceFile
from index.suffix_array import RUN_BYTES, TAG_BYTES, ShardWriter, build_suffix_array

from .build_options import BuildOptions
from .corpus import read_rows
from .normalize import normalize
from .quality import signals_table
from .tokenizer import make_tokenizer


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows [lo, hi) of source file number `file` (its number in the index's list of sources)."""

    file: int
    source: SourceFile
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class PartJob:
    """Everything a part needs, small and picklable (it crosses to worker processes and Ray tasks)."""

    number: int
    folder: str
    rows: tuple[Rows, ...]
    doc_lo: int
    #: the build's options, settled: `tokenizer` as `make_tokenizer` takes it, no None left open
    options: BuildOptions
    width: int
    specs: tuple[FieldSpec, ...]
    batch_rows: int
    #: threads for tokenizing and Tantivy: 1 when parts run side by side, the cores when one part runs alone
    threads: int


def build_part(job: PartJob, progress=None) -> dict:
    """Index the part's rows into `job.folder`; its facts (documents, tokens, sorted runs, seconds per step).

    `progress(rows_done)`, when given, is called after every batch. The part's tokens are sorted in runs of at most
    `shard_tokens` tokens, one at a time, so its memory peaks at one run's sort whatever its size; publish merges
    the runs of all parts into the index's shards.
    """
    started = time.perf_counter()
    options = job.options
    folder = Path(job.folder)
    folder.mkdir(parents=True)
    tokenizer = make_tokenizer(options.tokenizer)
    seconds = {"tokenize": 0.0, "fulltext": 0.0, "suffix_array": 0.0, "signals": 0.0}
    runs = _Runs(folder / "runs", job, seconds)
    normalized = _Runs(folder / "normalized", job, seconds) if options.normalized else None
    text_index = (FulltextWriter(folder / FULLTEXT, job.specs, options.stem, job.threads, options.fulltext_tokenizer)
                  if options.fulltext else None)
    docs = {k: [] for k in PART_DOCUMENT_SCHEMA.names}
    signals, empty, rows_done = [], 0, 0
    metadata = [spec.column for spec in job.specs]
    try:
        for rows in job.rows:
            for batch in read_rows(rows.source, rows.file, rows.lo, rows.hi, options.text_column, options.id_column,
                                   job.batch_rows, metadata):
                keep = [i for i, text in enumerate(batch.texts) if text]
                empty += len(batch.texts) - len(keep)
                texts = [batch.texts[i] for i in keep]
                t0 = time.perf_counter()
                encoded = tokenizer.encode_batch(texts, job.threads)
                if normalized is not None:
                    normalized.add(tokenizer.encode_batch([normalize(t) for t in texts], job.threads))
                seconds["tokenize"] += time.perf_counter() - t0
                if text_index is not None:
                    t0 = time.perf_counter()
                    columns = {c: None if v is None else [v[i] for i in keep] for c, v in batch.columns.items()}
                    first = job.doc_lo + len(docs["file"])
                    text_index.add(range(first, first + len(texts)), texts, columns)
                    seconds["fulltext"] += time.perf_counter() - t0
                if options.signals:
                    t0 = time.perf_counter()
                    signals.append(signals_table(pa.array(texts, pa.large_string())))
                    seconds["signals"] += time.perf_counter() - t0
                runs.add(encoded)
                for i, text, tokens in zip(keep, texts, encoded):
                    docs["file"].append(batch.file_index)
                    docs["row"].append(batch.first_row + i)
                    docs["id"].append(batch.ids[i] if batch.ids is not None else None)
                    docs["tokens"].append(len(tokens))
                    docs["chars"].append(len(text))
                    docs["text_crc"].append(zlib.crc32(text.encode()))
                rows_done += len(batch.texts)
                if progress is not None:
                    progress(rows_done)
        runs.close()
        if normalized is not None:
            normalized.close()
        if text_index is not None:
            t0 = time.perf_counter()
            text_index.commit()
            seconds["fulltext"] += time.perf_counter() - t0
    except BaseException:
        if text_index is not None:
            text_index.abort()
        raise
    _write_facts(folder, docs, signals if options.signals else None)
    return {
        "number": job.number,
        "documents": len(docs["file"]),
        "tokens": int(sum(docs["tokens"])),
        "empty": empty,
        "runs": runs.facts,
        "normalized_runs": normalized.facts if normalized is not None else [],
        "seconds": {**{k: round(v, 3) for k, v in seconds.items()},
                    "total": round(time.perf_counter() - started, 3)},
    }


def write_table(table: pa.Table, path: Path) -> None:
    """An Arrow file, one chunk, uncompressed (opened memory-mapped, read without a copy); a failed write (disk
    full, file too large) is an OSError naming the file, as the build reports it."""
    try:
        feather.write_feather(table, path, compression="uncompressed", chunksize=max(1, table.num_rows))
    except OSError as exc:
        raise OSError(exc.errno or 0, os.strerror(exc.errno) if exc.errno else str(exc), str(path)) from None


def _write_facts(folder: Path, docs: dict[str, list], signals: list[pa.Table] | None) -> None:
    """documents.arrow (and signals.arrow): what `publish` joins into the index's document table and catalog."""
    write_table(pa.Table.from_pydict(docs, schema=PART_DOCUMENT_SCHEMA), folder / DOCUMENTS)
    if signals is not None:
        joined = pa.concat_tables(signals) if signals else signals_table(pa.array([], pa.large_string()))
        write_table(joined, folder / SIGNALS)


class _Runs:
    """Appends tokenized documents to the part's current run; a run that would pass `shard_tokens` is closed,
    sorted at once, and the next one begins. `facts` lists each run's folder (relative to the part), documents and
    tokens (separators included)."""

    def __init__(self, folder: Path, job: PartJob, seconds: dict[str, float]):
        self.folder, self.width, self.shard_tokens = folder, job.width, job.options.shard_tokens
        self.seconds = seconds
        self.facts: list[dict] = []
        self.writer: ShardWriter | None = None

    def add(self, encoded: list[np.ndarray]) -> None:
        """Append documents in order."""
        pending: list[np.ndarray] = []
        pending_tokens = 0
        for tokens in encoded:
            if self.writer is not None and self._full(pending_tokens + len(tokens) + 1, len(pending) + 1):
                self.writer.add(pending)
                pending, pending_tokens = [], 0
                self.close()
            if self.writer is None:
                self.writer = ShardWriter(self.folder / f"run-{len(self.facts):04d}", self.width)
                self.facts.append({"name": f"{self.folder.name}/{self.writer.folder.name}", "documents": 0,
                                   "tokens": 0})
            pending.append(tokens)
            pending_tokens += len(tokens) + 1
            self.facts[-1]["documents"] += 1
        if self.writer is not None:
            self.writer.add(pending)

    def _full(self, more_tokens: int, more_documents: int) -> bool:
        """Whether the current run cannot take this much more: `shard_tokens`, or one sort's limit (tags included)."""
        tokens = self.writer.n_tokens + more_tokens
        documents = len(self.writer.doc_starts) + more_documents
        return tokens > self.shard_tokens or tokens * self.width + TAG_BYTES * documents > RUN_BYTES

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        self.facts[-1]["tokens"] = self.writer.n_tokens
        stats = build_suffix_array(self.writer.folder, self.width, self.writer.n_tokens, len(self.writer.doc_starts))
        self.seconds["suffix_array"] += stats.total_seconds
        self.writer = None
