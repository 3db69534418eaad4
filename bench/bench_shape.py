"""What an index's shape costs its queries: the same queries against several indexes of one corpus, in one run.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    inspector build bench/data/corpus --out bench/data/index                  # default: parts merged, one shard
    inspector build bench/data/corpus --out bench/data/index-w1 --workers 1
    python bench/bench_shape.py bench/data/index bench/data/index-w1 [bench/data/index-old-main ...]

For each index: its shards, whether its n-gram files are the same bytes as the first index's (manifest CRCs), count
p50 and p99 over 1-, 2-, 3-, 5- and 13-grams sampled at random corpus positions (the same for every index), and
`count_many` over 100,000 13-grams. Counts are checked equal across the indexes.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector import open_index


def sample(index, n: int, k: int, rng) -> np.ndarray:
    """k n-grams at random corpus positions, none across a document end (the first shard's tokens)."""
    shard = index.engine.shards[0]
    out = []
    while sum(map(len, out)) < k:
        starts = rng.integers(0, shard.n_tokens - n, size=2 * k)
        windows = shard.tokens[starts[:, None] + np.arange(n)].astype(np.int64)
        out.append(windows[(windows <= index.tokenizer.max_id).all(axis=1)])
    return np.concatenate(out)[:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("indexes", nargs="+", type=Path)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--many", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    indexes = [open_index(path) for path in args.indexes]
    rng = np.random.default_rng(args.seed)
    queries = {n: sample(indexes[0], n, args.queries, rng) for n in (1, 2, 3, 5, 13)}
    many = sample(indexes[0], 13, args.many, rng)
    crcs = [{k: v.crc32 for k, v in ix.manifest.files.items() if k.startswith("shard-")} for ix in indexes]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{indexes[0].engine.n_tokens:,} tokens\n")
    print("| index | shards | n-gram files as the first's | count p50 / p99 (µs), 1-2-3-5-13-grams | "
          "count_many 13-grams/s |\n| --- | --- | --- | --- | --- |")
    answers = None
    for path, ix, crc in zip(args.indexes, indexes, crcs):
        engine = ix.engine
        engine.count([1])
        cells, counts = [], []
        for qs in queries.values():
            seconds = []
            for q in qs.tolist():
                t0 = time.perf_counter()
                counts.append(engine.count(q))
                seconds.append(time.perf_counter() - t0)
            cells.append(f"{np.percentile(seconds, 50) * 1e6:.0f} / {np.percentile(seconds, 99) * 1e6:.0f}")
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            many_counts = engine.count_many(many)
            best = min(best, time.perf_counter() - t0)
        counts += many_counts.tolist()
        if answers is not None and counts != answers:
            sys.exit(f"{path} answers differently from {args.indexes[0]}")
        answers = counts
        print(f"| `{path}` | {len(engine.shards)} | {'yes' if crc == crcs[0] else 'no'} | {'; '.join(cells)} | "
              f"{len(many) / best:,.0f} |")


if __name__ == "__main__":
    main()
