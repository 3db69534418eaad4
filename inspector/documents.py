"""The documents of a build: the document table (where each document came from, its id and size) and the text,
read back from the source Parquet shards by file and row."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from index.errors import IndexCorrupt, InvalidQuery

from .corpus import RowReader
from .results import Document


class Documents:
    """Document `doc` (0..len-1, in corpus order): its source file and row, id, token count, and whole text."""

    def __init__(self, build: Path, manifest: dict):
        self.sources = manifest["sources"]
        self.text_column = manifest["text_column"]
        try:
            table = feather.read_table(pa.memory_map(str(build / "documents.arrow")), memory_map=True)
        except (pa.ArrowException, OSError) as exc:
            raise IndexCorrupt(f"index at {build.parent} is corrupt or incomplete ({exc}): rebuild it") from None
        if table.num_rows != manifest["documents"]:
            raise IndexCorrupt(f"index at {build.parent} is corrupt or incomplete (document table): rebuild it")
        self._file, self._row, self._tokens = (_mapped(table.column(name)) for name in ("file", "row", "tokens"))
        self._id = table.column("id")
        self._rows = RowReader(self.sources)

    def __len__(self) -> int:
        return len(self._file)

    def check(self, doc: int) -> int:
        doc = int(doc)
        if not 0 <= doc < len(self):
            raise InvalidQuery(f"document {doc} does not exist: this index has documents 0..{len(self) - 1}")
        return doc

    def id(self, doc: int) -> str | None:
        return self._id[self.check(doc)].as_py()

    def file(self, doc: int) -> str:
        return self.sources[int(self._file[self.check(doc)])]["path"]

    def row(self, doc: int) -> int:
        return int(self._row[self.check(doc)])

    def read(self, doc: int) -> Document:
        """The whole text and metadata of document `doc`, read back from its Parquet shard."""
        doc = self.check(doc)
        file_index, row = int(self._file[doc]), int(self._row[doc])
        record = self._rows.read(file_index, row)
        text = record.pop(self.text_column)
        return Document(
            doc=doc,
            id=self._id[doc].as_py(),
            file=self.sources[file_index]["path"],
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
