"""`count_many` fanned out to Ray actors against the same call in one process, on one index.

    python bench/bench_ray_queries.py --index bench/data/scale/index-1B --actors 1,2

Starts a local Ray of as many CPUs as the most actors asked for; 100,000 13-grams sampled from the index's documents
(half shuffled), median of 3 runs each, answers checked equal to the local ones.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ngram import median_of_3

from inspector import open_index


def thirteen_grams(index, rng: np.random.Generator, count: int) -> np.ndarray:
    rows = []
    while len(rows) < count:
        tokens = index.document_tokens(int(rng.integers(index.n_documents)))
        if len(tokens) >= 13:
            a = int(rng.integers(len(tokens) - 12))
            row = tokens[a : a + 13].copy()
            if len(rows) % 2:
                rng.shuffle(row)
            rows.append(row)
    return np.array(rows, dtype=np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("bench/data/scale/index-1B"))
    parser.add_argument("--actors", default="1,2")
    parser.add_argument("--queries", type=int, default=100_000)
    args = parser.parse_args()
    import ray

    counts = [int(a) for a in args.actors.split(",")]
    ray.init(num_cpus=max(counts), include_dashboard=False, log_to_driver=False)
    with open_index(args.index) as local:
        grams = thirteen_grams(local, np.random.default_rng(0), args.queries)
        seconds, expected = median_of_3(lambda: local.engine.count_many(grams))
        print(f"{args.index}: {len(local.manifest.shards)} shards, {local.n_tokens:,} tokens; "
              f"`{' '.join(sys.argv)}`\n")
        print("| count_many of 13-grams | seconds | µs per query |\n| --- | --- | --- |")
        print(f"| one process | {seconds:.2f} | {seconds / len(grams) * 1e6:.1f} |")
    for n in counts:
        with open_index(args.index, ray="auto", ray_actors=n) as remote:
            seconds, answer = median_of_3(lambda: remote.engine.count_many(grams))
            assert np.array_equal(answer, expected)
            print(f"| {n} Ray actor(s) | {seconds:.2f} | {seconds / len(grams) * 1e6:.1f} |", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
