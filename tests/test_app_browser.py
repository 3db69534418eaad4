"""End to end in a real browser: Debian's chromium driven by Playwright against the real Streamlit server.

Each test types or clicks as a person would and checks what the page shows against the Python API. Screenshots of
every page go to test-artifacts/screenshots/ (the README's come from `docs/screenshots.py`, on the demo corpus).
"""
from __future__ import annotations

import pytest

from .browser import metric, screenshot, serve
from .corpora import XSS_TEXT


@pytest.fixture(scope="module")
def server(index_dir):
    yield from serve(index_dir)


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
