"""An index can't lie about itself: any damaged byte gives an error or the right answer, never a wrong one."""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
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


@pytest.mark.slow
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


@pytest.fixture(scope="module")
def built_once(corpus_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edits") / "idx"
    build_index([corpus_dir], out, shard_tokens=300)
    return out


#: verbs that open the index, as typed after `inspector ... DIR`
VERBS = [["info"], ["stats"], ["count", "data"], ["count"], ["ntd", "data"], ["find", "data"], ["search", "data"],
         ["doc", "3"], ["compact"]]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(width=3), "manifest.width is 3, the tokenizer's ids take 2"),
        (lambda m: m.update(width=4), "manifest.width is 4"),
        (lambda m: m.update(tokens=1), "manifest.tokens is 1, its shards hold 1928"),
        (lambda m: m.update(tokens=-5), "manifest.tokens is not a non-negative integer"),
        (lambda m: m.update(documents=-1), "manifest.documents is not a non-negative integer"),
        (lambda m: m.update(empty_skipped=7), "do not add up to the sources' 60 rows"),
        (lambda m: m["shards"][2].update(tokens=m["shards"][2]["tokens"] + 1) or m.update(tokens=m["tokens"] + 1),
         "shard-0002/tokens.bin.size is"),
        (lambda m: m["shards"][0].update(documents=-3), r"shards\[0\].documents is not a non-negative integer"),
        (lambda m: m.update(width="2"), "manifest.width is not a non-negative integer"),
        (lambda m: m.update(width=2.0), "manifest.width is not a non-negative integer"),
        (lambda m: m.update(tokens=True), "manifest.tokens is not a non-negative integer"),
        (lambda m: m["tokenizer"].update(max_id=2**40), "max_id does not fit in 32 bits"),
        (lambda m: m["files"].pop("shard-0001/sa.bin"), "files.shard-0001/sa.bin is missing"),
    ],
)
def test_a_hand_edited_manifest_is_one_error_in_every_verb(tmp_path, built_once, edit, message):
    """A hand edit with its digest written back into CURRENT: every total must agree with the shards and every field
    lie in its domain, or the API and each CLI verb say so in one line naming the field (no traceback)."""
    from click.testing import CliRunner

    from inspector.cli import main

    out = tmp_path / "idx"
    shutil.copytree(built_once, out)
    _rewrite_manifest(out, edit)
    with pytest.raises(IndexCorrupt, match=message) as raised:
        open_index(out)
    assert "\n" not in str(raised.value)
    for verb in VERBS:
        result = CliRunner().invoke(main, [verb[0], str(out), *verb[1:]])
        assert result.exit_code == 2 and isinstance(result.exception, (SystemExit, type(None))), (verb, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "rebuild it" in lines[0], (verb, result.output)
        assert re.search(message, lines[0]), (verb, lines[0])


def test_a_stale_or_hand_written_verified_never_passes_a_changed_file(tmp_path, built_once):
    """sa.bin zeroed in place, its size kept and its modification time set back: neither the record an earlier open
    signed, nor one written by hand (the old form, or the present one with the file's facts of now and any
    signature) spares it its CRC."""
    out = tmp_path / "idx"
    shutil.copytree(built_once, out)
    open_index(out).close()  # a copy: read once, the pass remembered
    build = out / (out / "CURRENT").read_text().split()[0]
    remembered = json.loads((build / ".verified").read_text())
    sa = build / "shard-0000" / "sa.bin"
    before = sa.stat()
    sa.write_bytes(bytes(before.st_size))
    os.utime(sa, ns=(before.st_atime_ns, before.st_mtime_ns))
    now = sa.stat()
    facts = [now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino]
    forged = [
        None,  # the signed record, now stale
        {rel: (build / rel).stat().st_ctime_ns for rel in remembered["files"]},
        {"files": {**remembered["files"], "shard-0000/sa.bin": facts}, "mac": remembered["mac"]},
        {"files": {"shard-0000/sa.bin": facts}, "mac": "0" * 64},
    ]
    for record in forged:
        if record is not None:
            (build / ".verified").write_text(json.dumps(record))
        with pytest.raises(IndexCorrupt, match="shard-0000/sa.bin fails its checksum"):
            open_index(out)


@pytest.mark.parametrize("part", ["shard-0000/sa.bin", "shard-0001", "manifest.json"])
def test_a_build_serves_no_link(tmp_path, built_once, part):
    """A link in a build, even to the very bytes it should hold, is refused and not followed: through one, an index
    under the app's roots would serve a file from outside them."""
    out, elsewhere = tmp_path / "idx", tmp_path / "elsewhere"
    shutil.copytree(built_once, out)
    build = out / (out / "CURRENT").read_text().split()[0]
    shutil.move(build / part, elsewhere)
    (build / part).symlink_to(elsewhere)
    with pytest.raises(IndexCorrupt, match=f"{part} is a link"):
        open_index(out)


def test_current_without_the_manifest_checksum_is_refused(tmp_path, corpus_dir):
    out = tmp_path / "idx"
    build_index([corpus_dir], out)
    name = (out / "CURRENT").read_text().split()[0]
    (out / "CURRENT").write_text(name + "\n")  # as version 2 wrote it
    with pytest.raises(IndexCorrupt, match="holds no manifest checksum"):
        open_index(out)
