"""End to end in a real browser: Debian's chromium driven by Playwright against the real Streamlit server.

Each test types or clicks as a person would and checks what the page shows against the Python API. Screenshots of
every page go to test-artifacts/screenshots/ (the README's come from `docs/screenshots.py`, on the demo corpus).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import XSS_TEXT

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(index_dir):
    yield from serve(index_dir)


def serve(index_dir):
    """Start the real app on a free port; yield its URL once it answers."""
    port = free_port()
    env = {**os.environ, "INSPECTOR_INDEX": str(index_dir)}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"the app did not start: {proc.stderr.read().decode()[-2000:]}")
    try:
        yield url
    finally:  # also when the caller closes the generator early
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
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


def screenshot(page, name: str) -> None:
    page.wait_for_timeout(400)  # let charts finish drawing
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def metric(page, index: int = 0):
    return page.locator('[data-testid="stMetricValue"]').nth(index)


def ask(page, url: str, query: str, shown: str) -> None:
    """Open `url`, type `query` in its Query box, press Enter, and wait until the first number reads `shown`."""
    from playwright.sync_api import expect

    page.goto(url)
    box = page.locator('input[aria-label="Query"], textarea[aria-label="Query"]')  # N-grams: many lines
    box.fill(query)
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    expect(metric(page)).to_have_text(shown, timeout=20_000)


def test_overview(page, server, index):
    page.goto(server)
    metric(page).wait_for()
    assert metric(page).inner_text() == f"{index.n_documents:,}"
    screenshot(page, "overview")


def test_typed_count_equals_the_api(page, server, index):
    from playwright.sync_api import expect

    ask(page, f"{server}/ngrams", "data model", f"{index.count('data model').count:,}")
    screenshot(page, "ngrams-count")
    page.get_by_role("radio", name="Next token").click()
    expect(metric(page)).to_have_text(f"{index.ntd('data model').prompt_count:,}", timeout=20_000)
    screenshot(page, "ngrams-next-token")
    page.get_by_role("radio", name="∞-gram").click()
    page.locator(".inf").wait_for(timeout=20_000)
    screenshot(page, "ngrams-infgram")


def test_documents_mode_opens_a_document(page, server, index):
    from playwright.sync_api import expect

    page.goto(f"{server}/ngrams?mode=Documents&q=purple%20elephant%20AND%20umbrella")
    expect(metric(page)).to_have_text("1", timeout=20_000)
    screenshot(page, "ngrams-documents")
    page.get_by_role("link", name="doc 3").click()
    text = page.locator(".document-text")
    text.wait_for(timeout=20_000)
    assert "purple elephant umbrella" in text.inner_text()
    assert text.locator("mark").first.inner_text().strip() == "purple elephant umbrella"  # adjacent marks merge
    assert "doc=3" in page.url


def test_search_page(page, server, index):
    ask(page, f"{server}/search", "data", f"{index.search('data').total:,}")
    screenshot(page, "search")


def test_untrusted_text_shows_literally(page, server):
    page.goto(f"{server}/?doc=10")  # any page's URL with ?doc= opens the document page
    text = page.locator(".document-text")
    text.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    assert text.inner_text().strip() == XSS_TEXT
    assert "/document" in page.url and "doc=10" in page.url
    assert page.dialogs == []  # no alert() ran
    assert page.locator(".document-text img, .document-text script, .document-text a").count() == 0
    assert page.locator("img[src='x']").count() == 0
    screenshot(page, "document")


def test_first_request_to_a_fresh_server_can_be_a_deep_link(page, index_dir):
    """A shared link is often the first request: it must get the app's sidebar, not a bare page file."""
    server = serve(index_dir)
    url = next(server)
    try:
        page.goto(f"{url}/document?doc=3")
        page.locator(".document-text").wait_for(timeout=30_000)
        assert "purple elephant umbrella" in page.locator(".document-text").inner_text()
        assert page.locator('input[aria-label="Index folder"]').count() == 1
        assert page.get_by_role("link", name="Overview").count() == 1
    finally:
        server.close()
