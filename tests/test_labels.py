"""Annotation tasks and labels (inspector.labels): the store beside the index, identity through rebuilds,
durability (kill -9 of the writer), concurrency (threads, another process), history, stats, export and the CLI."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inspector import build_index, open_index
from inspector import labels as L
from inspector.cli import main

from .corpora import sample_rows, write_parquet

ROOT = Path(__file__).resolve().parents[1]


def _build(corpus: Path, out: Path) -> None:
    build_index([corpus], out, shard_tokens=300, fulltext=False)


@pytest.fixture()
def index(tmp_path):
    rows = sample_rows()
    write_parquet(tmp_path / "corpus" / "part-000.parquet", rows[:30])
    write_parquet(tmp_path / "corpus" / "part-001.parquet", rows[30:])
    _build(tmp_path / "corpus", tmp_path / "idx")
    opened = open_index(tmp_path / "idx")
    yield opened
    L.close_store(opened)
    opened.close()


def test_store_lives_beside_the_index_outside_every_build(index):
    task = L.create_task(index, "where", [1, 2], scheme="keep-drop")
    assert L.labels_path(index) == index.path / "labels.duckdb"
    assert (index.path / "labels.duckdb").exists()
    assert not list(index.build.glob("labels*"))
    assert task.build == index.build.name and task.items == 2


def test_task_keeps_scheme_guideline_sample_and_identities(index):
    docs, scores = [5, 2, 40], [0.9, 0.1, 0.5]
    task = L.create_task(index, "edu", docs, scores, scheme="ordinal:0-5", guideline="5: a textbook page",
                         sample_args={"seed": 3, "per_bin": 1}, second_pass=True, score_name="quality")
    again = L.get_task(index, "edu")
    assert again == task
    assert (task.scheme.kind, task.scheme.values) == ("ordinal", (0, 1, 2, 3, 4, 5))
    assert task.guideline == "5: a textbook page"
    assert (task.sample, task.score_name, task.second_pass) == ({"seed": 3, "per_bin": 1}, "quality", True)
    items = L.resolve(index, task)
    assert [i.doc for i in items] == docs and [i.score for i in items] == scores
    for item in items:
        d = index.documents
        assert (item.file, item.row, item.id, item.text_crc, item.status) == (
            d.file(item.doc), d.row(item.doc), d.id(item.doc), d.text_crc(item.doc), "ok")
    assert [t.name for t in L.tasks(index)] == ["edu"]


def test_a_sample_object_or_its_json_makes_a_task(index):
    class SampledDocument:
        def __init__(self, doc, score):
            self.doc, self.score = doc, score

    class Sample:  # the shape of inspector.sampling.Sample
        documents = (SampledDocument(7, 0.25), SampledDocument(3, 0.75))

        def as_dict(self):
            documents = [{"doc": d.doc, "score": d.score} for d in self.documents]
            return {"score": "quality", "seed": 1, "documents": documents}

    task = L.create_task(index, "sampled", Sample())
    assert [(i.doc, i.score) for i in L.resolve(index, task)] == [(7, 0.25), (3, 0.75)]
    assert task.score_name == "quality" and task.sample == {"score": "quality", "seed": 1}
    task2 = L.create_task(index, "from-json", Sample().as_dict())
    assert [(i.doc, i.score) for i in L.resolve(index, task2)] == [(7, 0.25), (3, 0.75)]


def test_a_sample_from_the_sampler_makes_a_task_and_labelled_documents_leave_the_next(index):
    from inspector import sample

    drawn = sample(index, "quality", bins=3, per_bin=2, seed=1)
    task = L.create_task(index, "drawn", drawn)
    assert [(i.doc, i.score) for i in L.resolve(index, task)] == [(d.doc, d.score) for d in drawn.documents]
    assert task.score_name == "quality" and task.sample["seed"] == 1
    first = drawn.documents[0].doc
    L.add_label(index, task, first, "ann", "keep")
    assert L.labelled_docs(index) == (first,)
    again = sample(index, "quality", bins=3, per_bin=2, seed=1, exclude_docs=L.labelled_docs(index))
    assert first not in [d.doc for d in again.documents]


def test_relabel_keeps_history(index):
    L.create_task(index, "rel", [1, 2, 3])
    L.add_label(index, "rel", 1, "ann", "keep")
    L.add_label(index, "rel", 1, "ann", "drop", note="looked again")
    L.add_label(index, "rel", 2, "ann", "keep")
    current = L.current_labels(index, "rel")
    assert sorted((c.doc, c.label) for c in current) == [(1, "drop"), (2, "keep")]
    history = L.current_labels(index, "rel", history=True)
    assert [(h.doc, h.label, h.note) for h in history] == [(1, "keep", None), (1, "drop", "looked again"),
                                                          (2, "keep", None)]
    stats = L.label_stats(index, "rel")
    assert (stats.labels, stats.relabels) == (2, 1)


def test_next_item_skip_and_progress(index):
    L.create_task(index, "order", [4, 8, 15, 16])
    assert L.next_item(index, "order", "ann").doc == 4
    L.add_label(index, "order", 4, "ann", "keep")
    L.skip(index, "order", 8, "ann")
    assert L.next_item(index, "order", "ann").doc == 15
    L.add_label(index, "order", 15, "ann", 0)
    L.add_label(index, "order", 16, "ann", "1")
    assert L.next_item(index, "order", "ann") is None
    assert L.next_item(index, "order", "ann", include_skipped=True).doc == 8
    p = L.progress(index, "order", "ann")
    assert (p.items, p.labelled, p.skipped, p.remaining) == (4, 3, 1, 0)
    assert L.next_item(index, "order", "other").doc == 4  # per annotator
    assert L.labelled_docs(index, "order") == (4, 15, 16) == L.labelled_docs(index)  # the skipped 8 is not
    assert L.label_stats(index, "order").skips == 1


def test_bad_input_is_refused_with_a_message(index):
    L.create_task(index, "strict", [1, 2], scheme="ordinal:1-3")
    with pytest.raises(L.InvalidQuery, match="exists"):
        L.create_task(index, "strict", [3])
    with pytest.raises(L.InvalidQuery, match="not on this task's scale"):
        L.add_label(index, "strict", 1, "ann", 4)
    with pytest.raises(L.InvalidQuery, match="not on this task's scale"):
        L.add_label(index, "strict", 1, "ann", "keep")
    with pytest.raises(L.InvalidQuery, match="not in task"):
        L.add_label(index, "strict", 9, "ann", 2)
    with pytest.raises(L.InvalidQuery, match="annotator name"):
        L.add_label(index, "strict", 1, "bad\nname", 2)
    with pytest.raises(L.InvalidQuery, match="no second pass"):
        L.add_label(index, "strict", 1, "ann", 2, round=2)
    with pytest.raises(L.InvalidQuery, match="label scheme"):
        L.create_task(index, "other", [1], scheme="ordinal:5-1")
    with pytest.raises(L.InvalidQuery, match="twice"):
        L.create_task(index, "other", [1, 1])
    with pytest.raises(L.InvalidQuery, match="does not exist"):
        L.create_task(index, "other", [10_000])
    with pytest.raises(L.InvalidQuery, match="no task named"):
        L.label_stats(index, "missing")
    assert L.current_labels(index, "strict") == ()


def test_stats_agreement_majority_disagreements_and_score(index):
    docs = list(range(1, 11))
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    L.create_task(index, "agree", docs, scores)
    a = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]  # tests/test_agreement.py: kappa 0.4, alpha 14/33 by hand
    b = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    for doc, va, vb in zip(docs, a, b):
        L.add_label(index, "agree", doc, "alice", va)
        L.add_label(index, "agree", doc, "bob", vb)
    stats = L.label_stats(index, "agree")
    assert stats.kappa == pytest.approx(0.4) and stats.kappa_weights == "none" and stats.kappa_items == 10
    assert stats.alpha == pytest.approx(14 / 33) and stats.alpha_level == "nominal"
    assert stats.distributions == {"alice": {"drop": 4, "keep": 6}, "bob": {"drop": 5, "keep": 5}}
    assert [d.doc for d in stats.disagreements] == [5, 6, 10]
    assert all(d.majority is None for d in stats.disagreements)  # two annotators who differ: a tie
    assert stats.majorities == {"drop": 3, "keep": 4, "tie": 3}
    # the score against the majority: keep on 0.9..0.6, drop on 0.3..0.1 (ties left out): perfectly separated
    assert stats.score.items == 7 and stats.score.roc_auc == pytest.approx(1.0)
    assert stats.score.best_threshold == pytest.approx(0.6) and stats.score.best_accuracy == pytest.approx(1.0)
    assert sum(b.items for b in stats.score.bins) == 7
    # a third annotator breaks the ties: alpha over three, no kappa
    for doc in (5, 6, 10):
        L.add_label(index, "agree", doc, "carol", "keep")
    stats = L.label_stats(index, "agree")
    assert stats.kappa is None and stats.alpha is not None
    assert [d.majority for d in stats.disagreements] == ["keep", "keep", "keep"]


def test_ordinal_stats_use_ordinal_measures(index):
    L.create_task(index, "ord", [1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], scheme="ordinal:0-5")
    for doc, va, vb in zip([1, 2, 3, 4], [0, 1, 5, 5], [0, 5, 5, 1]):
        L.add_label(index, "ord", doc, "a", va)
        L.add_label(index, "ord", doc, "b", vb)
    stats = L.label_stats(index, "ord")
    assert stats.kappa == pytest.approx(19 / 83) and stats.kappa_weights == "quadratic"  # by hand in test_agreement
    assert stats.alpha_level == "ordinal"
    assert stats.score.positive == ">= 3"
    assert L.label_stats(index, "ord", positive_from=5).score.positive == ">= 5"


def test_second_pass_adjudicates_disagreements(index):
    L.create_task(index, "two", [1, 2, 3], second_pass=True)
    for doc, va, vb in [(1, "keep", "keep"), (2, "keep", "drop"), (3, "drop", "keep")]:
        L.add_label(index, "two", doc, "a", va)
        L.add_label(index, "two", doc, "b", vb)
    assert [L.next_item(index, "two", "judge", round=2).doc] == [2]
    L.add_label(index, "two", 2, "judge", "drop", round=2)
    assert L.next_item(index, "two", "judge", round=2).doc == 3
    assert L.progress(index, "two", "judge", round=2).items == 2
    stats = L.label_stats(index, "two")
    assert [(d.doc, d.majority, d.adjudicated) for d in stats.disagreements] == [(2, None, "drop"), (3, None, None)]
    rows = L.label_table(index, "two").to_pylist()
    assert [(r["majority"], r["adjudicated"]) for r in rows] == [("keep", False), ("drop", True), (None, False)]
    assert rows[1]["label2:judge"] == "drop" and stats.annotators == ("a", "b")


def test_export_csv_parquet_jsonl(index, tmp_path):
    L.create_task(index, "out", [3, 1], [0.5, 0.25], scheme="ordinal:0-5")
    L.add_label(index, "out", 3, "ann", 4)
    L.add_label(index, "out", 3, "zed", 4)
    L.add_label(index, "out", 1, "ann", 2)
    expected = [
        {"doc": 3, "id": index.documents.id(3), "file": index.documents.file(3), "row": index.documents.row(3),
         "score": 0.5, "label:ann": 4, "label:zed": 4, "majority": 4, "status": "ok"},
        {"doc": 1, "id": index.documents.id(1), "file": index.documents.file(1), "row": index.documents.row(1),
         "score": 0.25, "label:ann": 2, "label:zed": None, "majority": 2, "status": "ok"},
    ]

    def picked(rows):
        return [{k: r[k] for k in expected[0]} for r in rows]

    report = L.export_labels(index, "out", tmp_path / "x.parquet")
    assert (report.format, report.rows) == ("parquet", 2)
    assert picked(pq.read_table(tmp_path / "x.parquet").to_pylist()) == expected
    L.export_labels(index, "out", tmp_path / "x.jsonl")
    assert picked([json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]) == expected
    L.export_labels(index, "out", tmp_path / "x.txt", format="csv")
    lines = (tmp_path / "x.txt").read_text().splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    assert {"doc", "id", "file", "row", "score", "label:ann", "label:zed", "majority"} <= set(header)
    first = dict(zip(header, lines[1].split(",")))
    assert (first["doc"], first["label:ann"], first["majority"], first["score"]) == ("3", "4", "4", "0.5")
    with pytest.raises(L.InvalidQuery, match="export format"):
        L.export_labels(index, "out", tmp_path / "x.xlsx")


def test_labels_survive_a_rebuild_and_follow_their_documents(tmp_path):
    rows = sample_rows()
    corpus = tmp_path / "corpus"
    write_parquet(corpus / "part-000.parquet", rows[:30])
    write_parquet(corpus / "part-001.parquet", rows[30:])
    _build(corpus, tmp_path / "idx")
    with open_index(tmp_path / "idx") as before:
        by_id = {before.documents.id(d): d for d in range(len(before.documents))}
        chosen = [by_id[i] for i in ("doc-005", "doc-007", "doc-009", "doc-012", "doc-040")]
        L.create_task(before, "rb", chosen, [0.1, 0.2, 0.3, 0.4, 0.5])
        for doc in chosen:
            L.add_label(before, "rb", doc, "ann", "keep")
        L.add_label(before, "rb", by_id["doc-040"], "ann", "drop")  # a relabel, in the history
        L.close_store(before)
    # the same corpus, but doc-007's text changed and doc-009 removed (the rows after it in that file move up; the
    # second file is unchanged, its documents renumbered)
    rows[7]["text"] = "An entirely new text for this document."
    del rows[9]
    write_parquet(corpus / "part-000.parquet", rows[:29])
    write_parquet(corpus / "part-001.parquet", rows[29:])
    _build(corpus, tmp_path / "idx")
    with open_index(tmp_path / "idx") as after:
        now = {after.documents.id(d): d for d in range(len(after.documents))}
        items = {i.id: i for i in L.resolve(after, "rb")}
        assert {k: i.status for k, i in items.items()} == {
            "doc-005": "ok", "doc-007": "changed", "doc-009": "vanished", "doc-012": "moved", "doc-040": "ok"}
        assert items["doc-012"].doc == now["doc-012"] != chosen[3]  # a row up in its file: found by id and text
        assert items["doc-040"].doc == now["doc-040"] != chosen[4]  # same file and row, renumbered
        assert items["doc-005"].doc == now["doc-005"]
        assert items["doc-007"].doc is None and items["doc-007"].changed_doc == now["doc-007"]
        assert items["doc-009"].doc is None
        table = {r["id"]: r for r in L.label_table(after, "rb").to_pylist()}
        assert {k: (r["doc"], r["status"], r["label:ann"]) for k, r in table.items()} == {
            "doc-005": (now["doc-005"], "ok", "keep"), "doc-007": (None, "changed", "keep"),
            "doc-009": (None, "vanished", "keep"), "doc-012": (now["doc-012"], "moved", "keep"),
            "doc-040": (now["doc-040"], "ok", "drop")}
        assert len(L.current_labels(after, "rb", history=True)) == 6
        stats = L.label_stats(after, "rb")
        assert stats.identity == {"ok": 2, "moved": 1, "changed": 1, "vanished": 1}
        # a changed or vanished document is never offered, nor labelled under its old identity
        assert L.next_item(after, "rb", "new").doc == now["doc-005"]
        L.add_label(after, "rb", now["doc-005"], "new", "keep")
        assert L.next_item(after, "rb", "new").doc == now["doc-012"]
        assert L.progress(after, "rb", "new").unavailable == 2
        with pytest.raises(L.InvalidQuery, match="not in task"):
            L.add_label(after, "rb", now["doc-007"], "new", "keep")
        L.add_label(after, "rb", now["doc-012"], "new", "drop")  # labels the moved document, by its new number
        assert L.current_labels(after, "rb")[-1].row == after.documents.row(now["doc-012"])
        L.close_store(after)


@pytest.mark.slow
def test_eight_threads_labelling_at_once_lose_nothing(index):
    docs = list(range(1, 26))
    L.create_task(index, "busy", docs)
    errors = []
    start = threading.Barrier(8)

    def annotate(k: int) -> None:
        try:
            start.wait()
            while (item := L.next_item(index, "busy", f"t{k}")) is not None:
                L.add_label(index, "busy", item.doc, f"t{k}", (item.doc + k) % 2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    current = L.current_labels(index, "busy")
    assert len(current) == 8 * 25 == len(L.current_labels(index, "busy", history=True))
    assert {(c.annotator, c.doc, c.value) for c in current} == {
        (f"t{k}", d, (d + k) % 2) for k in range(8) for d in docs}
    assert len({c.seq for c in current}) == 200
    L.close_store(index)
    assert len(L.current_labels(index, "busy")) == 200  # from the file, reopened


_WRITER = textwrap.dedent("""
    import sys
    from inspector import open_index
    from inspector import labels as L
    index = open_index(sys.argv[1])
    docs = [int(d) for d in sys.argv[2].split(",")]
    i = 0
    while True:
        label = L.add_label(index, "kill", docs[i % len(docs)], f"a{i // len(docs)}", i % 2)
        print(label.seq, flush=True)
        i += 1
""")


def test_labels_survive_kill_9_of_the_writing_process(index):
    docs = list(range(1, 31))
    L.create_task(index, "kill", docs)
    L.close_store(index)  # the writer is another process: let it open the file
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(index.path), ",".join(map(str, docs))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    acknowledged = []
    try:
        deadline = time.monotonic() + 120
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert len(acknowledged) == 40, child.stderr.read()[-2000:]
    assert child.returncode == -signal.SIGKILL
    history = L.current_labels(index, "kill", history=True)
    seqs = [h.seq for h in history]
    assert seqs[: len(acknowledged)] == acknowledged  # every acknowledged label, in order
    assert len(history) - len(acknowledged) in (0, 1)  # at most the one committed as the kill came
    assert len(L.current_labels(index, "kill")) == len(history)  # 40 distinct (doc, annotator) pairs


@pytest.mark.slow
def test_another_process_waits_for_the_store_then_labels(index, monkeypatch):
    monkeypatch.setattr(L.store, "IDLE_SECONDS", 4.0)  # this process keeps the file open for 4 s after its last use
    L.create_task(index, "shared", [1, 2])
    L.add_label(index, "shared", 1, "here", "keep")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "label", str(index.path), "--task", "shared", "--annotator", "there",
         "--doc", "2", "--value", "drop"], check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started > 2  # it waited for this process to let go
    assert {(c.annotator, c.label) for c in L.current_labels(index, "shared")} == {("here", "keep"), ("there", "drop")}


def test_cli_task_label_stats_export(index, tmp_path):
    runner = CliRunner()
    folder = str(index.path)

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"score": "quality", "seed": 0, "documents": [
        {"doc": 1, "score": 0.2}, {"doc": 2, "score": 0.8}, {"doc": 3, "score": 0.5}]}))
    result = run("task", "create", folder, "--name", "cli", "--sample-json", str(sample), "--scheme", "ordinal:0-5",
                 "--guideline", "0 spam .. 5 textbook")
    assert result.exit_code == 0 and "task cli: 3 documents, ordinal:0-5" in result.output
    for annotator, values in (("a", (1, 4, 3)), ("b", (1, 5, 2))):
        for doc, value in zip((1, 2, 3), values):
            assert run("label", folder, "--task", "cli", "--annotator", annotator, "--doc", str(doc), "--value",
                       str(value)).exit_code == 0
    listed = json.loads(run("task", "list", folder, "--json").output)
    assert [(t["name"], t["items"], t["labels"], t["annotators"]) for t in listed] == [("cli", 3, 6, ["a", "b"])]
    stats = json.loads(run("labels", folder, "stats", "--task", "cli", "--json").output)
    assert stats["kappa_weights"] == "quadratic" and len(stats["disagreements"]) == 2
    human = run("labels", folder, "stats", "--task", "cli").output
    assert "Cohen's kappa (quadratic weights, 3 items)" in human and "Krippendorff's alpha (ordinal)" in human
    out = tmp_path / "labels.jsonl"
    assert run("labels", folder, "export", "--task", "cli", "--out", str(out)).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["doc"], r["label:a"], r["label:b"], r["majority"]) for r in rows] == [(1, 1, 1, 1), (2, 4, 5, None),
                                                                                    (3, 3, 2, None)]
    bad = run("label", folder, "--task", "cli", "--annotator", "a", "--doc", "1", "--value", "9")
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "not on this task's scale" in bad.output
    bad = run("labels", folder, "stats", "--task", "nope")
    assert bad.exit_code == 2 and "no task named" in bad.output
    assert run("task", "create", folder, "--name", "x").exit_code == 2  # no documents given


def test_cli_names_the_label_given_and_the_task_asked_for(index):
    runner = CliRunner()
    folder = str(index.path)

    def fails(*args) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        return result.stderr

    assert "no task named 'nosuch'" in fails("sample", folder, "--task", "nosuch")  # no labels here at all yet
    L.create_task(index, "first", [1, 2])
    L.create_task(index, "second", [3], scheme="ordinal:0-2")
    said = fails("label", folder, "--task", "first", "--annotator", "a", "--doc", "1", "--value", "maybe")
    assert "label 'maybe' is not on this task's scale: drop, keep" in said
    assert "label '7' is not on this task's scale: 0, 1, 2" in fails(
        "label", folder, "--task", "second", "--annotator", "a", "--doc", "3", "--value", "7")
    said = fails("sample", folder, "--task", "nosuch")
    assert "no task named 'nosuch'" in said and "its tasks: first, second" in said
    L.add_label(index, "first", 2, "a", "keep")
    drawn = runner.invoke(main, ["sample", folder, "--task", "first", "--per-bin", "100", "--json"])
    assert drawn.exit_code == 0 and 2 not in [d["doc"] for d in json.loads(drawn.stdout)["documents"]]


def _endless_writer(fifo: Path) -> threading.Thread:
    """A writer that fills `fifo` until its reader goes away (the reader must stop at its bound)."""

    def write():
        try:
            with open(fifo, "w", encoding="utf-8") as f:
                while True:
                    f.write("guideline " * 1000)
        except (BrokenPipeError, OSError):
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_guideline_file_is_read_to_its_limit_and_no_further(index, tmp_path):
    runner = CliRunner()
    folder = str(index.path)

    def create(name, guideline_file):
        return runner.invoke(main, ["task", "create", folder, "--name", name, "--docs", "1,2", "--guideline-file",
                                    str(guideline_file)], catch_exceptions=False)

    def refused(result, file) -> None:
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert f"--guideline-file {file} is longer than the limit of {L.MAX_GUIDELINE:,} characters" in result.stderr

    started = time.monotonic()
    refused(create("zero", "/dev/zero"), "/dev/zero")  # a character device that never ends
    assert time.monotonic() - started < 10
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    writer = _endless_writer(fifo)
    refused(create("pipe", fifo), fifo)
    writer.join(10)
    assert not writer.is_alive()  # the reader closed the pipe at its bound
    longest = tmp_path / "longest.md"
    longest.write_text("é" * L.MAX_GUIDELINE, encoding="utf-8")  # the limit is characters, not bytes
    assert create("longest", longest).exit_code == 0
    assert L.get_task(index, "longest").guideline == "é" * L.MAX_GUIDELINE
    longest.write_text("é" * (L.MAX_GUIDELINE + 1), encoding="utf-8")
    refused(create("longer", longest), longest)
    short = tmp_path / "short"
    os.mkfifo(short)
    writer = threading.Thread(target=lambda: short.write_text("keep prose, drop spam\n"), daemon=True)
    writer.start()
    assert create("piped", short).exit_code == 0 and L.get_task(index, "piped").guideline == "keep prose, drop spam\n"
    latin = tmp_path / "latin.md"
    latin.write_bytes("café".encode("latin-1"))
    bad = create("latin", latin)
    assert bad.exit_code == 2 and f"--guideline-file {latin}: not UTF-8 text" in bad.stderr
    assert [t.name for t in L.tasks(index)] == ["longest", "piped"]


# -- renaming and merging annotators ---------------------------------------------------------------------------------

def _given(index, task: str) -> list[tuple]:
    """Every label event of the task as (seq, annotator, kind, doc, label, round): what a rename may touch."""
    return [(e.seq, e.annotator, e.kind, e.doc, e.label, e.round) for e in L.current_labels(index, task, history=True)]


def test_a_mistyped_name_is_renamed_and_the_rename_recorded(index):
    """`daved` (a label key typed into the name box) becomes `dave`: every event moves, the rename is recorded."""
    L.create_task(index, "typo", [1, 2, 3, 4, 5], second_pass=True)
    L.add_label(index, "typo", 1, "dave", "keep")
    L.add_label(index, "typo", 2, "dave", "drop")
    L.add_label(index, "typo", 3, "daved", "keep")
    L.add_label(index, "typo", 3, "daved", "drop")  # a relabel, kept in the history
    L.skip(index, "typo", 4, "daved")
    L.add_label(index, "typo", 5, "daved", "keep")
    L.add_label(index, "typo", 3, "carol", "keep")
    L.add_label(index, "typo", 3, "daved", "keep", round=2)
    before = _given(index, "typo")
    plan = L.plan_rename(index, "typo", "daved", "dave")
    assert (plan.events, plan.labels, plan.target_labels, plan.merge, plan.both) == (5, 3, 2, True, 0)

    done = L.rename_annotator(index, "typo", "daved", "dave", by="lead")
    expected = [(seq, "dave" if who == "daved" else who, kind, doc, label, round_)
                for seq, who, kind, doc, label, round_ in before]
    assert _given(index, "typo") == expected  # the same events, in the same order, under the right name
    current = {(c.doc, c.round, c.annotator): c.label for c in L.current_labels(index, "typo")}
    assert current == {(1, 1, "dave"): "keep", (2, 1, "dave"): "drop", (3, 1, "dave"): "drop",
                       (5, 1, "dave"): "keep", (3, 1, "carol"): "keep", (3, 2, "dave"): "keep"}
    assert L.progress(index, "typo", "dave").skipped == 1  # the skip moved too
    assert L.next_item(index, "typo", "dave") is None
    assert L.next_item(index, "typo", "dave", include_skipped=True).doc == 4
    assert (done.task, done.source, done.target, done.by, done.events, done.merge, done.conflicts, done.keep) == (
        "typo", "daved", "dave", "lead", 5, True, 0, None)
    assert done.at.endswith("Z") and L.renames(index, "typo") == (done,) and L.renames(index) == (done,)
    assert L.label_stats(index, "typo").annotators == ("carol", "dave")
    # renaming a name with no labels says which names there are
    with pytest.raises(L.InvalidQuery, match=r"'daved' has no labels in task 'typo'; its annotators: carol, dave"):
        L.rename_annotator(index, "typo", "daved", "dave", by="lead")
    # a rename to a new name is a rename, not a merge
    again = L.rename_annotator(index, "typo", "carol", "caroline", by="lead")
    assert (again.merge, again.events, again.seq > done.seq) == (False, 1, True)
    assert L.renames(index, "typo") == (done, again)


def test_a_merge_over_items_both_labelled_waits_for_the_lead_to_choose(index):
    def labelled():
        L.add_label(index, name, 1, "dave", "keep")
        L.add_label(index, name, 2, "dave", "drop")
        L.add_label(index, name, 1, "daved", "drop")  # later than dave's keep, and different
        L.add_label(index, name, 2, "daved", "drop")  # later, the same
        L.add_label(index, name, 3, "daved", "keep")

    name = "newest"
    L.create_task(index, name, [1, 2, 3])
    labelled()
    before = _given(index, name)
    with pytest.raises(L.InvalidQuery, match=r"'dave' and 'daved' both labelled 2 item\(s\) of task 'newest' "
                                             r"\(1 differently\): choose the label that stays"):
        L.rename_annotator(index, name, "daved", "dave", by="lead")
    assert _given(index, name) == before and L.renames(index) == ()  # refused: nothing changed
    done = L.rename_annotator(index, name, "daved", "dave", by="lead", keep="newest")
    assert (done.conflicts, done.keep, done.events) == (2, "newest", 3)
    assert {c.doc: c.label for c in L.current_labels(index, name)} == {1: "drop", 2: "drop", 3: "keep"}
    assert L.label_stats(index, name).relabels == 2  # dave's older labels of items 1 and 2 stay in the history

    name = "target"
    L.create_task(index, name, [1, 2, 3])
    labelled()
    done = L.rename_annotator(index, name, "daved", "dave", by="lead", keep="target")
    assert (done.conflicts, done.keep) == (2, "target")
    assert {c.doc: c.label for c in L.current_labels(index, name)} == {1: "keep", 2: "drop", 3: "keep"}
    history = [(e.annotator, e.kind, e.doc, e.label) for e in L.current_labels(index, name, history=True)]
    assert history == [("dave", "label", 1, "keep"), ("dave", "label", 2, "drop"), ("dave", "set_aside", 1, "drop"),
                       ("dave", "set_aside", 2, "drop"), ("dave", "label", 3, "keep")]
    assert L.label_stats(index, name).relabels == 0 and L.labelled_docs(index, name) == (1, 2, 3)


def test_a_rename_that_fails_half_way_changes_nothing(index):
    """A real failure inside the transaction, after the labels were moved and set aside (the record of the rename
    cannot be written): every label is as it was, under the name it had."""
    import duckdb

    L.create_task(index, "atomic", [1, 2])
    L.add_label(index, "atomic", 1, "dave", "keep")
    L.add_label(index, "atomic", 1, "daved", "drop")
    L.add_label(index, "atomic", 2, "daved", "keep")
    before = _given(index, "atomic")
    L.close_store(index)
    with duckdb.connect(str(L.labels_path(index))) as con:  # a record the database refuses to write
        con.execute("DROP TABLE renames")
        con.execute('CREATE TABLE renames (seq BIGINT, task VARCHAR, source VARCHAR, target VARCHAR CHECK '
                    '(target <> \'dave\'), "by" VARCHAR, "at" TIMESTAMP, events BIGINT, merge BOOLEAN, conflicts '
                    'BIGINT, keep VARCHAR)')
    with pytest.raises(L.InspectorError, match="could not save to .*labels.duckdb"):
        L.rename_annotator(index, "atomic", "daved", "dave", by="lead", keep="target")
    assert _given(index, "atomic") == before
    assert L.renames(index) == ()
    L.close_store(index)
    with duckdb.connect(str(L.labels_path(index))) as con:
        assert con.execute("SELECT count(*) FROM renamed_labels").fetchone() == (0,)
        con.execute("DROP TABLE renames")  # the store makes it afresh on its next open
    done = L.rename_annotator(index, "atomic", "daved", "dave", by="lead", keep="target")
    assert done.events == 2 and {c.doc: c.label for c in L.current_labels(index, "atomic")} == {1: "keep", 2: "keep"}


def test_a_rename_refuses_bad_input(index):
    L.create_task(index, "bad", [1])
    L.add_label(index, "bad", 1, "dave", "keep")
    for args, kwargs, message in [
        (("dave", "dave"), {"by": "lead"}, "not to itself"),
        (("dave", "two words"), {"by": "lead"}, "annotator name 'two words'"),
        (("dave", "david"), {"by": ""}, "lead name ''"),
        (("dave", "david"), {"by": "lead", "keep": "oldest"}, "keep 'oldest': use one of newest, target"),
        (("nobody", "david"), {"by": "lead"}, "'nobody' has no labels in task 'bad'; its annotators: dave"),
    ]:
        with pytest.raises(L.InvalidQuery, match=re.escape(message)):
            L.rename_annotator(index, "bad", *args, **kwargs)
    with pytest.raises(L.InvalidQuery, match="no task named 'nope'"):
        L.rename_annotator(index, "nope", "dave", "david", by="lead")
    assert L.renames(index) == () and [c.annotator for c in L.current_labels(index, "bad")] == ["dave"]


def test_cli_renames_and_lists_renames(index):
    runner = CliRunner()
    folder = str(index.path)
    L.create_task(index, "cli", [1, 2])
    L.add_label(index, "cli", 1, "dave", "keep")
    L.add_label(index, "cli", 1, "daved", "drop")
    L.add_label(index, "cli", 2, "daved", "keep")

    def run(*args):
        return runner.invoke(main, ["labels", folder, *args], catch_exceptions=False)

    assert run("renames").output == "no renames recorded\n"
    refused = run("rename", "--task", "cli", "--from", "daved", "--to", "dave", "--by", "lead")
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "both labelled 1 item(s) of task 'cli' (1 differently)" in refused.stderr
    done = run("rename", "--task", "cli", "--from", "daved", "--to", "dave", "--by", "lead", "--keep", "newest")
    assert done.exit_code == 0, done.output
    assert re.fullmatch(r"#1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d lead: merged daved -> dave in cli: 2 label event\(s\) "
                        r"moved, items both labelled: 1 \(kept the newest\)\n", done.output)
    assert run("renames", "--task", "cli").output == done.output
    listed = json.loads(run("renames", "--json").output)
    assert [(r["source"], r["target"], r["by"], r["events"], r["keep"]) for r in listed] == [
        ("daved", "dave", "lead", 2, "newest")]
    assert {c.doc: (c.annotator, c.label) for c in L.current_labels(index, "cli")} == {
        1: ("dave", "drop"), 2: ("dave", "keep")}


def test_cli_stats_shows_no_none(tmp_path):
    """Documents without ids and a second pass, one disagreement adjudicated and one not: no `None` printed."""
    rows = [{k: v for k, v in r.items() if k != "id"} for r in sample_rows()[:10]]
    write_parquet(tmp_path / "corpus" / "part.parquet", rows)
    _build(tmp_path / "corpus", tmp_path / "idx")
    with open_index(tmp_path / "idx") as index:
        L.create_task(index, "two", [1, 2, 3], second_pass=True)
        for doc, va, vb in [(1, "keep", "keep"), (2, "keep", "drop"), (3, "drop", "keep")]:
            L.add_label(index, "two", doc, "a", va)
            L.add_label(index, "two", doc, "b", vb)
        L.add_label(index, "two", 2, "judge", "drop", round=2)
        stats = L.label_stats(index, "two")
        L.close_store(index)
    assert [(d.adjudicated, d.adjudication, d.second) for d in stats.disagreements] == [
        ("drop", "drop", {"judge": "drop"}), (None, "not yet", {})]
    out = CliRunner().invoke(main, ["labels", str(tmp_path / "idx"), "stats", "--task", "two"]).output
    assert "  doc 2: a keep, b drop -> majority tie; adjudicated drop\n  doc 3: a drop, b keep -> majority tie\n" in out
    assert "None" not in out
