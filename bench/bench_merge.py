"""The merge of sorted runs into one shard, timed apart from the build, and checked against the index's own sort.

    inspector build bench/data/corpus --out bench/data/index-w1 --workers 1
    python bench/bench_merge.py --index bench/data/index-w1 --runs 4

The index's one shard is cut into `--runs` runs of equal documents; each is sorted (`build_suffix_array`, timed),
then the runs are merged into a shard (`shard_merge.write_merged`) with 1 and 2 threads. The merged suffix array must
be the index's byte for byte.
"""
from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from index.shard_merge import Run, write_merged
from index.suffix_array import ShardWriter, build_suffix_array
from inspector import open_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("bench/data/index-w1"))
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    with open_index(args.index) as index:
        assert len(index.engine.shards) == 1, "a one-shard index"
        shard, width = index.engine.shards[0], index.engine.shards[0].width
        starts = np.asarray(shard.doc_starts)
        work = Path(tempfile.mkdtemp(prefix="bench-merge-"))
        try:
            cuts = [len(starts) // args.runs * i for i in range(args.runs)] + [len(starts) - 1]
            runs, sort_seconds = [], []
            for i, (a, b) in enumerate(itertools.pairwise(cuts)):
                writer = ShardWriter(work / f"run-{i}", width)
                writer.add([shard.document_tokens(d) for d in range(a, b)])
                writer.close()
                sort_seconds.append(build_suffix_array(writer.folder, width, writer.n_tokens, b - a).total_seconds)
                runs.append(Run(writer.folder, b - a, writer.n_tokens))
            sorts = ", ".join(f"{s:.2f}" for s in sort_seconds)
            print(f"{shard.searchable:,} suffixes in {args.runs} runs; sorts {sorts} s")
            for threads in (1, 2):
                folder = work / f"merged-{threads}"
                t0 = time.perf_counter()
                write_merged(folder, [(r, np.load(r.folder / "doc_starts.npy"), 0, r.documents) for r in runs],
                             width, threads)
                seconds = time.perf_counter() - t0
                same = np.array_equal(np.fromfile(folder / "sa.bin", dtype="<u4"), shard.sa)
                print(f"merge on {threads} thread(s): {seconds:.2f} s; the index's suffix array byte for byte: {same}")
                if not same:
                    sys.exit("the merge differs from the one sort")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
