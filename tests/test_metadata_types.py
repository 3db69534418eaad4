"""Metadata of every Arrow type: the build indexes it; stats, sample, search and the app's pages show it, filter it, or
say why a column is left out; never a traceback. Numbers are checked against a brute force over the Parquet rows."""
from __future__ import annotations

import datetime
import decimal
import json
import math
import random
from fractions import Fraction

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inspector import build_index
from inspector.cli import main
from inspector.sampling import width_edges

from .pages import no_trouble, open_page

N = 40
WORDS = ["data", "model", "token", "corpus", "quality", "score", "language", "learning", "deep", "shard", "index",
         "search"]
FLOATS = [1e308, -1e308, math.inf, -math.inf, math.nan, None]  # then ordinary ones
#: the columns no filter takes (nested, binary, no values), and those the statistics leave out (those and dates)
UNFILTERABLE = {"lst", "lnum", "fsl", "st", "mp", "lstruct", "bin", "fbin", "nul"}
NO_STATISTICS = UNFILTERABLE | {"ts", "ts_tz", "day", "tod", "dur"}
NUMERIC = ["i64", "i8", "u64", "f64", "f32", "f16", "big", "dec", "dec256", "allnull"]


def _table() -> pa.Table:
    rng = random.Random(19)
    floats = FLOATS + [round(rng.uniform(-5, 5), 3) for _ in range(N - len(FLOATS))]
    start = datetime.datetime(2020, 1, 1)
    return pa.table({
        "text": [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(N)],
        "id": [f"row-{i:02d}" for i in range(N)],
        "i64": pa.array([None if i % 7 == 0 else rng.randint(-50, 50) for i in range(N)], pa.int64()),
        "i8": pa.array([i % 5 - 2 for i in range(N)], pa.int8()),
        "u64": pa.array([2**64 - 1 if i == 3 else i for i in range(N)], pa.uint64()),
        "f64": pa.array(floats, pa.float64()),
        "f32": pa.array([math.inf if i == 1 else math.nan if i == 2 else i / 4 for i in range(N)], pa.float32()),
        "f16": pa.array([i / 2 for i in range(N)], pa.float16()),
        "big": pa.array([1e308 if i % 3 else -1e308 for i in range(N)], pa.float64()),
        "dec": pa.array([decimal.Decimal(i * 7) / 4 for i in range(N)], pa.decimal128(12, 3)),
        "dec256": pa.array([decimal.Decimal(i) / 8 for i in range(N)], pa.decimal256(40, 3)),
        "flag": pa.array([None if i % 11 == 0 else i % 3 == 0 for i in range(N)], pa.bool_()),
        "s": pa.array([rng.choice(["web", "books", None]) for _ in range(N)], pa.string()),
        "ls": pa.array([rng.choice(["en", "de"]) for _ in range(N)], pa.large_string()),
        "sv": pa.array([rng.choice(["a", "b"]) for _ in range(N)], pa.string_view()),
        "dict": pa.array([rng.choice(["x", "y", "z"]) for _ in range(N)]).dictionary_encode(),
        "ts": pa.array([start + datetime.timedelta(hours=i) for i in range(N)], pa.timestamp("us")),
        "ts_tz": pa.array([start.replace(tzinfo=datetime.UTC) + datetime.timedelta(days=i) for i in range(N)],
                          pa.timestamp("ms", tz="UTC")),
        "day": pa.array([datetime.date(2021, 1, 1) + datetime.timedelta(days=i % 4) for i in range(N)], pa.date32()),
        "tod": pa.array([datetime.time(i % 24, 30) for i in range(N)], pa.time64("us")),
        "dur": pa.array([datetime.timedelta(seconds=i) for i in range(N)], pa.duration("s")),
        "lst": pa.array([[rng.choice(WORDS)] * (i % 3) for i in range(N)], pa.list_(pa.string())),
        "lnum": pa.array([[i, i + 1] for i in range(N)], pa.list_(pa.int64())),
        "fsl": pa.array([[i / 2, 1.0] for i in range(N)], pa.list_(pa.float64(), 2)),
        "st": pa.array([{"a": i, "b": "x"} for i in range(N)]),
        "mp": pa.array([[("k", i)] for i in range(N)], pa.map_(pa.string(), pa.int64())),
        "lstruct": pa.array([[{"a": 1.5}]] * N, pa.list_(pa.struct([("a", pa.float16())]))),
        "bin": pa.array([bytes([i]) for i in range(N)], pa.binary()),
        "fbin": pa.array([bytes([i, i]) for i in range(N)], pa.binary(2)),
        "nul": pa.nulls(N),
        "allnull": pa.array([None] * N, pa.float64()),
    })


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    """(index folder, build report, the rows as Python values): one Parquet file, one column of each type."""
    folder = tmp_path_factory.mktemp("typed")
    table = _table()
    pq.write_table(table, folder / "typed.parquet")
    report = build_index([folder / "typed.parquet"], folder / "index", shard_tokens=500)
    return folder / "index", report, table.to_pylist()  # rows in doc order: no text is empty


def finite(rows, column) -> list[float]:
    values = [None if r[column] is None else float(r[column]) for r in rows]
    return [v for v in values if v is not None and math.isfinite(v)]


def cli(*args) -> dict:
    result = CliRunner().invoke(main, [*map(str, args), "--json"])
    assert result.exit_code == 0 and result.exception is None, (result.output, result.exception)
    return json.loads(result.stdout)


def cli_error(*args) -> str:
    result = CliRunner().invoke(main, list(map(str, args)))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")
    return result.output


def test_the_build_says_which_columns_no_filter_takes(typed):
    _, report, _ = typed
    assert report.documents == N
    assert {note.split(" ")[0] for note in report.skipped_columns} == UNFILTERABLE
    assert "lnum (list<element: int64>): nested" in report.skipped_columns
    assert "nul (null): no values" in report.skipped_columns


def test_stats_of_every_type_match_a_brute_force(typed):
    out, _, rows = typed
    stats = cli("stats", out)
    assert set(stats["skipped"]) == NO_STATISTICS
    assert stats["skipped"]["lnum"] == "BIGINT[], nested, not filterable"
    assert set(NUMERIC) <= set(stats["distributions"])
    for column in NUMERIC:
        d, values = stats["distributions"][column], finite(rows, column)
        non_finite = sum(1 for r in rows if r[column] is not None and not math.isfinite(float(r[column])))
        assert (d["count"], d["non_finite"]) == (len(values), non_finite), column
        if values:
            assert (d["min"], d["max"]) == (min(values), max(values)), column
            exact = float(sum(map(Fraction, values)) / len(values))
            assert math.isclose(d["mean"], exact, rel_tol=1e-12), column
            edges = d["bin_edges"]
            assert all(math.isfinite(e) for e in edges) and edges == sorted(edges), column
            assert (edges[0], edges[-1]) == (min(values), max(values)) or min(values) == max(values)
            assert sum(d["bin_counts"]) == len(values)
    assert stats["distributions"]["f64"]["non_finite"] == 3  # inf, -inf, nan (the null is no value)
    big = stats["distributions"]["big"]  # two values 2e308 apart: the first and the last bin
    assert (big["bin_counts"][0], big["bin_counts"][-1]) == (sum(1 for r in rows if r["big"] < 0),
                                                             sum(1 for r in rows if r["big"] > 0))
    flag = {g["value"]: g["documents"] for g in stats["facets"]["flag"]}
    assert flag == {v: sum(1 for r in rows if r["flag"] == v) for v in (True, False, None)}
    assert {g["value"]: g["documents"] for g in stats["facets"]["dict"]} == {
        v: sum(1 for r in rows if r["dict"] == v) for v in "xyz"}
    assert CliRunner().invoke(main, ["stats", str(out)]).exit_code == 0  # and in words


@pytest.mark.parametrize("column", NUMERIC)
def test_sample_by_every_numeric_column(typed, column):
    out, _, rows = typed
    got = cli("sample", out, "--score", column, "--bins", 5, "--per-bin", 3)
    values = finite(rows, column)
    assert got["missing_scores"] == N - len(values)
    edges = [b["low"] for b in got["bins"]] + [got["bins"][-1]["high"]] if got["bins"] else []
    assert all(math.isfinite(e) for e in edges)
    for i, b in enumerate(got["bins"]):  # each bin's population, counted from the Parquet values
        last = i == len(got["bins"]) - 1
        assert b["population"] == sum(1 for v in values if b["low"] <= v and (v < b["high"] or last and v == b["high"]))
    for d in got["documents"]:
        assert d["score"] == pytest.approx(float(rows[d["doc"]][column]))


def test_width_bins_over_the_whole_float_range(typed):
    out, _, rows = typed
    got = cli("sample", out, "--score", "big", "--bins", 4)
    assert [(b["low"], b["high"]) for b in got["bins"]] == [(-1e308, -5e307), (-5e307, 0.0), (0.0, 5e307),
                                                           (5e307, 1e308)]
    assert [b["population"] for b in got["bins"]] == [sum(1 for r in rows if r["big"] < 0), 0, 0,
                                                     sum(1 for r in rows if r["big"] > 0)]


def test_width_edges_near_the_largest_double():
    edges = width_edges(-1.7e308, 1.7e308, 5)
    assert all(math.isfinite(e) for e in edges) and edges == sorted(edges) and edges[-1] == 1.7e308
    assert [e / 1e307 for e in edges] == pytest.approx([-17, -10.2, -3.4, 3.4, 10.2, 17])


FILTERS = [
    ("f64 >= 0", lambda r: r["f64"] is not None and r["f64"] == r["f64"] and r["f64"] >= 0),
    ("f64 < -1", lambda r: r["f64"] is not None and r["f64"] == r["f64"] and r["f64"] < -1),
    ("big < 0", lambda r: r["big"] < 0),
    ("f32 > 5", lambda r: r["f32"] == r["f32"] and r["f32"] > 5),
    ("u64 >= 30", lambda r: r["u64"] >= 30),
    ("dec > 20.5", lambda r: r["dec"] > decimal.Decimal("20.5")),
    ("dec256 <= 1", lambda r: r["dec256"] <= 1),
    ("f16 > 15", lambda r: r["f16"] > 15),
    ("i8 = -2", lambda r: r["i8"] == -2),
    ("flag = 1", lambda r: r["flag"] is True),
    ("dict = 'y'", lambda r: r["dict"] == "y"),
    ("sv = 'a'", lambda r: r["sv"] == "a"),
    ("ls = 'de'", lambda r: r["ls"] == "de"),
    ("day = '2021-01-03'", lambda r: r["day"] == datetime.date(2021, 1, 3)),
    ("ts = '2020-01-01 05:00:00'", lambda r: r["ts"] == datetime.datetime(2020, 1, 1, 5)),
]


@pytest.mark.parametrize("where,keep", FILTERS, ids=[f[0] for f in FILTERS])
def test_search_and_sample_filters_match_a_brute_force(typed, where, keep):
    out, _, rows = typed
    expected = [i for i, r in enumerate(rows) if keep(r)]
    found = cli("search", out, "--where", where, "--limit", 1000)
    assert sorted(h["doc"] for h in found["hits"]) == expected and found["total"] == len(expected)
    assert cli("sample", out, "--where", where, "--per-bin", N)["matched"] == len(expected)


@pytest.mark.parametrize("column", sorted(UNFILTERABLE))
def test_a_filter_on_a_column_without_one_is_one_line(typed, column):
    out, _, _ = typed
    assert f"no filterable column {column!r}" in cli_error("search", out, "--where", f"{column} = 1")
    assert f"column {column!r} holds" in cli_error("sample", out, "--where", f"{column} = 1")


@pytest.mark.slow
def test_the_pages_show_every_type(typed, monkeypatch):
    out, _, rows = typed
    at = open_page(out, monkeypatch, "overview")
    no_trouble(at)
    assert any("Columns without statistics" in c.value and "lnum" in c.value for c in at.caption)
    for column in at.selectbox(key="facet_column").options:
        no_trouble(at.selectbox(key="facet_column").set_value(column).run())
    for column in at.selectbox(key="distribution_column").options:
        no_trouble(at.selectbox(key="distribution_column").set_value(column).run())

    at = open_page(out, monkeypatch, "search", f_big="0..", f_u64="10..")
    no_trouble(at)
    expected = sum(1 for r in rows if r["big"] >= 0 and r["u64"] >= 10)
    assert at.metric[0].value == f"{expected:,}"
    sliders, boxes = {s.key for s in at.slider}, {n.key for n in at.number_input}
    assert {"filter_f64", "filter_big", "filter_u64"}.isdisjoint(sliders) and "filter_f32" in sliders  # ±1e308, 2**64
    assert {"filter_f64_min", "filter_big_max"} <= boxes and "filter_u64_min" not in boxes
    at = open_page(out, monkeypatch, "search", f_i64=f"{-2**60}..{2**60}")  # bounds past what a number box holds
    no_trouble(at)
    assert at.metric[0].value == str(sum(1 for r in rows if r["i64"] is not None))
    for column in ("f64", "u64", "big", "dec", "f16"):
        no_trouble(open_page(out, monkeypatch, "search", sort=f"-{column}"))

    for column in NUMERIC:
        no_trouble(open_page(out, monkeypatch, "sample", score=column, bins="5", per_bin="2"))
    at = open_page(out, monkeypatch, "sample", score="f64", where="lnum = 1")
    assert not at.exception and "lnum" in at.error[0].value and "only numbers, text" in at.error[0].value
