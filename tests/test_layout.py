"""The on-disk layout in one place (issue 21): the typed manifest reads and writes manifest.json byte for byte, the
document table has the one schema, a build's options are one `BuildOptions`, and reading an index imports no part of
the build."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyarrow import feather

from index.layout import DOCUMENT_SCHEMA, MANIFEST, Manifest
from inspector import BuildOptions, InspectorError, build_index, open_index

from .test_house import graph
from .test_integrity import _rewrite_manifest

FIELDS = ["format", "version", "created", "tokenizer", "width", "text_column", "id_column", "documents", "tokens",
          "empty_skipped", "sources", "shards", "fulltext", "normalized", "files"]
SOURCE = ["path", "rows", "size", "mtime_ns", "footer_crc", "columns"]
SHARD = ("name", "doc_lo", "tokens", "documents")


def _live(out: Path) -> Path:
    with open_index(out) as index:
        return index.build


def test_the_manifest_writes_back_the_bytes_it_was_read_from(index, tmp_path, corpus_dir):
    """A build's manifest.json, read into a `Manifest` and written again, is the same bytes (key order, layout,
    every field); so is one without the optional parts (no full-text index, no normalised shards, no ids)."""
    plain = tmp_path / "plain"
    build_index([corpus_dir], plain, tokenizer="bytes", fulltext=False, normalized=False, signals=False,
                id_column=None)
    for build in (index.build, _live(plain)):
        text = (build / MANIFEST).read_bytes()
        manifest = Manifest.read(build)
        assert manifest.encode() == text
        assert manifest.to_json() == json.loads(text)
        written = json.loads(text)  # the format of version 4, as builds before the typed manifest wrote it
        assert text == json.dumps(written, indent=1).encode() and list(written) == FIELDS
        assert [list(s) for s in written["sources"]] == [SOURCE] * len(written["sources"])
        assert {tuple(s) for s in written["shards"]} == {SHARD} and list(written["tokenizer"])[:2] == ["kind", "max_id"]
        assert {tuple(f) for f in written["files"].values()} == {("size", "crc32", "ctime_ns")}
    assert list(index.manifest.to_json()["fulltext"]) == ["stem", "tokenizer", "fields"]
    assert list(index.manifest.to_json()["normalized"]) == ["shards"]
    assert index.manifest == Manifest.read(index.build)
    assert (index.manifest.fulltext is not None, index.manifest.normalized is not None) == (True, True)
    assert Manifest.read(_live(plain)).fulltext is None and Manifest.read(_live(plain)).normalized is None


def test_an_older_manifest_keeps_its_shape_when_written_again(tmp_path, corpus_dir):
    """A manifest from before the full-text tokenizer was recorded reads (as "words") and is written back without
    the key: a compaction of such an index changes nothing else of it."""
    out = tmp_path / "old"
    build_index([corpus_dir], out, tokenizer="bytes", shard_tokens=300, normalized=False)
    _rewrite_manifest(out, lambda m: m["fulltext"].pop("tokenizer"))
    build = _live(out)
    manifest = Manifest.read(build)
    assert manifest.fulltext.tokenizer is None and "tokenizer" not in manifest.to_json()["fulltext"]
    assert json.loads(manifest.encode()) == json.loads((build / MANIFEST).read_bytes())


def test_the_document_table_has_the_one_schema(index):
    assert feather.read_table(index.build / "documents.arrow").schema == DOCUMENT_SCHEMA


def test_build_options_are_the_keywords_in_one_value(tmp_path, corpus_dir):
    """`options=BuildOptions(...)` builds what the same keywords build; both at once is refused, not merged."""
    keywords = dict(tokenizer="bytes", shard_tokens=300, normalized=False, stem=True, workers=1)
    by_keywords, by_options = tmp_path / "k", tmp_path / "o"
    build_index([corpus_dir], by_keywords, **keywords)
    build_index([corpus_dir], by_options, options=BuildOptions(**keywords))
    with open_index(by_keywords) as a, open_index(by_options) as b:
        ngram = [{rel: f.crc32 for rel, f in i.manifest.files.items() if rel.startswith("shard-")} for i in (a, b)]
        assert len(ngram[0]) > 5 and ngram[0] == ngram[1]
        assert a.manifest.fulltext == b.manifest.fulltext and a.manifest.fulltext.stem
        assert a.manifest.normalized is None and b.manifest.normalized is None
    with pytest.raises(InspectorError, match="either as keywords or as `options`, not both"):
        build_index([corpus_dir], tmp_path / "both", tokenizer="bytes", options=BuildOptions(tokenizer="bytes"))


def test_reading_an_index_imports_no_part_of_the_build():
    """What `open_index` runs (and the Ray query engine) reaches no build module, at any depth."""
    edges = graph()
    build_side = {"inspector.build", "inspector.build_part", "inspector.build_options", "inspector.compact"}
    for start in ("inspector.corpus_index", "inspector.ray_engine"):
        seen, todo = set(), [start]
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo += edges.get(module, ())
        assert seen.isdisjoint(build_side), start
