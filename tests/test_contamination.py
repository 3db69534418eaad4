"""Contamination measures against brute force, on random small corpora and benchmark files written by the tests.

The reference reads the corpus as the Parquet texts (tests/reference.py) and the items as the JSONL lines the test
wrote, encodes both with the tokenizer, and finds every occurring span by enumerating substrings: nothing of the
index, nor its match lengths, is read.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.benchmarks import open_benchmark
from inspector.contamination import WAYS, ContaminationParams, check_contamination, score_split

from . import reference as ref
from .profiles import examples

CHARS = "ab \n"  # spaces and newlines are the whitespace tokens n and L do not count
SETTINGS = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def write_items(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def _spans_that_occur(grams: set, seq: list[int]) -> list[tuple[int, int]]:
    """Every [a, b) of seq that occurs in the corpus."""
    return [(a, b) for a in range(len(seq)) for b in range(a + 1, len(seq) + 1) if tuple(seq[a:b]) in grams]


def item_grams(seq: list[int], n: int) -> list[tuple[int, int]]:
    """[a, b) of each n-gram of counting tokens of an item (one of the whole item when it has fewer)."""
    words = [i for i, t in enumerate(seq) if bytes([t]).strip()]
    n = min(n, len(words))
    return [(words[t - n + 1], words[t] + 1) for t in range(n - 1, len(words))] if words else []


def reference_templates(seqs: list[list[int]], n: int) -> list[set[int]]:
    """Per item: its tokens inside n-grams that at least two items of the file hold (template text)."""
    holders: dict[tuple, set[int]] = {}
    for k, seq in enumerate(seqs):
        for a, b in item_grams(seq, n):
            holders.setdefault(tuple(seq[a:b]), set()).add(k)
    return [{i for a, b in item_grams(seq, n) if len(holders[tuple(seq[a:b])]) >= 2 for i in range(a, b)}
            for seq in seqs]


def reference_item(docs, grams, seq: list[int], n: int, least: int, template: set[int] = frozenset()) -> dict:
    """The measures of one item by their definitions (contamination module docstring), by enumeration; `template`:
    its template tokens, which count toward neither coverage nor overlap unless every counting token is one."""
    blank = [not bytes([t]).strip() for t in seq]
    words = [i for i, b in enumerate(blank) if not b]
    if not words:
        return {"verdict": "empty"}
    own = [i for i in words if i not in template] or words
    mine = set(own)
    n, least = min(n, len(words)), min(least, len(words))
    counting = lambda a, b: sum(1 for i in range(a, b) if not blank[i])  # noqa: E731
    grams_of = [(a, b) for a, b in item_grams(seq, n) if mine & set(range(a, b))]
    found = sum(tuple(seq[a:b]) in grams for a, b in grams_of)
    occurring = _spans_that_occur(grams, seq)
    covered = {i for a, b in occurring if counting(a, b) >= least for i in range(a, b)}
    coverage = sum(1 for i in own if i in covered) / len(own)
    # the longest match: per end token, the longest occurring span ending there; the first end with most counting
    best = (0, 0, 0)  # (counting tokens, -end, length)
    for end in range(1, len(seq) + 1):
        lengths = [b - a for a, b in occurring if b == end]
        if lengths:
            length = max(lengths)
            best = max(best, (counting(end - length, end), -end, length))
    longest = best[2] if best[0] else 0
    span = tuple(seq[-best[1] - longest : -best[1]]) if longest else ()
    return {
        "ngrams": len(grams_of),
        "ngrams_found": found,
        "coverage": coverage,
        "longest_match": longest,
        "longest_count": ref.count(docs, list(span)) if span else 0,
        "evidence_documents": sum(1 for d in docs if ref.count([d], list(span))) if covered else 0,
        "least_grams": [tuple(seq[a:b]) for a, b in item_grams(seq, least) if mine & set(range(a, b))],
        "least_found": bool(covered),  # a match of >= L counting tokens
    }


def reference_flagged(docs, flagged_grams: dict) -> dict:
    """Per document: the items whose counting L-grams it holds, and the merged token spans of those occurrences."""
    out = {}
    for d, doc in enumerate(docs):
        spans, items = set(), set()
        for key, grams in flagged_grams.items():
            for g in grams:
                for _, i in ref.occurrences([doc], list(g)):
                    spans.add((i, i + len(g)))
                    items.add(key)
        if items:
            merged = []
            for a, b in sorted(spans):
                if merged and a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            out[d] = (tuple(sorted(items)), tuple(merged))
    return out


texts_strategy = st.lists(st.text(alphabet=CHARS, min_size=0, max_size=40), min_size=1, max_size=6)


@SETTINGS
@given(
    texts=texts_strategy,
    shard_tokens=st.integers(1, 40),
    n=st.integers(1, 6),
    least=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    count_templates=st.booleans(),
)
def test_measures_equal_brute_force(tmp_path, texts, shard_tokens, n, least, seed, count_templates):
    """Overlap, longest match (and its count and documents), coverage, verdict, template text and the
    decontamination list, for items that are copies, pieces, pieces across documents, random strings (sharing
    n-grams: templates) and blanks; one shard and many; templates counted or not."""
    rng = np.random.default_rng(seed)
    items = ref.text_queries(texts, rng, CHARS, n=12) + ["", "  \n "]
    bench = open_benchmark(f"bench={write_items(tmp_path / f'items-{seed}.jsonl', items)}", fields=["text"])
    params = ContaminationParams(n=n, min_match=least, clean_below=0.3, dirty_from=0.7, evidence_documents=2,
                                 count_templates=count_templates, match="exact")
    tokenizer = ref.reference_tokenizer("bytes")
    with ref.built(texts, "bytes", shard_tokens) as made:
        grams = ref.ngrams(made.docs)
        seqs = [tokenizer.encode(t) for t in items]
        templates = reference_templates(seqs, n)
        expected = [reference_item(made.docs, grams, seq, n, least, set() if count_templates else template)
                    for seq, template in zip(seqs, templates)]
        flagged_grams = {}
        for i, want in enumerate(expected):
            if want["verdict" if "verdict" in want else "coverage"] == "empty":
                continue
            want["verdict"] = "dirty" if want["coverage"] >= 0.7 else "clean" if want["coverage"] < 0.3 else "partial"
            if want["verdict"] != "clean":
                flagged_grams[f"bench:{i}"] = [g for g in want["least_grams"] if g in grams]
        for index in made.indexes:
            report = check_contamination(index, [bench], params)
            assert [r.index for r in report.items] == list(range(len(items)))
            for got, want in zip(report.items, expected):
                assert got.verdict == want["verdict"], (got.text, want)
                if want["verdict"] == "empty":
                    continue
                for key in ("ngrams", "ngrams_found", "longest_match", "longest_count", "evidence_documents"):
                    assert getattr(got, key) == want[key], (key, got.text, want)
                assert abs(got.coverage - want["coverage"]) < 1e-12
                assert got.overlap == want["ngrams_found"] / want["ngrams"]
                assert len(got.evidence) == min(2, want["evidence_documents"])
            for got, template in zip(report.items, templates):  # spans of template text (bytes: one per char)
                assert {i for a, b in got.template_spans for i in range(a, b)} == template, got.text
            flagged = {f.doc: (f.items, f.spans) for f in report.documents}
            assert flagged == reference_flagged(made.docs, flagged_grams)
            summary = report.benchmarks[0]
            verdicts = [w["verdict"] for w in expected]
            assert (summary.items, summary.empty) == (len(items) - verdicts.count("empty"), verdicts.count("empty"))
            counted = tuple(map(verdicts.count, ("dirty", "partial", "clean")))
            assert (summary.dirty, summary.partial, summary.clean) == counted
            assert summary.templated == sum(1 for t, w in zip(templates, expected) if t and w["verdict"] != "empty")


def test_score_split_on_a_hand_checked_example():
    """Clean items score 0.5 on average, partial 1.0, dirty 1.0: the difference is 0.5 and, with every contaminated
    item scoring 1, every bootstrap resample of the difference lies between 1 - 1 = 0 and 1 - 0 = 1."""
    from types import SimpleNamespace as Item

    items = [Item(benchmark="b", index=i, id=f"q{i}", verdict=v, score=s) for i, (v, s) in enumerate(
        [("clean", 1.0), ("clean", 0.0), ("clean", 1.0), ("clean", 0.0), ("partial", 1.0), ("dirty", 1.0),
         ("empty", 0.0)]
    )]
    split = score_split(items, resamples=500, seed=1)
    assert [(g.verdict, g.items, g.mean) for g in split.groups] == [("clean", 4, 0.5), ("partial", 1, 1.0),
                                                                     ("dirty", 1, 1.0)]
    assert split.difference == 0.5 and 0.0 <= split.low <= 0.5 <= split.high <= 1.0
    joined = score_split(items, {("b", "q0"): 0.0, ("b", 4): 0.0})  # by id, or by index
    assert joined.groups[0].items == 1 and joined.groups[0].mean == 0.0 and joined.difference == 0.0
    assert score_split(items[:4]).difference is None  # nothing contaminated: no difference to state


# -- planted contamination on real text ----------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Prose paragraphs of 40-120 words (no grammar blocks)."""
    out = []
    for p in text.split("\n\n"):
        words = p.split()
        if 40 <= len(words) <= 120 and not p.startswith(" ") and "::=" not in p:
            out.append(p)
    return out


def _rewrapped(text: str, per_line: int = 8) -> str:
    words = text.split()
    return "\n".join(" ".join(words[i : i + per_line]) for i in range(0, len(words), per_line))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Python's own reference documentation (real English prose) as the corpus, and items planted from it: verbatim,
    re-cased, re-wrapped at 8 words per line, half copied, and absent (its words shuffled)."""
    from pydoc_data.topics import topics

    from inspector import build_index, open_index

    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp("planted")
    names = sorted(topics)[:40]
    rows = [{"id": name, "text": topics[name]} for name in names]
    write_parquet(folder / "corpus" / "a.parquet", rows[:20])
    write_parquet(folder / "corpus" / "b.parquet", rows[20:])
    build_index([folder / "corpus"], folder / "idx", normalized=True)
    # distinct paragraphs (some topics repeat one): two items sharing a paragraph would share it as template text
    paragraphs = list(dict.fromkeys(p for name in names for p in _paragraphs(topics[name])))
    rng = random.Random(5)
    picked = rng.sample(paragraphs, 25)
    items = []
    for i, p in enumerate(picked):
        kind = ("verbatim", "recased", "rewrapped", "half", "absent")[i % 5]
        words = p.split()
        text = {
            "verbatim": p,
            "recased": p.upper(),
            "rewrapped": _rewrapped(p),
            "half": p[: p.index(" ", len(p) // 2)] + " " + " ".join(rng.sample(words, len(words) // 2)),
            "absent": " ".join(rng.sample(words, len(words))),
        }[kind]
        items.append({"id": f"{kind}-{i}", "question": text, "kind": kind})
    bench = folder / "planted.jsonl"
    bench.write_text("".join(json.dumps(item) + "\n" for item in items))
    with open_index(folder / "idx") as index:
        yield index, bench, items


EXPECTED = {  # exact tokens miss re-cased copies, and most of a re-wrapped one (a line of 8 words may hold 13 tokens)
    "exact": {"verbatim": {"dirty"}, "recased": {"clean"}, "rewrapped": {"clean", "partial"}, "half": {"partial"},
              "absent": {"clean"}},
    "normalized": {"verbatim": {"dirty"}, "recased": {"dirty"}, "rewrapped": {"dirty"}, "half": {"partial"},
                   "absent": {"clean"}},
}
EXPECTED["both"] = EXPECTED["normalized"]
MATCHED_BY = {"verbatim": {"both"}, "recased": {"normalized"}, "rewrapped": {"normalized"}, "half": {"both"},
              "absent": {""}}


@pytest.mark.parametrize("match", ["exact", "normalized", "both", "auto"])
def test_planted_items_get_their_verdicts(planted, match):
    """Exact tokens find verbatim and half copies only; normalised matching also finds re-cased and re-wrapped ones;
    both ways (the default on an index with normalised text) find all, each item saying which way found it.
    Evidence of a dirty item is the document it was copied from."""
    index, bench_path, items = planted
    bench = open_benchmark(bench_path, fields=["question"])
    report = check_contamination(index, [bench], ContaminationParams(match=match))
    mode = "both" if match == "auto" else match
    assert report.mode == mode
    got = {r.id: r for r in report.items}
    for item in items:
        result = got[item["id"]]
        assert result.verdict in EXPECTED[mode][item["kind"]], (item["kind"], result.coverage, item["question"])
        if mode == "both":
            assert result.matched_by in MATCHED_BY[item["kind"]], (item["kind"], result.matched_by)
        if result.verdict == "dirty":
            assert result.evidence_documents >= 1 and result.spans
            assert all(0 <= a < b <= len(result.text) for a, b in result.spans)
            evidence = result.evidence[0]
            if result.matched_by == "normalized" or mode == "normalized":
                assert evidence.span is None  # a span of the normalised text: not marked on the original
            else:  # the evidence span is the longest match, in the document's own text
                a, b = evidence.span
                assert index.document(evidence.doc).text[a:b] == result.text[slice(*result.longest_span)]
    flagged = {f.doc for f in report.documents}
    assert flagged and all(f.items for f in report.documents)
    summary = report.benchmarks[0]
    assert summary.items == len(items) and summary.dirty == sum(
        EXPECTED[mode][i["kind"]] == {"dirty"} for i in items
    )


@pytest.mark.parametrize("mask", [False, True], ids=["remove", "mask"])
def test_a_decontaminated_copy_rebuilt_checks_clean(planted, tmp_path, mask):
    """The copy, rebuilt, holds no match of >= L tokens with any item that was dirty or partial, exact or
    normalised (the default checks both ways): each is clean now. Removing drops exactly the flagged rows; masking
    keeps every row and blanks the matched spans, those of normalised text on the characters they came from."""
    import pyarrow.parquet as pq

    from inspector import build_index, open_index
    from inspector.contamination import load_report, save_report
    from inspector.decontaminate import decontaminate

    index, bench_path, items = planted
    bench = open_benchmark(bench_path, fields=["question"])
    report = check_contamination(index, [bench])
    saved = load_report(save_report(report, tmp_path / "report.json"))
    flagged = {(f.file, f.row) for f in saved.documents}
    assert flagged
    result = decontaminate(index, saved.documents, tmp_path / "copy", mask=mask)
    copied = sorted((tmp_path / "copy").rglob("*.parquet"))
    assert [p.name for p in copied] == ["a.parquet", "b.parquet"]
    rows = sum(pq.read_metadata(p).num_rows for p in copied)
    assert (result.rows_in, result.rows_out) == (index.n_documents, rows)
    assert rows == index.n_documents - (0 if mask else len(flagged))
    for path in copied:
        original = pq.read_table(Path(index.sources[0]["path"]).parent / path.name)
        assert pq.read_schema(path) == original.schema
    assert report.mode == "both" and any(f.normalized_spans and not f.spans for f in saved.documents)
    build_index([tmp_path / "copy"], tmp_path / "idx", normalized=True)
    with open_index(tmp_path / "idx") as clean:
        again = check_contamination(clean, [bench])
    assert again.mode == "both"
    before = {r.id: r.verdict for r in report.items}
    after = {r.id: r.verdict for r in again.items}
    assert any(v != "clean" for v in before.values())
    assert all(after[i] == "clean" for i, v in before.items() if v != "clean"), after
    assert not again.documents


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inspector", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_contam_cli_reports_per_benchmark_and_item_and_lists_bad_lines(planted, tmp_path):
    """The JSON has `benchmarks` and `items` as documented; a malformed line is listed as file:line and the other
    items are still checked; a missing field is one line naming the fields there are; scores join on ids."""
    index, bench_path, items = planted
    broken = tmp_path / "broken.jsonl"
    lines = bench_path.read_text().splitlines()
    broken.write_text("\n".join(lines[:3] + ["{not json"] + lines[3:]) + "\n")
    scores = tmp_path / "scores.csv"
    scores.write_text("id,score\n" + "".join(f"{item['id']},{i % 2}\n" for i, item in enumerate(items)))
    done = _cli("contam", index.path, f"planted={broken}", "--fields", "question", "--results", scores, "--json",
                "--out", tmp_path / "r.parquet")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (bench,) = report["benchmarks"]
    assert bench["name"] == "planted" and bench["items"] == len(items) and bench["skipped"] == 1
    assert bench["problems"][0].startswith(f"{broken}:4: ")
    assert {"dirty", "partial", "clean", "mean_overlap", "coverage_histogram"} <= set(bench)
    first = report["items"][0]
    assert {"benchmark", "index", "id", "overlap", "longest_match", "coverage", "verdict", "evidence"} <= set(first)
    assert [i["id"] for i in report["items"]] == [i["id"] for i in items]
    assert sum(g["items"] for g in report["score_split"]["groups"]) == len(items)
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "r.parquet").num_rows == len(items)
    missing = _cli("contam", index.path, bench_path, "--fields", "prompt")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "prompt" in missing.stderr and "question" in missing.stderr  # the fields there are
    other_build = _cli("decontaminate", index.path, tmp_path / "r.parquet", "--out", tmp_path / "x")
    assert other_build.returncode == 2 and "give the .json report" in other_build.stderr


@pytest.mark.slow
def test_contam_cli_checks_both_ways_when_it_can_and_says_what_exact_matching_misses(planted, tmp_path):
    """On an index with normalised text the CLI checks both ways and says which way found each dirty item; on one
    without, it checks exact tokens and says, in the words `missed_note` gives the page too, what that misses and
    how to build an index that finds it; asking that index for normalised matching is one line naming the option."""
    from inspector import build_index
    from inspector.contamination import missed_note

    index, bench_path, _ = planted
    both = _cli("contam", index.path, bench_path, "--fields", "question")
    assert both.returncode == 0, both.stderr
    assert both.stdout.startswith("exact and normalised") and "(normalized matching) coverage" in both.stdout
    assert "note:" not in both.stdout
    assert "normalized matching" in _cli("contam", index.path, bench_path, "--fields", "question", "--normalize").stdout
    data = json.loads(_cli("contam", index.path, bench_path, "--fields", "question", "--count-templates",
                           "--match", "exact", "--json").stdout)
    assert data["mode"] == "exact" and data["params"]["count_templates"] and data["params"]["match"] == "exact"
    assert missed_note(data) is None  # exact asked for: nothing to say
    conflict = _cli("contam", index.path, bench_path, "--normalize", "--match", "exact")
    assert conflict.returncode == 2 and conflict.stderr.count("\n") == 1 and "--normalize" in conflict.stderr

    build_index([Path(index.sources[0]["path"]).parent], tmp_path / "exact-only", normalized=False)
    exact = _cli("contam", tmp_path / "exact-only", bench_path, "--fields", "question")
    assert exact.returncode == 0, exact.stderr
    assert exact.stdout.startswith("exact matching") and f"note: {missed_note('exact')}" in exact.stdout
    assert "inspector build --normalized" in missed_note("exact") and missed_note("both") is None
    for match in ("normalized", "both"):
        refused = _cli("contam", tmp_path / "exact-only", bench_path, "--fields", "question", "--match", match)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--normalized" in refused.stderr


def test_long_items_are_checked_and_too_long_ones_reported(tmp_path):
    """A 100k-token item is checked like any other; one past the limit is listed as file:line with its size, and
    the items after it are still checked."""
    from inspector import build_index, open_index

    from .corpora import write_parquet

    rng = random.Random(2)
    words = [f"w{i}" for i in range(500)]
    corpus_text = " ".join(rng.choices(words, k=2000))
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": corpus_text}])
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    huge = corpus_text[:5000] + " " + " ".join(rng.choices(["zz", "yy"], k=47_500))  # ~100k bytes
    items = [huge, "x" * 3000, corpus_text[100:400]]
    bench = open_benchmark(write_items(tmp_path / "long.jsonl", items), fields=["text"])
    with open_index(tmp_path / "idx") as index:
        report = check_contamination(index, [bench])
        first = report.items[0]
        assert first.tokens > 99_000 and first.verdict == "clean" and first.longest_match >= 4900
        limited = check_contamination(index, [bench], ContaminationParams(max_item_tokens=2500))
    assert [r.index for r in limited.items] == [2] and limited.items[0].verdict == "dirty"
    problems = limited.benchmarks[0].problems
    assert problems[0].startswith(f"{tmp_path / 'long.jsonl'}:1: item has ") and "the limit is 2,500" in problems[0]
    assert problems[1].startswith(f"{tmp_path / 'long.jsonl'}:2: item has 3,000 tokens")


def test_a_bytes_index_gives_infini_gram_minis_50_character_rule(tmp_path):
    """On a bytes index with n = L = 50 counting whitespace, an item is hit exactly when it shares 50 characters
    (ASCII) with the corpus: 50 shared characters hit, 49 do not. Without counting whitespace, 50 means 50 others."""
    from inspector import build_index, open_index

    from .corpora import write_parquet

    shared = "The quick brown fox jumps over the lazy dog near a"  # 50 characters, no run of whitespace
    assert len(shared) == 50
    write_parquet(tmp_path / "c" / "a.parquet", [{"text": "xx " + shared + " yy"}])
    build_index([tmp_path / "c"], tmp_path / "idx", tokenizer="bytes")
    items = ["[" + shared + "]", "[" + shared[:49] + "]"]
    bench = open_benchmark(write_items(tmp_path / "b.jsonl", items), fields=["text"])
    with open_index(tmp_path / "idx") as index:
        exact = {"match": "exact"}  # the rule is of the characters as they are (normalised, the brackets go)
        report = check_contamination(index, [bench], ContaminationParams(n=50, min_match=50, count_whitespace=True,
                                                                         **exact))
        words_only = check_contamination(index, [bench], ContaminationParams(n=50, min_match=50, **exact))
    hit, miss = report.items
    assert hit.ngrams_found >= 1 and hit.longest_match == 50
    assert miss.ngrams_found == 0 and miss.longest_match == 49 and miss.verdict == "clean"
    assert [r.ngrams_found for r in words_only.items] == [0, 0]  # 41 characters that are not spaces


def _limited(limit: int):
    """A preexec_fn capping the child's address space at `limit` bytes (what the kernel's OOM killer would do)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.fixture(scope="module")
def x_index(tmp_path_factory):
    """A bytes index of 40 documents of 5,000 `x` each: 200,000 occurrences of the one-token item `x`."""
    from inspector import build_index

    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp("xs")
    write_parquet(folder / "c" / "a.parquet", [{"text": "x" * 5000, "id": f"d{i}"} for i in range(40)])
    build_index([folder / "c"], folder / "idx", tokenizer="bytes")
    return folder / "idx"


@pytest.mark.slow
def test_ten_thousand_short_frequent_items_fit_in_two_gigabytes(x_index, tmp_path):
    """10,000 lines `{"question": "x"}` (each item occurs 200,000 times: 2e9 occurrences in all, 16 GB as offsets)
    are checked in a process capped at 2 GiB of address space: every item dirty, every document listed whole."""
    import gzip

    bench = tmp_path / "xs.jsonl.gz"
    bench.write_bytes(gzip.compress(b'{"question": "x"}\n' * 10_000))
    done = subprocess.run([sys.executable, "-m", "inspector", "contam", str(x_index), str(bench), "--fields",
                           "question", "--out", str(tmp_path / "r.json")],
                          check=False, capture_output=True, text=True, preexec_fn=_limited(2 << 30), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["benchmarks"][0]["items"] == 10_000 and report["benchmarks"][0]["dirty"] == 10_000
    flagged = report["documents"]  # `x` occurs past max_span_occurrences: its documents are an even sample
    assert report["documents_approx"] and flagged and {d["doc"] for d in flagged} <= set(range(40))
    assert all(len(d["items"]) == 100 for d in flagged)  # LISTED_ITEMS of the 10,000 that share the span


def test_a_check_over_its_budget_is_refused_naming_the_file_or_listed_as_an_even_sample(x_index, tmp_path):
    """Over the items or characters budget: one error naming the file, before anything is checked. Over the listed
    occurrences: the list is a sample (`documents_approx`) of the true documents, within the budget."""
    from inspector import BenchmarkError, open_index

    items = write_items(tmp_path / "b.jsonl", ["x", "xx", "y"])
    with open_index(x_index) as index:
        with pytest.raises(BenchmarkError, match=rf"^{tmp_path / 'b.jsonl'}: .*more than 2 items"):
            check_contamination(index, [open_benchmark(items, fields=["text"])], ContaminationParams(max_items=2))
        with pytest.raises(BenchmarkError, match="more than 200,000 items or 3 characters of item text"):
            check_contamination(index, [open_benchmark(items, fields=["text"])],
                                ContaminationParams(max_text_chars=3))
        sampled = check_contamination(index, [open_benchmark(items, fields=["text"])],
                                      ContaminationParams(max_span_occurrences=10**6, max_listed_occurrences=1000))
        whole = check_contamination(index, [open_benchmark(items, fields=["text"])],
                                    ContaminationParams(max_span_occurrences=10**6))
    assert not whole.documents_approx and [d.spans for d in whole.documents] == [((0, 5000),)] * 40
    assert sampled.documents_approx and {d.doc for d in sampled.documents} <= {d.doc for d in whole.documents}
    assert sum(d.tokens_matched for d in sampled.documents) <= 500 * 1 + 500 * 2  # x, xx: 500 occurrences each


def test_fitting_cap_is_the_largest_cap_within_the_budget():
    from index.ngram_index import _fitting_cap

    rng = np.random.default_rng(3)
    for _ in range(300):
        counts = rng.integers(0, 50, size=rng.integers(0, 8))
        cap, budget = int(rng.integers(1, 60)), int(rng.integers(0, 200))
        fits = [c for c in range(cap + 1) if np.minimum(counts, c).sum() <= budget]
        assert _fitting_cap(counts, cap, budget) == max(fits)


@pytest.mark.parametrize("change", ["shuffled", "shortened"])
@pytest.mark.slow
def test_decontaminate_after_the_source_changed_stops_and_writes_nothing(tmp_path, change):
    """Rows of a shard shuffled (or cut) after the report: removing by row would drop innocent documents, so the copy
    stops with one line naming the document, and no output folder (nor a partial one) is left."""
    import pyarrow.parquet as pq

    from inspector import build_index

    from .corpora import write_parquet

    rng = random.Random(4)
    words = [f"w{i}" for i in range(300)]
    rows = [{"id": f"d{i}", "text": " ".join(rng.choices(words, k=60))} for i in range(12)]
    write_parquet(tmp_path / "c" / "a.parquet", rows)
    build_index([tmp_path / "c"], tmp_path / "idx")
    write_items(tmp_path / "b.jsonl", [rows[3]["text"], rows[9]["text"]])
    made = _cli("contam", tmp_path / "idx", tmp_path / "b.jsonl", "--fields", "text", "--out", tmp_path / "r.json")
    assert made.returncode == 0, made.stderr
    flagged = json.loads((tmp_path / "r.json").read_text())["documents"]
    assert sorted(d["row"] for d in flagged) == [3, 9]
    table = pq.read_table(tmp_path / "c" / "a.parquet")
    order = list(range(12))
    rng.shuffle(order)
    pq.write_table(table.take(order) if change == "shuffled" else table.slice(0, 8), tmp_path / "c" / "a.parquet")
    done = _cli("decontaminate", tmp_path / "idx", tmp_path / "r.json", "--out", tmp_path / "copy")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert ("is not the text that was indexed" if change == "shuffled" else "fewer than when") in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.jsonl", "c", "idx", "r.json"]


def test_a_saved_report_reads_back_as_the_same_report_and_an_old_one_converts(planted, tmp_path):
    """`load_report` gives back the very report that was saved (nested results, tuples, floats alike); one kept
    before match modes, templates and both kinds of spans reads too: what it lacks takes its default, a key no
    longer used is dropped, a normalised check's spans become its `normalized_spans`; a JSON file that is not a
    report is one InvalidQuery."""
    import dataclasses

    from inspector import InvalidQuery
    from inspector.contamination import load_report, save_report

    index, bench_path, _ = planted
    report = check_contamination(index, [open_benchmark(bench_path, fields=["question"])])
    assert report.documents and any(i.evidence and i.evidence[0].span for i in report.items)
    assert load_report(save_report(report, tmp_path / "report.json")) == report
    old = report.as_dict()
    old["mode"] = "normalized"
    old["params"] = {k: v for k, v in old["params"].items() if k not in ("match", "count_templates")}
    old["params"]["normalize"] = True
    for b in old["benchmarks"]:
        del b["templated"]
    for i in old["items"]:
        del i["matched_by"], i["template_spans"]
    for d in old["documents"]:
        del d["normalized_spans"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    read = load_report(tmp_path / "old.json")
    assert read.params == ContaminationParams() and read.kept_before_ways and not report.kept_before_ways
    assert read.benchmarks == tuple(dataclasses.replace(b, templated=0) for b in report.benchmarks)
    assert read.items == tuple(dataclasses.replace(i, matched_by=None, template_spans=()) for i in report.items)
    assert read.documents == tuple(dataclasses.replace(d, spans=(), normalized_spans=d.spans) for d in report.documents)
    for bad in (
        "[]",
        '{"build": "b"}',
        json.dumps({**old, "items": [{"benchmark": "x"}]}),
        json.dumps({**old, "benchmarks": "none"}),
    ):
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(InvalidQuery, match="is not a contamination report"):
            load_report(tmp_path / "bad.json")


def test_kept_reports_are_listed_from_their_summaries_or_read_whole(planted, tmp_path):
    """A kept report is written as `json.dumps` would (element by element), with a summary beside it that the
    bulletin reads; a report kept before summaries existed is read whole, and a broken one is left out."""
    import dataclasses
    import shutil

    from inspector import keep_report, kept_reports

    index, bench_path, _ = planted
    report = check_contamination(index, [open_benchmark(bench_path, fields=["question"])])
    assert report.as_dict() == dataclasses.asdict(report)
    copy = tmp_path / "idx"
    shutil.copytree(index.path, copy, symlinks=True)

    class At:  # keep_report needs only the index's folder
        path = copy

    first = keep_report(At, report)
    second = keep_report(At, report.as_dict())
    assert first.read_text() == json.dumps(report.as_dict(), ensure_ascii=False) == second.read_text()
    listed = kept_reports(At)
    assert sorted(r.path for r in listed) == sorted([str(first), str(second)])
    assert all(r.items == len(report.items) and r.benchmarks == ("planted",) for r in listed)
    second.with_name(second.name + ".summary").unlink()  # as kept before summaries
    (first.parent / "broken.json").write_text("{")
    assert kept_reports(At) == listed


@pytest.mark.slow
def test_a_check_worker_that_dies_is_one_error_and_the_next_check_runs(x_index, tmp_path):
    """The app's worker process killed mid-check (as the kernel would, out of memory): one InspectorError in the
    server; the next check starts a new worker and gives the same report as a check in this process."""
    import gzip
    import multiprocessing
    import os
    import signal
    import threading

    from inspector import CheckWorker, InspectorError, open_index

    heavy = tmp_path / "xs.jsonl.gz"
    heavy.write_bytes(gzip.compress(b'{"question": "x"}\n' * 60_000))
    small = write_items(tmp_path / "b.jsonl", ["x", "xx", "y", "z" * 3])
    worker, said = CheckWorker(), []
    with open_index(x_index) as index:
        started = threading.Event()

        def run():
            try:
                worker.check(index, [(str(heavy), {"fields": ["question"]})], ContaminationParams(),
                             progress=lambda *_: started.set())
            except InspectorError as exc:
                said.append(str(exc))

        thread = threading.Thread(target=run)
        thread.start()
        assert started.wait(120)
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
        thread.join(60)
        assert said and "worker process died" in said[0]
        again = worker.check(index, [(str(small), {"fields": ["text"]})], ContaminationParams())
        here = check_contamination(index, [open_benchmark(small, fields=["text"])]).as_dict()
    assert {k: v for k, v in again.items() if k != "created"} == {k: v for k, v in here.items() if k != "created"}


def test_a_check_worker_killed_while_idle_is_replaced_by_the_next_check(x_index, tmp_path):
    """The Contamination page starts the worker when it opens; killed before any check (as the kernel would, out of
    memory), the first check starts a new one and answers, not a BrokenProcessPool."""
    import multiprocessing
    import os
    import signal

    from inspector import CheckWorker, open_index

    small = write_items(tmp_path / "b.jsonl", ["x", "xx", "y"])
    worker = CheckWorker()
    worker.start()
    for child in multiprocessing.active_children():
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    with open_index(x_index) as index:
        report = worker.check(index, [(str(small), {"fields": ["text"]})], ContaminationParams())
    assert len(report["items"]) == 3


# -- both ways: each item's verdict the worse of exact and normalised matching ---------------------------------------

BOTH_CHARS = "abAB .,\n"  # case, punctuation and line breaks: what normalisation folds


def _disguised(text: str, rng: np.random.Generator) -> str:
    """A copy as the web holds it: re-cased, re-punctuated or re-wrapped, or as it is."""
    kind = int(rng.integers(4))
    if kind == 0:
        return text.swapcase()
    if kind == 1:
        return text.replace(" ", "\n").replace(",", ".")
    return text.replace(".", ", ") if kind == 2 else text


def _flagged_reference(docs: list[list[int]], flagged_grams: dict) -> dict:
    return {d: spans for d, (_, spans) in reference_flagged(docs, flagged_grams).items()}


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.text(alphabet=BOTH_CHARS, min_size=0, max_size=40), min_size=1, max_size=5),
    n=st.integers(1, 6),
    least=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_both_ways_report_the_worse_verdict_against_brute_force(tmp_path_factory, texts, n, least, seed):
    """Each item is measured as exact bytes against the corpus and as normalised text against the normalised
    corpus (both by enumeration, templates of each way apart); the report gives each item the measures of the way
    with the worse verdict (ties: higher coverage, then exact), says which way found it, and lists every document
    either way matches with a dirty or partial item, with each way's spans in its own tokens."""
    from inspector import build_index, open_index
    from inspector.normalize import normalize

    rng = np.random.default_rng(seed)
    folder = tmp_path_factory.mktemp("both")
    items = [_disguised(t, rng) for t in ref.text_queries(texts, rng, BOTH_CHARS, n=10)] + ["", ".,"]
    bench = open_benchmark(f"bench={write_items(folder / 'items.jsonl', items)}", fields=["text"])
    ref.write_two_files(folder / "corpus", texts)
    build_index([folder / "corpus"], folder / "idx", tokenizer="bytes", shard_tokens=int(rng.integers(3, 40)),
                normalized=True, allow_empty=True)
    params = ContaminationParams(n=n, min_match=least, clean_below=0.3, dirty_from=0.7)
    tokenizer = ref.reference_tokenizer("bytes")
    rows = [r.text for r in ref.documents(ref.parquet_rows(folder / "corpus"))]
    ways = {"exact": ([tokenizer.encode(t) for t in rows], [tokenizer.encode(t) for t in items]),
            "normalized": ([tokenizer.encode(normalize(t)) for t in rows],
                           [tokenizer.encode(normalize(t)) for t in items])}
    expected = {}
    for name, (docs, seqs) in ways.items():
        grams = ref.ngrams(docs)
        expected[name] = [reference_item(docs, grams, seq, n, least, template)
                          for seq, template in zip(seqs, reference_templates(seqs, n))]
    def rank(want: dict) -> tuple[int, float]:
        return ("clean", "partial", "dirty").index(want["verdict"]), want["coverage"]

    flagged_grams: dict = {"exact": {}, "normalized": {}}
    with open_index(folder / "idx") as index:
        report = check_contamination(index, [bench], params)
    assert report.mode == "both"
    for i, got in enumerate(report.items):
        per_way = {}
        for name in WAYS:
            want = expected[name][i]
            if want.get("verdict") != "empty":
                want["verdict"] = ("dirty" if want["coverage"] >= 0.7 else "clean" if want["coverage"] < 0.3
                                   else "partial")
                per_way[name] = want
        if not per_way:
            assert got.verdict == "empty"
            continue
        worse = max(per_way, key=lambda name: rank(per_way[name]))  # the first of equals: exact
        want = per_way[worse]
        assert got.verdict == want["verdict"], (got.text, per_way)
        for key in ("ngrams", "ngrams_found", "longest_match"):
            assert getattr(got, key) == want[key], (key, got.text, per_way)
        assert abs(got.coverage - want["coverage"]) < 1e-12
        found = [name for name, w in per_way.items() if w["verdict"] == want["verdict"] and w["least_found"]]
        assert got.matched_by == ("both" if len(found) == 2 else found[0] if found else ""), (got.text, per_way)
        if want["verdict"] != "clean":
            for name, (docs, _) in ways.items():
                if name in per_way:
                    grams = ref.ngrams(docs)
                    flagged_grams[name][f"bench:{i}"] = [g for g in per_way[name]["least_grams"] if g in grams]
    exact = _flagged_reference(ways["exact"][0], flagged_grams["exact"])
    normalized = _flagged_reference(ways["normalized"][0], flagged_grams["normalized"])
    assert {f.doc: (f.spans, f.normalized_spans) for f in report.documents} == {
        d: (exact.get(d, ()), normalized.get(d, ())) for d in exact.keys() | normalized.keys()
    }


# -- an item's first word: spelled alone ("A") or inside running text (" A") -----------------------------------------

FIRST_WORD_DOCS = [
    "We watched the street for an hour. A man is sitting on a roof and waving at us.",
    "Field notes, page two\nThe cat sleeps on the warm mat by the door.",
    "Nothing here is like any item; it is filler text about rivers and bridges.",
]
FIRST_WORD_ITEMS = [
    "A man is sitting on a roof",  # in the corpus only after a space: " A"
    "The cat sleeps on the warm mat",  # only after a line break, which normalised text reads as a space
    "Rivers and bridges were never like this",  # absent
]


@pytest.mark.parametrize("match", ["exact", "normalized", "both"])
def test_a_short_items_first_word_matches_in_both_spellings(tmp_path, match):
    """GPT-2 tokenizes an item alone as "A man ..." and the corpus holds " A man ...": an item of 8 tokens (fewer
    than L, so one match that must occur whole) is found anyway, its evidence marks the item's own words, and the
    document holding it is flagged. The reference is a substring search of the documents' (normalised) text."""
    from inspector import build_index, open_index
    from inspector.normalize import normalize

    from .corpora import write_parquet

    write_parquet(tmp_path / "corpus" / "a.parquet", [{"id": str(i), "text": t} for i, t in enumerate(FIRST_WORD_DOCS)])
    build_index([tmp_path / "corpus"], tmp_path / "idx", normalized=True)
    bench = open_benchmark(f"b={write_items(tmp_path / 'b.jsonl', FIRST_WORD_ITEMS)}", fields=["text"])
    fold = normalize if match == "normalized" else lambda text: text
    every = set()
    with open_index(tmp_path / "idx") as index:
        report = check_contamination(index, [bench], ContaminationParams(match=match))
        for got, text in zip(report.items, FIRST_WORD_ITEMS):
            holders = [d for d, doc in enumerate(FIRST_WORD_DOCS) if fold(text) in fold(doc)]
            every |= set(holders)
            assert (got.verdict == "dirty") == bool(holders), (got.text, got.coverage, got.longest_match)
            if holders:
                assert got.coverage == 1.0 and got.longest_match == got.tokens and got.spans == ((0, len(text)),)
                assert [e.doc for e in got.evidence] == holders
                if got.evidence[0].span is not None:  # exact: the mark is the item's words, not the space before
                    a, b = got.evidence[0].span
                    assert index.document(holders[0]).text[a:b] == text
    assert {f.doc for f in report.documents} == every == {0, 1}


# -- templates: text several items of one benchmark file share ------------------------------------------------------

OPENING = ("For which of these two scenarios does the main character (who uses I/me/my) do something clearly morally "
           "wrong, according to ordinary moral standards in the US as of 2020?")


@pytest.fixture(scope="module")
def templated(tmp_path_factory):
    """An MMLU-like file: 6 items open with one 30-word sentence, 5 share one passage, 5 share nothing; one item
    of each kind is copied into the corpus (real prose: Python's reference documentation), and one corpus page
    quotes the opening sentence alone, as pages listing the benchmark's questions do."""
    from pydoc_data.topics import topics

    from inspector import build_index, open_index

    from .corpora import write_parquet

    folder = tmp_path_factory.mktemp("templated")
    names = sorted(topics)
    held_out = list(dict.fromkeys(p for name in names[40:] for p in _paragraphs(topics[name])))
    sentences = list(dict.fromkeys(s.strip() + "." for p in held_out[20:] for s in p.split(". ") if 60 < len(s) < 200))
    items = [f"{OPENING}\nScenario 1 | {sentences[2 * i]}\nScenario 2 | {sentences[2 * i + 1]}" for i in range(6)]
    items += [f"{held_out[0]}\n\n{sentences[20 + i]}" for i in range(5)]
    items += held_out[1:6]
    shares = ["opening"] * 6 + ["passage"] * 5 + ["none"] * 5
    planted = {0, 6, 11}
    rows = [{"id": name, "text": topics[name]} for name in names[:20]]
    rows += [{"id": f"page-{i}", "text": f"Seen on a quiz site today:\n{items[i]}\nAnswer: (B)"}
             for i in sorted(planted)]
    rows += [{"id": "quotes-the-opening", "text": f"Every question of this test starts so: {OPENING} Then two "
              "scenarios follow."}]
    write_parquet(folder / "corpus" / "a.parquet", rows)
    build_index([folder / "corpus"], folder / "idx", normalized=True)
    bench = write_items(folder / "mmlu-like.jsonl", items)
    with open_index(folder / "idx") as index:
        yield index, bench, items, shares, planted


@pytest.mark.parametrize("count_templates", [False, True], ids=["apart", "counted"])
def test_text_several_items_share_is_template_and_by_default_not_counted(templated, count_templates):
    """Items that share an opening sentence or a passage with an item copied into the corpus are clean, the shared
    text reported apart as template; the copied items are dirty by their own text. A corpus page quoting the opening
    alone is not listed for decontamination. `count_templates` counts the shared text again: then those items come
    back partial or dirty, and the quoting page is listed."""
    index, bench_path, items, shares, planted = templated
    bench = open_benchmark(f"mmlu={bench_path}", fields=["text"])
    report = check_contamination(index, [bench], ContaminationParams(count_templates=count_templates))
    assert report.benchmarks[0].templated == 11
    for i, (got, share) in enumerate(zip(report.items, shares)):
        if share == "none":
            assert not got.template_spans
        else:  # the shared text, from the item's start: the opening sentence, or the passage
            shared = OPENING if share == "opening" else items[6].split("\n\n")[0]
            (start, end), *_ = got.template_spans
            # (normalised text, when that way reports the item, leaves out the final full stop)
            assert start == 0 and len(shared.rstrip(".?")) <= end < len(got.text), (got.template_spans, len(shared))
        if i in planted:
            assert got.verdict == "dirty", (i, got.coverage)
        elif share == "none" or not count_templates:
            assert got.verdict == "clean", (i, share, got.coverage)
        else:
            assert got.verdict in ("partial", "dirty"), (i, share, got.coverage)
    listed = {index.documents.id(f.doc) for f in report.documents}
    assert {f"page-{i}" for i in planted} <= listed
    assert ("quotes-the-opening" in listed) == count_templates
