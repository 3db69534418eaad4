"""What the heuristic quality signals cost a build (issue 10: at most +20 %).

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    python bench/bench_signals.py --corpus bench/data/corpus --runs 3

Runs `inspector build` with and without `--signals`, alternating (so a change in the machine's load hits both
alike), each in its own process; reports wall time and the CPU time of the build and all its workers. Then the
signals alone: `signals_batch` over every text, in batches as the build makes them, in this process.
"""
from __future__ import annotations

import argparse
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector.quality import signals_batch  # noqa: E402
from inspector.settings import DEFAULT  # noqa: E402


def build(corpus: Path, out: Path, signals: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the build process and its children) of one `inspector build`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "inspector", "build", str(corpus), "--out", str(out),
                    "--signals" if signals else "--no-signals"], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def signals_alone(corpus: Path) -> tuple[float, float, int, int]:
    files = sorted(corpus.glob("*.parquet"))
    texts = [t for f in files for t in pq.read_table(f, columns=["text"]).column(0).to_pylist() if t]
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for i in range(0, len(texts), DEFAULT.batch_rows):
        signals_batch(texts[i : i + DEFAULT.batch_rows])
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(texts), sum(map(len, texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("bench/data/corpus"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for signals in (True, False):
                rows[signals].append(build(args.corpus, Path(tmp) / f"index-{signals}", signals))
                shutil.rmtree(Path(tmp) / f"index-{signals}", ignore_errors=True)
                print(f"run {run + 1} {'with' if signals else 'without'} signals: "
                      f"{rows[signals][-1][0]:.1f} s wall, {rows[signals][-1][1]:.1f} s CPU", flush=True)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {platform.python_version()}\n")
    print("| run | with signals (wall / CPU) | without (wall / CPU) | wall + |")
    print("| --- | --- | --- | --- |")
    for i, (w, wo) in enumerate(zip(rows[True], rows[False]), 1):
        print(f"| {i} | {w[0]:.1f} s / {w[1]:.1f} s | {wo[0]:.1f} s / {wo[1]:.1f} s | {w[0] / wo[0] - 1:+.0%} |")
    walls = [statistics.median(r[0] for r in rows[s]) for s in (True, False)]
    cpus = [statistics.median(r[1] for r in rows[s]) for s in (True, False)]
    print(f"| median | {walls[0]:.1f} s / {cpus[0]:.1f} s | {walls[1]:.1f} s / {cpus[1]:.1f} s | "
          f"{walls[0] / walls[1] - 1:+.0%} (CPU {cpus[0] / cpus[1] - 1:+.0%}) |")
    wall, cpu, documents, chars = signals_alone(args.corpus)
    print(f"\nsignals alone: {documents:,} documents, {chars:,} characters: {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({cpu / chars * 1e9:.0f} ns per character)")


if __name__ == "__main__":
    main()
