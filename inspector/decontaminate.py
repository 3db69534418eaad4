"""A decontaminated copy of a corpus: its Parquet shards written again without the documents a contamination
report flags (or with their matched spans blanked), same file names, columns and types, ready to rebuild.

Only the documents' own rows change; every other row, and every column, is copied as it is read (row group by row
group, so a shard never loads whole). Each flagged row's text is checked against the CRC-32 the index keeps of the
document: a row whose text differs (its source changed since: rows shuffled, edited, removed) stops the copy, for
removing or masking it would touch another text. The copy is written in a folder beside `out` and renamed to it at
the end, so a stopped copy leaves nothing behind.
"""
from __future__ import annotations

import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from index.errors import InspectorError, SourceChanged

from .contamination import FlaggedDocument
from .normalize import normalize_with_offsets, original_span
from .results import Result

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class DecontaminationReport(Result):
    out: str
    files: int
    rows_in: int
    rows_out: int
    documents_removed: int
    documents_masked: int
    characters_masked: int


def decontaminate(index, flagged: Sequence[FlaggedDocument], out: str | Path, *, mask: bool = False,
                  progress: Progress | None = None) -> DecontaminationReport:
    """Write every source shard of `index` to `out` without the `flagged` documents (a report's `documents`), or
    with their spans replaced by one space each when `mask` (a span of normalised text: the characters of the
    document's text it came from)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InspectorError(f"{out} exists and is not an empty folder: choose a new one for the copy")
    docs = {f.doc: (f.spans, f.normalized_spans) for f in flagged}
    partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"  # renamed to `out` once whole
    try:
        partial.mkdir(parents=True)
        files, rows_in, rows_out, masked = _write(index, docs, partial, mask, progress)
        if out.exists():
            out.rmdir()
        partial.rename(out)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a folder not writable: one line, nothing left behind
            raise InspectorError(f"cannot write the copy to {out}: {exc.strerror or exc}") from None
        raise
    return DecontaminationReport(
        out=str(out),
        files=files,
        rows_in=rows_in,
        rows_out=rows_out,
        documents_removed=0 if mask else len(docs),
        documents_masked=len(docs) if mask else 0,
        characters_masked=masked,
    )


def _write(index, docs: dict, out: Path, mask: bool, progress: Progress | None) -> tuple[int, int, int, int]:
    """Every source shard copied under `out`: (files, rows read, rows written, characters masked)."""
    by_row = {(index.documents.file(doc), index.documents.row(doc)): doc for doc in docs}
    sources = [s["path"] for s in index.sources]
    root = Path(os.path.commonpath([str(Path(p).parent) for p in sources])) if sources else Path(".")
    progress = progress or (lambda stage, done, total: None)
    rows_in = rows_out = masked_chars = 0
    for number, source in enumerate(sources):
        target = out / Path(source).relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        counts = _copy(index, source, target, by_row, docs, mask)
        rows_in, rows_out, masked_chars = rows_in + counts[0], rows_out + counts[1], masked_chars + counts[2]
        progress("decontaminate", number + 1, len(sources))
    return len(sources), rows_in, rows_out, masked_chars


def _copy(index, source: str, target: Path, by_row: dict, docs: dict, mask: bool) -> tuple[int, int, int]:
    """One shard: (rows read, rows written, characters masked)."""
    text_column = index.manifest.text_column
    handle = pq.ParquetFile(source)
    rows_in = rows_out = masked = 0
    with pq.ParquetWriter(target, handle.schema_arrow) as writer:
        for group in range(handle.metadata.num_row_groups):
            table = handle.read_row_group(group)
            first = rows_in
            hits = [(r, by_row[(source, first + r)]) for r in range(table.num_rows) if (source, first + r) in by_row]
            rows_in += table.num_rows
            column = table.column(text_column)
            for r, doc in hits:  # each flagged row read alone: a row group's other texts stay in Arrow
                _check_unchanged(index, doc, column[r].as_py())
            if hits and mask:
                texts = column.to_pylist()
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
    beyond = sorted(doc for (file, row), doc in by_row.items() if file == source and row >= rows_in)
    if beyond:
        raise SourceChanged(f"{source} has {rows_in:,} rows now, fewer than when it was indexed (document "
                            f"{beyond[0]} was row {index.documents.row(beyond[0]):,}): rebuild the index and check "
                            "again")
    return rows_in, rows_out, masked


def _check_unchanged(index, doc: int, text) -> None:
    """The row holds the text indexed as `doc` (by its CRC-32), or SourceChanged: nothing else may be removed."""
    if text is None or zlib.crc32(text.encode()) != index.documents.text_crc(doc):
        raise SourceChanged(
            f"document {doc} ({index.documents.file(doc)}, row {index.documents.row(doc):,}) is not the text that "
            "was indexed there: its source changed since the index was built; rebuild the index and check again"
        )


def _masked(index, doc: int, text: str, spans: tuple[tuple, tuple]) -> tuple[str, int]:
    """The text (checked to be the one indexed) with each matched span replaced by one space: `spans` are token
    spans of the document's tokens and of its normalised text's tokens."""
    exact, normalized = spans
    chars = index.tokenizer.char_offsets(index.document_tokens(doc))
    ranges = [(int(chars[a]), int(chars[b])) for a, b in exact]
    if normalized:
        origin = normalize_with_offsets(text)[1]
        offsets = index.tokenizer.char_offsets(index.normalized_engine.document_tokens(doc))
        ranges += [original_span(origin, int(offsets[a]), int(offsets[b])) for a, b in normalized]
    merged: list[list[int]] = []  # the two ways' spans may overlap: merged, each blanked by one space
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, at, masked = [], 0, 0
    for start, end in merged:
        pieces += [text[at:start], " "]
        masked += end - start
        at = end
    pieces.append(text[at:])
    return "".join(pieces), masked
