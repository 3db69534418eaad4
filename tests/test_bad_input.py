"""Hardening: every failure is one clear line (InvalidQuery / InspectorError in the API, exit code 2 in the CLI), and
nothing valid is replaced by nothing: a build that fails or finds no documents leaves the previous index live.

Real Parquet files, Tantivy, DuckDB and tokenizers throughout; the full disk is a real write limit (RLIMIT_FSIZE in
a child process, with SIGXFSZ ignored so a write past it fails with EFBIG instead of killing the build).
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from inspector import CorpusError, InspectorError, InvalidQuery, build_index, open_index
from inspector.cli import main

from .corpora import write_parquet

ROOT = Path(__file__).resolve().parents[1]


def cli_fails(*args) -> str:
    """Run the CLI in-process; it must exit with code 2 and one error line on stderr, which is returned."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 2, (result.exit_code, result.output)
    return error_line(result.stderr)


def cli_json(*args) -> dict:
    result = CliRunner().invoke(main, [*map(str, args), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_line(stderr: str) -> str:
    """The one error line of a build's stderr (which also carries its progress bars)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in re.split(r"[\r\n]", stderr) if line.startswith("error:")]
    assert len(errors) == 1 and stderr.rstrip("\n").endswith(errors[0]), stderr
    return errors[0]


# -- 1, 4, 5: builds that cannot finish keep the previous index ---------------------------------------------------


@pytest.fixture(scope="module")
def wide_corpus(tmp_path_factory) -> Path:
    """Many tiny texts with wide metadata: the catalog is the largest file a build writes (~1.3 MB), the quality
    signals the next (~500 KB)."""
    folder = tmp_path_factory.mktemp("wide")
    rows = [{"text": f"d{i} x", **{f"m{j}": f"value-{i}-{j}" for j in range(8)}} for i in range(2000)]
    write_parquet(folder / "a.parquet", rows)
    return folder


@pytest.fixture
def live(wide_corpus, tmp_path) -> Path:
    out = tmp_path / "idx"
    build_index([wide_corpus], out, tokenizer="bytes")
    return out


def _answers(out: Path) -> tuple:
    with open_index(out) as index:
        return index.build.name, index.n_documents, index.count("value").count, index.count("d19").count


LIMITED_BUILD = """
import resource, signal, sys
sys.argv = ["inspector", "build", sys.argv[1], "--out", sys.argv[2], "--tokenizer", "bytes"]
from inspector.cli import main
import duckdb, tantivy, tqdm, pyarrow.feather, inspector.build, index.catalog  # imported before the limit
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
main()
"""


@pytest.mark.parametrize(
    "limit,names",
    [
        (0, "full-text index"),  # Tantivy's first write (a ValueError from Rust)
        (30_000, "File too large"),  # the n-gram shard files (NumPy)
        (100_000, "File too large"),  # the document table (Arrow)
        (400_000, "signals.arrow"),  # the quality signals (Arrow)
        (700_000, "catalog"),  # DuckDB: an error on its write-ahead log
    ],
)
@pytest.mark.slow
def test_disk_full_during_a_build_is_one_line_and_keeps_the_index(wide_corpus, live, limit, names):
    before = _answers(live)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc cut short by the limit
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED_BUILD.format(limit=limit), str(wide_corpus), str(live)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc.stderr)
    assert line.startswith("error: build failed writing ") and names in line and "is kept" in line
    assert _answers(live) == before
    assert not list(Path(live).glob(".tmp-*"))  # nothing of the failed build holds the full disk


@pytest.mark.parametrize("out", ["/proc/corpus-inspector-test", "{file}/sub"])
def test_unwritable_out_is_one_line(corpus_dir, tmp_path, out):
    file = tmp_path / "a-file"
    file.write_text("x")
    out = out.format(file=file)
    proc = subprocess.run(
        [sys.executable, "-m", "inspector", "build", str(corpus_dir), "--out", out, "--tokenizer", "bytes"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert proc.returncode == 2
    assert error_line(proc.stderr).startswith(f"error: build failed writing {out}")


@pytest.mark.parametrize("texts", [[], ["", ""]], ids=["no rows", "only empty texts"])
def test_a_corpus_without_documents_never_replaces_the_index(live, tmp_path, texts):
    empty = tmp_path / "empty"
    empty.mkdir()
    pq.write_table(pa.table({"text": pa.array(texts, pa.string())}), empty / "a.parquet")
    before = _answers(live)
    message = cli_fails("build", empty, "--out", live, "--tokenizer", "bytes")
    assert "no documents to index" in message and "--allow-empty" in message
    with pytest.raises(CorpusError, match="no documents to index"):
        build_index([empty], live, tokenizer="bytes")
    assert _answers(live) == before
    built = cli_json("build", empty, "--out", live, "--tokenizer", "bytes", "--allow-empty")
    assert built["documents"] == 0 and built["empty_skipped"] == len(texts)
    with open_index(live) as index:
        assert index.n_documents == 0


def test_a_corpus_of_whitespace_texts_never_replaces_the_index(live, tmp_path):
    blank = tmp_path / "blank"
    blank.mkdir()
    pq.write_table(pa.table({"text": [" ", "\n\t ", "\u3000\u00a0", ""]}), blank / "a.parquet")
    before = _answers(live)
    assert before[3] > 0  # the old index answers a count
    message = cli_fails("build", blank, "--out", live, "--tokenizer", "bytes")
    assert "no documents to index" in message and "empty or whitespace" in message
    assert _answers(live) == before
    message = cli_fails("build", blank, "--out", live, "--tokenizer", "bytes", "--append")
    assert "no documents to append" in message
    assert _answers(live) == before


# -- 2, 3: any column a Parquet file can hold ---------------------------------------------------------------------

WEIRD = ["filename", "file", "row", "doc", "tokens", "chars", "shard", "id", "select", 'a"b', "a'b", "with space",
         "ünï", "`x`", "", " ", "file_row_number", "File", "meta_file", "a.b", "x;DROP TABLE documents;--"]


def test_every_column_name_builds(tmp_path):
    n = 12
    rows = [{"text": f"doc {i} text", **{name: i * 100 + j for j, name in enumerate(WEIRD)}} for i in range(n)]
    rows[0]["filename"] = rows[0]["select"] = None
    table = pa.Table.from_pylist(rows)
    table = table.set_column(WEIRD.index("with space") + 1, "with space", pa.array([f"v{i}" for i in range(n)]))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pq.write_table(table.slice(0, 7), corpus / "a.parquet")
    pq.write_table(pa.table({"text": ["only a text here"]}), corpus / "b.parquet")  # lacks every metadata column
    pq.write_table(table.slice(7), corpus / "c.parquet")
    build_index([corpus], tmp_path / "idx", tokenizer="bytes", id_column=None)
    with open_index(tmp_path / "idx") as index:
        docs = table.slice(0, 7).to_pylist() + [{"text": "only a text here"}] + table.slice(7).to_pylist()
        assert index.n_documents == len(docs)
        assert [index.document(d).text for d in range(len(docs))] == [r["text"] for r in docs]
        catalog = index.catalog
        columns = {}  # catalog column -> its values in document order
        for column in catalog.metadata_columns():
            got = catalog.cursor().execute(f"SELECT {catalog.column(column)} FROM documents ORDER BY doc").fetchall()
            columns[column] = [g[0] for g in got]
        assert len(columns) == len(WEIRD)
        for name in WEIRD:  # each column, under its own name or meta_<name> where the catalog's own facts took it
            found = [c for c, values in columns.items() if values == [r.get(name) for r in docs]]
            assert len(found) == 1 and re.fullmatch(r"(meta_)*" + re.escape(name), found[0] or "meta_"), name
        assert index.stats().documents == len(docs)
        assert index.search("", filters=[("a\"b", "=", 7 * 100 + WEIRD.index('a"b'))]).hits[0].doc == 8
        assert index.search("", filters=[("with space", "=", "v3")]).hits[0].doc == 3


def test_uint64_metadata_builds_and_filters_exactly(tmp_path):
    big = [2**64 - 1, 2**64 - 2, 2**63, 2**63 - 1, 5, 0, None]
    small = [-(2**63), -1, 0, 1, 2**63 - 1, None, 7]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pq.write_table(
        pa.table({"text": [f"t{i}" for i in range(len(big))], "big": pa.array(big, pa.uint64()), "small": small}),
        corpus / "a.parquet",
    )
    build_index([corpus], tmp_path / "idx", tokenizer="bytes")
    ops = {"=": int.__eq__, "!=": int.__ne__, "<": int.__lt__, "<=": int.__le__, ">": int.__gt__, ">=": int.__ge__}
    with open_index(tmp_path / "idx") as index:
        signals = index.catalog.signal_columns()  # filtered through the catalog, as floats
        assert {c: k for c, k in index.filter_columns().items() if c not in signals} == {"big": "int", "small": "int"}
        for column, values in (("big", big), ("small", small)):
            for bound in {*[v for v in values if v is not None], -1, 2**64, -(2**64), 2**70, 3}:
                for op, test in ops.items():
                    # != keeps documents without the value (the filter excludes, it does not require)
                    expected = [d for d, v in enumerate(values) if (v is None and op == "!=") or
                                (v is not None and test(v, bound))]
                    result = index.search("", where=f"{column} {op} {bound}", limit=100)
                    assert sorted(h.doc for h in result.hits) == expected, (column, op, bound)
        stats = index.stats().distributions["big"]
        assert stats.count == 6 and stats.max == float(2**64 - 1)


# -- 6-10: numbers and ids the API and CLI used to take silently --------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1"])
def test_shard_tokens_must_be_positive(corpus_dir, tmp_path, value):
    message = cli_fails("build", corpus_dir, "--out", tmp_path / "i", "--tokenizer", "bytes", "--shard-tokens", value)
    assert "--shard-tokens must be between 1 and " in message and f"not {value}" in message
    with pytest.raises(InspectorError, match="--shard-tokens must be between 1"):
        build_index([corpus_dir], tmp_path / "i", tokenizer="bytes", shard_tokens=int(value))
    with pytest.raises(InspectorError, match="--shard-tokens must be between 1"):
        build_index([corpus_dir], tmp_path / "i", tokenizer="bytes", shard_tokens=2.5)
    assert not (tmp_path / "i").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["ntd", "{index}", "data", "--top", "-5"], "top must be at least 0, not -5"),
        (["find", "{index}", "data", "--limit", "-1"], "limit must be at least 0, not -1"),
        (["find", "{index}", "data", "--offset", "-3"], "offset must be at least 0, not -3"),
        (["find", "{index}", "data", "--context", "-2"], "context must be at least 0, not -2"),
        (["count", "{index}", "--ids", ""], "--ids is empty"),
        (["count", "{index}", "--ids", " "], "--ids is empty"),
        (["count", "{index}", "--ids", "464,,3290"], "--ids item 2 ('') is not an integer"),
        (["count", "{index}", "--ids", "464,"], "--ids item 2 ('') is not an integer"),
        (["ntd", "{index}", "--ids", ""], "--ids is empty"),
        (["find", "{index}", "--ids", ""], "--ids is empty"),
        (["infgram", "{index}", "--ids", ""], "--ids is empty"),
        (["prob", "{index}", "data", "--next-ids", ""], "--ids is empty"),
        (["prob", "{index}", "data", "--ids", "", "--next-ids", "1"], "--ids is empty"),
    ],
)
def test_bad_numbers_and_ids_in_the_cli(index_dir, args, message):
    assert message in cli_fails(*[a.format(index=index_dir) for a in args])


def test_top_zero_lists_every_next_token(index):
    every = index.ntd("data", top=0)
    assert len(every.next_tokens) == every.distinct > 3
    assert len(index.ntd("data", top=3).next_tokens) == 3


def test_empty_ids_are_an_error_but_the_empty_text_counts_every_token(index):
    assert index.count("").count == index.n_tokens
    for call in (
        lambda: index.count(ids=[]),
        lambda: index.ntd(ids=()),
        lambda: index.find(ids=[]),
        lambda: index.infgram(ids=[]),
        lambda: index.prob("data", "model", ids=[]),
        lambda: index.prob("data", next_ids=[]),
    ):
        with pytest.raises(InvalidQuery, match="is empty"):
            call()
    for bad in ([1.5], [True], ["464"], [None]):
        with pytest.raises(InvalidQuery, match="is not an integer token id"):
            index.count(ids=bad)
        with pytest.raises(InvalidQuery, match="is not an integer token id"):
            index.prob("data", next_ids=bad)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda i: i.find("data", limit=2.5), "limit must be an integer, not 2.5"),
        (lambda i: i.find("data", offset="1"), "offset must be an integer"),
        (lambda i: i.find("data", context=True), "context must be an integer, not True"),
        (lambda i: i.ntd("data", top=1.5), "top must be an integer"),
        (lambda i: i.ntd("data", top=-1), "top must be at least 0"),
        (lambda i: i.search("data", limit=2.5), "limit must be an integer"),
        (lambda i: i.search("data", offset=1.0), "offset must be an integer"),
        (lambda i: i.count_many(np.array([[np.nan, 1.0]])), "NaN, infinite or fractional"),
        (lambda i: i.count_many(np.array([[464.5, 1.0]])), "NaN, infinite or fractional"),
        (lambda i: i.count_many([[464, float("nan")]]), "NaN, infinite or fractional"),
        (lambda i: i.count_many(np.array([[True, False]])), "integer token ids, not bool"),
        (lambda i: i.count_many([["464", "1"]]), "integer token ids"),
        (lambda i: i.count_many([[464, 1], [2]]), "rows of one length"),
        (lambda i: i.count_many([[464, 1]], lengths=[1.5]), "lengths holds NaN, infinite or fractional"),
        (lambda i: i.engine.find_many(np.array([[np.inf]])), "NaN, infinite or fractional"),
        (lambda i: i.engine.find([1.5]), "NaN, infinite or fractional"),
        (lambda i: i.engine.count_many(np.array([[2**64 - 1]], dtype=np.uint64)), "past any token id"),
        (lambda i: i.engine.match_lengths([464], cap=1.5), "cap must be an integer"),
        (lambda i: i.engine.document_tokens(1.5), "document number is an integer"),
    ],
)
def test_api_types_are_checked(index, call, message):
    with pytest.raises(InvalidQuery, match=re.escape(message)):
        call(index)


def test_integral_floats_count_like_ints(index):
    grams = np.array([index.tokenizer.encode(" data model"), index.tokenizer.encode(" deep learning")])
    assert index.count_many(grams.astype(np.float64)).tolist() == index.count_many(grams).tolist()
    assert index.count_many(grams).tolist() == [index.count(ids=g.tolist()).count for g in grams]


# -- 11, 12: non-ASCII text ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cjk(tmp_path_factory):
    """A GPT-2 index over CJK text (whose characters byte-level BPE splits across tokens) with 600 × 東京."""
    folder = tmp_path_factory.mktemp("cjk")
    rng = random.Random(12)
    words = rng.choices(["大阪", "京都", "Tokyo", "日本語", "東", "京", "東京都", "鬱", "𠀋"], k=3000)
    for _ in range(600):
        words.insert(rng.randrange(len(words) + 1), "東京")
    chars = "東京大阪京都日本語漢字中文測試鬱龍𠀋"
    dense = "".join(rng.choice(chars) if rng.random() < 0.9 else " " for _ in range(400))
    texts = [" ".join(words), dense, "plain 東京 text"]
    write_parquet(folder / "corpus" / "a.parquet", [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    # full-text words as they stand (the cjk tokenizer, which finds 東京 inside 東京都, is tested in test_fulltext)
    build_index([folder / "corpus"], folder / "idx", fulltext_tokenizer="words")
    with open_index(folder / "idx") as index:
        yield index, texts


def test_every_search_match_is_marked_in_cjk_text(cjk):
    index, texts = cjk
    text = texts[0]
    expected = [(m.start(), m.end()) for m in re.finditer(r"(?<!\S)東京(?!\S)", text)]
    assert len(expected) == 600
    assert list(index.search_highlights(text, "東京")) == expected
    hit = next(h for h in index.search("東京", limit=5, snippet_chars=240).hits if h.doc == 0)
    assert 200 < len(hit.snippet) <= 240 and hit.snippet in text  # about 240 characters, not 240 bytes
    assert hit.highlights and all(hit.snippet[a:b] == "東京" for a, b in hit.highlights)


def test_keyword_in_context_is_cut_at_whole_characters(cjk):
    index, texts = cjk
    tokens = index.document_tokens(1)
    pieces = [index.tokenizer.token_bytes(int(t)) for t in tokens[:60]]
    assert any(p and (p[0] & 0xC0) == 0x80 for p in pieces)  # the test's premise: tokens that start mid-character
    checked = 0
    for a in range(58):
        ids = [int(t) for t in tokens[a : a + 2]]
        for context in (0, 1, 2, 3, 5):
            for hit in index.find(ids=ids, context=context, limit=3).documents:
                s = hit.snippet
                whole = s.left + s.match + s.right
                assert "\ufffd" not in whole and s.match and whole in texts[hit.doc], (a, context, s)
                checked += 1
    assert checked > 200
    for hit in index.find("東京", context=4, limit=10).documents:
        assert hit.snippet.match.strip() == "東京" and "\ufffd" not in hit.snippet.left + hit.snippet.right
