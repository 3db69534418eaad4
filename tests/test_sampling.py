"""Sampling for spot-checks: bins and populations against the Parquet rows (read back with pyarrow, never from the
catalog), the order of sampling against BLAKE2b computed here, filters, exclusions, reproducibility in a fresh
process, and bad input as one clear error."""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inspector import InvalidQuery, Settings, build_index, open_index, sample
from inspector.cli import main

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["data", "model", "token", "corpus", "quality", "language", "learning", "deep", "shard", "index", "search",
         "annotator", "label"]


def _rows(seed: int = 11, n: int = 160) -> list[dict]:
    rng = random.Random(seed)
    scores = [v / 10_000 for v in rng.sample(range(10_000), n)]  # distinct, so quantile bins have exact sizes
    rows = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 30))]
        if i % 7 == 3:
            words.insert(rng.randint(0, len(words)), "zebra")
        score = scores[i]
        if i % 13 == 5:
            score = None
        elif i % 19 == 2:
            score = float("nan")
        rows.append({
            "id": None if i % 17 == 8 else f"d-{i:04d}",  # documents without an id: keyed by file name and row
            "text": " ".join(words),
            "source": None if i % 23 == 4 else rng.choice(["web", "books", "code"]),
            "score": score,
            "stars": rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 3, 12])[0],  # ties: quantile edges merge
            "odd name": rng.randint(0, 9),
        })
    rows[40]["score"], rows[40]["source"] = float("inf"), "web"
    rows[41]["score"] = float("-inf")
    return rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sampling-corpus")
    rows = _rows()
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
                        ("score", pa.float64()), ("stars", pa.int64()), ("odd name", pa.int32())])
    pq.write_table(pa.Table.from_pylist(rows[:90], schema=schema), folder / "part-000.parquet", row_group_size=16)
    pq.write_table(pa.Table.from_pylist(rows[90:], schema=schema), folder / "part-001.parquet", row_group_size=16)
    return folder


@pytest.fixture(scope="module")
def index_dir(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sampling-index") / "idx"
    build_index([corpus], out)
    return out


@pytest.fixture(scope="module")
def index(index_dir):
    with open_index(index_dir) as opened:
        yield opened


@pytest.fixture(scope="module")
def parquet(corpus) -> list[dict]:
    """The rows as pyarrow reads them back, in document order (sorted files; no text is empty), with their doc
    number, file name and row."""
    docs = []
    for path in sorted(corpus.glob("*.parquet")):
        for row, record in enumerate(pq.read_table(path).to_pylist()):
            docs.append({**record, "doc": len(docs), "file_name": path.name, "row": row})
    return docs


def finite(value) -> bool:
    return value is not None and math.isfinite(value)


def populations(values: list[float], edges: list[float]) -> list[int]:
    """Brute force: low <= v < high per bin, the last bin including its high."""
    last = len(edges) - 2
    return [sum(1 for v in values if edges[b] <= v < edges[b + 1] or (b == last and v == edges[b + 1]))
            for b in range(last + 1)]


def edges_of(result) -> list[float]:
    return [b.low for b in result.bins] + [result.bins[-1].high]


def key(seed: int, record: dict) -> tuple[int, int]:
    identity = record["id"] if record["id"] is not None else f"{record['file_name']}#{record['row']}"
    digest = hashlib.blake2b(seed.to_bytes(8, "big") + identity.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big"), record["doc"]


def test_width_bins_match_the_parquet_rows(index, parquet):
    got = sample(index, "score", bins=4, binning="width", per_bin=3)
    values = [r["score"] for r in parquet if finite(r["score"])]
    lo, hi = min(values), max(values)
    expected = [lo + (hi - lo) * i / 4 for i in range(4)] + [hi]
    assert edges_of(got) == expected
    assert [b.population for b in got.bins] == populations(values, expected)
    assert sum(b.population for b in got.bins) == len(values)  # the maximum is in the last bin
    assert got.bins[-1].high == hi and any(v == hi for v in values)
    assert got.matched == len(parquet)
    assert got.missing_scores == len(parquet) - len(values) == sum(1 for r in parquet if not finite(r["score"])) > 4
    by_doc = {r["doc"]: r for r in parquet}
    assert [b.sampled for b in got.bins] == [min(3, b.population) for b in got.bins]
    for d in got.documents:
        b = got.bins[d.bin]
        assert d.score == by_doc[d.doc]["score"] and d.id == by_doc[d.doc]["id"]
        assert d.source == by_doc[d.doc]["source"] and d.row == by_doc[d.doc]["row"]
        assert b.low <= d.score < b.high or (d.bin == len(got.bins) - 1 and d.score == b.high)


@pytest.mark.parametrize("bins", [3, 6, 7, 10])
def test_quantile_bins_match_the_parquet_rows(index, parquet, bins):
    got = sample(index, "score", bins=bins, binning="quantile", per_bin=2)
    values = sorted(r["score"] for r in parquet if finite(r["score"]))
    n = len(values)
    expected = [values[(i * n) // bins] for i in range(bins)] + [values[-1]]
    assert edges_of(got) == expected
    assert [b.population for b in got.bins] == populations(values, expected)
    # distinct scores: bin i holds exactly the ranks (i*n)//bins .. ((i+1)*n)//bins - 1 (the last also the maximum)
    assert [b.population for b in got.bins] == [((i + 1) * n) // bins - (i * n) // bins for i in range(bins)]
    assert got.missing_scores == len(parquet) - n


def test_quantile_ties_merge_bins_and_integer_scores(index, parquet):
    got = sample(index, "stars", bins=5, binning="quantile", per_bin=1)
    values = sorted(r["stars"] for r in parquet)
    n = len(values)
    raw = [values[(i * n) // 5] for i in range(5)] + [values[-1]]
    merged = sorted(set(raw))
    assert len(merged) < len(raw)  # the fixture's ties do merge edges
    assert edges_of(got) == merged and got.requested_bins == 5 and len(got.bins) == len(merged) - 1
    assert [b.population for b in got.bins] == populations(values, merged)
    assert all(isinstance(d.score, int) for d in got.documents)
    fives = sum(1 for v in values if v == 5)
    one = sample(index, "stars", where="stars = 5", bins=3)  # all scores equal: one bin [5, 5]
    assert [(b.low, b.high, b.population) for b in one.bins] == [(5, 5, fives)]



def test_cli_says_when_ties_merged_bins(index_dir):
    args = ["sample", str(index_dir), "--score", "stars", "--bins", "5", "--binning", "quantile"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0 and "(5 asked for; equal edges merged)" in result.stdout.splitlines()[0]


def test_where_restricts_exactly(index, parquet):
    got = sample(index, "score", bins=3, per_bin=200, where="source = 'web' AND score >= 0.25")
    passing = [r for r in parquet if r["source"] == "web" and r["score"] is not None and not math.isnan(r["score"])
               and r["score"] >= 0.25]
    assert got.matched == len(passing) == index.search("", where=got.where, limit=1).total
    assert got.missing_scores == sum(1 for r in passing if not finite(r["score"])) == 1  # the +inf row
    assert {d.doc for d in got.documents} == {r["doc"] for r in passing if finite(r["score"])}
    # != keeps documents without a value, as search does; a quoted column name with a space works
    other = sample(index, "odd name", per_bin=500, where='source != \'web\' AND "odd name" < 5')
    passing = [r for r in parquet if r["source"] != "web" and r["odd name"] < 5]
    assert any(r["source"] is None for r in passing)
    assert other.matched == len(passing) and {d.doc for d in other.documents} == {r["doc"] for r in passing}


def test_query_restricts_to_documents_with_the_term(index, index_dir, parquet):
    got = sample(index, "score", bins=2, per_bin=500, query="zebra")
    holding = [r for r in parquet if "zebra" in re.findall(r"[a-z0-9]+", r["text"].lower())]
    assert 10 < len(holding) < len(parquet)
    assert got.matched == len(holding)
    assert {d.doc for d in got.documents} == {r["doc"] for r in holding if finite(r["score"])}
    both = sample(index, "score", per_bin=500, query="zebra", where="source = 'code'")
    code = {r["doc"] for r in holding if finite(r["score"]) and r["source"] == "code"}
    assert {d.doc for d in both.documents} == code
    capped = Settings(max_sample_query_matches=len(holding) - 1)
    with open_index(index_dir, settings=capped) as opened, pytest.raises(InvalidQuery, match="limit is"):
        sample(opened, "score", query="zebra")


def test_sampling_order_is_blake2b_of_seed_and_identity(index, parquet):
    got = sample(index, "score", bins=3, per_bin=4, seed=12345)
    values = [r for r in parquet if finite(r["score"])]
    edges = edges_of(got)
    for b in got.bins:
        members = [r for r in values if populations([r["score"]], edges)[b.bin]]
        expected = [r["doc"] for r in sorted(members, key=lambda r: key(12345, r))[:4]]
        assert [d.doc for d in got.documents if d.bin == b.bin] == expected
    assert any(d.id is None for d in sample(index, "score", bins=1, per_bin=200).documents)  # file#row keys used


def test_same_seed_same_sample_also_in_a_fresh_process(index, index_dir):
    first = sample(index, "score", bins=4, binning="quantile", per_bin=5, seed=7, where="stars >= 3")
    assert sample(index, "score", bins=4, binning="quantile", per_bin=5, seed=7, where="stars >= 3") == first
    other = sample(index, "score", bins=4, binning="quantile", per_bin=5, seed=8, where="stars >= 3")
    assert [d.doc for d in other.documents] != [d.doc for d in first.documents]
    assert other.bins == first.bins
    env = {**os.environ, "PYTHONHASHSEED": "4321"}
    out = subprocess.run(
        [sys.executable, "-m", "inspector", "sample", str(index_dir), "--score", "score", "--bins", "4", "--binning",
         "quantile", "--per-bin", "5", "--seed", "7", "--where", "stars >= 3", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(first.as_dict()))


def test_excluded_documents_are_left_out_and_bins_stay(index):
    first = sample(index, "score", bins=3, per_bin=4, seed=3)
    taken = [d.doc for d in first.documents]
    again = sample(index, "score", bins=3, per_bin=4, seed=3, exclude_docs=taken)
    assert not set(taken) & {d.doc for d in again.documents}
    assert [(b.low, b.high, b.population) for b in again.bins] == [(b.low, b.high, b.population) for b in first.bins]
    assert [b.excluded for b in again.bins] == [b.sampled for b in first.bins] and again.excluded == len(taken)
    # the next ones in the same order: together they are the sample of 8 per bin
    eight = sample(index, "score", bins=3, per_bin=8, seed=3)
    for b in range(3):
        assert [d.doc for d in eight.documents if d.bin == b] == [
            d.doc for s in (first, again) for d in s.documents if d.bin == b
        ]


def test_uniform_sample(index, parquet):
    got = sample(index, per_bin=25, seed=1, where="source = 'books'")
    books = [r for r in parquet if r["source"] == "books"]
    assert got.score is None and got.missing_scores == 0 and got.matched == len(books)
    assert [(b.low, b.high, b.population, b.sampled) for b in got.bins] == [(None, None, len(books), 25)]
    expected = [r["doc"] for r in sorted(books, key=lambda r: key(1, r))[:25]]
    assert [d.doc for d in got.documents] == expected
    with pytest.raises(InvalidQuery, match="bins need a score"):
        sample(index, bins=3)


def test_no_scored_document_gives_no_bins(index, parquet):
    got = sample(index, "score", where="score > 1000")  # only +inf passes
    assert got.bins == () and got.documents == () and got.matched == got.missing_scores == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": "nope"}, "is not a numeric column of the corpus; the numeric columns are: "),
        ({"score": "source"}, "not a numeric column"),
        ({"score": "score", "bins": 0}, "bins must be between 1 and 100"),
        ({"score": "score", "bins": 101}, "bins must be between 1 and 100"),
        ({"score": "score", "bins": 2.5}, "bins must be an integer"),
        ({"score": "score", "per_bin": 0}, "per_bin must be between 1 and 10,000"),
        ({"score": "score", "per_bin": 10_001}, "per_bin must be between 1 and 10,000"),
        ({"score": "score", "seed": -1}, "seed must be between 0"),
        ({"score": "score", "seed": 2**63}, "seed must be between 0"),
        ({"score": "score", "binning": "log"}, "binning must be one of width, quantile"),
        ({"score": "score", "where": "nope > 1"}, "no column 'nope' in the catalog; the columns are: doc, file"),
        ({"score": "score", "where": '"score; DROP TABLE documents" > 1'}, "no column"),
        ({"score": "score", "where": "score >> 1"}, "cannot read a condition"),
        ({"score": "score", "where": "source < 'web'"}, "holds text: compare it with = or !="),
        ({"score": "score", "where": "stars > 2.5"}, "holds integers"),
        ({"score": "score", "where": "score > abc"}, "holds numbers"),
        ({"score": "score", "query": "(" * 40 + "zebra"}, "nests parentheses"),
        ({"score": "score", "exclude_docs": ["3"]}, "exclude_docs must hold document numbers"),
    ],
)
def test_bad_input_is_one_clear_error(index, kwargs, message):
    with pytest.raises(InvalidQuery, match=re.escape(message)) as raised:
        sample(index, **kwargs)
    if "numeric columns are" in message:  # the corpus's numeric columns, and no text column
        listed = str(raised.value).split("numeric columns are: ")[1].split(", ")
        assert {"score", "stars", "odd name"} <= set(listed) and "source" not in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--score", "nope"], "is not a numeric column of the corpus; the numeric columns are: "),
        (["--score", "score", "--bins", "0"], "bins must be between 1 and 100"),
        (["--score", "score", "--per-bin", "x"], "'x' is not a valid integer"),
        (["--score", "score", "--binning", "log"], "'log' is not one of 'width', 'quantile'"),
        (["--score", "score", "--seed", str(2**63)], "seed must be between 0"),
        (["--score", "score", "--where", "nope = 1"], "no column 'nope'"),
    ],
)
def test_cli_bad_input_is_one_line_and_rc_2(index_dir, args, message):
    result = CliRunner().invoke(main, ["sample", str(index_dir), *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_cli_json_and_table(index, index_dir):
    args = ["sample", str(index_dir), "--score", "score", "--bins", "3", "--per-bin", "2", "--seed", "5"]
    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    api = sample(index, "score", bins=3, per_bin=2, seed=5)
    assert got == json.loads(json.dumps(api.as_dict()))
    assert set(got["bins"][0]) >= {"bin", "low", "high", "population", "sampled"}
    assert set(got["documents"][0]) >= {"doc", "bin", "score", "id", "source"}
    table = CliRunner().invoke(main, args, catch_exceptions=False)
    assert table.exit_code == 0
    assert f"{api.matched:,} documents match; {api.missing_scores:,} without a score" in table.stdout
    for d in api.documents:
        assert f"doc {d.doc} " in table.stdout


def test_cli_leaves_out_what_a_task_has_labelled(index, index_dir):
    """`--task T`: the documents labelled in T are left out, the bins stay put, and the next ones come instead."""
    from inspector import add_label, create_task

    first = sample(index, "score", bins=3, per_bin=2, seed=5)
    task = create_task(index, "cli-exclude", [d.doc for d in first.documents], scheme="keep-drop")
    for d in first.documents[:2]:
        add_label(index, task.name, d.doc, "ann", "keep")
    args = ["sample", str(index_dir), "--score", "score", "--bins", "3", "--per-bin", "2", "--seed", "5"]
    result = CliRunner().invoke(main, [*args, "--task", "cli-exclude", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    want = sample(index, "score", bins=3, per_bin=2, seed=5, exclude_docs=[d.doc for d in first.documents[:2]])
    assert got == json.loads(json.dumps(want.as_dict()))
    assert not {d.doc for d in first.documents[:2]} & {d["doc"] for d in got["documents"]}
    assert [b["population"] for b in got["bins"]] == [b.population for b in first.bins]
