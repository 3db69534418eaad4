"""Whole shards from sorted runs: where documents go (`layout`) and the merge of the runs' suffix arrays (`assemble`).

A build sorts its corpus in runs, side by side (each part of the corpus a run or more); a compaction takes existing
shards as runs. Either way the shards' shape follows the documents and `shard_tokens` alone: `layout` cuts the
documents into the fewest shards that hold them, of about equal size, and every shard is the merge of the pieces of
runs it covers. The suffix order (see `suffix_array`) ends at a separator and breaks ties by position, so the merge
of any cut is the one sort of the whole: the files are the same bytes however many workers sorted them.

The merge streams: its inputs are mapped files read in order; each suffix's first words are read from the text once,
when it comes to the head of its run, and the text past them only where two heads are equal that far; the output is
cut at splitter suffixes into pieces merged side by side on threads (the compiled merge lets go of the GIL), each
written at its place.
"""
from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .suffix_array import PAD, finish_shard

#: suffixes merged per piece (a piece's buffer: 4 bytes each)
PIECE = 1 << 24
_COPY = 1 << 24


@dataclass(frozen=True, slots=True)
class Run:
    """A sorted run: a folder with tokens.bin, doc_starts.npy and sa.bin in the suffix order (a part's, or a
    shard's), holding `documents` documents and `tokens` tokens (separators included)."""

    folder: Path
    documents: int
    tokens: int


def layout(doc_tokens: np.ndarray, shard_tokens: int) -> list[int]:
    """Document boundaries [0, ..., len(doc_tokens)] of the fewest shards of at most `shard_tokens` tokens each (a
    document longer than that alone), as equal in size as whole documents allow."""
    ends = np.cumsum(np.asarray(doc_tokens, dtype=np.int64))
    if not len(ends):
        return [0]

    def greedy(cap: int) -> list[int]:
        bounds, done = [0], 0
        while bounds[-1] < len(ends):
            nxt = int(np.searchsorted(ends, done + cap, side="right"))
            nxt = max(nxt, bounds[-1] + 1)
            bounds.append(nxt)
            done = int(ends[nxt - 1])
        return bounds

    fewest = greedy(shard_tokens)
    hi = shard_tokens  # the smallest cap that still gives that many
    lo = min(hi, -(-int(ends[-1]) // (len(fewest) - 1)))
    while lo < hi:
        mid = (lo + hi) >> 1
        if len(greedy(mid)) <= len(fewest):
            hi = mid
        else:
            lo = mid + 1
    return greedy(lo)


def assemble(runs: list[Run], out: Path, prefix: str, shard_tokens: int, width: int, n_symbols: int,
             threads: int, first_number: int = 0, progress: Callable[[int], None] | None = None) -> list[dict]:
    """Lay the runs' documents (in order) out into shards `out/{prefix}shard-NNNN` from `first_number` and write
    them; their manifest entries (name, documents, tokens; `doc_lo` counts from 0). A shard that is exactly one run
    takes its folder (moved); the runs' folders are consumed. `progress(tokens)` after each shard."""
    starts = [np.load(r.folder / "doc_starts.npy") for r in runs]
    doc_tokens = np.concatenate([np.diff(s) for s in starts]) if runs else np.zeros(0, np.int64)
    bounds = layout(doc_tokens, shard_tokens)
    run_lo = np.cumsum([0] + [r.documents for r in runs])
    entries = []
    for number, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        pieces = []
        for r, run in enumerate(runs):
            a, b = max(lo, run_lo[r]), min(hi, run_lo[r + 1])
            if a < b:
                pieces.append((run, starts[r], int(a - run_lo[r]), int(b - run_lo[r])))
        name = f"{prefix}shard-{first_number + number:04d}"
        folder = out / name
        folder.parent.mkdir(parents=True, exist_ok=True)
        run, _, a, b = pieces[0]
        if len(pieces) == 1 and a == 0 and b == run.documents:
            os.rename(run.folder, folder)
        else:
            write_merged(folder, pieces, width, threads)
        tokens = int(doc_tokens[lo:hi].sum())
        finish_shard(folder, width, tokens, n_symbols)
        entries.append({"name": name, "doc_lo": lo, "tokens": tokens, "documents": hi - lo})
        if progress is not None:
            progress(tokens)
    return entries


def write_merged(folder: Path, pieces: list[tuple[Run, np.ndarray, int, int]], width: int, threads: int) -> None:
    """One shard from pieces (run, its doc_starts, documents [a, b) of it): the pieces' tokens one after another,
    their document offsets, and the merge of their suffix arrays."""
    folder.mkdir()
    offsets, doc_starts, bounds = [], [], [0]
    total = 0
    with open(folder / "tokens.bin", "wb") as tokens_out:
        for run, run_starts, a, b in pieces:
            ta, tb = int(run_starts[a]), int(run_starts[b])
            _copy_range(run.folder / "tokens.bin", tokens_out, ta * width, (tb - ta) * width)
            offsets.append(total)
            doc_starts.append(run_starts[a:b] - ta + total)
            total += tb - ta
        tokens_out.write(b"\xff" * PAD)
    np.save(folder / "doc_starts.npy", np.concatenate([*doc_starts, [total]]).astype(np.int64))
    joined = folder / ".runs.sa"
    with open(joined, "wb") as out:  # the pieces' suffix arrays one after another, each shifted to start at 0
        for run, run_starts, a, b in pieces:
            ta, tb = int(run_starts[a]), int(run_starts[b])
            if a == 0 and b == len(run_starts) - 1:
                _copy_range(run.folder / "sa.bin", out, 0, (run.tokens - run.documents) * 4)
            else:
                _cut_run(run.folder / "sa.bin", ta, tb, out)
            bounds.append(out.tell() // 4)
    try:
        merge_files(folder / "tokens.bin", width, joined, bounds, offsets, folder / "sa.bin", threads)
    finally:
        joined.unlink()


def merge_files(tokens: Path, width: int, joined: Path, bounds: list[int], offsets: list[int], out: Path,
                threads: int) -> None:
    """Merge the sorted suffix arrays held one after another in `joined` (uint32; input i is entries
    [bounds[i], bounds[i + 1]), its positions plus offsets[i] are positions in `tokens`) into `out`: cut into
    pieces at splitters taken from the largest input, merged side by side. One array, not a list of them: a
    compiled loop pays a reference count for every read through a typed list."""
    from . import sa_kernels
    from .jit import word_view

    runs = _map_array(joined, "<u4")
    text = word_view(_map_array(tokens, np.uint8), width, (tokens.stat().st_size - PAD) // width)
    offs = np.asarray(offsets, dtype=np.int64)
    starts, ends = np.asarray(bounds[:-1], dtype=np.int64), np.asarray(bounds[1:], dtype=np.int64)
    sizes = ends - starts
    total = int(sizes.sum())
    pieces = max(threads, -(-total // PIECE)) if total else 1
    largest = int(np.argmax(sizes)) if len(sizes) else 0
    cuts = [starts]
    for j in range(1, pieces):
        target = int(runs[starts[largest] + sizes[largest] * j // pieces]) + int(offs[largest])
        cuts.append(np.array([sa_kernels.lower_bound(text, width, runs, offs[r], cuts[-1][r], ends[r], target)
                              for r in range(len(sizes))], dtype=np.int64))
    cuts.append(ends)
    with open(out, "wb") as f:
        f.truncate(4 * total)
        fd = f.fileno()

        def merge(j: int) -> None:
            lo, hi = cuts[j], cuts[j + 1]
            buffer = np.empty(int((hi - lo).sum()), dtype="<u4")
            sa_kernels.merge_runs(text, width, runs, offs, lo, hi, buffer)
            os.pwrite(fd, buffer.tobytes(), 4 * int((lo - starts).sum()))

        with ThreadPoolExecutor(max(1, threads)) as pool:
            for _ in pool.map(merge, range(pieces)):
                pass


def _cut_run(sa: Path, lo: int, hi: int, out) -> None:
    """Append to `out` the run's suffix array restricted to token positions [lo, hi), shifted to start at 0 (still
    sorted: the order of a run of documents is its superset's, see `suffix_array`)."""
    source = _map_array(sa, "<u4")
    for i in range(0, len(source), _COPY):
        chunk = source[i : i + _COPY]
        out.write((chunk[(chunk >= lo) & (chunk < hi)] - np.uint32(lo)).astype("<u4").tobytes())


def _copy_range(source: Path, out, start: int, length: int) -> None:
    with open(source, "rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(_COPY, length))
            out.write(chunk)
            length -= len(chunk)


def _map_array(path: Path, dtype) -> np.ndarray:
    """A file as a read-only array over a memory map (an empty array for an empty file)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            empty = np.zeros(0, dtype=dtype)
            empty.flags.writeable = False  # typed as the mapped ones are
            return empty
        return np.frombuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), dtype=dtype)
