"""Parquet shards in: file discovery, schema checks, batched reading, and fetching a document back by file/row.

Files are read in sorted path order, in record batches, so a shard never loads whole. Every problem names the file
(and the column and row when there is one).
"""
from __future__ import annotations

import bisect
import glob
import itertools
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from index.errors import CorpusError, SourceChanged

_FOOTER = 1 << 16


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A Parquet shard as the index saw it: its size and modification time say on open that it was changed after
    the build; its footer's CRC (and each document's text CRC, in the document table) are checked when it is read."""

    path: str
    rows: int
    size: int
    mtime_ns: int
    footer_crc: int
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    file_index: int
    first_row: int
    texts: list
    ids: list | None
    columns: dict  # the requested metadata columns (None where a file lacks one)


def footer_crc(path: Path) -> int:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - _FOOTER))
        return zlib.crc32(f.read())


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


def read_batches(
    sources: Sequence[SourceFile],
    text_column: str,
    id_column: str | None,
    batch_rows: int = 2048,
    metadata: Sequence[str] = (),
) -> Iterator[Batch]:
    """Texts, ids (when the column exists) and `metadata` columns in batches; a null text is an error naming file,
    column and row."""
    for file_index, source in enumerate(sources):
        yield from read_rows(source, file_index, 0, source.rows, text_column, id_column, batch_rows, metadata)


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
    """`read_batches` over rows [row_lo, row_hi) of one file: only the row groups holding them are read."""
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


class RowReader:
    """Fetches whole rows back from the source shards by (file, row), keeping a few decoded row groups."""

    def __init__(self, sources: Sequence[dict], cache_groups: int = 4):
        self._sources = sources
        self._files: dict[int, tuple[pq.ParquetFile, list[int]]] = {}
        self._groups: OrderedDict[tuple[int, int], pa.Table] = OrderedDict()
        self._cache_groups = cache_groups
        self._lock = threading.Lock()  # the app shares one reader between its sessions' threads

    def _open(self, file_index: int) -> tuple[pq.ParquetFile, list[int]]:
        if file_index not in self._files:
            source = self._sources[file_index]
            path = Path(source["path"])
            try:
                changed = path.stat().st_size != source["size"] or footer_crc(path) != source["footer_crc"]
            except OSError:
                raise SourceChanged(f"source shard {path} is gone: restore it or rebuild the index") from None
            if changed:
                raise SourceChanged(f"source shard {path} changed since the index was built: rebuild the index")
            handle = pq.ParquetFile(path)
            starts = [0]
            for i in range(handle.metadata.num_row_groups):
                starts.append(starts[-1] + handle.metadata.row_group(i).num_rows)
            self._files[file_index] = (handle, starts)
        return self._files[file_index]

    def read(self, file_index: int, row: int) -> dict:
        with self._lock:
            return self._read(file_index, row)

    def _read(self, file_index: int, row: int) -> dict:
        handle, starts = self._open(file_index)
        group = bisect.bisect_right(starts, row) - 1
        key = (file_index, group)
        table = self._groups.get(key)
        if table is None:
            table = handle.read_row_group(group)
            self._groups[key] = table
            if len(self._groups) > self._cache_groups:
                self._groups.popitem(last=False)
        self._groups.move_to_end(key)
        return table.slice(row - starts[group], 1).to_pylist()[0]


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
