"""The Search and Document pages in a real browser (Debian's chromium, Playwright, the real Streamlit server): bad
document links, phrase marks, a long document stepped through match by match with the keyboard and Back, and a
search view reproduced from its URL."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from .browser import metric, screenshot, serve
from .corpora import MIDDLE, PHRASE, phrase_starts


@pytest.fixture(scope="module")
def search_server(search_index_dir):
    yield from serve(search_index_dir)


def params(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def alerts(page):
    return page.locator('[data-testid="stAlert"]')


@pytest.mark.parametrize("value, said", [
    ("99999999", "must be from 0 to 26, not 99,999,999"),
    ("abc", "must be a whole number from 0 to 26, not 'abc'"),
    ("-5", "must be from 0 to 26, not -5"),
])
def test_a_bad_document_link_shows_an_error_not_another_document(page, search_server, value, said):
    from playwright.sync_api import expect

    page.goto(f"{search_server}/document?doc={value}")
    expect(alerts(page).first).to_contain_text("doc (the document number) " + said, timeout=20_000)
    page.wait_for_timeout(1000)  # time for a rerun that would rewrite the URL or show a document
    assert alerts(page).count() == 1 and page.locator(".document-text").count() == 0
    assert params(page)["doc"] == [value]


def test_a_search_result_opens_the_long_document_at_its_match_and_steps_by_keys(page, search_server,
                                                                               search_index):
    from playwright.sync_api import expect

    starts = phrase_starts(search_index.document(2).text)
    page.goto(f"{search_server}/search?q={PHRASE}")
    expect(metric(page)).to_have_text("2", timeout=20_000)
    page.locator("mark").first.wait_for(timeout=20_000)  # the figure may be drawn before the results under it
    snippet_marks = page.locator("mark").all_inner_texts()
    assert snippet_marks and set(snippet_marks) == {"kernel module"}  # the phrase, one mark, never its words alone
    page.get_by_role("link", name="Open document 2").click()
    counter = page.get_by_text(re.compile(r"^match \d of 3$"))
    expect(counter).to_have_text("match 1 of 3", timeout=20_000)
    text = page.locator(".document-text")
    assert text.locator("mark").first.inner_text() == "kernel module"
    assert page.get_by_text(f"Characters {starts[0] - 300:,}–").count() == 1
    screenshot(page, "document-match")
    page.locator("h1").click()  # the keys act on the page, not on a text box
    page.keyboard.press("n")
    expect(counter).to_have_text("match 2 of 3", timeout=20_000)
    assert params(page)["match"] == ["2"] and params(page)["search"] == [PHRASE]
    expect(page.get_by_text(f"Characters {starts[1] - 300:,}–")).to_have_count(1, timeout=20_000)
    page.keyboard.press("n")
    expect(counter).to_have_text("match 3 of 3", timeout=20_000)
    page.keyboard.press("p")
    expect(counter).to_have_text("match 2 of 3", timeout=20_000)
    page.go_back()  # Back returns to the match shown before
    expect(counter).to_have_text("match 3 of 3", timeout=20_000)
    assert params(page)["match"] == ["3"]
    expect(page.get_by_text(f"Characters {starts[2] - 300:,}–")).to_have_count(1, timeout=20_000)


def test_a_search_view_comes_back_from_its_url(page, search_server, search_index):
    from playwright.sync_api import expect

    expected = search_index.search("kernel", filters=[("source", "in", ["web"]), ("quality", ">=", 0.05)],
                                   limit=10, offset=10, sort="-year")
    page.goto(f"{search_server}/search?q=kernel&f_source=web&f_quality=0.05..&sort=-year&page=2")
    expect(metric(page)).to_have_text(f"{expected.total:,}", timeout=20_000)
    expect(page.get_by_text("Filtered by: source in [web]; quality ≥ 0.05")).to_be_visible()
    page.get_by_text(re.compile(r"^doc \d+ · id ")).first.wait_for(timeout=20_000)
    facts = page.get_by_text(re.compile(r"^doc \d+ · id ")).all_inner_texts()
    assert [f.split(" · ")[0] for f in facts] == [f"doc {h.doc}" for h in expected.hits]
    screenshot(page, "search-filters")
    box = page.locator('input[aria-label="Query"]')
    box.fill("notes")
    box.press("Enter")
    expect(metric(page)).to_have_text(
        f"{search_index.search('notes', filters=[('source', 'in', ['web']), ('quality', '>=', 0.05)]).total:,}",
        timeout=20_000)
    assert "page" not in params(page) and params(page)["f_source"] == ["web"] and params(page)["q"] == ["notes"]
    assert params(page)["sort"] == ["-year"]


@pytest.fixture(scope="module")
def middle_server(middle_index_dir):
    yield from serve(middle_index_dir)


def test_a_document_that_fits_one_window_opens_at_its_start_scrolled_to_the_match(page, middle_server):
    from playwright.sync_api import expect

    page.goto(f"{middle_server}/document?doc=0&search=needle")
    mark = page.locator(".document-text mark")
    expect(mark).to_have_text("needle", timeout=20_000)
    expect(mark).to_be_in_viewport(timeout=10_000)  # 600 lines down the page, scrolled to
    text = page.locator(".document-text").text_content()
    assert text == MIDDLE  # the whole document, from its first character
    expect(page.get_by_role("heading", name="Document")).not_to_be_in_viewport()  # the page did scroll
    screenshot(page, "document-fits-scrolled-to-match")
