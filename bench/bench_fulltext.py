"""Benchmark the Tantivy full-text index: indexing throughput and query latency with 10 snippets.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    python bench/bench_fulltext.py --corpus bench/data/corpus --out bench/data/index-ft
    python bench/bench_fulltext.py --compare-tokenizers --out bench/data/index-ft

Indexing throughput is measured twice: Tantivy alone over texts already in memory, and as the difference between a whole
build with and without the full-text index (the same single pass feeds both). Queries are single words, two-word
phrases, boolean and filtered queries drawn from the corpus with a fixed seed.

--compare-tokenizers measures the two full-text tokenizers (`--fulltext-tokenizer words|cjk`) side by side, on the
corpus and on real Chinese, Japanese and Korean text (`write_cjk_corpus`): build time, full-text index size,
indexing alone, query latency, and how many of the documents holding a CJK string (plain string search) each finds.
"""
from __future__ import annotations

import argparse
import gettext
import os
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


def fulltext_alone(files, tokenizer: str = "words") -> float:
    """Seconds to index every text with the FulltextWriter alone (no tokenizing, no suffix arrays)."""
    import tempfile

    from index.fulltext import FulltextWriter

    texts = [t for f in files for t in pq.read_table(f, columns=["text"]).column(0).to_pylist() if t]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        writer = FulltextWriter(Path(tmp) / "ft", [], stem=False, tokenizer=tokenizer)
        for i in range(0, len(texts), 2048):
            writer.add(range(i, i + 2048), texts[i : i + 2048], {})
        writer.commit()
        return time.perf_counter() - t0


CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")  # kana, CJK ideographs, Hangul syllables


def write_cjk_corpus(out: Path, per_document: int = 40) -> Path:
    """Real Chinese, Japanese and Korean text this machine has without a network: the translated messages of its
    installed programs (/usr/share/locale/{ja,zh_CN,zh_TW,ko}/LC_MESSAGES/*.mo, in sorted order), `per_document`
    messages a document (joined by newlines), one Parquet file per language."""
    import pyarrow as pa

    out.mkdir(parents=True, exist_ok=True)
    for lang in ("ja", "zh_CN", "zh_TW", "ko"):
        messages = []
        for mo in sorted(Path(f"/usr/share/locale/{lang}/LC_MESSAGES").glob("*.mo")):
            with open(mo, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
            messages += [v for k, v in catalog.items() if k and isinstance(v, str) and v.strip()]
        texts = ["\n".join(messages[i : i + per_document]) for i in range(0, len(messages), per_document)]
        pq.write_table(pa.table({"id": [f"{lang}-{i}" for i in range(len(texts))], "text": texts}),
                       out / f"cjk-{lang}.parquet")
    return out


def _timed(index, queries) -> tuple[list[float], list[int]]:
    """Milliseconds per search (10 hits with snippets, after 20 to warm up), and each query's total."""
    for q in queries[:20]:
        index.search(q, limit=10)
    times, totals = [], []
    for q in queries:
        t0 = time.perf_counter()
        totals.append(index.search(q, limit=10).total)
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times), totals


def compare_tokenizers(corpus: str, cjk: str, out: str, n_queries: int, rounds: int = 2) -> None:
    """The words and cjk tokenizers side by side, on `corpus` (English and code) and on CJK text."""
    if not any(Path(cjk).glob("*.parquet")):
        write_cjk_corpus(Path(cjk))
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| corpus | tokenizer | build | full-text index | indexing alone | search p50 / p99 | found |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, folder in (("English/code", corpus), ("CJK", cjk)):
        files = sorted(Path(folder).glob("*.parquet"))
        texts = [t for f in files for t in pq.read_table(f, columns=["text"]).column(0).to_pylist() if t]
        sample = [texts[i] for i in rng.integers(0, len(texts), 300)]
        mb = sum(len(t.encode()) for t in texts) / 1e6
        if name == "CJK":  # strings of 2-4 characters inside CJK runs, and the documents holding each
            runs = [r for t in sample for r in CJK_RUN.findall(t) if len(r) >= 3]
            queries = []
            for run in (runs[i] for i in rng.integers(0, len(runs), n_queries)):
                n = int(rng.integers(2, min(4, len(run) - 1) + 1))
                start = int(rng.integers(0, len(run) - n + 1))
                queries.append(run[start : start + n])
            holding = [{d for d, t in enumerate(texts) if q in t} for q in queries]
        else:
            words = [w for t in sample for w in re.findall(r"[A-Za-z]{4,}", t)[:50]]
            queries = [(a if i % 3 == 0 else f'"{a} {b}"' if i % 3 == 1 else f"{a} AND {b}")
                       for i, (a, b) in enumerate(rng.choice(words, (n_queries, 2)))]
        answers, best = {}, {}
        for _ in range(rounds):  # the two alternately, the best of each figure kept (a shared machine is noisy)
            for tokenizer in ("words", "cjk"):
                report = build_index([folder], f"{out}-{tokenizer}-{name[:3].lower()}", fulltext_tokenizer=tokenizer)
                with open_index(report.path) as index:
                    size = sum(p.stat().st_size for p in (index.build / "fulltext").rglob("*") if p.is_file())
                    times, answers[tokenizer] = _timed(index, queries)
                    if name == "CJK":  # every matching document (not the 10 hits shown), against string search
                        hits = [set(index.fulltext.matching_docs(index.fulltext.parse(q, [])[0], len(texts)).tolist())
                                for q in queries]
                        found = sum(len(h & want) for h, want in zip(hits, holding)) / sum(map(len, holding))
                        extra = sum(len(h - want) for h, want in zip(hits, holding)) / max(1, sum(map(len, hits)))
                        said = (f"{found:.1%} of the documents holding the string ({len(queries)} strings); "
                                f"{extra:.1%} of hits hold it only apart (a space or punctuation between)")
                    else:
                        said = f"median {int(statistics.median(answers[tokenizer])):,} hits"
                    docs = index.n_documents
                figures = (report.seconds, fulltext_alone(files, tokenizer), statistics.median(times),
                           times[int(0.99 * len(times))])
                kept = best.get(tokenizer, (figures, size, said, docs))[0]
                best[tokenizer] = (tuple(map(min, figures, kept)), size, said, docs)
        for tokenizer, ((build, alone, p50, p99), size, said, docs) in best.items():
            print(f"| {name} ({mb:,.1f} MB, {docs:,} docs) | {tokenizer} | {build:.1f} s | "
                  f"{size / 2**20:,.1f} MiB ({size / (mb * 1e6):.3f} B/B of text) | {mb / alone:,.1f} MB/s | "
                  f"{p50:.1f} / {p99:.1f} ms | {said} |")
        same = sum(a == b for a, b in zip(answers["words"], answers["cjk"]))
        print(f"| {name} | queries with the same total under both | {same} of {len(queries)} | | | | |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="bench/data/corpus")
    parser.add_argument("--out", default="bench/data/index-ft")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--fulltext-tokenizer", default="words", choices=["words", "cjk"])
    parser.add_argument("--compare-tokenizers", action="store_true")
    parser.add_argument("--cjk-corpus", default="bench/data/corpus-cjk")
    parser.add_argument("--rounds", type=int, default=2, help="--compare-tokenizers: runs of each, the best kept")
    args = parser.parse_args()
    if args.compare_tokenizers:
        compare_tokenizers(args.corpus, args.cjk_corpus, args.out, args.queries, args.rounds)
        return
    files = sorted(Path(args.corpus).glob("*.parquet"))
    text_mb = sum(pc.sum(pc.binary_length(pq.read_table(f, columns=["text"]).column(0))).as_py() for f in files) / 1e6
    plain = build_index([args.corpus], args.out + "-plain", fulltext=False)
    full = build_index([args.corpus], args.out, fulltext_tokenizer=args.fulltext_tokenizer)
    extra = full.seconds - plain.seconds
    alone = fulltext_alone(files, args.fulltext_tokenizer)
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
    print(
        "| build with full-text (one pass feeds both; Tantivy's threads overlap the tokenizer) | "
        f"{full.seconds:.1f} s ({extra:+.1f} s) |"
    )
    print(
        "| full-text indexing alone (Tantivy, 2 threads, text already in memory) | "
        f"{text_mb / alone:,.1f} MB/s ({alone:.1f} s) |"
    )
    print(f"| full-text work on the build's main thread | {full.fulltext_seconds:.1f} s |")
    print(
        f"| search with 10 snippets, {len(queries)} queries (words, phrases, AND, filtered) | "
        f"p50 {statistics.median(times):.1f} ms, p99 {times[int(0.99 * len(times))]:.1f} ms |"
    )
    print(f"| hits per query | median {int(statistics.median(totals)):,} |")


if __name__ == "__main__":
    main()
