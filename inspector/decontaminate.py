"""A decontaminated copy of a corpus: its Parquet shards written again without the documents a contamination
report flags (or with their matched spans blanked), same file names, columns and types, ready to rebuild.

Only the documents' own rows change; every other row, and every column, is copied as it is read (row group by row
group, so a shard never loads whole). A flagged document whose text differs from what was indexed (its source
changed since) stops the copy: its spans would point at other text.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from index.errors import InspectorError, SourceChanged

from .results import _Result

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class DecontaminationReport(_Result):
    out: str
    files: int
    rows_in: int
    rows_out: int
    documents_removed: int
    documents_masked: int
    characters_masked: int


def decontaminate(index, flagged: Sequence, out: str | Path, *, mask: bool = False,
                  progress: Progress | None = None) -> DecontaminationReport:
    """Write every source shard of `index` to `out` without the `flagged` documents (`FlaggedDocument`s, or dicts
    with `doc` and `spans`), or with their spans replaced by one space each when `mask`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InspectorError(f"{out} exists and is not an empty folder: choose a new --out")
    docs = {int(_get(f, "doc")): [tuple(s) for s in _get(f, "spans")] for f in flagged}
    by_row: dict[tuple[str, int], int] = {}
    for doc in docs:
        by_row[(index.documents.file(doc), index.documents.row(doc))] = doc
    sources = [s["path"] for s in index.sources]
    root = Path(os.path.commonpath([str(Path(p).parent) for p in sources])) if sources else Path(".")
    progress = progress or (lambda stage, done, total: None)
    rows_in = rows_out = masked_chars = 0
    out.mkdir(parents=True, exist_ok=True)
    for number, source in enumerate(sources):
        target = out / Path(source).relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        counts = _copy(index, source, target, by_row, docs, mask)
        rows_in, rows_out, masked_chars = rows_in + counts[0], rows_out + counts[1], masked_chars + counts[2]
        progress("decontaminate", number + 1, len(sources))
    return DecontaminationReport(
        out=str(out),
        files=len(sources),
        rows_in=rows_in,
        rows_out=rows_out,
        documents_removed=0 if mask else len(docs),
        documents_masked=len(docs) if mask else 0,
        characters_masked=masked_chars,
    )


def _get(item, key):
    return item[key] if isinstance(item, dict) else getattr(item, key)


def _copy(index, source: str, target: Path, by_row: dict, docs: dict, mask: bool) -> tuple[int, int, int]:
    """One shard: (rows read, rows written, characters masked)."""
    text_column = index.manifest["text_column"]
    handle = pq.ParquetFile(source)
    rows_in = rows_out = masked = 0
    with pq.ParquetWriter(target, handle.schema_arrow) as writer:
        for group in range(handle.metadata.num_row_groups):
            table = handle.read_row_group(group)
            first = rows_in
            hits = [(r, by_row[(source, first + r)]) for r in range(table.num_rows) if (source, first + r) in by_row]
            rows_in += table.num_rows
            if hits and mask:
                texts = table.column(text_column).to_pylist()
                for r, doc in hits:
                    texts[r], n = _masked(index, doc, texts[r], docs[doc])
                    masked += n
                position = table.schema.get_field_index(text_column)
                column = pa.array(texts, type=table.schema.field(text_column).type)
                table = table.set_column(position, table.schema.field(text_column), column)
            elif hits:
                drop = {r for r, _ in hits}
                keep = pa.array([r not in drop for r in range(table.num_rows)])
                table = table.filter(keep)
            rows_out += table.num_rows
            writer.write_table(table)
    return rows_in, rows_out, masked


def _masked(index, doc: int, text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, int]:
    """The text with each token span replaced by one space; checked to be the text that was indexed."""
    if zlib.crc32(text.encode()) != index.documents.text_crc(doc):
        raise SourceChanged(
            f"document {doc} ({index.documents.file(doc)}, row {index.documents.row(doc)}) has changed since the "
            "index was built: rebuild the index and check again"
        )
    chars = index.tokenizer.char_offsets(index.document_tokens(doc))
    pieces, at, masked = [], 0, 0
    for a, b in spans:
        start, end = int(chars[a]), int(chars[b])
        pieces += [text[at:start], " "]
        masked += end - start
        at = end
    pieces.append(text[at:])
    return "".join(pieces), masked
