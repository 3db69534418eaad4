"""The N-grams page in a real browser (chromium + Playwright against the real server): a pasted multi-line passage,
the URL as the whole view (reload, a new tab, Back), page reset, exports and extending the prompt by a click."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

from .browser import metric, screenshot, serve, settle
from .corpora import PASSAGE


@pytest.fixture(scope="module")
def poem_server(poem_index_dir):
    yield from serve(poem_index_dir)


def expect():
    from playwright.sync_api import expect

    return expect




def run_query(page, text: str) -> None:
    """Type (or paste) into the Query box and press Ctrl+Enter, as a person would."""
    box = page.locator('textarea[aria-label="Query"]')
    box.fill(text)
    box.press("Control+Enter")


def params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


DOC_LINK = re.compile(r"^doc \d+ ")


def doc_links(page) -> list[str]:
    return page.get_by_role("link", name=DOC_LINK).all_inner_texts()


def test_a_pasted_multi_line_passage_counts_as_in_the_document(page, poem_server, poem_index):
    page.goto(f"{poem_server}/ngrams")
    run_query(page, PASSAGE)
    count = poem_index.count(PASSAGE).count
    assert count >= 1
    expect()(metric(page)).to_have_text(f"{count:,}", timeout=20_000)
    settle(page)
    assert params(page)["q"] == PASSAGE
    screenshot(page, "ngrams-multiline")


def test_a_shared_url_shows_the_same_view(page, browser, poem_server, poem_index):
    page.goto(f"{poem_server}/ngrams?mode=Documents")
    run_query(page, "data")
    expect()(metric(page)).to_have_text(f"{poem_index.find('data').count:,}", timeout=20_000)
    page.get_by_text("Options").click()
    page.get_by_text("seeded random sample").click()
    settle(page)
    seed = page.get_by_label("Seed (random order)")
    seed.fill("9")
    seed.press("Enter")
    settle(page)
    want = [re.compile(f"^doc {h.doc} ") for h in poem_index.find("data", order="random", seed=9).documents]
    expect()(page.get_by_role("link", name=DOC_LINK)).to_have_text(want, timeout=20_000)
    assert params(page) == {"mode": "Documents", "q": "data", "order": "random", "seed": "9"}
    shown = doc_links(page)
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        other.goto(page.url)
        expect()(other.get_by_role("link", name=DOC_LINK)).to_have_text(shown, timeout=20_000)
        expect()(metric(other)).to_have_text(f"{poem_index.find('data').count:,}")
        assert other.locator('textarea[aria-label="Query"]').input_value() == "data"
    finally:
        other.context.close()


def test_back_returns_to_the_previous_query(page, poem_server, poem_index):
    page.goto(f"{poem_server}/ngrams")
    run_query(page, "data model")
    expect()(metric(page)).to_have_text(f"{poem_index.count('data model').count:,}", timeout=20_000)
    settle(page)
    run_query(page, "quality score")
    expect()(metric(page)).to_have_text(f"{poem_index.count('quality score').count:,}", timeout=20_000)
    settle(page)
    page.go_back()
    expect()(page.locator('textarea[aria-label="Query"]')).to_have_value("data model", timeout=20_000)
    expect()(metric(page)).to_have_text(f"{poem_index.count('data model').count:,}", timeout=20_000)
    assert params(page)["q"] == "data model"


def test_a_new_query_starts_at_page_one(page, poem_server, poem_index):
    page.goto(f"{poem_server}/ngrams?mode=Documents&q=data&page=3")
    expect()(page.get_by_text("page 3 of")).to_be_visible(timeout=20_000)
    run_query(page, "model")
    expect()(page.get_by_text("page 1 of")).to_be_visible(timeout=20_000)
    settle(page)
    assert "page" not in params(page)
    first = poem_index.find("model").documents[0].doc
    expect()(page.get_by_role("link", name=DOC_LINK).first).to_have_text(re.compile(f"^doc {first} "))
    page.goto(f"{poem_server}/ngrams?mode=Documents&q={quote('purple elephant')}&page=40")
    expect()(page.get_by_text("Page 40 is past the end")).to_be_visible(timeout=20_000)


def test_a_bogus_mode_is_one_plain_error(page, poem_server):
    page.goto(f"{poem_server}/ngrams?mode=Bogus")
    error = page.locator('[data-testid="stAlertContentError"]')
    expect()(error).to_contain_text("mode must be one of", timeout=20_000)
    settle(page)
    assert error.count() == 1 and "'Bogus'" in error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_download_and_extend_next_tokens(page, poem_server, poem_index):
    page.goto(f"{poem_server}/ngrams?mode={quote('Next token')}&q=data&top=5")
    ntd = poem_index.ntd("data", top=0)
    expect()(metric(page)).to_have_text(f"{ntd.prompt_count:,}", timeout=20_000)
    with page.expect_download(timeout=20_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [int(r["id"]) for r in rows] == [t.id for t in ntd.next_tokens] and len(rows) == ntd.distinct > 5
    top = ntd.next_tokens[0]
    page.get_by_role("radio", name=f"id {top.id}").click()
    expect()(page.locator('textarea[aria-label="Query"]')).to_have_value("data" + top.token, timeout=20_000)
    expect()(metric(page)).to_have_text(f"{poem_index.ntd('data' + top.token).prompt_count:,}", timeout=20_000)
    settle(page)
    assert params(page)["q"] == "data" + top.token
    screenshot(page, "ngrams-next-token-extend")


def test_next_token_choices_show_corpus_text_literally(page, poem_server, poem_index):
    """After ' and' come ' **', ' [', ' <', ' #' (the sampler document) and two backslashes: shown as they are."""
    page.goto(f"{poem_server}/ngrams?mode={quote('Next token')}&q=and&top=50")
    choices = page.get_by_role("radiogroup", name="Extend the prompt with").get_by_role("radio")
    expect()(choices.first).to_be_visible(timeout=20_000)
    want = [f"{t.token!r} · id {t.id}" for t in poem_index.ntd("and", top=10).next_tokens]
    assert any(c in w for w in want for c in "*[<#") and any("\\\\\\\\" in w for w in want)
    assert [c.strip() for c in choices.all_inner_texts()] == want
    assert page.dialogs == []


def test_the_infgram_token_picker_shows_each_token_as_it_is(page, poem_server, poem_index):
    """The picker's choices are plain text (a select box renders no Markdown): a token ': ' or " 'value'" reads as
    its repr, never with Markdown escapes (4\\: \\' value\\')."""
    text = "x = {'key': 'value'} and \\\\server *bold* [link]"
    tokens = poem_index.infgram(text).tokens
    assert any(c in t.token for t in tokens for c in ":'\\*[")
    want = ["—"] + [f"{k}: {t.token!r}" for k, t in enumerate(tokens, 1)]
    page.goto(f"{poem_server}/ngrams?mode={quote('∞-gram')}&q={quote(text)}&token=4")
    picker = page.get_by_role("combobox", name=re.compile("^Look at a token"))
    expect()(picker).to_have_value(want[4], timeout=20_000)
    settle(page)
    for _ in range(3):  # a click while the page still reruns can leave the list closed: open it again
        picker.click()
        try:
            expect()(page.get_by_role("option").first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    expect()(page.get_by_role("option")).to_have_text(want, timeout=10_000)  # the list, once drawn whole
