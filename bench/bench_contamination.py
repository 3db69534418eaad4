"""Benchmark the contamination check (issue 9) on an MMLU-sized item set, against a 13-gram hash set (lm-eval's
janitor) and the `infini-gram` engine queried per 13-gram.

    python bench/corpus.py --tokens 25000000 --out bench/data/corpus
    inspector build bench/data/corpus --out bench/data/index
    pip install infini-gram          # for the infini-gram side (skip it with --skip-infini-gram)
    python bench/bench_contamination.py --corpus bench/data/corpus --index bench/data/index

The items (written to `--work`/items.jsonl, seeded): paragraphs of prose (30-150 GPT-2 tokens) from the files that
bench/corpus.py would read next but did not take into the corpus (Markdown, text and reStructuredText, and the
docstrings of Python files, after the token target was reached, in the same sorted path order: held out), plus planted
copies of paragraphs of corpus documents — a share copied verbatim, a share half copied (the first half of a corpus
paragraph, then the second half of a held-out one). Their planted verdicts are checked: verbatim must be dirty, half
partial or dirty, held-out clean (a held-out paragraph that the corpus holds anyway — licence boilerplate, a README
shipped twice — is listed apart, with the janitor's independent word on it).

The janitor side works on the same token 13-grams as the check (13 tokens that are not only whitespace, with the
whitespace tokens between them: the definition of `n` in inspector/contamination/measures.py), not on lm-eval's
normalised words, so its per-item answers can be compared with `ngrams_found` one for one. infini-gram indexes the
corpus's token ids as they are in our index (no tokenizer download: its tokenized.0/offset.0 files are written from
our shard, then its own `rust_indexing` sorts the suffix array).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import inspect
import io
import json
import os
import platform
import pstats
import re
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ngram import rss_mib  # noqa: E402
from corpus import candidate_files  # noqa: E402

import inspector.contamination as contamination  # noqa: E402
import inspector.contamination.check as check  # noqa: E402
from inspector import open_index  # noqa: E402
from inspector.benchmarks import open_benchmark  # noqa: E402

N = 13
PROSE_SUFFIXES = {".md", ".txt", ".rst"}
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_NOT_PROSE = re.compile(r'^\s*(\.\.|[|>#*+=$:@-]|(def|class|if|for|return|import|from|raise|with)\b)|"""|\'\'\'|:$',
                        re.M)
_DOCSTRING = re.compile(r'(?:"""|\'\'\')(.*?)(?:"""|\'\'\')', re.S)




def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the items ----------------------------------------------------------------------------------------------------


def prose_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs that read as prose: mostly letters and spaces, at least 15 words, no markup
    lines (tables, code, directives)."""
    out = []
    for para in _PARAGRAPH.split(text):
        para = para.strip()
        if len(para) < 120 or len(para) > 1500:
            continue
        words = para.split()
        if len(words) < 15:
            continue
        visible = "".join(words)
        if sum(c.isalpha() for c in visible) / len(visible) < 0.85:  # letters among the non-space characters
            continue
        if _NOT_PROSE.search(para):  # markup, lists, tables, code
            continue
        out.append(para)
    return out


def make_items(corpus: Path, tokenizer, count: int, verbatim: float, half: float, seed: int):
    rng = np.random.default_rng(seed)
    files = sorted(corpus.glob("*.parquet"))
    texts, ids = [], []
    for f in files:
        table = pq.read_table(f, columns=["id", "text"])
        ids += table.column("id").to_pylist()
        texts += table.column("text").to_pylist()
    taken = set(ids)
    # held out: the files bench/corpus.py would read after its target was reached (same sorted order), prose only
    held = []
    for path in candidate_files():
        if str(path) in taken or path.suffix not in PROSE_SUFFIXES | {".py"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".py":  # the prose of Python source: its docstrings
            held += [(str(path), p) for d in _DOCSTRING.findall(text) for p in prose_paragraphs(inspect.cleandoc(d))]
        else:
            held += [(str(path), p) for p in prose_paragraphs(text)]
    in_corpus = [(ids[i], p) for i, t in enumerate(texts) for p in prose_paragraphs(t)]

    def sized(pairs):
        seen, out = set(), []
        lengths = [len(s) for s in tokenizer.encode_batch([p for _, p in pairs])]
        for (src, p), n in zip(pairs, lengths):
            if 30 <= n <= 150 and p not in seen:
                seen.add(p)
                out.append((src, p, n))
        return out

    held, in_corpus = sized(held), sized(in_corpus)
    corpus_set = {p for _, p, _ in in_corpus}
    held = [h for h in held if h[1] not in corpus_set]  # a paragraph the corpus holds word for word is not held out
    n_verbatim, n_half = int(count * verbatim), int(count * half)
    n_held = count - n_verbatim - n_half
    if len(held) < n_held + n_half:
        sys.exit(f"only {len(held):,} held-out paragraphs of 30-150 tokens; {n_held + n_half:,} needed")
    held_pick = rng.choice(len(held), n_held + n_half, replace=False)
    long_enough = np.array([n >= 50 for _, _, n in in_corpus])  # half copies: the copied half has >= 25 tokens
    corpus_pick = rng.choice(len(in_corpus), n_verbatim, replace=False)
    half_pick = rng.choice(np.nonzero(long_enough & ~np.isin(np.arange(len(in_corpus)), corpus_pick))[0], n_half,
                           replace=False)
    corpus_pick = np.concatenate([corpus_pick, half_pick])
    items = []
    for i in held_pick[:n_held].tolist():
        src, p, _ = held[i]
        items.append({"kind": "held-out", "source": src, "text": p})
    for i in corpus_pick[:n_verbatim].tolist():
        src, p, _ = in_corpus[i]
        items.append({"kind": "verbatim", "source": src, "text": p})
    for i, j in zip(corpus_pick[n_verbatim:].tolist(), held_pick[n_held:].tolist()):
        (src, p, _), (_, q, _) = in_corpus[i], held[j]
        a, b = p.find(" ", len(p) // 2), q.find(" ", len(q) // 2)  # split at the space nearest past the middle
        items.append({"kind": "half", "source": src, "text": p[:a] + q[b:]})
    order = rng.permutation(len(items))
    items = [dict(id=f"item-{k:05d}", **items[i]) for k, i in enumerate(order.tolist())]
    return items, len(held), len(in_corpus)


# -- stage timers (wrappers set on the objects the check calls; the library is not changed) -------------------------


class Timers:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo = []

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
                self.calls[name] = self.calls.get(name, 0) + 1

        own = isinstance(owner, type) or type(owner).__name__ == "module" or attr in vars(owner)
        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original, own))

    def undo(self) -> None:
        for owner, attr, original, own in reversed(self._undo):
            if own:
                setattr(owner, attr, original)
            else:  # a bound method: drop the instance attribute, the class's method shows again
                delattr(owner, attr)
        self._undo.clear()


def run_check(index, path: Path, params):
    bench = open_benchmark(f"mmlu-sized={path}", fields=["text"], id_field="id")
    return contamination.check_contamination(index, [bench], params)


# -- the janitor: a set of 13-gram hashes -------------------------------------------------------------------------

_B = np.uint64(0x9E3779B97F4A7C15 | 1)  # odd: invertible modulo 2**64


def _powers(count: int, base: np.uint64) -> np.ndarray:
    out = np.empty(count, dtype=np.uint64)
    out[0] = 1
    if count > 1:
        out[1:] = base
        np.cumprod(out, out=out)  # wraps modulo 2**64
    return out


def _inverse(b: int) -> int:
    return pow(b, -1, 1 << 64)


def gram_hashes(tokens: np.ndarray, blank: np.ndarray, boundary: np.ndarray, n: int = N) -> np.ndarray:
    """A 64-bit polynomial hash of every n-gram of `tokens`: n tokens that are not blank (whitespace only) and the
    tokens between them, never across a boundary (document separator). sum_j (t[j] + 1) * B^(j - a) mod 2^64."""
    t = tokens.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        w = _powers(len(t), _B)
        winv = _powers(len(t), np.uint64(_inverse(int(_B))))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(t * w, dtype=np.uint64)])
        words = np.nonzero(~blank & ~boundary)[0]
        if len(words) < n:
            return np.zeros(0, dtype=np.uint64)
        a, b = words[: len(words) - n + 1], words[n - 1 :]
        segment = np.cumsum(boundary)
        same = segment[a] == segment[b]
        a, b = a[same], b[same]
        return (prefix[b + 1] - prefix[a]) * winv[a]


def whitespace_table(tokenizer) -> np.ndarray:
    return np.array([not tokenizer.token_bytes(i).strip() for i in range(tokenizer.max_id + 1)], dtype=bool)


# -- infini-gram ----------------------------------------------------------------------------------------------------


def build_infini_gram(shard, out: Path) -> dict:
    """infini-gram's v4 files from our shard's token ids: tokenized.0 = (0xFFFF + a document's u16 ids) per document,
    offset.0 = each document's byte offset; then its own rust_indexing sorts table.0."""
    import infini_gram.indexing as ig_indexing

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    ours = np.asarray(shard.tokens)  # docs, each followed by 0xFFFF
    theirs = np.empty(len(ours), dtype="<u2")
    theirs[0] = 0xFFFF
    theirs[1:] = ours[:-1]
    theirs.tofile(out / "tokenized.0")
    (np.asarray(shard.doc_starts[:-1], dtype=np.uint64) * 2).astype("<u8").tofile(out / "offset.0")
    write = time.perf_counter() - t0
    args = argparse.Namespace(save_dir=str(out), temp_dir=str(out), worker_id=0, shards=1, workers=1,
                              cpus=os.cpu_count(), mem=16, token_width=2)
    t0 = time.perf_counter()
    cwd = os.getcwd()
    sink = io.StringIO()
    stdout, sys.stdout = sys.stdout, sink
    try:
        ig_indexing.build_sa(args)  # chdirs to the package for its binary
    finally:
        sys.stdout = stdout
        os.chdir(cwd)
    sort = time.perf_counter() - t0
    if not (out / "table.0").exists():
        sys.exit("infini-gram's build_sa wrote no table.0:\n" + sink.getvalue())
    return {"write": write, "sort": sort}


# -- main -------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("bench/data/corpus"))
    parser.add_argument("--index", default="bench/data/index")
    parser.add_argument("--work", type=Path, default=Path("bench/data/contamination"))
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--verbatim", type=float, default=0.10, help="share of items copied whole from the corpus")
    parser.add_argument("--half", type=float, default=0.05, help="share half copied, half held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the check (median reported)")
    parser.add_argument("--skip-infini-gram", action="store_true")
    parser.add_argument("--infini-gram-items", type=int, default=None,
                        help="query infini-gram for the first N items only (default: all)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows, notes = [], []

    index = open_index(args.index)
    tokenizer, engine = index.tokenizer, index.engine
    t0 = time.perf_counter()
    items, n_held, n_in_corpus = make_items(args.corpus, tokenizer, args.items, args.verbatim, args.half, args.seed)
    path = args.work / "items.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    seqs = tokenizer.encode_batch([it["text"] for it in items])
    n_tokens = sum(map(len, seqs))
    kinds = {k: sum(1 for it in items if it["kind"] == k) for k in ("held-out", "verbatim", "half")}
    print(f"items: {len(items):,} ({kinds}) from {n_held:,} held-out and {n_in_corpus:,} corpus paragraphs of 30-150 "
          f"tokens; {n_tokens:,} tokens (min {min(map(len, seqs))}, median {int(np.median(list(map(len, seqs))))}, "
          f"max {max(map(len, seqs))}); written in {time.perf_counter() - t0:.1f} s -> {path}", flush=True)

    # -- our check ---------------------------------------------------------------------------------------------------
    params = contamination.ContaminationParams()
    warm = args.work / "warm.jsonl"
    with open(warm, "w", encoding="utf-8") as f:
        for item in items[:200]:
            f.write(json.dumps(item) + "\n")
    run_check(index, warm, params)  # loads the tokenizer and the whitespace table, warms code paths
    gc.collect()
    rss_before = rss_mib()
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        report = run_check(index, path, params)
        times.append(time.perf_counter() - t0)
    rss_after, peak_check = rss_mib(), peak_mib()
    seconds = float(np.median(times))
    summary = report.benchmarks[0]
    rows += [
        ("items (tokens)", f"{len(items):,} ({n_tokens:,} GPT-2 tokens, {min(map(len, seqs))}-{max(map(len, seqs))} "
                           f"per item)"),
        (f"check_contamination end to end, n = L = {params.n} (median of {args.runs}; runs: "
         + ", ".join(f"{t:.2f}" for t in times) + " s)",
         f"{seconds:.2f} s = {len(items) / seconds:,.0f} items/s = {n_tokens / seconds:,.0f} tokens/s"),
        ("verdicts: clean / partial / dirty; any 13-gram hit",
         f"{summary.clean:,} / {summary.partial:,} / {summary.dirty:,}; {summary.any_hit:,}"),
        ("decontamination list", f"{len(report.documents):,} documents, "
         f"{sum(d.tokens_matched for d in report.documents):,} tokens matched"
         + (" (approx)" if report.documents_approx else "")),
        ("RSS before the check (index open, tokenizer loaded) -> after", f"{rss_before:.0f} -> {rss_after:.0f} MiB"),
        ("peak RSS of the process after the checks", f"{peak_check:.0f} MiB"),
    ]

    # planted verdicts
    by_id = {it["id"]: it for it in items}
    confusion = {k: {"clean": 0, "partial": 0, "dirty": 0, "empty": 0} for k in kinds}
    wrong = []
    for r in report.items:
        kind = by_id[r.id]["kind"]
        confusion[kind][r.verdict] += 1
        ok = {"verbatim": r.verdict == "dirty", "half": r.verdict in ("partial", "dirty"),
              "held-out": r.verdict == "clean"}[kind]
        if not ok:
            wrong.append((kind, r))
    print("\nplanted verdicts (rows: planted kind; columns: verdict)")
    print("| planted | items | clean | partial | dirty | as planted |\n| --- | --- | --- | --- | --- | --- |")
    for kind, c in confusion.items():
        good = {"verbatim": c["dirty"], "half": c["partial"] + c["dirty"], "held-out": c["clean"]}[kind]
        print(f"| {kind} | {kinds[kind]:,} | {c['clean']:,} | {c['partial']:,} | {c['dirty']:,} | {good:,} |")
    for kind in kinds:
        off = [r for k, r in wrong if k == kind]
        if off:
            print(f"\n{len(off)} {kind} items not as planted; the first 5:")
            for r in off[:5]:
                print(f"  {r.id} {r.verdict} coverage {r.coverage:.2f} longest {r.longest_match} "
                      f"evidence {[e.id for e in r.evidence]}: {r.text[:100]!r}")

    # where the time goes: timers around the stages, one more run
    timers = Timers()
    timers.wrap(tokenizer, "encode_batch", "tokenize (encode_batch)")
    timers.wrap(engine, "match_lengths_many", "match_lengths_many")
    timers.wrap(check, "measure", "measures from m (numpy per item)")
    timers.wrap(tokenizer, "char_offsets", "char_offsets (per item)")
    timers.wrap(engine, "count", "longest-match count (engine.count per item)")
    if hasattr(check, "_evidence"):
        timers.wrap(check, "_evidence", "evidence (documents holding the longest match, snippets)")
    else:
        timers.wrap(index, "find", "evidence (index.find per contaminated item)")
    timers.wrap(engine, "occurrences_many", "flagged-document search (occurrences_many)")
    timers.wrap(check, "flagged_documents", "flagged-document list (FlaggedDocument objects)")
    timers.wrap(check, "_summary", "summary")
    t0 = time.perf_counter()
    run_check(index, path, params)
    total = time.perf_counter() - t0
    timers.undo()
    print(f"\nwhere the time goes (one timed run: {total:.2f} s)")
    print("| stage | calls | seconds | share |\n| --- | --- | --- | --- |")
    accounted = 0.0
    for name, s in timers.seconds.items():
        accounted += s
        print(f"| {name} | {timers.calls[name]:,} | {s:.2f} | {s / total:.0%} |")
    print(
        f"| the rest (reading JSONL, DecontaminationList.add gathering, ItemResult objects, loop) | | "
        f"{total - accounted:.2f} | "
        f"{(total - accounted) / total:.0%} |"
    )
    # match_lengths_many alone, on the same items: in the check's batches of 1,024 items, and in one call
    batch = getattr(check, "_BATCH", 1024)
    t0 = time.perf_counter()
    batched = [m for a in range(0, len(seqs), batch) for m in engine.match_lengths_many(seqs[a : a + batch])]
    t_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    whole = engine.match_lengths_many(seqs)
    t_whole = time.perf_counter() - t0
    assert all(np.array_equal(a, b) for a, b in zip(batched, whole))
    rows.append((f"match_lengths_many alone on the items: in batches of {batch:,} (as the check) / in one call",
                 f"{t_batched:.2f} s / {t_whole:.2f} s = {n_tokens / t_batched:,.0f} / {n_tokens / t_whole:,.0f} "
                 f"tokens/s"))
    profile = cProfile.Profile()
    profile.enable()
    run_check(index, path, params)
    profile.disable()
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(30)
    (args.work / "profile.txt").write_text(stream.getvalue())
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats("tottime").print_stats(15)
    (args.work / "profile-tottime.txt").write_text(stream.getvalue())
    print(f"cProfile (cumulative, top 30; and tottime, top 15): {args.work}/profile.txt, profile-tottime.txt")

    # -- the janitor ---------------------------------------------------------------------------------------
    gc.collect()
    shard = engine.shards[0]
    assert len(engine.shards) == 1, "the janitor side reads one shard"
    blank_of = whitespace_table(tokenizer)
    rss0 = rss_mib()
    t0 = time.perf_counter()
    corpus_tokens = np.asarray(shard.tokens[: shard.n_tokens]).astype(np.int64)
    boundary = corpus_tokens > tokenizer.max_id  # document separators
    blank = blank_of[np.where(boundary, 0, corpus_tokens)] & ~boundary
    hashes = gram_hashes(corpus_tokens, blank, boundary)
    del corpus_tokens, boundary, blank
    t_hash = time.perf_counter() - t0
    t0 = time.perf_counter()
    grams = set(hashes.tolist())
    t_set = time.perf_counter() - t0
    rss_set = rss_mib()
    t0 = time.perf_counter()
    sorted_hashes = np.sort(hashes)
    sorted_hashes = sorted_hashes[np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]]]
    t_sort = time.perf_counter() - t0
    del hashes
    gc.collect()
    # query: every item's 13-grams, any-hit and number found, per item in Python (the janitor's loop)
    item_blank = [blank_of[s] for s in seqs]
    no_boundary = [np.zeros(len(s), dtype=bool) for s in seqs]
    t0 = time.perf_counter()
    jan_found = []
    for s, b, nb in zip(seqs, item_blank, no_boundary):
        hs = gram_hashes(s, b, nb).tolist()
        jan_found.append(sum(1 for h in hs if h in grams))
    t_query = time.perf_counter() - t0
    t0 = time.perf_counter()
    item_hashes = [gram_hashes(s, b, nb) for s, b, nb in zip(seqs, item_blank, no_boundary)]
    flat = np.concatenate(item_hashes)
    pos = np.searchsorted(sorted_hashes, flat)
    hit = sorted_hashes[np.minimum(pos, len(sorted_hashes) - 1)] == flat
    np_found = np.add.reduceat(hit, np.cumsum([0] + [len(h) for h in item_hashes[:-1]])).tolist()
    t_np_query = time.perf_counter() - t0
    print(f"\njanitor: {len(grams):,} distinct token 13-grams of the corpus "
          f"({len(sorted_hashes):,} in the sorted array)")
    rows += [
        ("janitor (Python set of 13-gram hashes): build", f"{t_hash + t_set:.1f} s (hashing in NumPy {t_hash:.1f} s, "
         f"set {t_set:.1f} s); {len(grams):,} distinct 13-grams; RSS +{rss_set - rss0:,.0f} MiB"),
        ("janitor: query all items (any-hit and hits per item, Python loop)",
         f"{t_query:.2f} s = {len(items) / t_query:,.0f} items/s"),
        ("janitor as a sorted NumPy array of hashes: sort and dedupe (after hashing) / query (NumPy, batched)",
         f"{t_sort:.1f} s, {sorted_hashes.nbytes / 2**20:.0f} MiB / {t_np_query:.2f} s"),
    ]
    # agreement with ours, where comparable: items with at least 13 counting tokens
    comparable = agree_any = agree_count = 0
    disagree = []
    for r, b, jf, nf in zip(report.items, item_blank, jan_found, np_found):
        assert jf == nf
        if np.count_nonzero(~b) < N:
            continue
        comparable += 1
        agree_any += (jf > 0) == (r.ngrams_found > 0)
        agree_count += jf == r.ngrams_found
        if jf != r.ngrams_found:
            disagree.append((r.id, jf, r.ngrams_found))
    notes.append(f"janitor vs ours on {comparable:,} comparable items (>= 13 counting tokens): any-hit agrees on "
                 f"{agree_any:,}, number of 13-grams found agrees on {agree_count:,}" +
                 (f"; first disagreements (id, janitor, ours): {disagree[:5]}" if disagree else ""))
    held_flagged = [r for k, r in wrong if k == "held-out"]
    if held_flagged:
        jan = {r.id: f for r, f in zip(report.items, jan_found)}
        notes.append(f"held-out items not clean: {len(held_flagged)}; of them the janitor finds a 13-gram in "
                     f"{sum(1 for r in held_flagged if jan[r.id] > 0)}")
    del grams
    gc.collect()

    # -- infini-gram --------------------------------------------------------------------------------------
    if not args.skip_infini_gram:
        from infini_gram.engine import InfiniGramEngine

        ig_dir = (args.work / "infini-gram").resolve()
        built = build_infini_gram(shard, ig_dir)
        ig = InfiniGramEngine(index_dir=str(ig_dir), eos_token_id=tokenizer.max_id, vocab_size=tokenizer.max_id + 1,
                              version=4, token_dtype="u16")
        subset = len(items) if args.infini_gram_items is None else min(args.infini_gram_items, len(items))
        grams_per_item = []
        for s, b in zip(seqs[:subset], item_blank[:subset]):
            words = np.nonzero(~b)[0]
            grams_per_item.append([s[a : e + 1].tolist() for a, e in zip(words[: len(words) - N + 1], words[N - 1 :])])
        n_grams = sum(map(len, grams_per_item))
        ig.count(input_ids=grams_per_item[0][0])  # first call maps the files
        t0 = time.perf_counter()
        ig_found = []
        for gs in grams_per_item:
            ig_found.append(sum(1 for g in gs if ig.count(input_ids=g)["count"] > 0))
        t_ig = time.perf_counter() - t0
        label = (
            "all items"
            if subset == len(items)
            else f"first {subset:,} items (extrapolated to all: {t_ig * len(items) / subset:.0f} s)"
        )
        rows += [
            ("infini-gram: build from our token ids (write its files / its rust_indexing sort)",
             f"{built['write']:.1f} s / {built['sort']:.1f} s"),
            (f"infini-gram: count of every 13-gram, one call each, {label}",
             f"{n_grams:,} counts in {t_ig:.1f} s = {n_grams / t_ig:,.0f} counts/s = {subset / t_ig:,.0f} items/s"),
        ]
        same = sum(1 for f, j in zip(ig_found, jan_found) if f == j)
        notes.append(f"infini-gram vs janitor: 13-grams found per item agree on {same:,} of {subset:,} items")

    rows.append(("peak RSS of this benchmark process (janitor set included)", f"{peak_mib():.0f} MiB"))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
