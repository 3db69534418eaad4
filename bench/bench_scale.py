"""Measure the index as the corpus grows: build time per stage, peak memory, disk and query latency per size.

    python bench/corpus.py --tokens 1e9 --out bench/data/corpus-1b
    python bench/bench_scale.py --corpus bench/data/corpus-1b --sizes 1e7,1e8,1e9 --out bench/data/scale

Each size indexes the first files of the corpus whose tokens (from the corpus's tokens.tsv) reach it. The build runs
in a child process, so that its peak memory is that of its own process tree: the child and its sort workers, whose
RSS the parent sums every 0.2 s from /proc (a shared page, such as a memory-mapped file's, counts in every process
that maps it). CPU time is the tree's user + system time. Queries go through the id-level engine (`index.engine`),
so tokenizing is not measured: `count` over 1,000 n-grams (n = 1..5 and 13, drawn from documents; a quarter shuffled
so they mostly do not occur), `ntd` over 300 prompts (n = 1..13, as drawn) and `count_many` over 100,000 13-grams
(half shuffled; median of 3 runs). Results are merged into <out>/scale.json, so a later run of another size adds its
column, and printed as a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ngram import median_of_3, rss_mib, sample_ngrams

from inspector import build_index, open_index

COUNT_LENGTHS = (1, 2, 3, 4, 5, 13)


def size_label(tokens: int) -> str:
    return f"{tokens / 1e9:g}B" if tokens >= 1e9 else f"{tokens / 1e6:g}M"


def prefix_files(corpus: Path, tokens: int) -> list[Path]:
    """The first files (in name order) whose tokens reach `tokens`."""
    lines = (corpus / "tokens.tsv").read_text().splitlines()[1:]
    files, total = [], 0
    for line in lines:
        name, _docs, count, _estimated = line.split("\t")
        files.append(corpus / name)
        total += int(count)
        if total >= tokens:
            return files
    sys.exit(f"{corpus} holds {total:,} tokens, fewer than {tokens:,}: write a bigger corpus with bench/corpus.py")


# -- the build, in a child process ------------------------------------------------------------------------------


def _build_child(files: list[str], out: str, results, normalized: bool = False) -> None:
    started, stages = time.perf_counter(), {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - started
        stages.setdefault(stage, [now, now])[1] = now

    report = build_index(files, out, progress=progress, normalized=normalized)
    results.put({"report": report.as_dict(), "stages": stages})


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants, from the ppid field of /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def build_in_child(files: list[Path], out: Path, normalized: bool = False) -> dict:
    """The BuildReport, seconds per progress stage, peak RSS and CPU seconds of the build's process tree."""
    context = mp.get_context("spawn")
    results = context.Queue()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = context.Process(target=_build_child, args=([str(f) for f in files], str(out), results, normalized))
    t0 = time.perf_counter()
    child.start()
    peak, answer = 0, None
    while answer is None and child.is_alive():
        peak = max(peak, sum(rss_bytes(pid) for pid in tree_pids(child.pid)))
        try:
            answer = results.get(timeout=0.2)
        except queue.Empty:
            pass
    child.join()
    if answer is None:
        sys.exit(f"the build of {out} failed (exit code {child.exitcode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stages = {name: {"first": round(a, 2), "last": round(b, 2), "seconds": round(b - a, 2)}
              for name, (a, b) in answer["stages"].items()}
    return {"report": answer["report"], "wall_seconds": round(time.perf_counter() - t0, 2), "stages": stages,
            "peak_rss_bytes": peak, "cpu_seconds": round(cpu, 1)}


# -- disk and queries --------------------------------------------------------------------------------------------


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def disk(out: Path, tokens: int) -> dict:
    build = out / (out / "CURRENT").read_text().splitlines()[0].strip()
    parts = {
        "ngram": sum(folder_bytes(p) for p in build.glob("shard-*")),
        "fulltext": folder_bytes(build / "fulltext"),
        "catalog": folder_bytes(build / "catalog.duckdb"),
        "documents": folder_bytes(build / "documents.arrow"),
        "total": folder_bytes(build),
    }
    return {name: {"bytes": b, "bytes_per_token": round(b / tokens, 3)} for name, b in parts.items()}


def percentiles(seconds: list[float]) -> dict:
    us = sorted(s * 1e6 for s in seconds)
    return {"p50_us": round(statistics.median(us), 1), "p99_us": round(us[int(0.99 * len(us))], 1)}


def timed(run, items) -> list[float]:
    times = []
    for item in items:
        t0 = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - t0)
    return times


def queries(out: Path, n_counts: int, n_prompts: int, n_batch: int) -> dict:
    open_index(out).close()  # the first open imports pyarrow, DuckDB, ...: not the index's cost
    opens = timed(lambda _: open_index(out).close(), range(5))
    before = rss_mib()
    index = open_index(out)
    opened = rss_mib()
    engine, rng = index.engine, np.random.default_rng(0)
    grams = []
    while len(grams) < n_counts:
        grams += [g for g in sample_ngrams(index, rng, n_counts) if len(g) in COUNT_LENGTHS]
    grams = grams[:n_counts]
    prompts = sample_ngrams(index, rng, n_prompts)
    timed(engine.count, grams[:100])  # warm the code paths
    count_times = timed(engine.count, grams)
    by_n = {n: percentiles([t for g, t in zip(grams, count_times) if len(g) == n]) for n in COUNT_LENGTHS}
    ntd_times = timed(engine.ntd, prompts)
    shard = engine.shards[0]  # 13-token windows at random positions, none crossing a document end
    starts = rng.choice(shard.n_tokens - 13, size=int(n_batch * 1.3), replace=False)
    windows = shard.tokens[starts[:, None] + np.arange(13)].astype(np.int64)
    batch = windows[(windows <= engine.max_id).all(axis=1)][:n_batch]
    rng.permuted(batch[: len(batch) // 2], axis=1, out=batch[: len(batch) // 2])
    engine.count_many(batch[:1000])
    batch_seconds, _ = median_of_3(lambda: engine.count_many(batch))
    index.close()
    return {
        "open_ms": {"p50": round(statistics.median(opens) * 1e3, 1), "max": round(max(opens) * 1e3, 1)},
        "open_rss_mib": round(opened - before, 1),
        "count": {**percentiles(count_times), "queries": len(grams), "by_n": by_n},
        "ntd": {**percentiles(ntd_times), "queries": len(prompts)},
        "count_many": {"queries": len(batch), "seconds": round(batch_seconds, 3),
                       "us_per_query": round(batch_seconds / len(batch) * 1e6, 2)},
    }


# -- the report ----------------------------------------------------------------------------------------------


def machine() -> str:
    cpuinfo, meminfo = Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal"))
    return f"{cpu}, {os.cpu_count()} cores, {mem / 2**20:.1f} GiB RAM"


def stage_cell(stage: dict | None) -> str:
    return "–" if stage is None else f"{stage['seconds']:.1f} s (at {stage['first']:.0f}–{stage['last']:.0f} s)"


def table(results: dict) -> str:
    sizes = sorted(results.values(), key=lambda r: r["target_tokens"])
    rows = [("tokens", lambda r: f"{r['tokens']:,}"), ("documents", lambda r: f"{r['documents']:,}"),
            ("corpus files", lambda r: str(r["files"])),
            ("index shards", lambda r: str(r.get("shards", "?")))]
    if all("build" in r for r in sizes):
        rows += [
            ("build, wall", lambda r: f"{r['build']['wall_seconds']:.0f} s = "
                                      f"{r['tokens'] / r['build']['wall_seconds'] / 1e6:.2f} M tokens/s"),
            ("build, CPU (process tree)", lambda r: f"{r['build']['cpu_seconds']:.0f} s"),
            ("build, peak RSS (process tree)", lambda r: f"{r['build']['peak_rss_bytes'] / 2**30:.2f} GiB"),
        ]
        timers = dict.fromkeys(k for r in sizes for k in r["build"]["report"] if k.endswith("_seconds"))
        rows += [(f"  BuildReport.{k}", lambda r, k=k: f"{r['build']['report'].get(k, 0):.1f} s") for k in timers]
        stages = dict.fromkeys(s for r in sizes for s in r["build"]["stages"])
        rows += [(f"  stage: {s} (first–last report)", lambda r, s=s: stage_cell(r["build"]["stages"].get(s)))
                 for s in stages]
    for part in ("ngram", "fulltext", "catalog", "documents", "total"):
        rows.append((f"disk: {part}", lambda r, p=part: f"{r['disk'][p]['bytes'] / 2**20:,.0f} MiB = "
                                                       f"{r['disk'][p]['bytes_per_token']:.3f} B/token"))
    q = "queries"
    rows += [
        ("open_index", lambda r: f"p50 {r[q]['open_ms']['p50']:.1f} ms"),
        ("count, 1,000 n-grams (n = 1..5, 13)", lambda r: f"p50 {r[q]['count']['p50_us']:.0f} µs, "
                                                          f"p99 {r[q]['count']['p99_us']:.0f} µs"),
        ("ntd, 300 prompts", lambda r: f"p50 {r[q]['ntd']['p50_us'] / 1e3:.2f} ms, "
                                       f"p99 {r[q]['ntd']['p99_us'] / 1e3:.1f} ms"),
        ("count_many, 100,000 13-grams", lambda r: f"{r[q]['count_many']['seconds']:.2f} s = "
                                                   f"{r[q]['count_many']['us_per_query']:.1f} µs/query"),
    ]
    lines = ["| measure | " + " | ".join(r["label"] for r in sizes) + " |", "| --- |" + " --- |" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(cell(r) for r in sizes) + " |" for name, cell in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("bench/data/corpus-1b"), help="from bench/corpus.py")
    parser.add_argument("--sizes", default="1e7,1e8,1e9", help="comma-separated token counts, e.g. 1e7,1e8")
    parser.add_argument("--out", type=Path, default=Path("bench/data/scale"), help="indexes and scale.json")
    parser.add_argument("--keep", action="store_true", help="keep the indexes (default: delete each once measured)")
    parser.add_argument("--skip-build", action="store_true", help="measure the indexes already in --out")
    parser.add_argument("--normalized", action="store_true",
                        help="build with normalised shards too (`inspector build --normalized`); labelled SIZE+norm")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "scale.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    results = saved.get("sizes", {})
    command = "python " + " ".join(sys.argv)
    for target in (int(float(s)) for s in args.sizes.split(",")):
        label, files = size_label(target) + ("+norm" if args.normalized else ""), prefix_files(args.corpus, target)
        out = args.out / f"index-{label}"
        entry = {"label": label, "target_tokens": target, "files": len(files), "command": command}
        if args.skip_build:
            entry["build"] = results.get(label, {}).get("build")
            entry = {k: v for k, v in entry.items() if v is not None}
        else:
            shutil.rmtree(out, ignore_errors=True)
            print(f"{label}: building {len(files)} files -> {out}", flush=True)
            entry["build"] = build_in_child(files, out, args.normalized)
        index = open_index(out)
        entry.update(tokens=index.n_tokens, documents=index.n_documents, shards=len(index.engine.shards))
        index.close()
        entry["disk"] = disk(out, entry["tokens"])
        entry["queries"] = queries(out, 1000, 300, 100_000)
        results[label] = entry
        path.write_text(json.dumps({"machine": machine(), "sizes": results}, indent=1))
        print(f"{label}: done", flush=True)
        if not args.keep:
            shutil.rmtree(out)
    print(f"\nmachine: {machine()}\n")
    print(table(results))
    print("\ncommands: " + "; ".join(sorted({f"`{r['command']}`" for r in results.values()})))


if __name__ == "__main__":
    main()
