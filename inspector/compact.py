"""`inspector compact`: merge an index's small shards (appends leave one or more per append) into whole shards.

Every query searches every shard, so a shard count that grows with each append costs every query. Compaction packs
consecutive shards, in order, into groups of at most `shard_tokens` tokens and merges each group's suffix arrays
(`index.shard_merge`) into one shard; everything else of the live build (full-text index, tokenizer, signals) is
hard-linked, and the document table and catalog get the new shard numbers. It is published like a build: readers
keep answering from the build they opened, document numbers do not change (labels, reports and links stay valid),
and a killed compaction leaves the old index live.

An append compacts by itself when it leaves more than `AUTO_SMALL_SHARDS` shards under half of `shard_tokens`; it then
merges only those small shards, so it costs about what was appended, never a rewrite of a whole shard.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import feather

from index import storage
from index.errors import InspectorError
from index.layout import CATALOG, DOCUMENTS, NORMALIZED, FileFacts, Manifest, NormalizedRecord, ShardRecord, shard_name
from index.shard_merge import Run, write_merged
from index.suffix_array import MAX_SHARD_TOKENS, cpu_count, finish_shard

from .build_part import write_table
from .results import CompactReport
from .settings import DEFAULT, Settings

#: an append compacts by itself when it leaves more shards than this under half of the shard size
AUTO_SMALL_SHARDS = 4


def groups(tokens: list[int], shard_tokens: int, small_only: bool = False) -> list[list[int]]:
    """Consecutive shards (by their token counts) packed in order into groups of at most `shard_tokens` tokens.
    `small_only`: a shard of half `shard_tokens` or more stays alone (as it is)."""
    packed: list[list[int]] = []
    size, closed = 0, True
    for number, count in enumerate(tokens):
        alone = small_only and 2 * count >= shard_tokens
        if not closed and not alone and size + count <= shard_tokens:
            packed[-1].append(number)
            size += count
        else:
            packed.append([number])
            size = count
        closed = alone  # nothing joins a shard that stays alone
    return packed


def needs_compaction(shards: Sequence[ShardRecord], shard_tokens: int) -> bool:
    """Whether an append left more than AUTO_SMALL_SHARDS small shards (under half of `shard_tokens`) among
    `shards` (a manifest's records)."""
    small = sum(2 * s.tokens < shard_tokens for s in shards)
    return small > AUTO_SMALL_SHARDS


def compact(out: str | Path, *, shard_tokens: int | None = None, small_only: bool = False,
            settings: Settings = DEFAULT, progress: Callable[[str, int, int], None] | None = None) -> CompactReport:
    """Merge the index in `out`'s consecutive shards into shards of at most `shard_tokens` (default: the setting)
    and publish the result atomically; `small_only` merges only shards under half of it."""
    started = time.perf_counter()
    shard_tokens = settings.shard_tokens if shard_tokens is None else shard_tokens
    if isinstance(shard_tokens, bool) or not isinstance(shard_tokens, int) or not 1 <= shard_tokens <= MAX_SHARD_TOKENS:
        raise InspectorError(f"--shard-tokens must be between 1 and {MAX_SHARD_TOKENS:,}, not {shard_tokens!r}")
    storage.live_build(Path(out))
    try:
        return _compact(Path(out), shard_tokens, small_only, progress, started)
    except OSError as exc:  # disk full, read-only folder: the temporary build is gone, the live one kept
        raise InspectorError(
            f"compaction failed writing {exc.filename or out}: {exc.strerror or exc}; the index in {out} is kept"
        ) from None


def _compact(out: Path, shard_tokens: int, small_only: bool, progress, started: float) -> CompactReport:
    with storage.build_area(out) as tmp:
        base = storage.OpenBuild(out)
        try:
            manifest = base.manifest
            main = groups([s.tokens for s in manifest.shards], shard_tokens, small_only)
            normalized_entries = manifest.normalized.shards if manifest.normalized else ()
            normal = groups([s.tokens for s in normalized_entries], shard_tokens, small_only)
            before = len(manifest.shards)
            if len(main) == before and len(normal) == len(normalized_entries):
                return CompactReport(str(out), before, before, 0, round(time.perf_counter() - started, 3))
            total = sum(manifest.shards[n].tokens for g in main if len(g) > 1 for n in g) + sum(
                normalized_entries[n].tokens for g in normal if len(g) > 1 for n in g)
            merged = [0]

            def merging(tokens: int) -> None:
                merged[0] += tokens
                if progress is not None:
                    progress("compact shards", merged[0], total)

            known: dict[str, FileFacts] = {}
            width, n_symbols = manifest.width, manifest.tokenizer.max_id + 1
            files = manifest.files
            shards = _write_groups(base.folder, tmp, files, manifest.shards, main, False, width, n_symbols, known,
                                   merging)
            normalized = _write_groups(base.folder, tmp, files, normalized_entries, normal, True, width,
                                       n_symbols, known, merging)
            renumber = np.repeat(np.arange(len(main), dtype=np.int32), [len(g) for g in main])
            _link_rest(base.folder, tmp, manifest, known)
            _renumber_documents(base.folder, tmp, renumber)
            new = replace(manifest, shards=shards,
                          normalized=NormalizedRecord(normalized) if manifest.normalized else None)
            storage.commit(tmp, new, known)
        finally:
            base.close()
    return CompactReport(str(out), before, len(shards), before - len(shards), round(time.perf_counter() - started, 3))


def _write_groups(build: Path, tmp: Path, files: Mapping[str, FileFacts], entries: Sequence[ShardRecord],
                  packed: list[list[int]], normalized: bool, width: int, n_symbols: int, known: dict,
                  merging: Callable[[int], None]) -> tuple[ShardRecord, ...]:
    """Each group as one shard of `tmp`: a lone shard hard-linked under its new number (its facts, from the live
    build's manifest `files`, into `known`), a group merged."""
    out = []
    for number, group in enumerate(packed):
        name = shard_name(number, normalized)
        members = [entries[n] for n in group]
        folder = tmp / name
        folder.parent.mkdir(parents=True, exist_ok=True)
        if len(members) == 1:
            folder.mkdir()
            for file in (build / members[0].name).iterdir():
                os.link(file, folder / file.name)
                known[f"{name}/{file.name}"] = files[f"{members[0].name}/{file.name}"]
        else:
            pieces = []
            for m in members:
                starts = np.load(build / m.name / "doc_starts.npy")
                pieces.append((Run(build / m.name, m.documents, m.tokens), starts, 0, m.documents))
            write_merged(folder, pieces, width, cpu_count())
            tokens = sum(m.tokens for m in members)
            finish_shard(folder, width, tokens, n_symbols)
            merging(tokens)
        out.append(ShardRecord(name, members[0].doc_lo, sum(m.tokens for m in members),
                               sum(m.documents for m in members)))
    return tuple(out)


def _link_rest(build: Path, tmp: Path, manifest: Manifest, known: dict) -> None:
    """Hard-link every file of the live build but its shards, the document table and the catalog."""
    storage.link_files(build, tmp, manifest.files, known, lambda rel: rel.split("/")[0].startswith("shard-")
                       or rel.split("/")[0] == NORMALIZED or rel in (DOCUMENTS, CATALOG))


def _renumber_documents(build: Path, tmp: Path, renumber: np.ndarray) -> None:
    """documents.arrow and the catalog with each document's new shard number."""
    table = feather.read_table(build / DOCUMENTS)
    shard = renumber[table["shard"].to_numpy()] if table.num_rows else np.zeros(0, np.int32)
    write_table(table.set_column(table.schema.get_field_index("shard"), "shard", pa.array(shard, pa.int32())),
                tmp / DOCUMENTS)
    shutil.copyfile(build / CATALOG, tmp / CATALOG)
    import duckdb

    with duckdb.connect(str(tmp / CATALOG)) as con:
        con.register("renumber", pa.table({"old": pa.array(np.arange(len(renumber), dtype=np.int32)),
                                           "new": pa.array(renumber)}))
        con.execute("UPDATE documents SET shard = renumber.new FROM renumber WHERE documents.shard = renumber.old")
