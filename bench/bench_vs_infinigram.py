"""Our n-gram engine and infini-gram's side by side: same corpus, same GPT-2 ids, same queries, one run.

    pip install infini-gram
    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    inspector build bench/data/corpus --out bench/data/index
    python bench/bench_vs_infinigram.py --index bench/data/index

infini-gram's index is written from our shard's token ids (its v4 `tokenized`/`offset` files, then its own
`rust_indexing` sort; `bench_contamination.build_infini_gram`), so both hold the same documents. Definitions: we end
every document with a separator, infini-gram starts each with one (0xFFFF); no query here holds a separator, so counts
agree one for one (checked: the run stops at the first disagreement). Its `ntd` lists a document's end as the eos token
(here GPT-2's 50256), where ours counts them apart (`document_ends`): added back before comparing. Its `ntd` samples
when a prompt occurs more than `max_support` times; it is compared only on prompts below that, and both are timed on
those. Its ∞-gram is one `infgram_prob` call per token; ours one call per text. Suffix-array ranks differ (it compares
suffixes as little-endian bytes, we as ids), so the documents behind the first 10 occurrences of a query are compared as
sets where a query has fewer than 10. Build: ours is the n-gram part only (`--no-fulltext --no-signals`), a fresh build
from Parquet in a subprocess; theirs starts from our ids.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_contamination import build_infini_gram  # noqa: E402

from inspector import open_index  # noqa: E402


def sample_ngrams(tokens: np.ndarray, max_id: int, n: int, k: int, rng) -> list[list[int]]:
    """k n-grams at random corpus positions (so frequent n-grams come up often), none across a document end."""
    out = []
    while len(out) < k:
        starts = rng.integers(0, len(tokens) - n, size=2 * k)
        windows = tokens[starts[:, None] + np.arange(n)]
        out += [w.tolist() for w in windows[(windows <= max_id).all(axis=1)]]
    return out[:k]


def timed(call, queries) -> tuple[list, list[float]]:
    answers, seconds = [], []
    for q in queries:
        t0 = time.perf_counter()
        answers.append(call(q))
        seconds.append(time.perf_counter() - t0)
    return answers, seconds


def pct(seconds: list[float], p: float) -> float:
    return float(np.percentile(seconds, p)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("bench/data/corpus"))
    parser.add_argument("--index", type=Path, default=Path("bench/data/index"))
    parser.add_argument("--work", type=Path, default=Path("bench/data/infini-gram"))
    parser.add_argument("--queries", type=int, default=1000, help="per kind of count query")
    parser.add_argument("--many", type=int, default=100_000, help="13-grams for count_many against a count loop")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from infini_gram.engine import InfiniGramEngine

    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:  # our build time: the n-gram part, in its own process
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "inspector", "build", str(args.corpus), "--out", f"{tmp}/idx",
                        "--no-fulltext", "--no-signals"], check=True, capture_output=True)
        ours_build = time.perf_counter() - t0
    index = open_index(args.index)
    engine, max_id = index.engine, index.tokenizer.max_id
    assert len(engine.shards) == 1, "one shard: infini-gram's index is written from it"
    shard = engine.shards[0]
    tokens = np.asarray(shard.tokens[: shard.n_tokens])
    built = build_infini_gram(shard, args.work.resolve())
    ig = InfiniGramEngine(index_dir=str(args.work.resolve()), eos_token_id=max_id, vocab_size=max_id + 1, version=4,
                          token_dtype="u16")
    ig_bytes = sum(f.stat().st_size for f in args.work.iterdir() if f.name.split(".")[0] in ("tokenized", "table",
                                                                                            "offset"))
    n_tokens = engine.n_tokens
    theirs_build = built["write"] + built["sort"]
    rows.append(("build, n-gram index (s)", ours_build, theirs_build,
                 f"ours: `inspector build --no-fulltext --no-signals` from Parquet (tokenizing included); theirs: "
                 f"from our ids ({built['write']:.1f} s writing, {built['sort']:.1f} s sorting)"))
    rows.append(("bytes per token", index.info().ngram_bytes_per_token, ig_bytes / n_tokens, ""))

    ig.count(input_ids=[1])  # both map their files before timing
    engine.count([1])
    for n in (1, 2, 3, 5, 13):
        queries = sample_ngrams(tokens, max_id, n, args.queries, rng)
        ours, t_ours = timed(engine.count, queries)
        theirs, t_theirs = timed(lambda q: ig.count(input_ids=q)["count"], queries)
        bad = [(q, a, b) for q, a, b in zip(queries, ours, theirs) if a != b]
        if bad:
            sys.exit(f"count disagrees on {len(bad)} {n}-grams, e.g. {bad[0]}")
        for p in (50, 99):
            rows.append((f"count {n}-gram p{p} (µs), {len(queries):,} sampled, median count "
                         f"{int(np.median(ours)):,}", pct(t_ours, p), pct(t_theirs, p), "equal counts"))

    prompts = [q for q in sample_ngrams(tokens, max_id, 2, 5 * args.queries, rng) if engine.count(q) <= 1000]
    prompts = prompts[: args.queries]
    ours, t_ours = timed(engine.ntd, prompts)
    theirs, t_theirs = timed(lambda q: ig.ntd(prompt_ids=q, max_support=1000), prompts)
    for q, a, b in zip(prompts, ours, theirs):
        mine = {int(t): int(c) for t, c in zip(a.ids, a.counts)}
        if a.document_ends:  # infini-gram lists a document's end as its eos token; we count it apart
            mine[max_id] = mine.get(max_id, 0) + a.document_ends
        other = {int(t): int(r["cont_cnt"]) for t, r in b["result_by_token_id"].items()}
        if mine != other:
            sys.exit(f"ntd disagrees after {q}: {sorted(mine.items())[:5]} vs {sorted(other.items())[:5]}")
    rows.append((f"ntd after a 2-gram p50 (µs), {len(prompts):,} prompts occurring ≤ 1,000 times", pct(t_ours, 50),
                 pct(t_theirs, 50), "equal distributions"))

    # ∞-gram over a text: ours in one call per text, theirs one infgram_prob per token (as its API asks)
    texts = sample_ngrams(tokens, max_id, 40, 50, rng)
    texts = [t[:20] + t[::-1][:20] for t in texts]  # half from the corpus, then its reverse: long and short matches
    ours, t_ours = timed(lambda t: index.infgram(ids=t).tokens, texts)
    theirs, t_theirs = timed(lambda t: [ig.infgram_prob(prompt_ids=t[:i], cont_id=t[i]) for i in range(1, len(t))],
                             texts)
    for text, a, b in zip(texts, ours, theirs):
        mine = [(x.prompt_count, x.count, x.suffix_length) for x in a[1:]]
        other = [(r["prompt_cnt"], r["cont_cnt"], r["suffix_len"]) for r in b]
        if mine != other:
            first = next(i for i, (m, o) in enumerate(zip(mine, other)) if m != o)
            sys.exit(f"∞-gram disagrees at token {first + 1} of {text}: {mine[first]} vs {other[first]}")
    rows.append((f"∞-gram probability of every token of a 40-token text p50 (µs), {len(texts)} texts",
                 pct(t_ours, 50), pct(t_theirs, 50), "equal counts and suffix lengths"))

    # find a 3-gram and fetch the documents of its first 10 occurrences (up to 1,000 tokens of each)
    queries = sample_ngrams(tokens, max_id, 3, args.queries, rng)

    def ours_fetch(q):
        ranges = engine.find(q)
        lo, hi = ranges.by_shard[0]
        docs = [engine.doc_at(0, r).doc for r in range(lo, min(hi, lo + 10))]
        return docs, [engine.document_tokens(d)[:1000] for d in docs]

    def theirs_fetch(q):
        found = ig.find(input_ids=q)
        lo, hi = found["segment_by_shard"][0]
        return [ig.get_doc_by_rank(s=0, rank=r, max_disp_len=1000) for r in range(lo, min(hi, lo + 10))]

    ours, t_ours = timed(ours_fetch, queries)
    theirs, t_theirs = timed(theirs_fetch, queries)
    checked = 0
    for q, (docs, _), b in zip(queries, ours, theirs):  # suffix order differs (infini-gram compares little-endian
        if len(docs) < 10:  # bytes, we compare ids), so the first 10 can differ: compare where they are all
            checked += 1
            if sorted(docs) != sorted(r["doc_ix"] for r in b):
                sys.exit(f"find disagrees on {q}: documents {sorted(docs)} vs {sorted(r['doc_ix'] for r in b)}")
    rows.append((f"find a 3-gram + fetch its first 10 documents p50 (µs), {len(queries):,} queries", pct(t_ours, 50),
                 pct(t_theirs, 50), f"the same documents where a query has < 10 ({checked:,} queries)"))

    many = np.array(sample_ngrams(tokens, max_id, 13, args.many, rng), dtype=np.int64)
    t0 = time.perf_counter()
    index.warm()  # the compiled search, loaded once per process (the app does it when it opens an index)
    rows.append(("load the compiled batch search, once per process (s)", time.perf_counter() - t0, float("nan"),
                 "numba imported, kernels read from its disk cache"))
    t0 = time.perf_counter()
    ours_many = engine.count_many(many)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs_many = [ig.count(input_ids=q)["count"] for q in many.tolist()]
    t_theirs = time.perf_counter() - t0
    if ours_many.tolist() != theirs_many:
        sys.exit("count_many disagrees with infini-gram's counts")
    rows.append((f"{len(many):,} 13-grams: our count_many vs their count in a loop (s)", t_ours, t_theirs,
                 "equal counts"))

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{n_tokens:,} tokens, {index.n_documents:,} documents\n")
    print("| measure | ours | infini-gram | ours / theirs | |\n| --- | --- | --- | --- | --- |")
    for name, a, b, note in rows:
        print(f"| {name} | {a:,.2f} | {b:,.2f} | {a / b:.2f} | {note} |")


if __name__ == "__main__":
    main()
