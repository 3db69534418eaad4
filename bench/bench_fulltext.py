"""Benchmark the Tantivy full-text index: indexing throughput and query latency with 10 snippets.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    python bench/bench_fulltext.py --corpus bench/data/corpus --out bench/data/index-ft

Indexing throughput is measured twice: Tantivy alone over texts already in memory, and as the difference between a
whole build with and without the full-text index (the same single pass feeds both). Queries are single words, two-word phrases,
boolean and filtered queries drawn from the corpus with a fixed seed.
"""
from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector import build_index, open_index  # noqa: E402


def fulltext_alone(files) -> float:
    """Seconds to index every text with the FulltextWriter alone (no tokenizing, no suffix arrays)."""
    import tempfile

    from index.fulltext import FulltextWriter

    texts = [t for f in files for t in pq.read_table(f, columns=["text"]).column(0).to_pylist() if t]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        writer = FulltextWriter(Path(tmp) / "ft", [], stem=False)
        for i in range(0, len(texts), 2048):
            writer.add(range(i, i + 2048), texts[i : i + 2048], {})
        writer.commit()
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="bench/data/corpus")
    parser.add_argument("--out", default="bench/data/index-ft")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    files = sorted(Path(args.corpus).glob("*.parquet"))
    text_mb = sum(pc.sum(pc.binary_length(pq.read_table(f, columns=["text"]).column(0))).as_py() for f in files) / 1e6
    plain = build_index([args.corpus], args.out + "-plain", fulltext=False)
    full = build_index([args.corpus], args.out)
    extra = full.seconds - plain.seconds
    alone = fulltext_alone(files)
    index = open_index(args.out)
    rng = np.random.default_rng(0)
    vocabulary = []
    for doc in rng.integers(0, index.n_documents, 200):
        vocabulary += re.findall(r"[A-Za-z]{4,}", index.document(int(doc)).text)[:50]
    queries = []
    for i in range(args.queries):
        a, b = rng.choice(vocabulary, 2)
        kind = i % 4
        queries.append(
            (a, None) if kind == 0 else (f'"{a} {b}"', None) if kind == 1 else (f"{a} AND {b}", None)
            if kind == 2 else (a, "n_chars >= 2000")
        )
    for q, where in queries[:20]:
        index.search(q, where=where, limit=10)
    times, totals = [], []
    for q, where in queries:
        t0 = time.perf_counter()
        result = index.search(q, where=where, limit=10)
        times.append((time.perf_counter() - t0) * 1e3)
        totals.append(result.total)
    times.sort()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print("| measure | value |\n| --- | --- |")
    print(f"| text | {text_mb:,.1f} MB in {full.documents:,} documents |")
    print(f"| build without full-text | {plain.seconds:.1f} s |")
    print(f"| build with full-text (one pass feeds both; Tantivy's threads overlap the tokenizer) | {full.seconds:.1f} s ({extra:+.1f} s) |")
    print(f"| full-text indexing alone (Tantivy, 2 threads, text already in memory) | {text_mb / alone:,.1f} MB/s ({alone:.1f} s) |")
    print(f"| full-text work on the build's main thread | {full.fulltext_seconds:.1f} s |")
    print(
        f"| search with 10 snippets, {len(queries)} queries (words, phrases, AND, filtered) | "
        f"p50 {statistics.median(times):.1f} ms, p99 {times[int(0.99 * len(times))]:.1f} ms |"
    )
    print(f"| hits per query | median {int(statistics.median(totals)):,} |")


if __name__ == "__main__":
    main()
