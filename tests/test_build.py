"""Building: bad input names its file, builds are atomic and locked, damage is detected, nothing half-built opens."""
from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inspector import (
    BuildLocked,
    CorpusError,
    IndexCorrupt,
    IndexMissing,
    InspectorError,
    SourceChanged,
    build_index,
    open_index,
)
from inspector.tokenizer import make_tokenizer

from .conftest import damaged_keeping_time
from .corpora import write_parquet


def test_documents_keep_file_row_id_and_metadata(index, corpus_dir):
    files = sorted(str(p) for p in corpus_dir.glob("*.parquet"))
    assert index.n_documents == 59 and index.info().empty_skipped == 1
    first = index.document(0)
    assert (first.id, first.file, first.row) == ("doc-000", files[0], 0)
    assert set(first.metadata) == {"id", "source", "quality", "url"}
    later = index.document(40)  # row 25 of the first file was empty, so doc 40 is row 11 of the second file
    assert (later.id, later.file, later.row) == ("doc-041", files[1], 11)
    assert later.text == pq.read_table(files[1]).column("text")[11].as_py()
    with pytest.raises(InspectorError, match="does not exist"):
        index.document(59)


@pytest.mark.parametrize(
    "rows,message",
    [
        ([{"body": "x"}], r"no column 'text' \(columns: body\); choose one with --text-column"),
        ([{"text": 5}], "column 'text' holds int64, not text"),
        ([{"text": "ok"}, {"text": "fine"}, {"text": None}], "column 'text' is null at row 2"),
    ],
)
def test_bad_columns_name_file_column_and_row(tmp_path, rows, message):
    path = write_parquet(tmp_path / "c" / "bad.parquet", rows)
    with pytest.raises(CorpusError, match=message) as err:
        build_index([path], tmp_path / "out", tokenizer="bytes")
    assert str(path) in str(err.value)
    assert not (tmp_path / "out" / "CURRENT").exists()


def test_unreadable_inputs_name_the_file(tmp_path):
    good = write_parquet(tmp_path / "c" / "good.parquet", [{"text": "hello world " * 200}] * 50)
    not_parquet = tmp_path / "c" / "notes.parquet"
    not_parquet.write_text("this is not parquet")
    with pytest.raises(CorpusError, match=f"{not_parquet}: not a readable Parquet file"):
        build_index([tmp_path / "c"], tmp_path / "out")
    truncated = tmp_path / "t" / "cut.parquet"
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorpusError, match=str(truncated)):
        build_index([truncated], tmp_path / "out")
    with pytest.raises(CorpusError, match="no such file or folder"):
        build_index([tmp_path / "missing"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no Parquet files found"):
        build_index([tmp_path / "empty"], tmp_path / "out")


def test_out_must_not_be_a_folder_of_other_things(tmp_path, corpus_dir):
    with pytest.raises(InspectorError, match="holds no index"):
        build_index([corpus_dir], corpus_dir)


def test_second_build_is_refused_while_the_lock_is_held(tmp_path, corpus_dir):
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    with open(out / ".lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BuildLocked, match=r"lock .*\.lock is held"):
            build_index([corpus_dir], out)
    assert open_index(out).count("data").count > 0


def test_damage_is_detected_not_answered(tmp_path, corpus_dir):
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    with open_index(out) as index:
        live = index.build
    sa = next(live.glob("shard-*/sa.bin"))
    data = bytearray(sa.read_bytes())
    data[5] ^= 0xFF
    sa.write_bytes(data)
    with pytest.raises(IndexCorrupt, match="corrupt or incomplete .*checksum.*rebuild"):
        open_index(out)
    sa.write_bytes(data[:-4])
    with pytest.raises(IndexCorrupt, match="corrupt or incomplete"):
        open_index(out, verify=False)
    (live / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        open_index(out)
    (out / "CURRENT").write_text("build-missing\n")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        open_index(out)
    (out / "CURRENT").unlink()
    with pytest.raises(IndexMissing, match="no finished index"):
        open_index(out)
    build_index([corpus_dir], out)
    assert open_index(out).count("data").count > 0


def test_current_names_only_a_build_of_its_own_folder(tmp_path, corpus_dir):
    out, other = tmp_path / "idx", tmp_path / "other"
    build_index([corpus_dir], out, tokenizer="bytes")
    build_index([corpus_dir], other, tokenizer="bytes")
    with open_index(other) as index:
        elsewhere = index.build
    (out / "CURRENT").write_text(f"build-/../../other/{elsewhere.name}\n")
    with pytest.raises(IndexCorrupt, match="names a missing build"):
        open_index(out)
    (out / "CURRENT").unlink()
    (out / "CURRENT").mkdir()
    with pytest.raises(IndexCorrupt, match="names a missing build"):
        open_index(out)
    with pytest.raises(IndexMissing, match="no index at"):
        open_index(str(out) + "\x00")


def test_changed_source_file_is_reported(tmp_path):
    path = write_parquet(tmp_path / "c" / "a.parquet", [{"text": "alpha beta"}, {"text": "gamma"}])
    build_index([path], tmp_path / "idx")
    write_parquet(path, [{"text": "something else entirely"}, {"text": "gamma"}])
    with open_index(tmp_path / "idx") as index:
        assert index.changed_sources == (str(path),) and index.info().changed_sources == (str(path),)
        with pytest.raises(SourceChanged, match="changed since the index was built"):
            index.document(0)
    done = subprocess.run([sys.executable, "-m", "inspector", "count", str(tmp_path / "idx"), "gamma"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and f"warning: source shard {path} was modified" in done.stderr


def test_a_source_rewritten_in_place_is_never_shown_as_what_was_indexed(tmp_path):
    """Same size, same footer, even the same modification time: the text read back fails its recorded CRC, so a
    document is never shown with text its counts and matches were not computed from."""
    rng = random.Random(3)
    rows = [{"text": " ".join(rng.choices(["red", "green", "blue"], k=30_000)) + f" doc{i} marker"} for i in range(4)]
    path = tmp_path / "c" / "a.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), path, compression="none", use_dictionary=False)
    build_index([path], tmp_path / "idx")
    stat = path.stat()
    data = bytearray(path.read_bytes())
    at = data.index(b"doc0 marker")
    assert at < len(data) - 65536  # outside the footer the build checksummed
    data[at : at + 4] = b"docX"
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with open_index(tmp_path / "idx") as index:
        assert index.changed_sources == ()  # nothing a stat can see ...
        assert index.document(1).text == rows[1]["text"]  # ... other documents read as indexed ...
        with pytest.raises(SourceChanged, match=r"document 0 \(.*a.parquet, row 0\) has changed"):
            index.document(0)  # ... and the changed one says so


def _big_corpus(folder: Path, files: int = 4, docs: int = 4000) -> list[str]:
    rng = random.Random(1)
    words = [f"w{i}" for i in range(3000)]
    texts = []
    for f in range(files):
        rows = [{"text": " ".join(rng.choices(words, k=400))} for _ in range(docs)]
        write_parquet(folder / f"big-{f}.parquet", rows)
        texts += [r["text"] for r in rows]
    return texts


def _reference_counts(texts: list[str], queries: list[str]) -> dict[str, int]:
    """Brute force from the Parquet text, not the index: GPT-2 ids of every document joined with -1 between them,
    each query's (word-mode) token sequences matched at every position with NumPy."""
    tok = make_tokenizer("gpt2")
    flat = np.concatenate([np.r_[np.asarray(tok.encode(t), dtype=np.int64), -1] for t in texts if t])
    counts = {}
    for query in queries:
        total = 0
        for variant in {tuple(tok.encode(" " + query)), tuple(tok.encode(query))}:
            n = len(variant)
            hit = np.ones(len(flat) - n + 1, dtype=bool)
            for j, token in enumerate(variant):
                hit &= flat[j : len(flat) - n + 1 + j] == token
            total += int(hit.sum())
        counts[query] = total
    return counts


QUERIES = ["data model", "w1 w2", "w17", "quality score"]


@pytest.mark.parametrize("delay", [0.0, 0.6, 1.5, 3.0])
@pytest.mark.slow
def test_killed_build_leaves_the_previous_index_usable(tmp_path, corpus_dir, delay):
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    small_texts = [t for f in sorted(corpus_dir.glob("*.parquet")) for t in pq.read_table(f).column("text").to_pylist()]
    big = tmp_path / "big"
    big_texts = _big_corpus(big)
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "build", str(big), "--out", str(out), "--shard-tokens", "3000000"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not list(out.glob(".tmp-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    while time.time() < deadline:  # the build's workers die with it (PR_SET_PDEATHSIG); wait until they are gone
        try:
            os.killpg(proc.pid, 0)
            time.sleep(0.01)
        except ProcessLookupError:
            break
    with open_index(out) as reopened:
        if delay < 1:  # still tokenizing: nothing new may be visible
            assert reopened.n_documents == 59
        # whichever build is live, it answers whole: the old one (killed before publishing) or the new one
        texts = small_texts if reopened.n_documents == 59 else big_texts
        assert reopened.n_documents == len([t for t in texts if t])
        got = {q: reopened.count(q).count for q in QUERIES}
        assert got == _reference_counts(texts, QUERIES)
        assert reopened.search("w1").total == sum(" w1 " in f" {t} " for t in texts)
    build_index([corpus_dir], out)  # the next build clears what the killed one left
    assert not list(out.glob(".tmp-*")) and len(list(out.glob("build-*"))) == 1


def _every_verb(index) -> dict:
    """One answer of every n-gram and document verb (search and stats are asked later: they open lazily)."""
    return {
        "count": index.count("data model").count,
        "count_many": index.count_many(np.array([[1, 2], [262, 1366]])).tolist(),
        "ntd": index.ntd("data").next_tokens,
        "prob": index.prob("data", "model").prob,
        "infgram": index.infgram("deep learning model").tokens,
        "find": index.find("data AND model", limit=100),
        "locate": index.locate(3, "zebra"),
        "document": index.document(40),
        "tokens": index.document_tokens(40).tolist(),
    }


def test_an_open_index_answers_from_its_build_through_rebuilds(tmp_path, corpus_dir):
    """A reader (the app, a notebook) keeps answering every verb from the build it opened, however often the folder
    is rebuilt; the build is removed by the first build after the reader lets it go."""
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    old = open_index(out)
    answers = _every_verb(old)
    rows = [{"text": f"completely new text number {i}"} for i in range(7)]
    other = write_parquet(tmp_path / "other" / "a.parquet", rows)
    build_index([other], out)
    build_index([other], out)
    new = open_index(out)
    assert new.n_documents == 7 and new.count("data model").count == 0
    assert old.build != new.build and old.build.is_dir()
    # search and stats open their parts lazily: first use comes after the rebuilds
    assert old.search("zebra").hits[0].doc == 3 and old.stats().documents == 59
    assert old.info().build == old.build.name and old.n_documents == 59
    assert _every_verb(old) == answers
    assert answers["count"] > 0 and answers["locate"]
    held = old.build
    old.close()
    build_index([other], out)
    assert not held.exists()
    assert new.build.is_dir() and new.count("new text").count == 7  # still held: kept
    new.close()


def test_damage_that_keeps_the_file_time_is_found_on_open(tmp_path, corpus_dir):
    """Any write changes a file's change time, whatever it does to the modification time: opening reads that
    file's CRC. A process that opened the index before the damage finds it with `verify`."""
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    with open_index(out) as before:
        damaged_keeping_time(out)
        with pytest.raises(IndexCorrupt, match="tokens.bin fails its checksum"):
            before.verify()
    with pytest.raises(IndexCorrupt, match="tokens.bin fails its checksum"):
        open_index(out)
    with pytest.raises(IndexCorrupt, match="tokens.bin fails its checksum"):
        open_index(out, verify=True)


def test_a_copied_index_is_checked_once(tmp_path, corpus_dir):
    """A copy has new change times: its files are read against their CRCs on the first open, remembered after."""
    import shutil

    build_index([corpus_dir], tmp_path / "idx")
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "idx", copy)
    with open_index(copy) as index:
        remembered = json.loads((index.build / ".verified").read_text())
        assert set(remembered["files"]) == set(index.manifest.files)
        assert index.count("data").count > 0
    with open_index(copy) as index:
        assert json.loads((index.build / ".verified").read_text()) == remembered


@pytest.mark.slow
def test_workers_die_with_a_killed_build_and_free_the_lock(tmp_path, corpus_dir):
    """Only the build's main process is killed (as a crash would): its sorting workers must not hold the lock."""
    out = tmp_path / "idx"
    big = tmp_path / "big"
    _big_corpus(big)
    marker = f"CORPUS_INSPECTOR_TEST_BUILD={time.time_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "build", str(big), "--out", str(out), "--shard-tokens", "3000000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, marker.split("=")[0]: marker.split("=")[1]},
    )
    deadline = time.time() + 60
    while not list(out.glob(".tmp-*/parts/part-0001/runs/run-0000")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)  # the parts are being indexed in worker processes now
    assert proc.poll() is None, "the build ended before it could be killed"
    proc.kill()
    proc.wait()
    while True:
        try:
            build_index([corpus_dir], out)
            break
        except BuildLocked:
            assert time.time() < deadline, "the lock stayed held after the build was killed"
            time.sleep(0.1)
    assert open_index(out).n_documents == 59
    while _processes_with(marker):  # no worker (nor anything the build started) lives on
        assert time.time() < deadline, f"processes of the killed build live on: {_processes_with(marker)}"
        time.sleep(0.1)


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (every process a build starts inherits it)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            pass
    return found


@pytest.mark.slow
def test_large_build_after_a_small_one_in_the_same_process(tmp_path):
    """libdivsufsort uses OpenMP: once a small shard was sorted in-process, a forked worker would hang (it did)."""
    small = write_parquet(tmp_path / "small" / "a.parquet", [{"text": "tiny corpus"}])
    large = write_parquet(tmp_path / "large" / "a.parquet", [{"text": "abcd efgh " * 300_000}])  # 3M byte tokens
    script = (
        "from inspector import build_index\n"
        "if __name__ == '__main__':\n"
        f"    build_index([{str(small)!r}], {str(tmp_path / 'i1')!r}, tokenizer='bytes')\n"
        f"    build_index([{str(large)!r}], {str(tmp_path / 'i2')!r}, tokenizer='bytes')\n"
    )
    (tmp_path / "twice.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "twice.py")], check=True, timeout=120)
    assert open_index(tmp_path / "i2").count("efgh abcd").count == 299_999
