"""Builds in parts and appends: a corpus cut into parts indexed in worker processes, and files appended to a live
index as new shards, answer exactly as one build of the same files, and as brute force over the Parquet texts
(tests/reference.py: read back with pyarrow, encoded with the tokenizer, never the index's own files). An append
refuses a file already indexed, keeps every old document's number, and a killed one leaves the old index answering.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import inspector.build
from inspector import InspectorError, build_index, open_index
from inspector.normalize import normalize

from . import reference as ref
from .corpora import write_parquet

WORDS = ["w1", "w2", "w3", "w4", "é", "w1w2"]


def _write(folder: Path, rng: np.random.Generator, files: int, docs: int) -> None:
    """Seeded Parquet files of texts over a tiny vocabulary (so n-grams repeat), with empty texts, metadata and
    small row groups."""
    for f in range(files):
        rows = []
        for i in range(docs):
            n = int(rng.integers(0, 25)) if rng.random() > 0.1 else 0
            text = " ".join(rng.choice(WORDS, n)) if n else ""
            rows.append({"id": f"{folder.name}-{f}-{i}", "text": text, "score": float(rng.random()),
                         "source": str(rng.choice(["web", "code"]))})
        write_parquet(folder / f"part-{f}.parquet", rows, row_group_size=int(rng.integers(3, 12)))


def _queries(docs: list[list[int]], rng: np.random.Generator, count: int = 60) -> list[list[int]]:
    """Id sequences: pieces of the documents (present) and random ones (mostly absent), 1 to 6 ids."""
    flat = [t for d in docs for t in d] or [1]
    queries = []
    for _ in range(count):
        n = int(rng.integers(1, 7))
        if rng.random() < 0.7 and len(flat) > n:
            start = int(rng.integers(0, len(flat) - n))
            queries.append(flat[start : start + n])
        else:
            queries.append(rng.choice(sorted(set(flat)), n).tolist())
    return queries


def _padded(queries: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(map(len, queries))
    return (np.array([q + [0] * (width - len(q)) for q in queries], dtype=np.int64),
            np.array([len(q) for q in queries], dtype=np.int64))


def _answers(index, queries: list[list[int]]) -> dict:
    """What the index says: counts, next tokens, documents, search hits with scores, the catalog's rows."""
    ids, lengths = _padded(queries)
    catalog = index.catalog.cursor().execute(
        'SELECT doc, file, "row", id, tokens, score, source, heuristic_score FROM documents ORDER BY doc').fetchall()
    return {
        "counts": index.engine.count_many(ids, lengths).tolist(),
        "ntd": [(r.prompt_count, dict(zip(r.ids.tolist(), r.counts.tolist())), r.document_ends)
                for r in (index.engine.ntd(q[:2]) for q in queries[:20])],
        "documents": [(d.id, d.file, d.row, d.text) for d in map(index.document, range(index.n_documents))],
        "search": [[(h.doc, round(h.score, 4)) for h in index.search(w, limit=1000).hits]
                   for w in ("w1", "w3 w4", "é")],
        "totals": [index.search(w).total for w in WORDS],
        "catalog": catalog,
    }


def _check_shard_column(index) -> None:
    """Each document's shard in the catalog is the manifest's shard whose document range holds it."""
    rows = index.catalog.cursor().execute("SELECT doc, shard FROM documents ORDER BY doc").fetchall()
    shards = index.manifest.shards
    assert rows and all(shards[s].doc_lo <= d < shards[s].doc_lo + shards[s].documents for d, s in rows)


def _check_against_reference(answers: dict, folders: list[Path], queries: list[list[int]]) -> None:
    rows = [r for folder in folders for r in ref.documents(ref.parquet_rows(folder))]
    docs = ref.encode_all([r.text for r in rows], ref.reference_tokenizer("bytes"))
    assert answers["counts"] == [ref.count(docs, q) for q in queries]
    for (prompt_count, nexts, ends), q in zip(answers["ntd"], queries):
        want_count, want_next, want_ends = ref.ntd(docs, q[:2])
        assert (prompt_count, nexts, ends) == (want_count, dict(want_next), want_ends)
    assert answers["documents"] == [(r.id, r.file, r.row, r.text) for r in rows]
    assert answers["totals"] == [sum(w in r.text.split() for r in rows) for w in WORDS]


@pytest.mark.parametrize("seed,in_parts", [(0, False), (1, False), (2, True), (3, False)])
@pytest.mark.slow
def test_an_append_answers_as_one_build_of_both(tmp_path, monkeypatch, seed, in_parts):
    """A then B appended (B in two parts in worker processes for one seed) against one build of A and B."""
    if in_parts:
        monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)
    rng = np.random.default_rng(seed)
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, rng, files=2, docs=int(rng.integers(5, 40)))
    _write(b, rng, files=int(rng.integers(1, 3)), docs=int(rng.integers(5, 40)))
    shard_tokens = int(rng.integers(20, 400))
    build_index([a, b], tmp_path / "both", tokenizer="bytes", shard_tokens=shard_tokens)
    build_index([a], tmp_path / "appended", tokenizer="bytes", shard_tokens=int(rng.integers(20, 400)))
    with open_index(tmp_path / "appended") as before:
        old = [(d.id, d.file, d.row) for d in map(before.document, range(before.n_documents))]
        old_shards = len(before.manifest.shards)
    report = build_index([b], tmp_path / "appended", tokenizer="bytes", append=True, shard_tokens=shard_tokens,
                         workers=2)
    assert report.parts == (4 if in_parts else 1) and report.appended
    assert report.index_documents == report.documents + len(old)
    rows = [r for folder in (a, b) for r in ref.documents(ref.parquet_rows(folder))]
    queries = _queries(ref.encode_all([r.text for r in rows], ref.reference_tokenizer("bytes")), rng)
    with open_index(tmp_path / "both") as both, open_index(tmp_path / "appended", verify=True) as appended:
        assert len(appended.manifest.shards) == old_shards + report.shards
        assert [(d.id, d.file, d.row) for d in map(appended.document, range(len(old)))] == old  # numbers kept
        expected = _answers(both, queries)
        assert _answers(appended, queries) == expected
        _check_shard_column(appended)
    _check_against_reference(expected, [a, b], queries)


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.slow
def test_parts_in_worker_processes_answer_as_one_part(tmp_path, monkeypatch, workers):
    """Rows are cut into parts inside files and across them; each part is indexed in a worker process."""
    rng = np.random.default_rng(workers)
    corpus = tmp_path / "c"
    _write(corpus, rng, files=3, docs=30)
    build_index([corpus], tmp_path / "one", tokenizer="bytes", normalized=True)
    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)
    report = build_index([corpus], tmp_path / "parts", tokenizer="bytes", normalized=True, workers=workers,
                         shard_tokens=150)
    assert (report.parts, report.workers) == (2 * workers, workers)
    rows = ref.documents(ref.parquet_rows(corpus))
    docs = ref.encode_all([r.text for r in rows], ref.reference_tokenizer("bytes"))
    queries = _queries(docs, rng)
    with open_index(tmp_path / "one") as one, open_index(tmp_path / "parts") as parts:
        expected = _answers(one, queries)
        assert _answers(parts, queries) == expected
        _check_shard_column(parts)
        normal = ref.encode_all([normalize(r.text) for r in rows], ref.reference_tokenizer("bytes"))
        ids, lengths = _padded(queries)
        assert parts.normalized_engine.count_many(ids, lengths).tolist() == [ref.count(normal, q) for q in queries]
    _check_against_reference(expected, [corpus], queries)


def test_workers_are_as_many_as_memory_holds(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    _write(tmp_path / "c", rng, files=2, docs=20)
    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)
    report = build_index([tmp_path / "c"], tmp_path / "i", tokenizer="bytes", workers=2, memory_gib=0.5)
    assert (report.workers, report.parts) == (1, 1)  # a worker's fixed share alone is 0.75 GiB
    for bad in (0, 10**12, True, 2.5):  # a huge count would loop in the memory check
        with pytest.raises(InspectorError, match=f"--workers must be a whole number from 1 to 1024, not {bad!r}"):
            build_index([tmp_path / "c"], tmp_path / "i", workers=bad)


def test_an_append_refuses_a_file_it_holds_unless_forced(tmp_path):
    rng = np.random.default_rng(11)
    _write(tmp_path / "a", rng, files=2, docs=10)
    build_index([tmp_path / "a"], tmp_path / "i", tokenizer="bytes")
    first = tmp_path / "a" / "part-0.parquet"
    with pytest.raises(InspectorError, match=r"part-0.parquet is already in .* \(source file 0, the same path\)"):
        build_index([first], tmp_path / "i", tokenizer="bytes", append=True)
    copy = tmp_path / "copy" / "again.parquet"
    copy.parent.mkdir()
    shutil.copyfile(first, copy)
    with pytest.raises(InspectorError, match=r"again.parquet is already in .*the same content as .*part-0.parquet"):
        build_index([copy], tmp_path / "i", tokenizer="bytes", append=True)
    with open_index(tmp_path / "i") as index:
        documents = index.n_documents
    report = build_index([copy], tmp_path / "i", tokenizer="bytes", append=True, force=True)
    with open_index(tmp_path / "i") as index:
        assert report.documents > 0 and index.n_documents == documents + report.documents
        assert index.document(documents).file == str(copy.resolve())


def test_an_append_takes_the_options_the_index_was_built_with(tmp_path):
    rng = np.random.default_rng(12)
    _write(tmp_path / "a", rng, files=1, docs=10)
    _write(tmp_path / "b", rng, files=1, docs=10)
    build_index([tmp_path / "a"], tmp_path / "i", tokenizer="bytes", signals=False)
    with pytest.raises(InspectorError, match=r"--tokenizer \(the index: .*'bytes'.*--no-signals \(the index: True"):
        build_index([tmp_path / "b"], tmp_path / "i", append=True)
    write_parquet(tmp_path / "c" / "x.parquet", [{"text": "w1 w2", "other": 3}])
    with pytest.raises(InspectorError, match=r"metadata columns the index does not have \(other\); the full-text"):
        build_index([tmp_path / "c"], tmp_path / "i", tokenizer="bytes", signals=False, append=True)
    write_parquet(tmp_path / "d" / "x.parquet", [{"text": "w1 w2", "score": "high"}])
    with pytest.raises(InspectorError, match=r"metadata columns of another type than in the index \(score\)"):
        build_index([tmp_path / "d"], tmp_path / "i", tokenizer="bytes", signals=False, append=True)
    write_parquet(tmp_path / "e" / "x.parquet", [{"text": "w1 w2 w3", "score": 0.25}])  # fewer columns: taken
    build_index([tmp_path / "e"], tmp_path / "i", tokenizer="bytes", signals=False, append=True)
    with open_index(tmp_path / "i") as index:
        last = index.n_documents - 1
        assert index.document(last).text == "w1 w2 w3" and index.document(last).metadata["score"] == 0.25
        assert last in [h.doc for h in index.search("w3", filters=[("score", "<", 0.3)], limit=1000).hits]
    with pytest.raises(InspectorError, match="no index at"):
        build_index([tmp_path / "b"], tmp_path / "nothing", tokenizer="bytes", append=True)


def test_first_open_after_an_append_reads_no_linked_file(tmp_path):
    """The old shards are hard links; removing the old build changes their change time, which the append
    remembers as checked, so opening the new build does not read them against their CRCs again."""
    rng = np.random.default_rng(13)
    _write(tmp_path / "a", rng, files=1, docs=10)
    _write(tmp_path / "b", rng, files=1, docs=10)
    build_index([tmp_path / "a"], tmp_path / "i", tokenizer="bytes")
    build_index([tmp_path / "b"], tmp_path / "i", tokenizer="bytes", append=True)
    live = next((tmp_path / "i").glob("build-*"))
    assert len(list((tmp_path / "i").glob("build-*"))) == 1
    linked = [p for p in (live / "shard-0000").iterdir()]
    assert linked and all(p.stat().st_nlink == 1 for p in linked)
    with open_index(tmp_path / "i") as index:
        import json

        remembered = json.loads((index.build / ".verified").read_text())
        for path in linked:
            assert remembered["files"][f"shard-0000/{path.name}"][2] == path.stat().st_ctime_ns


def _big(folder: Path, docs: int = 6000) -> list[str]:
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS, 400)) for _ in range(docs)]
    write_parquet(folder / "big.parquet", [{"id": f"big-{i}", "text": t, "score": 0.5, "source": "web"}
                                           for i, t in enumerate(texts)])
    return texts


@pytest.mark.parametrize("delay", [0.2, 1.0, 2.5])
@pytest.mark.slow
def test_a_killed_append_leaves_the_old_index_answering(tmp_path, delay):
    rng = np.random.default_rng(14)
    _write(tmp_path / "a", rng, files=2, docs=20)
    out = tmp_path / "i"
    build_index([tmp_path / "a"], out, tokenizer="bytes")
    with open_index(out) as index:
        before = _answers(index, [[119, 49], [119]])
    _big(tmp_path / "big")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "build", str(tmp_path / "big"), "--out", str(out), "--append",
         "--tokenizer", "bytes", "--workers", "2"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not list(out.glob(".tmp-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_index(out) as index:
        if index.n_documents == before["catalog"][-1][0] + 1:  # killed before publishing: the old index, whole
            assert _answers(index, [[119, 49], [119]]) == before
        else:  # published: old and new
            assert index.n_documents == len(before["documents"]) + 6000
    report = build_index([tmp_path / "big"], out, tokenizer="bytes", append=True, force=True)
    assert report.documents == 6000 and not list(out.glob(".tmp-*"))
    with open_index(out) as index:
        assert [d[:3] for d in _answers(index, [[119]])["documents"][: len(before["documents"])]] == [
            d[:3] for d in before["documents"]]


@pytest.mark.slow
def test_a_worker_killed_mid_build_is_one_line_and_keeps_the_index(tmp_path):
    """The kernel's OOM killer ends a worker, not the build: the build stops with one line saying what to do."""
    rng = np.random.default_rng(15)
    _write(tmp_path / "a", rng, files=1, docs=20)
    out = tmp_path / "i"
    build_index([tmp_path / "a"], out, tokenizer="bytes")
    _big(tmp_path / "big", docs=20_000)  # 23M byte tokens: parts in worker processes
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "build", str(tmp_path / "big"), "--out", str(out), "--tokenizer", "bytes",
         "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 60
    while not list(out.glob(".tmp-*/parts/part-0000")) and time.time() < deadline:
        time.sleep(0.01)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    os.kill(workers[0], signal.SIGKILL)  # not the resource tracker: a pool worker
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr.strip().splitlines()[-1].startswith("error: a build worker died")
    assert "fewer --workers" in stderr and "previous index, if any, is kept" in stderr
    with open_index(out) as index:
        assert index.n_documents == len(ref.documents(ref.parquet_rows(tmp_path / "a")))


def test_a_new_build_indexes_normalised_text_unless_told_and_an_append_takes_the_index_s_own(tmp_path):
    """Normalised shards are on by default (so a contamination check finds re-cased and re-wrapped copies); an
    append to an index built without them adds none, and one that asks for the other choice is refused."""
    rng = np.random.default_rng(13)
    for name in "abc":
        _write(tmp_path / name, rng, files=1, docs=6)
    build_index([tmp_path / "a"], tmp_path / "on", tokenizer="bytes", signals=False)
    build_index([tmp_path / "a"], tmp_path / "off", tokenizer="bytes", signals=False, normalized=False)
    for name in ("on", "off"):
        build_index([tmp_path / "b"], tmp_path / name, tokenizer="bytes", signals=False, append=True)
    rows = ref.documents(ref.parquet_rows(tmp_path / "a") + ref.parquet_rows(tmp_path / "b"))
    normal = ref.encode_all([normalize(r.text) for r in rows], ref.reference_tokenizer("bytes"))
    queries = _queries(normal, rng)
    with open_index(tmp_path / "on") as on, open_index(tmp_path / "off") as off:
        ids, lengths = _padded(queries)
        assert on.normalized_engine.count_many(ids, lengths).tolist() == [ref.count(normal, q) for q in queries]
        assert off.manifest.normalized is None
    with pytest.raises(InspectorError, match=r"--normalized \(the index: False, here: True\)"):
        build_index([tmp_path / "c"], tmp_path / "off", tokenizer="bytes", signals=False, normalized=True,
                    append=True)
