"""One index shape whatever built it: runs sorted side by side and merged into whole shards, and compaction.

The suffix order is checked against a plain sort of Python lists (tokens up to and including the first separator,
ties by position), never against the index's own files; the compiled kernels against their NumPy reference; builds
with 1, 2 and 3 workers, and appends then `compact`, against one build byte for byte and against brute force over
the Parquet texts (tests/reference.py).
"""
from __future__ import annotations

import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import index.shard_merge
import inspector.build
from index import sa_kernels
from index.shard_merge import Run, assemble, layout
from index.suffix_array import TAG_BYTES, Shard, ShardWriter, build_suffix_array, separator
from inspector import build_index, compact, open_index

from . import reference as ref
from .profiles import examples
from .test_append import _answers, _big, _check_shard_column, _queries, _write

# -- the order, on id lists -------------------------------------------------------------------------------------------


def _expected_order(docs: list[list[int]]) -> list[int]:
    """Token positions of every suffix that starts on a token, in the index's order: a plain sort."""
    seq, tails = [], []
    for doc in docs:
        seq += [*doc, None]
    for p, token in enumerate(seq):
        if token is not None:
            end = seq.index(None, p)
            tails.append((seq[p:end], p))
    # a shorter tail that is a prefix of a longer one ends in the separator, which sorts above every token
    return [p for _, p in sorted(tails, key=lambda t: ([*t[0], float("inf")], t[1]))]


def _write_run(folder: Path, docs: list[list[int]], width: int) -> Run:
    writer = ShardWriter(folder, width)
    writer.add([np.array(d, dtype=np.int64) for d in docs])
    writer.close()
    build_suffix_array(folder, width, writer.n_tokens, len(docs))
    return Run(folder, len(docs), writer.n_tokens)


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: (token width, ids): tiny alphabets and the largest id of each width (a shard's first-token table has one entry
#: per id, so a whole 4-byte shard is tried at a vocabulary of 70,000)
SORTS = [(1, 3), (2, 3), (2, separator(2) - 1), (4, 2), (4, separator(4) - 1)]
SHARDS = [(1, 3), (2, 3), (2, separator(2) - 1), (4, 2), (4, 70_000)]


@st.composite
def corpora(draw, widths=SORTS):
    """Small corpora over tiny alphabets (or the largest id), with whole documents repeated: many equal tails."""
    width, alphabet = draw(st.sampled_from(widths))
    values = st.integers(0, alphabet - 1) if alphabet <= 3 else st.sampled_from([0, 1, alphabet - 1])
    docs = draw(st.lists(st.lists(values, min_size=1, max_size=7), min_size=1, max_size=14))
    if draw(st.booleans()):
        docs = docs + docs[: draw(st.integers(1, len(docs)))]
    return width, alphabet, docs


@settings(max_examples=examples(60), deadline=None)
@given(corpora())
def test_a_sort_is_the_plain_order_and_the_kernel_its_numpy_reference(tmp_path_factory, corpus):
    width, _alphabet, docs = corpus
    folder = tmp_path_factory.mktemp("run") / "r"
    run = _write_run(folder, docs, width)
    assert np.fromfile(folder / "sa.bin", dtype="<u4").tolist() == _expected_order(docs)
    # the kernel that turns the tagged text's byte suffixes into token positions, against NumPy
    import pydivsufsort

    doc_starts = np.load(folder / "doc_starts.npy")
    raw = np.fromfile(folder / "tokens.bin", dtype=np.uint8, count=run.tokens * width)
    tagged = np.empty(len(raw) + TAG_BYTES * len(docs), dtype=np.uint8)
    sa_kernels.tag_documents(raw, doc_starts, width, TAG_BYTES, tagged)
    tagged_starts = doc_starts * width + TAG_BYTES * np.arange(len(docs) + 1)
    byte_sa = pydivsufsort.divsufsort(tagged)
    buckets = (np.searchsorted(tagged_starts, np.arange(0, len(tagged) + 2 * 4096, 4096), side="right") - 1).clip(
        0, len(docs) - 1)
    out = np.empty(len(byte_sa), dtype=np.uint32)
    kept = sa_kernels.token_positions(byte_sa, tagged_starts, doc_starts, buckets, width, out)
    assert out[:kept].tolist() == sa_kernels.token_positions_reference(byte_sa, tagged_starts, doc_starts,
                                                                       width).tolist()


@settings(max_examples=examples(60), deadline=None)
@given(corpora(SHARDS), st.data())
def test_any_cut_into_runs_merges_into_the_bytes_of_one_sort(tmp_path_factory, corpus, data):
    """Runs cut anywhere between documents (a part's edge), shards cut anywhere by `shard_tokens`, the merge cut
    into pieces at splitters: the same files as one run, whose order is the plain one."""
    width, alphabet, docs = corpus
    shard_tokens = data.draw(st.integers(1, 60))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(docs) - 1)), max_size=4))) | {0, len(docs)})
    one, many = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("many")
    single = assemble([_write_run(one / "run", docs, width)], one, "", shard_tokens, width, alphabet, 1)
    runs = [_write_run(many / f"run-{i}", docs[a:b], width) for i, (a, b) in enumerate(itertools.pairwise(cuts))]
    old = index.shard_merge.PIECE
    index.shard_merge.PIECE = data.draw(st.integers(1, 8))
    try:
        merged = assemble(runs, many, "", shard_tokens, width, alphabet, data.draw(st.integers(1, 3)))
    finally:
        index.shard_merge.PIECE = old
    assert merged == single
    assert {k: v for k, v in _files(many).items() if k.startswith("shard-")} == {
        k: v for k, v in _files(one).items() if k.startswith("shard-")}
    for entry in single:
        lo, hi = entry["doc_lo"], entry["doc_lo"] + entry["documents"]
        shard = Shard(one / entry["name"], width, entry["tokens"], alphabet)
        assert shard.sa.tolist() == _expected_order(docs[lo:hi])
        for q in ([0], [0, 1], [1, 1], [alphabet - 1], [0, alphabet - 1, 0]):
            a, b = shard.find_range(q)
            assert b - a == ref.count(docs[lo:hi], q)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.integers(1, 50), max_size=40), st.integers(1, 120))
def test_the_layout_is_the_fewest_shards_of_about_equal_size(doc_tokens, shard_tokens):
    bounds = layout(np.array(doc_tokens, dtype=np.int64), shard_tokens)
    sizes = [sum(doc_tokens[a:b]) for a, b in itertools.pairwise(bounds)]
    assert bounds[0] == 0 and bounds[-1] == len(doc_tokens) and all(a < b for a, b in itertools.pairwise(bounds))
    assert all(s <= shard_tokens or b - a == 1 for s, a, b in zip(sizes, bounds, bounds[1:]))
    fewest, size = 0, None  # greedy packing gives the fewest
    for t in doc_tokens:
        if size is None or size + t > shard_tokens:
            fewest, size = fewest + 1, t
        else:
            size += t
    assert len(sizes) == fewest
    if len(sizes) > 1:  # as equal as whole documents allow: no shard could give its neighbour its first document
        assert max(sizes) - min(sizes) <= 2 * max(doc_tokens)


# -- whole builds -----------------------------------------------------------------------------------------------------


def _ngram_files(folder: Path) -> dict[str, int]:
    """The n-gram files of a live index and their CRCs, from its manifest."""
    with open_index(folder) as index:
        return {k: v.crc32 for k, v in index.manifest.files.items() if k.startswith(("shard-", "normalized/"))}


@pytest.mark.slow
def test_builds_with_1_2_and_3_workers_are_the_same_bytes(tmp_path, monkeypatch):
    """The shape and the n-gram files follow the corpus and --shard-tokens, never the workers: every verb answers
    alike, and as brute force over the Parquet texts."""
    rng = np.random.default_rng(21)
    corpus = tmp_path / "c"
    _write(corpus, rng, files=3, docs=40)
    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)  # parts of a few documents: many part edges
    files, answers = [], []
    rows = ref.documents(ref.parquet_rows(corpus))
    queries = _queries(ref.encode_all([r.text for r in rows], ref.reference_tokenizer("bytes")), rng)
    for workers in (1, 2, 3):
        out = tmp_path / f"w{workers}"
        report = build_index([corpus], out, tokenizer="bytes", normalized=True, workers=workers, shard_tokens=700)
        assert report.parts == (1 if workers == 1 else 2 * workers)
        files.append(_ngram_files(out))
        with open_index(out) as index:
            answers.append(_answers(index, queries))
            _check_shard_column(index)
            assert len(index.manifest.shards) > 1
    assert files[0] == files[1] == files[2] and any(k.startswith("normalized/") for k in files[0])
    assert answers[0] == answers[1] == answers[2]
    from .test_append import _check_against_reference

    _check_against_reference(answers[0], [corpus], queries)


@pytest.mark.slow
def test_a_corpus_under_the_shard_size_is_one_shard_however_many_workers(tmp_path, monkeypatch):
    rng = np.random.default_rng(22)
    _write(tmp_path / "c", rng, files=2, docs=30)
    monkeypatch.setattr(inspector.build, "PART_TOKENS", 1)
    report = build_index([tmp_path / "c"], tmp_path / "i", tokenizer="bytes", workers=2)
    assert (report.parts, report.shards) == (4, 1)


@pytest.mark.slow
def test_appends_then_compact_are_one_build(tmp_path):
    """Appends add small shards (an append compacts them by itself past AUTO_SMALL_SHARDS); `compact` merges all
    into whole shards: the same bytes as one build, the same document numbers, the catalog's shards renumbered."""
    rng = np.random.default_rng(23)
    folders = []
    for i in range(8):
        _write(tmp_path / f"c{i}", rng, files=1, docs=6)
        folders.append(tmp_path / f"c{i}")
    out, shard_tokens = tmp_path / "appended", 2000
    build_index(folders[:1], out, tokenizer="bytes", normalized=True, shard_tokens=shard_tokens)
    shard_counts, compacted = [], []
    for folder in folders[1:]:
        report = build_index([folder], out, tokenizer="bytes", normalized=True, shard_tokens=shard_tokens,
                             append=True)
        compacted.append(report.compacted)
        with open_index(out) as index:
            shard_counts.append(len(index.manifest.shards))
    assert shard_counts[:3] == [2, 3, 4] and compacted[:3] == [0, 0, 0]
    assert shard_counts[3] < 5 and compacted[3] == 5 - shard_counts[3]  # five small shards: the append merged them
    build_index(folders, tmp_path / "one", tokenizer="bytes", normalized=True, shard_tokens=shard_tokens)
    rows = [r for f in folders for r in ref.documents(ref.parquet_rows(f))]
    queries = _queries(ref.encode_all([r.text for r in rows], ref.reference_tokenizer("bytes")), rng)
    with open_index(out) as before:
        old = [(d.id, d.file, d.row) for d in map(before.document, range(before.n_documents))]
    report = compact(out, shard_tokens=shard_tokens)
    assert (report.shards_before, report.shards_after) == (shard_counts[-1], 1)
    assert _ngram_files(out) == _ngram_files(tmp_path / "one")
    with open_index(out, verify=True) as index, open_index(tmp_path / "one") as one:
        assert [(d.id, d.file, d.row) for d in map(index.document, range(index.n_documents))] == old
        expected = _answers(one, queries)
        assert _answers(index, queries) == expected
        _check_shard_column(index)
    assert compact(out, shard_tokens=shard_tokens).merged == 0  # nothing left to merge: nothing published


def _kill_when(command: list[str], out: Path, pattern: str) -> None:
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(out.glob(pattern)) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.002)
    assert proc.poll() is None, f"ended before {pattern} appeared"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_a_killed_merge_and_a_killed_compaction_leave_the_old_index_answering(tmp_path):
    rng = np.random.default_rng(24)
    _write(tmp_path / "a", rng, files=1, docs=20)
    out = tmp_path / "i"
    build_index([tmp_path / "a"], out, tokenizer="bytes")
    with open_index(out) as index:
        before = _answers(index, [[119, 49], [119]])
    _big(tmp_path / "big", docs=12_000)  # 9.6M byte tokens: parts in 2 workers, then a merge
    _kill_when([sys.executable, "-m", "inspector", "build", str(tmp_path / "big"), "--out", str(out), "--tokenizer",
                "bytes", "--workers", "2"], out, ".tmp-*/shard-0000/tokens.bin")
    with open_index(out, verify=True) as index:
        assert _answers(index, [[119, 49], [119]]) == before
    build_index([tmp_path / "big"], out, tokenizer="bytes", append=True, shard_tokens=3_000_000)
    with open_index(out) as index:
        assert len(index.manifest.shards) >= 3
        before = _answers(index, [[119, 49], [119]])
    _kill_when([sys.executable, "-m", "inspector", "compact", str(out)], out, ".tmp-*/shard-0000/tokens.bin")
    with open_index(out, verify=True) as index:
        assert _answers(index, [[119, 49], [119]]) == before
    compact(out)
    with open_index(out, verify=True) as index:
        assert len(index.manifest.shards) == 1
        assert _answers(index, [[119, 49], [119]])["counts"] == before["counts"]


def test_the_cli_compacts_and_refuses_a_bad_shard_size(tmp_path):
    from click.testing import CliRunner

    from inspector.cli import main

    rng = np.random.default_rng(25)
    for i in range(2):
        _write(tmp_path / f"c{i}", rng, files=1, docs=8)
    out = tmp_path / "i"
    build_index([tmp_path / "c0"], out, tokenizer="bytes")
    build_index([tmp_path / "c1"], out, tokenizer="bytes", append=True)
    result = CliRunner().invoke(main, ["compact", str(out), "--json"])
    assert result.exit_code == 0, result.output
    import json

    assert {k: json.loads(result.stdout)[k] for k in ("shards_before", "shards_after", "merged")} == {
        "shards_before": 2, "shards_after": 1, "merged": 1}
    bad = CliRunner().invoke(main, ["compact", str(out), "--shard-tokens", "0"])
    assert bad.exit_code == 2 and bad.output.strip().splitlines() == [
        "error: --shard-tokens must be between 1 and 4,294,967,287, not 0"]
    missing = CliRunner().invoke(main, ["compact", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no index at" in missing.output
