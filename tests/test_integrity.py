"""An index can't lie about itself: any damaged byte gives an error or the right answer, never a wrong one."""
from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from inspector import IndexCorrupt, InspectorError, build_index, open_index


def _answers(out: Path) -> dict:
    """What each part of a build answers: n-gram counts and next tokens, CNF documents, a document read back, BM25
    search and the catalog's statistics."""
    with open_index(out) as index:
        return {
            "counts": [index.count(q).count for q in ("data", "model token", "quality score language", "zebra")],
            "ntd": [(t.id, t.count) for t in index.ntd("data").next_tokens],
            "find": [(h.doc, h.snippet) for h in index.find("data AND model", limit=50).documents],
            "document": index.document(7).text,
            "search": [(h.doc, h.score) for h in index.search("zebra OR corpus", limit=20).hits],
            "per_file": index.stats().per_file,
        }


@pytest.fixture(scope="module")
def small_index(corpus_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("flip") / "idx"
    build_index([corpus_dir], out, shard_tokens=300)
    return out, _answers(out)


def _flip_each(path: Path, positions, masks, check) -> int:
    """Flip the byte at each position with each mask, run `check`, put the byte back; flips tried."""
    tried = 0
    with open(path, "r+b") as f:
        for at in positions:
            original = os.pread(f.fileno(), 1, at)
            for mask in masks:
                os.pwrite(f.fileno(), bytes([original[0] ^ mask]), at)
                try:
                    check()
                finally:
                    os.pwrite(f.fileno(), original, at)
                tried += 1
    return tried


def test_every_file_of_an_index_damaged_gives_an_error_or_the_right_answer(small_index):
    """Byte flips over every file of a small build, the manifest and CURRENT included: each open-and-ask ends in
    one of our errors (one line) or in answers equal to the undamaged build's. A wrong answer or another exception
    type fails the test."""
    out, expected = small_index
    rng = random.Random(11)
    outcomes = {"error": 0, "right": 0}

    def check() -> None:
        try:
            answers = _answers(out)
        except InspectorError as exc:
            assert "\n" not in str(exc)
            outcomes["error"] += 1
            return
        assert answers == expected
        outcomes["right"] += 1

    build = out / (out / "CURRENT").read_text().split()[0]
    files = sorted(p for p in build.rglob("*") if p.is_file() and p.name not in (".readers", ".verified"))
    tried = {}
    for path in [out / "CURRENT", *files]:
        size = path.stat().st_size
        if not size:
            continue  # Tantivy's empty lock files
        if path.name in ("CURRENT", "manifest.json"):
            positions, masks = range(size), (0x01,)  # every byte of what says what the build is
        else:
            positions, masks = sorted({0, size - 1, *rng.sample(range(size), min(size, 24))}), (0x01, 0xFF)
        tried[path.relative_to(out).as_posix()] = _flip_each(path, positions, masks, check)
    kinds = {name.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for name in tried}
    assert {"CURRENT", "json", "duckdb", "arrow", "bin", "npy", "store", "idx", "term"} <= kinds, kinds
    assert outcomes["error"] > 0.99 * sum(tried.values())
    assert _answers(out) == expected  # everything was put back


def _rewrite_manifest(out: Path, edit) -> None:
    """Edit the manifest and give CURRENT its new checksum: a consistent pointer to a manifest that lies."""
    name = (out / "CURRENT").read_text().split()[0]
    manifest = json.loads((out / name / "manifest.json").read_text())
    edit(manifest)
    text = json.dumps(manifest).encode()
    (out / name / "manifest.json").write_bytes(text)
    (out / "CURRENT").write_text(f"{name}\nsha256 {hashlib.sha256(text).hexdigest()}\n")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["shards"][1].update(doc_lo=m["shards"][1]["doc_lo"] + 1), "starts at document"),
        (lambda m: m.update(documents=m["documents"] + 1), "the shards hold"),
        (lambda m: m["shards"][0].update(tokens="12"), r"shards\[0\].tokens is not a non-negative integer"),
        (lambda m: m["shards"][0].update(name="../../elsewhere"), "shard name"),
        (lambda m: m["files"].update({"../outside": {"size": 1, "crc32": 1, "ctime_ns": 1}}), "leaves the build"),
        (lambda m: m.pop("tokenizer"), "manifest.tokenizer is missing"),
        (lambda m: m["sources"][0].update(columns=None), "columns is not a list"),
        (lambda m: m.update(version=2), "format version 2"),
    ],
)
def test_a_manifest_that_lies_consistently_is_refused(tmp_path, corpus_dir, edit, message):
    """Even with CURRENT's checksum made to match, a manifest whose fields disagree with its shape is refused."""
    out = tmp_path / "idx"
    build_index([corpus_dir], out, shard_tokens=300)
    _rewrite_manifest(out, edit)
    with pytest.raises(IndexCorrupt, match=message):
        open_index(out)


def test_current_without_the_manifest_checksum_is_refused(tmp_path, corpus_dir):
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    name = (out / "CURRENT").read_text().split()[0]
    (out / "CURRENT").write_text(name + "\n")  # as version 2 wrote it
    with pytest.raises(IndexCorrupt, match="holds no manifest checksum"):
        open_index(out)
