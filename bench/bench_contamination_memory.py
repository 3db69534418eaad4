"""Peak memory and time of `inspector contam` on the benchmark files that used to exhaust a server (issue 19): many
short items that each occur hundreds of thousands of times in the corpus, a file past the check's budget, and the
MMLU-sized item set of bench_contamination.py as the ordinary case.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    inspector build bench/data/corpus --out bench/data/index
    python bench/bench_contamination.py --skip-infini-gram      # writes bench/data/contamination/items.jsonl
    python bench/bench_contamination_memory.py --index bench/data/index
    python bench/bench_contamination_memory.py --index bench/data/index --code /tmp/old-checkout --cases x10k,items

Each case runs `python -m inspector contam` in its own process (the code under `--code`, the working tree by default,
first on PYTHONPATH), optionally under an address-space limit; the peak resident memory is the child's ru_maxrss.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

COMMON = ("the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "be", "on", "not", "this", "by")


def write_cases(work: Path, items: Path) -> dict[str, tuple[Path, list[str]]]:
    """name -> (benchmark file, extra contam arguments)."""
    work.mkdir(parents=True, exist_ok=True)
    cases = {}
    for name, lines in (("x10k", 10_000), ("x40k", 40_000)):
        path = work / f"{name}.jsonl.gz"
        path.write_bytes(gzip.compress(b'{"question": "x"}\n' * lines))
        cases[name] = (path, ["--fields", "question"])
    words = work / "words100k.jsonl.gz"
    words.write_bytes(gzip.compress("".join(json.dumps({"question": COMMON[i % len(COMMON)]}) + "\n"
                                            for i in range(100_000)).encode()))
    cases["words100k"] = (words, ["--fields", "question"])
    huge = work / "x20M.jsonl.gz"
    with gzip.open(huge, "wb") as f:
        for _ in range(200):
            f.write(b'{"question": "x"}\n' * 100_000)
    cases["x20M"] = (huge, ["--fields", "question"])
    if items.exists():
        cases["items"] = (items, ["--fields", "text"])
    return cases


def run(code: Path, index: str, bench: Path, extra: list[str], out: Path, limit_gb: float | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "inspector", "contam", index, str(bench), *extra, "--out", str(out)]

    def limited():
        if limit_gb:
            size = int(limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=limited)  # noqa: PLW1509 - this script starts no threads
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    said = proc.stderr.read().decode(errors="replace").strip().splitlines()
    return {"rc": os.waitstatus_to_exitcode(status), "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
            "said": said[-1][:160] if said else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default="bench/data/index")
    parser.add_argument("--work", type=Path, default=Path("bench/data/contamination-memory"))
    parser.add_argument("--items", type=Path, default=Path("bench/data/contamination/items.jsonl"))
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1],
                        help="checkout whose inspector runs (default: this one)")
    parser.add_argument("--cases", default="x10k,x40k,words100k,x20M,items")
    parser.add_argument("--limit-gb", type=float, default=None, help="address-space limit of each run")
    args = parser.parse_args()
    cases = write_cases(args.work, args.items)
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, code {args.code}, "
          f"limit {args.limit_gb or 'none'} GB")
    print("| case | file | exit | wall s | peak RSS MB | last line |\n|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        bench, extra = cases[name]
        r = run(args.code.resolve(), str(Path(args.index).resolve()), bench.resolve(), extra,
                args.work.resolve() / f"{name}.json", args.limit_gb)
        print(f"| {name} | {bench.stat().st_size:,} B | {r['rc']} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} | "
              f"{r['said'].replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
