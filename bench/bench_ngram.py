"""Benchmark the n-gram index: build throughput, bytes/token, opening, count latency, the batch verbs, memory.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    python bench/bench_ngram.py --corpus bench/data/corpus --out bench/data/index

Prints a Markdown table for docs/benchmarks.md. Queries are n-grams (n = 1..13) sampled from the corpus itself, so
most occur; a quarter are shuffled so that they mostly do not. The batch verbs run on the engine (`index.engine`),
as the contamination checks do: count_many over 13-grams, match_lengths_many over benchmark-sized passages.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector import build_index, open_index  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def median_of_3(run):
    """(median seconds of three runs, the last answer)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), answer


def sample_ngrams(index, rng, count: int, n_max: int = 13) -> list[list[int]]:
    grams = []
    while len(grams) < count:
        doc = int(rng.integers(index.n_documents))
        tokens = index.document_tokens(doc)
        n = int(rng.integers(1, n_max + 1))
        if len(tokens) < n:
            continue
        a = int(rng.integers(len(tokens) - n + 1))
        gram = tokens[a : a + n].tolist()
        if rng.random() < 0.25:
            rng.shuffle(gram)
        grams.append(gram)
    return grams


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="bench/data/corpus")
    parser.add_argument("--out", default="bench/data/index")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=300_000)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--passage-tokens", type=int, default=200)
    parser.add_argument("--cap", type=int, default=64, help="match_lengths_many: longest match length sought")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--shard-tokens", type=int, default=None)
    args = parser.parse_args()
    rows = []
    if not args.skip_build:
        report = build_index([args.corpus], args.out, shard_tokens=args.shard_tokens)
        rows += [
            ("tokens", f"{report.tokens:,}"),
            ("documents", f"{report.documents:,}"),
            ("whole build", f"{report.seconds:.1f} s = {report.tokens / report.seconds / 1e6:.2f} M tokens/s"),
            ("tokenize (2 threads)",
             f"{report.tokenize_seconds:.1f} s = {report.tokens / report.tokenize_seconds / 1e6:.2f} M tokens/s"),
            ("suffix-array step: sort, keep token starts, write (summed over shards)",
             f"{report.suffix_array_seconds:.1f} s = "
             f"{report.tokens / report.suffix_array_seconds / 1e6:.2f} M tokens/s"),
        ]
    from inspector.tokenizer import make_tokenizer

    make_tokenizer("gpt2")  # loaded once per process; measured apart from the index
    # a first open imports pyarrow, DuckDB, ...: measured apart from the index
    open_index(args.out, verify=False).close()
    gc.collect()
    before = rss_mib()
    opens = []
    for _ in range(20):
        t0 = time.perf_counter()
        index = open_index(args.out)
        opens.append((time.perf_counter() - t0) * 1e3)
    opened = rss_mib()
    info = index.info()
    rows += [
        ("shards", str(len(info.shards))),
        ("bytes on disk / token, n-gram index (tokens, suffix array, samples, document table)",
         f"{info.ngram_bytes_per_token:.3f}"),
        ("bytes on disk / token, everything (with full-text index and catalog)", f"{info.bytes_per_token:.3f}"),
        ("open_index (sizes and times checked; files in the page cache)",
         f"p50 {statistics.median(opens):.1f} ms, max {max(opens):.1f} ms"),
        ("RSS added by opening (20 opens)",
         f"{opened - before:.1f} MiB (index files: {info.bytes_on_disk / 2**20:.0f} MiB)"),
    ]
    rng = np.random.default_rng(0)
    grams = sample_ngrams(index, rng, args.queries)
    for g in grams[:200]:  # warm the page cache and the code paths
        index.count(ids=g)
    times = []
    for g in grams:
        t0 = time.perf_counter()
        index.count(ids=g)
        times.append(time.perf_counter() - t0)
    times_us = sorted(t * 1e6 for t in times)
    rows.append(
        (
            f"count latency, {len(grams):,} queries n=1..13 (warm)",
            f"p50 {statistics.median(times_us):.1f} µs, p99 {times_us[int(0.99 * len(times_us))]:.1f} µs",
        )
    )
    raw = []
    for g in grams:
        t0 = time.perf_counter()
        index.engine.shards[0].find_range(g)
        raw.append((time.perf_counter() - t0) * 1e6)
    rows.append(("  of which the suffix-array search of shard 0", f"p50 {statistics.median(raw):.1f} µs"))
    engine = index.engine
    shard = engine.shards[0]  # 13-token windows at distinct random positions, none crossing a document end
    starts = rng.choice(shard.n_tokens - 13, size=int(args.batch * 1.3), replace=False)
    windows = shard.tokens[starts[:, None] + np.arange(13)].astype(np.int64)
    batch = windows[(windows <= engine.max_id).all(axis=1)][: args.batch]
    shuffled = batch.copy()  # half shuffled within the row: mostly absent, like benchmark text in a clean corpus
    rng.permuted(shuffled[: len(batch) // 2], axis=1, out=shuffled[: len(batch) // 2])
    engine.count_many(shuffled[:1000])
    seconds, counts = median_of_3(lambda: engine.count_many(shuffled))
    rows.append(
        (
            f"count_many, {len(batch):,} 13-grams ({len(np.unique(batch, axis=0)):,} distinct, "
            f"{np.count_nonzero(counts):,} occur)",
            f"{seconds:.2f} s = {len(batch) / seconds:,.0f} 13-grams/s (median of 3 runs)",
        )
    )
    # benchmark-sized passages: half copied from the corpus (long matches), half with their tokens shuffled
    passages = []
    while len(passages) < args.passages:
        a = int(rng.integers(shard.n_tokens - args.passage_tokens))
        passage = shard.tokens[a : a + args.passage_tokens].astype(np.int64)
        if (passage <= engine.max_id).all():
            passages.append(passage if len(passages) % 2 else rng.permutation(passage))
    total = sum(map(len, passages))
    seconds, lengths = median_of_3(lambda: engine.match_lengths_many(passages, cap=args.cap))
    rows.append(
        (
            f"match_lengths_many, {len(passages):,} passages of {args.passage_tokens} tokens (half copied, half "
            f"shuffled; cap {args.cap}; median match length {int(np.median(np.concatenate(lengths)))})",
            f"{seconds:.2f} s = {total / seconds:,.0f} tokens/s (median of 3 runs)",
        )
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak RSS of this benchmark process", f"{peak:.0f} MiB"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
