"""Benchmark templates (issue 20): items of one benchmark file that share text, and what one item on the web does to
the others' verdicts, with the shared text counted and apart.

    python bench/bench_templates.py [--work /tmp/bench-templates] [--seed 0]

An MMLU-like file, seeded: groups of items that open with one sentence (as MMLU's moral scenarios do), groups that
share one passage (as its history questions do), each 3-8 items, and items sharing nothing; every item's own text is
a distinct held-out prose paragraph of bench/data/contamination/items.jsonl. The corpus is Python's reference
documentation plus pages that each copy one item verbatim: one item of some groups, and some items sharing nothing.
Reported: planted items found dirty, and the share of unplanted items flagged (partial or dirty) among those sharing
a template with a planted item and among those sharing none, with templates counted (`--count-templates`) and apart
(the default), for "several" = 2 items (the default, TEMPLATE_ITEMS) and 3.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector import build_index, contamination, open_index
from inspector.benchmarks import open_benchmark
from inspector.contamination import ContaminationParams, check_contamination

ITEMS = Path(__file__).resolve().parent / "data" / "contamination" / "items.jsonl"


def make(work: Path, seed: int) -> tuple[list[dict], Path]:
    """The benchmark file's items ({text, group, planted}) and the corpus folder."""
    from pydoc_data.topics import topics

    from tests.conftest import write_parquet

    rng = random.Random(seed)
    held = [json.loads(line)["text"] for line in ITEMS.open() if '"held-out"' in line]
    prose = list(dict.fromkeys(t for t in held if 30 <= len(t.split()) <= 150))
    rng.shuffle(prose)
    short = [t for t in prose if len(t.split()) <= 40]
    rest = [t for t in prose if len(t.split()) > 40]
    items: list[dict] = []
    for group in range(30):
        size = rng.randint(3, 8)
        if group % 2 == 0:  # an opening sentence: the first 30 words of a paragraph
            opening = " ".join(rest.pop().split()[:30])
            texts = [f"{opening}\nScenario 1 | {short.pop()}\nScenario 2 | {short.pop()}" for _ in range(size)]
        else:  # a passage, then a question
            passage = rest.pop()
            texts = [f"{passage}\n\n{short.pop()}" for _ in range(size)]
        planted = rng.sample(range(size), 1) if group < 14 else []
        items += [{"text": t, "group": group, "planted": i in planted} for i, t in enumerate(texts)]
    items += [{"text": rest.pop(), "group": None, "planted": i < 10} for i in range(300)]
    corpus = work / "corpus"
    rows = [{"id": name, "text": text} for name, text in sorted(topics.items())]
    rows += [{"id": f"page-{i}", "text": f"Practice question {i}:\n{item['text']}\nAnswer: (C)"}
             for i, item in enumerate(items) if item["planted"]]
    write_parquet(corpus / "a.parquet", rows)
    return items, corpus


def flagged_shares(items: list[dict], report) -> dict:
    planted_groups = {item["group"] for item in items if item["planted"] and item["group"] is not None}
    flagged = [r.verdict in ("partial", "dirty") for r in report.items]
    kinds = {"planted found dirty": [], "unplanted, sharing a template with a planted item": [],
             "unplanted, sharing none": []}
    for item, result, hit in zip(items, report.items, flagged):
        if item["planted"]:
            kinds["planted found dirty"].append(result.verdict == "dirty")
        elif item["group"] in planted_groups:
            kinds["unplanted, sharing a template with a planted item"].append(hit)
        else:
            kinds["unplanted, sharing none"].append(hit)
    return {kind: (sum(v), len(v)) for kind, v in kinds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-templates"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    items, corpus = make(args.work, args.seed)
    bench_path = args.work / "mmlu-like.jsonl"
    bench_path.write_text("".join(json.dumps({"id": f"q{i}", "text": it["text"]}) + "\n" for i, it in enumerate(items)))
    build_index([corpus], args.work / "idx", normalized=True)
    print(f"{len(items)} items ({sum(it['group'] is not None for it in items)} in 30 template groups), "
          f"{sum(it['planted'] for it in items)} planted; both ways (exact and normalised)")
    with open_index(args.work / "idx") as index:
        for several in (2, 3):
            contamination.TEMPLATE_ITEMS = several
            for count in (True, False):
                started = time.perf_counter()
                report = check_contamination(index, [open_benchmark(f"mmlu={bench_path}", fields=["text"])],
                                             ContaminationParams(count_templates=count))
                seconds = time.perf_counter() - started
                label = "counted" if count else "apart  "
                shares = "; ".join(f"{kind} {a}/{b} ({a / b:.0%})" for kind, (a, b) in flagged_shares(items,
                                                                                                      report).items())
                print(f"several = {several}, templates {label}: {shares}; templated items "
                      f"{report.benchmarks[0].templated}; {len(report.documents)} documents listed; {seconds:.2f} s")


if __name__ == "__main__":
    main()
