"""How the build scales with cores: the same corpus built with the process pinned to 1, then 2, ... cores (`taskset`),
so `os.process_cpu_count()` and with it the number of workers follow; with `--ray`, also the build's parts as Ray
tasks on a local Ray of 1, then 2, ... CPUs.

    python bench/bench_cores.py --corpus bench/data/corpus --cores 1,2 [--ray]

Each build is `inspector build CORPUS --out TMP --json [--no-fulltext --no-signals]` under `/usr/bin/time` (wall,
CPU share, peak RSS of the largest process); prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def build(corpus: Path, cpus: str, extra: list[str]) -> dict:
    out = Path(tempfile.mkdtemp(prefix="cores-")) / "index"
    command = ["/usr/bin/time", "-f", "TIME %e %P %M", "taskset", "-c", cpus, "inspector", "build", str(corpus),
               "--out", str(out), "--json", *extra]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    shutil.rmtree(out.parent)
    wall, cpu, rss = proc.stderr.strip().splitlines()[-1].split()[1:]
    report = json.loads(proc.stdout)
    return {"wall": float(wall), "cpu": cpu, "rss_gib": int(rss) / 2**20, "workers": report["workers"],
            "parts": report["parts"], "tokens": report["tokens"]}


def ray_build(corpus: Path, cpus: int) -> dict:
    """The build's parts as tasks on a local Ray of `cpus` CPUs (started here, in a child process)."""
    script = (
        "import json, sys, time, ray\n"
        "from inspector import build_index\n"
        "if __name__ == '__main__':\n"
        f"    ray.init(num_cpus={cpus}, include_dashboard=False, log_to_driver=False)\n"
        "    t = time.perf_counter()\n"
        f"    r = build_index([{str(corpus)!r}], sys.argv[1], ray='auto')\n"
        "    print(json.dumps({'wall': time.perf_counter() - t, 'parts': r.parts, 'tokens': r.tokens}))\n"
    )
    out = Path(tempfile.mkdtemp(prefix="ray-")) / "index"
    proc = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, check=True)
    shutil.rmtree(out.parent)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("bench/data/corpus"), help="a folder, file or glob")
    parser.add_argument("--cores", default="1,2", help="core counts to pin the build to")
    parser.add_argument("--ray", action="store_true", help="also build on a local Ray of that many CPUs")
    args = parser.parse_args()
    counts = [int(c) for c in args.cores.split(",")]
    print(f"corpus {args.corpus}; `{' '.join(sys.argv)}`\n")
    print("| build | cores | wall | CPU | peak RSS (largest process) | parts on workers | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, extra in (("n-gram only", ["--no-fulltext", "--no-signals"]), ("full", [])):
        first = None
        for n in counts:
            r = build(args.corpus, ",".join(map(str, range(n))), extra)
            first = first or r["wall"]
            print(f"| {name} | {n} | {r['wall']:.1f} s | {r['cpu']} | {r['rss_gib']:.2f} GiB | "
                  f"{r['parts']} on {r['workers']} | {first / r['wall']:.2f}x |", flush=True)
    if args.ray:
        first = None
        for n in counts:
            r = ray_build(args.corpus, n)
            first = first or r["wall"]
            print(f"| full, Ray tasks | {n} Ray CPU(s) | {r['wall']:.1f} s | | | {r['parts']} | "
                  f"{first / r['wall']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
