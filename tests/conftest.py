"""Shared fixtures: small seeded Parquet corpora written by the tests, real indexes built from them.

In CI (CI=true) a skipped test fails: every part a test needs must be installed by .ci/run.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inspector import build_index, open_index

XSS_TEXT = (
    "Attack sampler: <script>alert('xss')</script> and <img src=x onerror=alert(1)> "
    "and [click me](javascript:alert(2)) and math $x$ and **bold** and # heading — all must show literally."
)


def write_parquet(path: Path, rows: list[dict], row_group_size: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def sample_rows(seed: int = 7, n: int = 60) -> list[dict]:
    """Documents with FineWeb-like metadata; a few planted phrases and the XSS sampler."""
    rng = random.Random(seed)
    words = "data model token corpus quality score language learning deep shard index search".split()
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))
        rows.append(
            {
                "id": f"doc-{i:03d}",
                "text": text,
                "source": rng.choice(["web", "books", "code"]),
                "quality": round(rng.random(), 3),
                "url": f"https://example.org/{i}",
            }
        )
    rows[3]["text"] = "The zebra-crossing phrase appears once in this corpus: purple elephant umbrella."
    rows[10]["text"] = XSS_TEXT
    rows[20]["text"] = "Unicode: naïve café — 東京 and emoji 🎉 then natural language after them."
    rows[25]["text"] = ""
    return rows


def damaged_keeping_time(out: Path) -> Path:
    """Flip one bit of the live build's tokens.bin in place and set its modification time back, as a careless
    tool would (its change time, which nothing can set back, moves); the damaged file."""
    with open_index(out) as index:
        tokens = next(index.build.glob("shard-*/tokens.bin"))
    stat = tokens.stat()
    data = bytearray(tokens.read_bytes())
    data[1] ^= 0x01
    tokens.write_bytes(data)
    os.utime(tokens, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return tokens


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    rows = sample_rows()
    write_parquet(folder / "part-000.parquet", rows[:30], row_group_size=8)
    write_parquet(folder / "part-001.parquet", rows[30:], row_group_size=8)
    return folder


@pytest.fixture(scope="session")
def index_dir(corpus_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("index") / "idx"
    build_index([corpus_dir], out, shard_tokens=300)
    return out


@pytest.fixture(scope="session")
def index(index_dir):
    return open_index(index_dir)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every part must be installed: {report.longrepr}"
