"""`inspector build`: Parquet shards -> n-gram shards + full-text index + catalog, published atomically.

One pass over the corpus: the main process reads, tokenizes (tiktoken on both cores) and hands texts to Tantivy's
writer threads; each full shard's suffix array is sorted in a worker process while the next shard is tokenized.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from index import storage
from index.catalog import build_catalog
from index.errors import InspectorError
from index.fulltext import FulltextWriter, field_specs
from index.suffix_array import ShardWriter, SuffixArrayStats, build_suffix_array, width_for

from .corpus import find_parquet_files, inspect_source, metadata_schema, read_batches
from .results import BuildReport
from .settings import DEFAULT, Settings
from .tokenizer import make_tokenizer

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _die_with_parent() -> None:
    """A worker forked from a build that is killed must not live on (holding the build's lock) until it finishes."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _SuffixArrayPool:
    """Sorts shards' suffix arrays: small ones inline, large ones in two worker processes beside tokenizing."""

    INLINE_TOKENS = 2_000_000

    def __init__(self, width: int, n_symbols: int):
        self.width, self.n_symbols = width, n_symbols
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: list = []

    def submit(self, writer: ShardWriter) -> None:
        args = (writer.folder, self.width, writer.n_tokens, self.n_symbols, len(writer.doc_starts))
        if writer.n_tokens < self.INLINE_TOKENS:
            self._jobs.append(build_suffix_array(*args))
            return
        if self._pool is None:
            # "spawn", not "fork": libdivsufsort runs on OpenMP, and a child forked after the parent has used OpenMP
            # (an inline sort, an earlier build in the same process) hangs in its first parallel region
            self._pool = ProcessPoolExecutor(
                max_workers=2, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent
            )
        self._jobs.append(self._pool.submit(build_suffix_array, *args))

    def wait(self, progress: Progress) -> float:
        """Seconds of the suffix-array step (sort, keep token starts, write), summed over shards."""
        seconds = 0.0
        progress("suffix arrays", 0, len(self._jobs))
        for done, job in enumerate(self._jobs, 1):
            seconds += (job if isinstance(job, SuffixArrayStats) else job.result()).total_seconds
            progress("suffix arrays", done, len(self._jobs))
        return seconds

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


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
) -> BuildReport:
    """Index Parquet files, folders or globs into `out`: n-gram shards, the full-text index and the catalog.

    One pass over the corpus feeds both indexes; the previous index in `out` stays live until the very end.
    Shards of 2M tokens or more are sorted in worker processes started with "spawn", so a script that calls this
    must do so under `if __name__ == "__main__":`, as with any multiprocessing code.
    """
    started = time.perf_counter()
    progress = progress or _no_progress
    files = find_parquet_files(corpus)
    sources = [inspect_source(path, text_column) for path in files]
    specs = field_specs(metadata_schema(sources, text_column)) if fulltext else []
    tok = make_tokenizer(tokenizer)
    width = width_for(tok.max_id)
    shard_tokens = shard_tokens or settings.shard_tokens
    if not 1 <= shard_tokens * width < 2**31 - 1:
        raise InspectorError(f"--shard-tokens must be between 1 and {(2**31 - 2) // width} for this tokenizer")
    total_rows = sum(s.rows for s in sources)

    with storage.build_area(Path(out)) as tmp:
        docs: dict[str, list] = {"file": [], "row": [], "id": [], "tokens": [], "chars": [], "shard": []}
        shards: list[dict] = []
        empty = 0
        timings = {"tokenize": 0.0, "fulltext": 0.0}
        writer: ShardWriter | None = None
        pool = _SuffixArrayPool(width, tok.max_id + 1)
        text_index = FulltextWriter(tmp / "fulltext", specs, stem) if fulltext else None

        def close_shard() -> None:
            nonlocal writer
            if writer is not None:
                writer.close()
                shards[-1]["tokens"] = writer.n_tokens
                pool.submit(writer)
                writer = None

        with pool:
            rows_done = 0
            progress("read, tokenize, index", 0, total_rows)
            metadata = [spec.column for spec in specs]
            for batch in read_batches(sources, text_column, id_column, settings.batch_rows, metadata):
                keep = [i for i, text in enumerate(batch.texts) if text]
                empty += len(batch.texts) - len(keep)
                texts = [batch.texts[i] for i in keep]
                t0 = time.perf_counter()
                encoded = tok.encode_batch(texts)
                timings["tokenize"] += time.perf_counter() - t0
                if text_index is not None:
                    t0 = time.perf_counter()
                    columns = {c: None if v is None else [v[i] for i in keep] for c, v in batch.columns.items()}
                    first_doc = len(docs["file"])
                    text_index.add(range(first_doc, first_doc + len(texts)), texts, columns)
                    timings["fulltext"] += time.perf_counter() - t0
                pending: list[np.ndarray] = []
                pending_tokens = 0
                for i, text, tokens in zip(keep, texts, encoded):
                    if writer is not None and writer.n_tokens + pending_tokens + len(tokens) + 1 > shard_tokens:
                        writer.add(pending)
                        pending, pending_tokens = [], 0
                        close_shard()
                    if writer is None:
                        writer = ShardWriter(tmp / f"shard-{len(shards):04d}", width)
                        shards.append({"name": writer.folder.name, "doc_lo": len(docs["file"])})
                    pending.append(tokens)
                    pending_tokens += len(tokens) + 1
                    docs["file"].append(batch.file_index)
                    docs["row"].append(batch.first_row + i)
                    docs["id"].append(batch.ids[i] if batch.ids is not None else None)
                    docs["tokens"].append(len(tokens))
                    docs["chars"].append(len(text))
                    docs["shard"].append(len(shards) - 1)
                if writer is not None:
                    writer.add(pending)
                rows_done += len(batch.texts)
                progress("read, tokenize, index", rows_done, total_rows)
            close_shard()
            if text_index is not None:
                progress("full-text commit", 0, 1)
                t0 = time.perf_counter()
                text_index.commit()
                timings["fulltext"] += time.perf_counter() - t0
                progress("full-text commit", 1, 1)
            sa_seconds = pool.wait(progress)

        shard_of = np.asarray(docs["shard"], dtype=np.int64)
        for number, shard in enumerate(shards):
            shard["documents"] = int(np.count_nonzero(shard_of == number))
        table = pa.table(
            {
                "doc": pa.array(np.arange(len(docs["file"]), dtype=np.int64)),
                "file": pa.array(docs["file"], pa.int32()),
                "row": pa.array(docs["row"], pa.int64()),
                "id": pa.array(docs["id"], pa.string()),
                "tokens": pa.array(docs["tokens"], pa.int64()),
                "chars": pa.array(docs["chars"], pa.int64()),
                "shard": pa.array(docs["shard"], pa.int32()),
            }
        )
        # one chunk, uncompressed: opened memory-mapped and read without a copy
        feather.write_feather(table, tmp / "documents.arrow", compression="uncompressed", chunksize=max(1, table.num_rows))
        progress("catalog", 0, 1)
        build_catalog(tmp / "catalog.duckdb", table, [s.path for s in sources], text_column, id_column)
        progress("catalog", 1, 1)
        tok.save(tmp)
        n_tokens = int(sum(docs["tokens"]))
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "tokenizer": tok.identity(),
            "width": width,
            "text_column": text_column,
            "id_column": id_column,
            "documents": len(docs["file"]),
            "tokens": n_tokens,
            "empty_skipped": empty,
            "sources": [asdict(s) for s in sources],
            "shards": shards,
            "fulltext": {"stem": stem, "fields": [asdict(s) for s in specs]} if fulltext else None,
        }
        progress("publish", 0, 1)
        final = storage.commit(tmp, manifest)
        progress("publish", 1, 1)
    seconds = time.perf_counter() - started
    return BuildReport(
        path=str(final.parent),
        documents=len(docs["file"]),
        tokens=n_tokens,
        empty_skipped=empty,
        shards=len(shards),
        seconds=round(seconds, 3),
        tokenize_seconds=round(timings["tokenize"], 3),
        suffix_array_seconds=round(sa_seconds, 3),
        fulltext_seconds=round(timings["fulltext"], 3),
        text_bytes=sum(s.size for s in sources),
        tokens_per_second=round(n_tokens / seconds, 1) if seconds else 0.0,
    )
