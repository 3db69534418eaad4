"""The demo corpus is the same on every machine (its texts ship with the package), and still has what every page
shows: metadata to break it down by, a quality score, a normalised index, planted HumanEval copies to find."""
from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from inspector import build_demo, check_contamination, open_benchmarks
from inspector.demo import write_demo_corpus

#: the demo as every machine builds it: the README's figures (`inspector stats data/demo/index`, ...) come from it
DOCUMENTS = 508
TEXTS_SHA256 = "11cbd378faf5112908cdd57ce520545d831f64519ddf7be65defc64e4f4c2607"


def corpus_rows(folder) -> list[dict]:
    """Every row of the Parquet shards written in `folder`, in the demo's document order (round-robin shards)."""
    shards = [pq.read_table(path).to_pylist() for path in sorted(folder.glob("*.parquet"))]
    return [shard[i] for i in range(max(map(len, shards))) for shard in shards if i < len(shard)]


def texts_sha256(rows: list[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row["text"].encode() + b"\0")
    return digest.hexdigest()


def test_the_demo_corpus_is_the_same_on_every_machine(tmp_path):
    write_demo_corpus(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "demo-07.parquet").write_bytes((tmp_path / "a" / "demo-00.parquet").read_bytes())  # a stale one
    write_demo_corpus(tmp_path / "b")
    first, second = corpus_rows(tmp_path / "a"), corpus_rows(tmp_path / "b")
    assert first == second
    assert len(first) == DOCUMENTS and texts_sha256(first) == TEXTS_SHA256
    assert {row["source"] for row in first} == {"pydoc-topic", "python-docstring", "python-source", "license",
                                                "planted-forum"}


@pytest.mark.slow
def test_the_demo_index_has_what_every_page_shows(tmp_path):
    report = build_demo(tmp_path)
    assert report.documents == DOCUMENTS
    from inspector import open_index

    index = open_index(tmp_path / "index")
    assert index.n_documents == DOCUMENTS
    columns = index.filter_columns()
    assert {"source", "language", "title"} <= set(columns) and columns["quality"] == "float"
    assert {g.value for g in index.stats().facets["source"]} >= {"planted-forum", "license", "python-source"}
    assert index.normalized_engine.shards  # built with normalised text: re-cased, re-wrapped copies are found
    verdicts = {item.id: item.verdict for item in check_contamination(index, open_benchmarks(["humaneval"])).items}
    assert all(verdicts[f"HumanEval/{n}"] == "dirty" for n in range(0, 164, 16))  # the verbatim copies
