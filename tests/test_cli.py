"""The CLI: every command answers in JSON with the API's numbers; bad input is one line on stderr and exit code 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inspector.cli import main


def run(*args) -> dict:
    result = CliRunner().invoke(main, [*map(str, args), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_command_has_help():
    for name, command in main.commands.items():
        assert command.help, name
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0


def test_count_ntd_prob_infgram_match_the_api(index_dir, index):
    got = run("count", index_dir, "data model")
    assert got["count"] == index.count("data model").count > 0
    spaced = got["variants"][0]
    assert got["approx"] is False and spaced["tokens"] == [" data", " model"]
    assert got["count"] == sum(v["count"] for v in got["variants"])
    by_ids = run("count", index_dir, "", "--ids", ",".join(map(str, spaced["ids"])))
    assert by_ids["count"] == got["variants"][0]["count"]
    dist = run("ntd", index_dir, "data", "--top", "3")
    assert len(dist["next_tokens"]) == 3 and dist["prompt_count"] == index.count("data").count
    p = run("prob", index_dir, "data", "model")
    assert p["prob"] == pytest.approx(index.count("data model").count / index.count("data").count)
    inf = run("infgram", index_dir, "deep learning model")
    assert [t["token"] for t in inf["tokens"]] == ["deep", " learning", " model"]


def test_find_and_doc(index_dir, index):
    got = run("find", index_dir, "purple elephant AND (umbrella OR zebra)", "--limit", "5")
    assert got["count"] == 1 and got["documents"][0]["doc"] == 3
    ids = ",".join(map(str, index.tokenizer.encode(" purple elephant")))
    assert [d["doc"] for d in run("find", index_dir, "--ids", ids)["documents"]] == [3]
    hit = got["documents"][0]
    assert hit["id"] == "doc-003" and hit["snippet"]["match"] == " zebra"  # the first match in the document
    doc = run("doc", index_dir, 3)
    assert doc["doc"] == 3 and "purple elephant umbrella" in doc["text"]
    spans = [doc["text"][m["char_start"] : m["char_end"]] for m in hit["matches"]]
    assert spans == [" zebra", " purple elephant", " umbrella"]
    assert doc["metadata"]["url"] == "https://example.org/3"


def test_non_ascii_offsets_are_characters(index_dir):
    got = run("find", index_dir, "natural language")
    hit = next(h for h in got["documents"] if h["id"] == "doc-020")
    text = run("doc", index_dir, hit["doc"])["text"]
    m = hit["matches"][0]
    assert text[m["char_start"] : m["char_end"]] == " natural language"


def test_info_and_build(tmp_path, corpus_dir):
    built = run("build", corpus_dir, "--out", tmp_path / "i", "--tokenizer", "bytes")
    info = run("info", tmp_path / "i", "--verify")
    assert info["documents"] == built["documents"] == 59 and info["tokenizer"] == "bytes"
    assert info["tokens"] == built["tokens"] == run("count", tmp_path / "i", "")["count"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["count", "{missing}", "x"], "no index at"),
        (["count", "{index}", "x", "--ids", "1,zz"], "--ids item 2 ('zz') is not an integer"),
        (["count", "{index}", "x", "--ids", "99999999"], "outside this index's tokenizer range"),
        (["find", "{index}", "a AND (b"], "unbalanced parenthesis"),
        (["doc", "{index}", "100000"], "document 100000 does not exist"),
        (["build", "{missing}", "--out", "{missing}"], "no such file or folder"),
        # each of these aborted or crashed the process inside Tantivy (allocation of limit + offset, stack depth)
        (["search", "{index}", "data", "--offset", "1000000000000"], "offset must be between 0 and 100,000"),
        (["search", "{index}", "data", "--limit", "0"], "limit must be between 1 and 1,000"),
        (["search", "{index}", "(" * 3000], "nests parentheses 3000 deep; the limit is 16"),
        (["search", "{index}", "data", "--where", "(" * 3000 + "a = 1"], "filter nests parentheses 3000 deep"),
        (["search", "{index}", "x" * 5000], "the search query has 5,000 characters; the limit is 4,000"),
        (["find", "{index}", "(" * 3000], "nests parentheses 3000 deep"),
        (["count", "/tmp/" + "x" * 5000, "a"], "no index at"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(index_dir, tmp_path, args, message):
    args = [a.format(index=index_dir, missing=tmp_path / "nope") for a in args]
    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr
