"""Shared fixtures: small seeded Parquet corpora written by the tests, real indexes built from them.

In CI (CI=true) a skipped test fails: every part a test needs must be installed by .ci/run.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from inspector import build_index, open_index

from .browser import CHROMIUM
from .corpora import (
    ESCAPES,
    MIDDLE,
    POEM,
    annotation_corpus,
    contam_corpus,
    sample_rows,
    search_rows,
    write_parquet,
)
from .profiles import PROFILE


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


# -- the indexes a page's AppTest and browser tests share ------------------------------------------------------------


@pytest.fixture(scope="module")
def annotation_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotation")
    build_index([annotation_corpus(folder)], folder / "idx", signals=False)
    return folder / "idx"


@pytest.fixture(scope="module")
def contam_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contam")
    build_index([contam_corpus(folder)], folder / "idx")
    return folder / "idx"


@pytest.fixture(scope="session")
def poem_index_dir(tmp_path_factory) -> Path:
    """The shared sample corpus, then the poem (line breaks inside) and the escapes; several index shards."""
    folder = tmp_path_factory.mktemp("poem")
    rows = sample_rows() + [{"id": "poem", "text": POEM, "source": "books", "quality": 0.5, "url": "u"},
                            {"id": "escapes", "text": ESCAPES, "source": "code", "quality": 0.5, "url": "v"}]
    write_parquet(folder / "corpus" / "a.parquet", rows)
    build_index([folder / "corpus"], folder / "idx", shard_tokens=300)
    return folder / "idx"


@pytest.fixture(scope="session")
def poem_index(poem_index_dir):
    return open_index(poem_index_dir)


@pytest.fixture(scope="module")
def search_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    write_parquet(folder / "corpus" / "a.parquet", search_rows())
    build_index([folder / "corpus"], folder / "idx", tokenizer="bytes")
    return folder / "idx"


@pytest.fixture(scope="module")
def search_index(search_index_dir):
    with open_index(search_index_dir) as index:
        yield index


@pytest.fixture(scope="module")
def middle_index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("middle")
    write_parquet(folder / "corpus" / "a.parquet", [{"id": "middle", "text": MIDDLE}, {"id": "b", "text": "other"}])
    build_index([folder / "corpus"], folder / "idx", tokenizer="bytes")
    return folder / "idx"


# -- tiers: markers from what a test uses, so `bash tests/run.sh fast` can leave the slow kinds out ----------------


def pytest_collection_modifyitems(config, items):
    """browser: drives chromium (the `browser` fixture); apptest: runs pages in Streamlit's AppTest; property:
    hypothesis examples (their count follows the profile); ray and install are marked by their modules."""
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
        if getattr(item.module, "AppTest", None) is not None or getattr(item.module, "open_page", None) is not None:
            item.add_marker(pytest.mark.apptest)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE} (tests/profiles.py)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every part must be installed: {report.longrepr}"


# -- the browser: Debian's chromium driven by Playwright (helpers in tests/browser.py) ---------------------------------


@pytest.fixture(scope="module")  # per module: Playwright's loop must not outlive the module into AppTest's
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium: apt-get install chromium (tests/run.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()
