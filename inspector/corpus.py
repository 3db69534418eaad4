"""Parquet shards in: file discovery, schema checks and batched reading, for the build (a document is read back
by file and row in `inspector.documents`).

Files are read in sorted path order, in record batches, so a shard never loads whole. Every problem names the file
(and the column and row when there is one).
"""
from __future__ import annotations

import glob
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from index.errors import CorpusError
from index.layout import SourceFile

from .documents import footer_crc


@dataclass(frozen=True, slots=True)
class Batch:
    file_index: int
    first_row: int
    texts: list
    ids: list | None
    columns: dict  # the requested metadata columns (None where a file lacks one)


def find_parquet_files(inputs: Sequence[str | Path]) -> list[Path]:
    """Files, folders (searched recursively for *.parquet) and glob patterns, in sorted path order."""
    found: set[Path] = set()
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            matches = list(path.rglob("*.parquet"))
        elif path.is_file():
            matches = [path]
        elif glob.has_magic(text):
            matches = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
        else:
            raise CorpusError(f"{text}: no such file or folder")
        if not matches:
            raise CorpusError(f"{text}: no Parquet files found there")
        found.update(p.resolve() for p in matches)
    return sorted(found, key=str)


def inspect_source(path: Path, text_column: str) -> SourceFile:
    """Open a shard's footer and check the text column; CorpusError naming the file otherwise."""
    try:
        meta = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    schema = meta.schema_arrow
    if text_column not in schema.names:
        raise CorpusError(
            f"{path}: no column {text_column!r} (columns: {', '.join(schema.names)}); choose one with --text-column"
        )
    kind = schema.field(text_column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        raise CorpusError(f"{path}: column {text_column!r} holds {kind}, not text")
    stat = path.stat()
    return SourceFile(
        str(path), meta.metadata.num_rows, stat.st_size, stat.st_mtime_ns, footer_crc(path), tuple(schema.names)
    )


def metadata_schema(sources: Sequence[SourceFile], text_column: str) -> pa.Schema:
    """The union of the shards' columns other than the text; a column typed differently in two files is an error."""
    schemas = [pq.read_schema(s.path) for s in sources]
    try:
        merged = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    except (pa.ArrowException, TypeError) as exc:
        raise CorpusError(f"the shards' columns disagree in type ({_first_line(exc)}): make them consistent") from None
    return pa.schema([f for f in merged if f.name != text_column])


def read_rows(
    source: SourceFile,
    file_index: int,
    row_lo: int,
    row_hi: int,
    text_column: str,
    id_column: str | None,
    batch_rows: int = 2048,
    metadata: Sequence[str] = (),
) -> Iterator[Batch]:
    """Texts, ids (when the column exists) and `metadata` columns of rows [row_lo, row_hi) of one file, in batches:
    only the row groups holding them are read; a null text is an error naming file, column and row."""
    has_id = id_column is not None and id_column in source.columns
    extra = [c for c in metadata if c in source.columns and c != text_column]
    columns = list(dict.fromkeys([text_column] + ([id_column] if has_id else []) + extra))
    row = row_lo
    try:
        file = pq.ParquetFile(source.path)
        sizes = [file.metadata.row_group(g).num_rows for g in range(file.metadata.num_row_groups)]
        starts = [0, *itertools.accumulate(sizes)]
        groups = [g for g in range(len(sizes)) if starts[g] < row_hi and starts[g + 1] > row_lo]
        if not groups:
            return
        at = starts[groups[0]]
        for record in file.iter_batches(batch_size=batch_rows, columns=columns, row_groups=groups):
            lo, hi = max(row_lo, at), min(row_hi, at + record.num_rows)
            at += record.num_rows
            if lo >= hi:
                continue
            record = record.slice(lo - (at - record.num_rows), hi - lo)
            texts = record.column(text_column)
            if texts.null_count:
                bad = row + texts.is_null().to_pylist().index(True)
                raise CorpusError(f"{source.path}: column {text_column!r} is null at row {bad}")
            ids = record.column(id_column).cast(pa.string()).to_pylist() if has_id else None
            values = {c: record.column(c).to_pylist() if c in extra else None for c in metadata}
            yield Batch(file_index, row, texts.to_pylist(), ids, values)
            row += record.num_rows
            if at >= row_hi:
                break
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{source.path}: unreadable near row {row} ({_first_line(exc)})") from None


def text_sizes(source: SourceFile, text_column: str, batch_rows: int = 65536) -> np.ndarray:
    """The UTF-8 bytes of every row's text (0 for an empty one), reading the text column alone: where the build
    cuts the corpus into parts of equal work, and how it numbers documents before any part is read. A null text is
    an error naming file, column and row."""
    sizes, row = [], 0
    try:
        for record in pq.ParquetFile(source.path).iter_batches(batch_size=batch_rows, columns=[text_column]):
            texts = record.column(0)
            if texts.null_count:
                bad = row + texts.is_null().to_pylist().index(True)
                raise CorpusError(f"{source.path}: column {text_column!r} is null at row {bad}")
            sizes.append(pc.binary_length(texts).to_numpy(zero_copy_only=False).astype(np.int64))
            row += record.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{source.path}: unreadable near row {row} ({_first_line(exc)})") from None
    return np.concatenate(sizes) if sizes else np.zeros(0, np.int64)


def has_words(sources: Sequence[SourceFile], text_column: str, batch_rows: int = 4096) -> bool:
    """Whether any text holds more than whitespace: a corpus of blank texts would build an index of nothing. Stops
    at the first such text (in a usual corpus, the first batch)."""
    row, source = 0, None
    try:
        for source in sources:
            row = 0
            for record in pq.ParquetFile(source.path).iter_batches(batch_size=batch_rows, columns=[text_column]):
                texts = record.column(0)
                words = pc.and_(pc.greater(pc.binary_length(texts), 0), pc.invert(pc.utf8_is_space(texts)))
                if pc.any(words).as_py():
                    return True
                row += record.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise CorpusError(f"{source.path}: unreadable near row {row} ({_first_line(exc)})") from None
    return False


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
