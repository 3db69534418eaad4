"""Time marking search terms in long documents (the Document page's "Mark search terms"): it must grow linearly.

    python bench/bench_highlight.py [--index DIR]      # default: the demo's index (inspector.DEFAULT_DEMO)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector import DEFAULT_DEMO, open_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(DEFAULT_DEMO / "index"))
    parser.add_argument("--term", default="license", help="a word the index knows (unknown words mark nothing)")
    args = parser.parse_args()
    index = open_index(args.index)
    print("| document | marks | seconds |\n| --- | --- | --- |")
    for mb in (1, 4, 8):
        text = f"{args.term} crossing 東京 " * (mb * 1_000_000 // (len(args.term) + 15))
        t0 = time.perf_counter()
        marks = index.search_highlights(text, args.term)
        seconds = time.perf_counter() - t0
        if any(text[a:b] != args.term for a, b in marks):
            sys.exit("a mark does not cover the term")
        print(f"| {len(text.encode()) / 1e6:.1f} MB | {len(marks):,} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
