"""`inspector build`: Parquet shards -> n-gram shards + full-text index + catalog, published atomically.

A build is parts and a publish. The corpus is cut into parts of equal text (whole rows, counted first, so documents
are numbered before anything is indexed); each part (`inspector.build_part`) reads, tokenizes and indexes its rows
into its own folder, in worker processes side by side, or as Ray tasks (`ray=`). `publish` then ties the parts
(and, with `append`, the live build's files, hard-linked) into one index and makes it live in one step.
"""
from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import numbers
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import feather

from index import storage
from index.catalog import build_catalog
from index.errors import CorpusError, InspectorError
from index.fulltext import DEFAULT_TOKENIZER, FieldSpec, check_tokenizer, field_specs, join_indexes, skipped_fields
from index.layout import (
    CATALOG,
    DOCUMENT_SCHEMA,
    DOCUMENTS,
    FULLTEXT,
    NORMALIZED,
    SIGNALS,
    FileFacts,
    FulltextRecord,
    Manifest,
    NormalizedRecord,
    ShardRecord,
    SourceFile,
    TokenizerRecord,
    shard_records,
)
from index.shard_merge import Run, assemble
from index.suffix_array import MAX_SHARD_TOKENS, cpu_count, width_for

from .build_options import BuildOptions
from .build_part import PartJob, Rows, build_part, write_table
from .compact import compact, needs_compaction
from .corpus import find_parquet_files, has_words, inspect_source, metadata_schema, text_sizes
from .corpus_index import open_index
from .duplication_signal import add_duplication_signal, duplication_parameters
from .quality import signals_table
from .results import BuildReport
from .settings import DEFAULT, Settings
from .tokenizer import Tokenizer, load_tokenizer, make_tokenizer

Progress = Callable[[str, int, int], None]

#: the least (estimated) tokens of a part: a part costs a worker's start (~0.6 s) and a run to merge; a corpus (or an
#: append) under twice this is one part, indexed in this process
PART_TOKENS = 4_000_000
#: most workers (or Ray tasks at once) a build asks for
MAX_WORKERS = 1024
#: what a build worker holds besides its run's sort: Tantivy's writer heap, a batch, the tokenizer, NumPy
_WORKER_BASE_BYTES = 768 << 20
#: share of the memory available at the start that the build's workers may use together
_MEMORY_SHARE = 0.6


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable), or 8 GiB where /proc/meminfo is not there to say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


@dataclass(slots=True)
class _Plan:
    """What a build reads and how: decided before anything is written."""

    sources: list[SourceFile]
    specs: list[FieldSpec]
    tokenizer: Tokenizer
    width: int
    #: the options, `tokenizer` as parts load it and `shard_tokens` settled; `fulltext_tokenizer` and `normalized`
    #: stay None until an append takes the base's (a new build: the default tokenizer, normalised on)
    options: BuildOptions
    #: metadata columns no filter can take, each as `name (type): why` (index.fulltext.skipped_fields)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Base:
    """The live build an `append` adds to. Only a build removes a build, and this one holds the folder's build
    lock until it has published, so the base stays as it is without being held open."""

    folder: Path
    manifest: Manifest
    #: the (min_len, min_docs) of its duplication signal, computed again after the append; None without one
    duplication: tuple[int, int] | None = None


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
    fulltext_tokenizer: str | None = None,
    settings: Settings = DEFAULT,
    progress: Progress | None = None,
    allow_empty: bool = False,
    normalized: bool | None = None,
    signals: bool = True,
    append: bool = False,
    force: bool = False,
    workers: int | None = None,
    memory_gib: float | None = None,
    ray: str | None = None,
    options: BuildOptions | None = None,
) -> BuildReport:
    """Index Parquet files, folders or globs into `out`: n-gram shards, the full-text index and the catalog.

    The previous index in `out` stays live until the very end. `workers` parts are indexed side by side (default:
    the cores this process may use, fewer when `memory_gib` — default 60 % of the memory available — cannot hold
    that many run sorts at once); they run in processes started with "spawn", so a script that calls this must do
    so under `if __name__ == "__main__":`. `ray` runs the parts as tasks on a Ray cluster ("auto", an address, or
    "" for a local Ray) instead.
    `append` adds the files as new shards of the live index (every option must match how it was built) and refuses
    a file it already holds, by path or by footer checksum, unless `force`.
    A corpus without a single text that holds more than whitespace is refused (it would replace a live index with
    an empty one) unless `allow_empty`; a failed write (disk full, no permission) is one InspectorError naming the path.
    `signals` (on unless turned off) adds the heuristic quality signals of `inspector.quality` to the catalog.
    `fulltext_tokenizer`: "cjk" (the default: CJK words found inside unsegmented text) or "words" (see
    `index.fulltext.TOKENIZERS`); an append takes the index's own unless told.
    `normalized`: also index normalised text (on for a new build: a contamination check then also finds re-cased
    and re-wrapped copies, for 1.5-2x the build time; docs/benchmarks.md); an append takes the index's own.
    `options`: all of these at once (`BuildOptions`, as the CLI makes them), instead of the keywords.
    """
    started = time.perf_counter()
    progress = progress or _no_progress
    given = BuildOptions(text_column, id_column, tokenizer, shard_tokens, fulltext, stem, fulltext_tokenizer,
                         normalized, signals, allow_empty, append, force, workers, memory_gib, ray)
    if options is not None and given != BuildOptions():
        raise InspectorError("give the build's options either as keywords or as `options`, not both")
    options = options if options is not None else given
    workers, memory_gib = options.workers, options.memory_gib
    if workers is not None and (not isinstance(workers, numbers.Integral) or isinstance(workers, bool)
                                or not 1 <= workers <= MAX_WORKERS):
        raise InspectorError(f"--workers must be a whole number from 1 to {MAX_WORKERS}, not {workers!r}")
    if memory_gib is not None and (isinstance(memory_gib, bool) or not isinstance(memory_gib, numbers.Real)
                                   or not 0 < memory_gib < 1 << 20):
        raise InspectorError(f"--memory-gib must be a positive number of GiB, not {memory_gib!r}")
    if options.shard_tokens is None:
        options = replace(options, shard_tokens=settings.shard_tokens)
    plan = _plan(corpus, options)
    base = None
    if options.append:
        storage.live_build(Path(out))  # there is an index to append to (checked before the folder is locked)
    try:
        with storage.build_area(Path(out)) as tmp:
            if options.append:
                base = _open_base(Path(out), plan)
            plan.options = replace(plan.options,
                                   fulltext_tokenizer=plan.options.fulltext_tokenizer or DEFAULT_TOKENIZER,
                                   normalized=True if plan.options.normalized is None else plan.options.normalized)
            jobs, cores = _cut(plan, base, tmp, settings, progress)
            parts = _run(jobs, cores, options.ray, progress)
            final, shards = publish(tmp, plan, base, jobs, parts, progress)
    except OSError as exc:  # disk full, file too large, read-only or missing folder: the temporary build is gone
        where = exc.filename or out
        raise InspectorError(
            f"build failed writing {where}: {exc.strerror or exc}; the previous index in {out}, if any, is kept"
        ) from None
    compacted = 0
    if base is not None and needs_compaction(shards, plan.options.shard_tokens):
        compacted = compact(out, shard_tokens=plan.options.shard_tokens, small_only=True, progress=progress).merged
    if base is not None and base.duplication is not None:  # every document's share may change with new documents
        with open_index(out) as index:
            add_duplication_signal(index, *base.duplication, progress=progress)
    shard_count = len(shards) - (len(base.manifest.shards) if base is not None else 0)
    return _report(final, plan, base, parts, cores, shard_count, compacted, time.perf_counter() - started)


def _plan(corpus, options: BuildOptions) -> _Plan:
    """Find and check the input files and the tokenizer; choose the token width."""
    files = find_parquet_files(corpus)
    sources = [inspect_source(path, options.text_column) for path in files]
    schema = metadata_schema(sources, options.text_column) if options.fulltext else None
    specs = field_specs(schema) if schema is not None else []
    tok = make_tokenizer(options.tokenizer)
    width = width_for(tok.max_id)
    shard_tokens = options.shard_tokens
    integer = isinstance(shard_tokens, numbers.Integral) and not isinstance(shard_tokens, bool)
    if not integer or not 1 <= shard_tokens <= MAX_SHARD_TOKENS:
        raise InspectorError(f"--shard-tokens must be between 1 and {MAX_SHARD_TOKENS:,}, not {shard_tokens!r}")
    spec = str(tok.path) if tok.kind == "hf" else tok.kind
    if options.fulltext_tokenizer is not None:
        check_tokenizer(options.fulltext_tokenizer)
    return _Plan(sources, specs, tok, width, replace(options, tokenizer=spec, shard_tokens=int(shard_tokens)),
                 skipped_fields(schema) if schema is not None else [])


def _open_base(out: Path, plan: _Plan) -> _Base:
    """The live build of `out`, checked to take `plan`'s files as new shards: the same options, none of the files
    already in it (by path, or by footer checksum and size) unless `force`."""
    options = plan.options
    build = storage.OpenBuild(out)
    try:
        manifest = build.manifest
        tokenizer = load_tokenizer(manifest.tokenizer.identity, build.folder)
        has_signals = SIGNALS in manifest.files
        fulltext = manifest.fulltext
        # not told: the index's own (an index from before the choice: words)
        theirs = fulltext.terms if fulltext else options.fulltext_tokenizer
        normalized = manifest.normalized is not None
        wanted = {
            "--text-column": (options.text_column, manifest.text_column),
            "--id-column": (options.id_column, manifest.id_column),
            "--tokenizer": (plan.tokenizer.identity(), tokenizer.identity()),
            "--no-fulltext": (not options.fulltext, fulltext is None),
            "--stem": (options.stem, bool(fulltext and fulltext.stem)),
            "--fulltext-tokenizer": (options.fulltext_tokenizer or theirs, theirs),
            "--normalized": (normalized if options.normalized is None else options.normalized, normalized),
            "--no-signals": (not options.signals, not has_signals),
        }
        differ = [f"{option} (the index: {theirs!r}, here: {ours!r})" for option, (ours, theirs) in wanted.items()
                  if ours != theirs]
        if differ:
            raise InspectorError(f"--append: {out} was built with other options; give the same: {'; '.join(differ)}")
        plan.options = replace(options, fulltext_tokenizer=theirs, normalized=normalized)
        if fulltext is not None:  # the full-text index's fields are fixed: new files may lack some, not add any
            fields = {f.column: f for f in fulltext.fields}
            extra = [s.column for s in plan.specs if s.column not in fields]
            other = [s.column for s in plan.specs if s.column in fields and s != fields[s.column]]
            if extra or other:
                what = (f"metadata columns the index does not have ({', '.join(extra)})" if extra else
                        f"metadata columns of another type than in the index ({', '.join(other)})")
                raise InspectorError(
                    f"--append: the new files have {what}; the full-text index of {out} cannot take them: rebuild "
                    "instead"
                )
            plan.specs = list(fulltext.fields)
        if not options.force:
            for source in plan.sources:
                for number, old in enumerate(manifest.sources):
                    same_path = old.path == source.path
                    if same_path or (old.footer_crc, old.size) == (source.footer_crc, source.size):
                        how = "the same path" if same_path else f"the same content as {old.path}"
                        raise InspectorError(
                            f"--append: {source.path} is already in {out} (source file {number}, {how}); "
                            "pass --force to index it again"
                        )
        return _Base(build.folder, manifest, duplication_parameters(build.folder))
    finally:
        build.close()


def _cut(plan: _Plan, base: _Base | None, tmp: Path, settings: Settings, progress: Progress
         ) -> tuple[list[PartJob], int]:
    """Count every file's texts, then cut the rows into parts of equal text, two per worker (a part that tokenizes
    slowly is made up by the others); (parts, workers).

    How many workers: the cores this process may use (or `workers`), then no more than the memory budget holds at
    `_worker_bytes` each; one worker indexes the corpus as one part, in this process."""
    options = plan.options
    workers, ray = options.workers, options.ray
    progress("count texts", 0, len(plan.sources))
    with ThreadPoolExecutor(cpu_count()) as pool:  # Parquet decoding lets go of the GIL
        sizes = []
        for done, counted in enumerate(pool.map(lambda s: text_sizes(s, options.text_column), plan.sources), 1):
            sizes.append(counted)
            progress("count texts", done, len(plan.sources))
    written = [source for source, s in zip(plan.sources, sizes) if s.any()]
    if not options.allow_empty and not has_words(written, options.text_column):
        what = "to append" if base is not None else "to index"
        rows = sum(s.rows for s in plan.sources)
        raise CorpusError(
            f"no documents {what}: {rows:,} rows in {len(plan.sources)} file(s), all of them empty or whitespace "
            f"texts; nothing was written to {tmp.parent} (pass --allow-empty to build an empty index)"
        )
    text_bytes = sum(int(s.sum()) for s in sizes)
    estimate = text_bytes if plan.tokenizer.kind == "bytes" else text_bytes // 2  # tokens, on the safe side
    if ray is not None:
        from .ray_cluster import cluster_cpus

        cores = workers or cluster_cpus(ray or None)
    else:
        memory_gib = options.memory_gib
        budget = memory_gib * 2**30 if memory_gib is not None else _MEMORY_SHARE * available_memory()
        cores = workers or cpu_count()
        while cores > 1 and cores * _worker_bytes(plan, -(-estimate // (2 * cores))) > budget:
            cores -= 1
    n_parts = 1 if ray is None and cores == 1 else max(1, min(2 * cores, estimate // PART_TOKENS))
    cuts = _cut_rows(sizes, n_parts)
    doc_lo = base.manifest.documents if base is not None else 0
    first_file = len(base.manifest.sources) if base is not None else 0
    jobs = []
    for number, rows in enumerate(cuts):
        jobs.append(PartJob(
            number=number, folder=str(tmp / "parts" / f"part-{number:04d}"),
            rows=tuple(Rows(first_file + f, plan.sources[f], lo, hi) for f, lo, hi in rows),
            doc_lo=doc_lo, options=options, width=plan.width, specs=tuple(plan.specs), batch_rows=settings.batch_rows,
            threads=cores if len(cuts) == 1 else 1,
        ))
        doc_lo += sum(int(np.count_nonzero(sizes[f][lo:hi])) for f, lo, hi in rows)
    return jobs, min(cores, len(jobs))


def _worker_bytes(plan: _Plan, part_tokens: int) -> int:
    """A worker's peak: one run's sort (5 bytes per byte of tokens: the tokens and libdivsufsort's 32-bit array)
    and the rest it holds (`_WORKER_BASE_BYTES`)."""
    return 5 * plan.width * min(plan.options.shard_tokens, part_tokens) + _WORKER_BASE_BYTES


def _cut_rows(sizes: list[np.ndarray], n_parts: int) -> list[list[tuple[int, int, int]]]:
    """Rows cut into `n_parts` runs of about equal text bytes: per part, its (file, row_lo, row_hi) pieces. Parts
    are never empty of rows where rows remain (an empty corpus still gets one part, for an empty index)."""
    lengths = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
    starts = np.cumsum([0] + [len(s) for s in sizes])
    ends = np.cumsum(lengths)
    targets = ends[-1] * np.arange(1, n_parts) / n_parts if len(ends) else np.zeros(0)
    bounds = [0, *np.searchsorted(ends, targets, side="left").clip(0, len(lengths)).tolist(), len(lengths)]
    bounds = sorted(set(bounds)) if len(lengths) else [0, 0]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        pieces = []
        for f in range(len(sizes)):
            a, b = max(lo, starts[f]), min(hi, starts[f + 1])
            if a < b:
                pieces.append((f, int(a - starts[f]), int(b - starts[f])))
        parts.append(pieces)
    return parts


def _die_with_parent() -> None:
    """A worker of a build that is killed must not live on (holding its lock) until it finishes."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


#: in a build worker: where it reports its parts' rows done (a queue handed over when the worker starts, the one way
#: a queue may reach a process of a pool)
_channel = None


def _worker_start(channel) -> None:
    """A build worker: dies with its build; a Hugging Face tokenizer's rayon pool takes one thread, as parts already
    run side by side."""
    global _channel
    _die_with_parent()
    os.environ["RAYON_NUM_THREADS"] = "1"
    _channel = channel


def _build_part_reporting(job: PartJob) -> dict:
    """`build_part` in a worker, reporting its rows done to the build's process."""
    return build_part(job, lambda rows: _channel.put((job.number, rows)))


def _run(jobs: list[PartJob], workers: int, ray: str | None, progress: Progress) -> list[dict]:
    """Every part's facts, in part order: inline for one part, else in `workers` processes or as Ray tasks."""
    total_rows = sum(r.hi - r.lo for job in jobs for r in job.rows)
    stage = "read, tokenize, index"
    progress(stage, 0, total_rows)
    if ray is not None:
        from .ray_cluster import run_tasks

        done_rows = {}

        def finished(i: int, facts: dict) -> None:
            done_rows[i] = sum(r.hi - r.lo for r in jobs[i].rows)
            progress(stage, sum(done_rows.values()), total_rows)

        return run_tasks(ray or None, build_part, jobs, finished)
    if len(jobs) == 1:
        return [build_part(jobs[0], lambda rows: progress(stage, rows, total_rows))]
    # "spawn", not "fork": libdivsufsort runs on OpenMP, and a child forked after the parent has used OpenMP (an
    # earlier build in the same process) hangs in its first parallel region
    context = multiprocessing.get_context("spawn")
    channel = context.SimpleQueue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=(channel,)) as pool:
        futures = [pool.submit(_build_part_reporting, job) for job in jobs]
        rows = [0] * len(jobs)
        try:
            while True:
                finished, pending = wait(futures, timeout=0.25, return_when=FIRST_EXCEPTION)
                while not channel.empty():
                    number, done = channel.get()
                    rows[number] = done
                progress(stage, sum(rows), total_rows)
                if not pending or any(f.exception() for f in finished):
                    break
            return [f.result() for f in futures]
        except BaseException as exc:  # one part failed (or the build was stopped): the others' work is lost anyway
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            if isinstance(exc, BrokenProcessPool):  # a worker killed, most likely for memory
                raise InspectorError(
                    f"a build worker died ({exc}); if the system ran out of memory, give fewer --workers or a lower "
                    "--memory-gib; the previous index, if any, is kept"
                ) from None
            raise


def publish(tmp: Path, plan: _Plan, base: _Base | None, jobs: list[PartJob], parts: list[dict],
            progress: Progress) -> tuple[Path, list[ShardRecord]]:
    """Tie the parts (after the base build's files, hard-linked) into one index in `tmp` and make it live: the
    parts' sorted runs merged into whole shards (`index.shard_merge`: their shape follows the documents and
    --shard-tokens, not the parts), one Tantivy index of all segments, the document table and catalog, the
    manifest; the folder of the new live build and its shards' manifest records."""
    progress("publish", 0, 1)
    options = plan.options
    old = base.manifest if base is not None else None
    known: dict[str, FileFacts] = {}  # files linked from the base build: their checksums are known
    shards = _link_shards(base, old.shards if old else (), tmp, known)
    normalized = _link_shards(base, old.normalized.shards if old and old.normalized else (), tmp, known)
    tables, signals, doc_lo = [], [], 0
    if base is not None:
        tables.append(feather.read_table(base.folder / DOCUMENTS, memory_map=True).drop_columns(["doc"]))
        if options.signals:
            signals.append(feather.read_table(base.folder / SIGNALS, memory_map=True))
        doc_lo = old.documents
    n_symbols = plan.tokenizer.max_id + 1
    merged = _merge_progress(progress, parts)
    new_shards = shard_records(assemble(_runs(jobs, parts, "runs"), tmp, "", options.shard_tokens, plan.width,
                                        n_symbols, cpu_count(), len(shards), merged))
    if options.normalized:
        normalized += _numbered(shard_records(assemble(
            _runs(jobs, parts, "normalized_runs"), tmp, f"{NORMALIZED}/", options.shard_tokens, plan.width, n_symbols,
            cpu_count(), len(normalized), merged)), doc_lo)
    shard_lo = np.array([e.doc_lo for e in new_shards], dtype=np.int64)
    for job in jobs:
        folder = Path(job.folder)
        table = feather.read_table(folder / DOCUMENTS)
        local = np.arange(job.doc_lo - doc_lo, job.doc_lo - doc_lo + table.num_rows)
        shard = np.searchsorted(shard_lo, local, side="right") - 1 + len(shards)
        tables.append(table.append_column("shard", pa.array(shard.astype(np.int32))).select(DOCUMENT_SCHEMA.names[1:]))
        if options.signals:
            signals.append(feather.read_table(folder / SIGNALS))
    shards += _numbered(new_shards, doc_lo)
    if options.fulltext:
        folders = ([base.folder / FULLTEXT] if base is not None else []) + [Path(j.folder) / FULLTEXT for j in jobs]
        join_indexes(folders, tmp / FULLTEXT, link=[base is not None])
        if base is not None:
            for file in (tmp / FULLTEXT).iterdir():
                rel = f"{FULLTEXT}/{file.name}"
                if rel in old.files and not file.name.endswith(".json"):
                    known[rel] = old.files[rel]
    documents = _document_table(pa.concat_tables(tables) if tables else None)
    write_table(documents, tmp / DOCUMENTS)
    signal_table = None
    if options.signals:
        signal_table = pa.concat_tables(signals) if signals else signals_table(pa.array([], pa.large_string()))
        write_table(signal_table, tmp / SIGNALS)
    shutil.rmtree(tmp / "parts", ignore_errors=True)
    sources = (*(old.sources if old else ()), *plan.sources)
    build_catalog(tmp / CATALOG, documents, [s.path for s in sources], options.text_column, options.id_column,
                  signal_table)
    plan.tokenizer.save(tmp)
    manifest = Manifest(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        tokenizer=TokenizerRecord(plan.tokenizer.identity()),
        width=plan.width,
        text_column=options.text_column,
        id_column=options.id_column,
        documents=documents.num_rows,
        tokens=int(pc.sum(documents["tokens"]).as_py() or 0),
        empty_skipped=(old.empty_skipped if old else 0) + sum(p["empty"] for p in parts),
        sources=sources,
        shards=tuple(shards),
        fulltext=FulltextRecord(options.stem, options.fulltext_tokenizer, tuple(plan.specs))
        if options.fulltext else None,
        normalized=NormalizedRecord(tuple(normalized)) if options.normalized else None,
    )
    final = storage.commit(tmp, manifest, known)
    progress("publish", 1, 1)
    return final, shards


def _link_shards(base: _Base | None, entries: Sequence[ShardRecord], tmp: Path, known: dict) -> list[ShardRecord]:
    """Hard-link the base build's shard folders into `tmp` under their names (a copy where links cannot be made);
    their manifest records."""
    for entry in entries:
        source = base.folder / entry.name
        (tmp / entry.name).mkdir(parents=True)
        for file in source.iterdir():
            rel = f"{entry.name}/{file.name}"
            try:
                os.link(file, tmp / rel)
            except OSError:
                shutil.copy2(file, tmp / rel)
            known[rel] = base.manifest.files[rel]
    return list(entries)


def _runs(jobs: list[PartJob], parts: list[dict], key: str) -> list[Run]:
    """The sorted runs of every part (`key`: "runs", or "normalized_runs"), in document order."""
    return [Run(Path(job.folder) / run["name"], run["documents"], run["tokens"])
            for job, facts in zip(jobs, parts) for run in facts[key]]


def _numbered(entries: list[ShardRecord], doc_lo: int) -> list[ShardRecord]:
    """Shard records laid out from document 0, numbered from `doc_lo` on."""
    return [replace(e, doc_lo=e.doc_lo + doc_lo) for e in entries]


def _merge_progress(progress: Progress, parts: list[dict]) -> Callable[[int], None]:
    """Progress of the merge, in tokens (normalized runs included)."""
    total = sum(r["tokens"] for p in parts for r in p["runs"] + p["normalized_runs"])
    done = [0]

    def merged(tokens: int) -> None:
        done[0] += tokens
        progress("merge into shards", done[0], total)

    return merged


def _document_table(table: pa.Table | None) -> pa.Table:
    """The index's document table: the parts' rows in order, numbered."""
    if table is None:
        table = DOCUMENT_SCHEMA.empty_table().drop_columns(["doc"])
    table = table.combine_chunks()
    doc = pa.array(np.arange(table.num_rows, dtype=np.int64))
    return pa.table({"doc": doc, **{name: table[name] for name in table.column_names}})


def _report(final: Path, plan: _Plan, base: _Base | None, parts: list[dict], workers: int, shard_count: int,
            compacted: int, seconds: float) -> BuildReport:
    documents = sum(p["documents"] for p in parts)
    tokens = sum(p["tokens"] for p in parts)
    total = {k: sum(p["seconds"][k] for p in parts) for k in ("tokenize", "fulltext", "suffix_array", "signals")}
    old_documents = base.manifest.documents if base is not None else 0
    old_tokens = base.manifest.tokens if base is not None else 0
    return BuildReport(
        path=str(final.parent),
        documents=documents,
        tokens=tokens,
        empty_skipped=sum(p["empty"] for p in parts),
        shards=shard_count,
        seconds=round(seconds, 3),
        tokenize_seconds=round(total["tokenize"], 3),
        suffix_array_seconds=round(total["suffix_array"], 3),
        fulltext_seconds=round(total["fulltext"], 3),
        text_bytes=sum(s.size for s in plan.sources),
        tokens_per_second=round(tokens / seconds, 1) if seconds else 0.0,
        workers=workers,
        parts=len(parts),
        signals_seconds=round(total["signals"], 3),
        index_documents=old_documents + documents,
        index_tokens=old_tokens + tokens,
        appended=base is not None,
        compacted=compacted,
        skipped_columns=tuple(plan.skipped),
    )
