"""The Contamination page in a real browser (Debian's chromium, Playwright, the real Streamlit server): a check run
by clicking, its item marked, an evidence link opening the Document page with the match marked, an upload through
the file picker, and a benchmark item made of markup shown as text."""
from __future__ import annotations

import json

import pytest

from inspector import check_contamination, open_benchmark, open_index

from .browser import screenshot, serve
from .corpora import HOSTILE_ITEM, humaneval_item


@pytest.fixture(scope="module")
def contam_server(contam_index_dir):
    yield from serve(contam_index_dir)


def test_humaneval_item_is_marked_and_its_evidence_opens_marked(page, contam_server, contam_index_dir):
    from playwright.sync_api import expect

    page.goto(f"{contam_server}/contamination")
    page.get_by_role("button", name="Run the check").click()
    text = page.locator("pre.contam-text").first
    text.wait_for(timeout=30_000)
    assert "report=" in page.url
    expected = humaneval_item(0)
    assert text.inner_text() == expected
    marks = text.locator("mark")
    assert marks.count() >= 1 and expected[:40] in "".join(marks.all_inner_texts())
    assert text.locator(".longest").count() == 1
    expect(page.get_by_role("link", name="Open doc 5")).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 2600})  # the app scrolls inside: show down to the item
    screenshot(page, "contamination")
    page.get_by_role("link", name="Open doc 5").click()
    doc = page.locator(".document-text")
    doc.wait_for(timeout=20_000)
    assert "doc=5" in page.url and "mark=" in page.url
    with open_index(contam_index_dir) as index:
        item = check_contamination(index, [open_benchmark("humaneval")]).items[0]
        a, b = item.evidence[0].span
        longest = index.document(5).text[a:b]
    assert f"mark={a}-{b}" in page.url and longest == item.text[slice(*item.longest_span)]
    assert doc.locator("mark").count() == 1 and doc.locator("mark").inner_text() == longest


def test_an_uploaded_item_made_of_markup_shows_as_text(page, contam_server):
    rows = [{"id": "q-hostile", "question": HOSTILE_ITEM, "answer": "no"},
            {"id": "q-plain", "question": "An unrelated question about mountains and tea?", "answer": "yes"}]
    page.goto(f"{contam_server}/contamination")
    page.get_by_text("HumanEval (bundled)").click()
    page.locator('input[type="file"]').set_input_files(files=[{
        "name": "quiz.jsonl", "mimeType": "application/json",
        "buffer": "".join(json.dumps(r) + "\n" for r in rows).encode()}])
    page.get_by_text("Preset picked automatically: gsm8k").wait_for(timeout=20_000)
    page.get_by_role("button", name="Run the check").click()
    text = page.locator("pre.contam-text").first
    text.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert text.inner_text() == HOSTILE_ITEM + "\nno"  # gsm8k's fields joined: the question, then the answer
    assert "script>alert(1)</script> The hostile question" in text.locator("mark").first.inner_text()
    assert page.dialogs == []  # no alert() ran
    assert page.locator("pre.contam-text script, pre.contam-text b").count() == 0
    assert page.locator("script:text('alert(1)')").count() == 0


def test_a_row_opens_its_item_and_the_summary_fits_its_column(page, contam_server):
    """Clicking a row of the items table opens that item (and says so in the URL); the summary table needs no
    sideways scrolling at the default window width; a column header explains itself on hover."""
    page.goto(f"{contam_server}/contamination")
    page.get_by_role("button", name="Run the check").click()
    page.locator("pre.contam-text").first.wait_for(timeout=30_000)
    summary = page.get_by_test_id("stDataFrame").filter(has_text="mean coverage")
    scroller = summary.locator(".dvn-scroller").first
    assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), scroller.evaluate(
        "e => [e.scrollWidth, e.clientWidth]")
    items = page.get_by_test_id("stDataFrame").filter(has_text="longest match")
    items.scroll_into_view_if_needed()
    key = items.get_by_test_id("glide-cell-1-2").inner_text()  # column 0 is the row markers: the third item's key
    assert key.startswith("humaneval:") and "item=" not in page.url
    box = items.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 * 3 + 17)  # below the header, the third row's marker
    page.wait_for_url(f"**item={key.replace(':', '%3A')}**", timeout=20_000)
    page.get_by_role("heading", name=key).wait_for(timeout=20_000)
