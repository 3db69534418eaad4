"""The documents of a build: the document table (where each document came from, its id, size and text CRC) and the
text, read back from the source Parquet shards by file and row.

The source shards live outside the build and can change after it. A shard's size or modification time that
differs is reported on open (`changed_sources`); every text read back is checked against the CRC-32 recorded at
build, so a document is never shown with text other than the one its counts and matches were computed from.
"""
from __future__ import annotations

import bisect
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from index.errors import IndexCorrupt, InvalidQuery, SourceChanged
from index.layout import DOCUMENTS, Manifest, SourceFile

from .results import Document


class Documents:
    """Document `doc` (0..len-1, in corpus order): its source file and row, id, token count, and whole text."""

    def __init__(self, build: Path, manifest: Manifest):
        self.sources = manifest.sources
        self.text_column = manifest.text_column
        corrupt = f"index at {build.parent} is corrupt or incomplete"
        try:
            table = feather.read_table(pa.memory_map(str(build / DOCUMENTS)), memory_map=True)
            self._file, self._row, self._tokens, self._text_crc = (
                _mapped(table.column(name)) for name in ("file", "row", "tokens", "text_crc")
            )
            self._id = table.column("id")
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise IndexCorrupt(f"{corrupt} (document table: {exc}): rebuild it") from None
        if table.num_rows != manifest.documents:
            raise IndexCorrupt(f"{corrupt} (document table): rebuild it")
        self._rows = RowReader(self.sources)

    def changed_sources(self, paths=None) -> tuple[str, ...]:
        """Source shards (of `paths`, or all) whose size or modification time is not what the build saw (gone ones
        too): one stat each."""
        changed = []
        for source in self.sources if paths is None else [s for s in self.sources if s.path in paths]:
            try:
                stat = os.stat(source.path)
                same = (stat.st_size, stat.st_mtime_ns) == (source.size, source.mtime_ns)
            except OSError:
                same = False
            if not same:
                changed.append(source.path)
        return tuple(changed)

    def __len__(self) -> int:
        return len(self._file)

    @property
    def file_numbers(self) -> np.ndarray:
        """Per document, its source file's number in `sources` (mapped, not copied)."""
        return self._file

    @property
    def token_counts(self) -> np.ndarray:
        """Per document, its tokens (mapped, not copied)."""
        return self._tokens

    def check(self, doc: int) -> int:
        doc = int(doc)
        if not 0 <= doc < len(self):
            raise InvalidQuery(f"document {doc} does not exist: this index has documents 0..{len(self) - 1}")
        return doc

    def id(self, doc: int) -> str | None:
        return self._id[self.check(doc)].as_py()

    def file(self, doc: int) -> str:
        return self.sources[int(self._file[self.check(doc)])].path

    def row(self, doc: int) -> int:
        return int(self._row[self.check(doc)])

    def text_crc(self, doc: int) -> int:
        """CRC-32 of the document's UTF-8 text as it was indexed."""
        return int(self._text_crc[self.check(doc)])

    def tokens(self, doc: int) -> int:
        return int(self._tokens[self.check(doc)])

    # -- finding a document again by its identity (labels follow their documents through rebuilds) --------------

    def file_index(self, path: str) -> int | None:
        """The position of source file `path` in this build's sources, or None."""
        return next((i for i, source in enumerate(self.sources) if source.path == path), None)

    def find_row(self, path: str, row: int) -> int | None:
        """The document read from row `row` of source file `path`, or None. Documents are numbered in file and row
        order, so this is a bisection; a scan makes sure of a miss."""
        file_index = self.file_index(path)
        if file_index is None:
            return None
        lo = int(np.searchsorted(self._file, file_index, "left"))
        hi = int(np.searchsorted(self._file, file_index, "right"))
        at = lo + int(np.searchsorted(self._row[lo:hi], row))
        if at < hi and int(self._file[at]) == file_index and int(self._row[at]) == row:
            return at
        found = np.flatnonzero((self._file == file_index) & (self._row == row))
        return int(found[0]) if len(found) else None

    def docs_with_ids(self, ids) -> dict[str, list[int]]:
        """Every document whose id is one of `ids` (one pass over the id column), by id."""
        import pyarrow.compute as pc

        wanted = sorted({str(i) for i in ids if i is not None})
        if not wanted:
            return {}
        column = self._id if pa.types.is_string(self._id.type) else pc.cast(self._id, pa.string())
        hits = np.flatnonzero(pc.is_in(column, value_set=pa.array(wanted, pa.string())).to_numpy(zero_copy_only=False))
        found: dict[str, list[int]] = {}
        for doc in hits.tolist():
            found.setdefault(str(column[doc].as_py()), []).append(doc)
        return found

    def docs_with_text(self, path: str, text_crc: int, tokens: int) -> list[int]:
        """Documents of source file `path` whose text has this CRC and token count (a row that moved)."""
        file_index = self.file_index(path)
        if file_index is None:
            return []
        lo = int(np.searchsorted(self._file, file_index, "left"))
        hi = int(np.searchsorted(self._file, file_index, "right"))
        same = (self._text_crc[lo:hi] == text_crc) & (self._tokens[lo:hi] == tokens)
        return (lo + np.flatnonzero(same)).tolist()

    def read(self, doc: int) -> Document:
        """The whole text and metadata of document `doc`, read back from its Parquet shard."""
        doc = self.check(doc)
        file_index, row = int(self._file[doc]), int(self._row[doc])
        record = self._rows.read(file_index, row)
        text = record.pop(self.text_column)
        if not isinstance(text, str) or zlib.crc32(text.encode()) != self.text_crc(doc):
            raise SourceChanged(
                f"document {doc} ({self.sources[file_index].path}, row {row}) has changed since the index was "
                "built: its counts and matches describe the old text; rebuild the index"
            )
        return Document(
            doc=doc,
            id=self._id[doc].as_py(),
            file=self.sources[file_index].path,
            row=row,
            tokens=int(self._tokens[doc]),
            text=text,
            metadata={k: _plain(v) for k, v in record.items()},
        )


_NUMPY = {pa.int32(): np.dtype(np.int32), pa.int64(): np.dtype(np.int64)}


def _mapped(column: pa.ChunkedArray) -> np.ndarray:
    """An integer column as NumPy over the mapped file (the build writes one chunk): no copy, and none of the
    pandas import that pyarrow's own `to_numpy` costs (0.3 s)."""
    dtype = _NUMPY.get(column.type)
    if dtype is None or column.null_count:
        raise IndexCorrupt(f"document table column of type {column.type} with {column.null_count} nulls: rebuild it")
    parts = [np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * dtype.itemsize)
             for c in column.chunks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype)


def _plain(value):
    """Metadata values as JSON-friendly Python values (dates and decimals as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


_FOOTER = 1 << 16


def footer_crc(path: Path) -> int:
    """The CRC-32 of a shard's last 64 KiB (its Parquet footer): recorded by the build, checked before a row is read
    back, so a rewritten shard is never read as the one indexed."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - _FOOTER))
        return zlib.crc32(f.read())


class RowReader:
    """Fetches whole rows back from the source shards by (file, row), keeping a few decoded row groups."""

    def __init__(self, sources: Sequence[SourceFile], cache_groups: int = 4):
        self._sources = sources
        self._files: dict[int, tuple[pq.ParquetFile, list[int]]] = {}
        self._groups: OrderedDict[tuple[int, int], pa.Table] = OrderedDict()
        self._cache_groups = cache_groups
        self._lock = threading.Lock()  # the app shares one reader between its sessions' threads

    def _open(self, file_index: int) -> tuple[pq.ParquetFile, list[int]]:
        if file_index not in self._files:
            source = self._sources[file_index]
            path = Path(source.path)
            try:
                changed = path.stat().st_size != source.size or footer_crc(path) != source.footer_crc
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
