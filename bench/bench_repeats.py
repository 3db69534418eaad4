"""What the corpus repeats, timed: the LCP arrays and the top n-grams, on an index made by `inspector build`.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    inspector build bench/data/corpus --out bench/data/index
    python bench/bench_repeats.py bench/data/index --n 13 50 --k 100 --min-len 50

Each step in a fresh process (so each pays its own compile-cache load and page faults): the LCP arrays of every
shard (seconds, tokens/s; their bytes, as kept on disk they would take), then `top_ngrams` for each --n (with the
LCP arrays it computes first, which is what a user pays on a fresh open), `repeated_spans` for each --min-len, and
the process's peak resident memory:
its own arrays (anonymous memory, sampled) and with the index's mapped files (which the kernel can drop).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_anonymous(stop: threading.Event, seen: list[int]) -> None:
    """The process's largest anonymous resident memory (its own arrays, not the index's mapped files, which the
    kernel can drop and read again), sampled every 0.1 s."""
    while not stop.wait(0.1):
        with open("/proc/self/status") as status:
            seen.append(max(seen[-1:] + [int(line.split()[1]) * 1024 for line in status
                                         if line.startswith("RssAnon:")]))


def step(index: str, what: str, n: int, k: int) -> dict:
    """In this process: one measured step, as a dict."""
    from inspector import open_index, repeated_spans, top_ngrams

    stop, seen = threading.Event(), [0]
    threading.Thread(target=peak_anonymous, args=(stop, seen), daemon=True).start()
    ix = open_index(index)
    started = time.perf_counter()
    if what == "lcp":
        for number in range(len(ix.engine.shards)):
            ix.engine.lcp(number)
        out = {"lcp_bytes": sum(a.nbytes for a in ix.engine._lcp.values())}
    elif what == "repeats":
        found = repeated_spans(ix, n, 2, k)
        largest = found.spans[0] if found.spans else None
        out = {"first": largest and [largest.text[:60], largest.count, largest.ids_length],
               "kth_count": found.tokens_in_repeats, "documents": found.documents_with_repeats}
    else:
        top = top_ngrams(ix, n, k)
        out = {"first": [top.ngrams[0].text[:60], top.ngrams[0].count] if top.ngrams else None,
               "kth_count": top.ngrams[-1].count if top.ngrams else 0}
    seconds = time.perf_counter() - started
    stop.set()
    out.update(seconds=seconds, tokens=ix.engine.n_tokens, shards=len(ix.engine.shards),
               peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, peak_anon_gib=max(seen) / 2**30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("--n", type=int, nargs="+", default=[13])
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--min-len", type=int, nargs="*", default=[50], help="repeats: the shortest window")
    parser.add_argument("--step", choices=["lcp", "top", "repeats"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.index, args.step, args.n[0], args.k)))
        return

    def run(what: str, n: int = 0) -> dict:
        done = subprocess.run([sys.executable, __file__, args.index, "--step", what, "--n", str(n), "--k",
                               str(args.k)], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    lcp = run("lcp")
    print(f"index {args.index}: {lcp['tokens']:,} tokens in {lcp['shards']} shard(s)\n")
    print("| step | seconds | tokens/s | peak RSS, GiB (its own arrays; with the index's mapped files) | answer |\n"
          "| --- | --- | --- | --- | --- |")
    print(f"| LCP arrays ({lcp['lcp_bytes'] / 2**20:,.0f} MiB) | {lcp['seconds']:.1f} | "
          f"{lcp['tokens'] / lcp['seconds']:,.0f} | {lcp['peak_anon_gib']:.2f}; {lcp['peak_rss_gib']:.2f} | |")
    for n in args.n:
        top = run("top", n)
        print(f"| top {args.k} {n}-grams, LCP included | {top['seconds']:.1f} | {top['tokens'] / top['seconds']:,.0f} "
              f"| {top['peak_anon_gib']:.2f}; {top['peak_rss_gib']:.2f} | first {top['first']}, k-th count "
              f"{top['kth_count']:,} |")
    for length in args.min_len:
        found = run("repeats", length)
        print(f"| repeats, windows of {length} in 2+ documents, LCP included | {found['seconds']:.1f} | "
              f"{found['tokens'] / found['seconds']:,.0f} | {found['peak_anon_gib']:.2f}; {found['peak_rss_gib']:.2f} "
              f"| {found['kth_count']:,} tokens in repeats, {found['documents']:,} documents; "
              f"largest {found['first']} |")


if __name__ == "__main__":
    main()
