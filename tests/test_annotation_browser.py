"""The quality spot-check flow in a real browser (Debian's chromium, Playwright, the real Streamlit server): two
annotators in two browser contexts label a task with the keyboard at the same time, the Agreement page shows their
κ, the labels download; a guideline and a document made of markup show as text."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from inspector import create_task, label_stats, open_index, sample

from .browser import screenshot, serve, settle
from .corpora import HOSTILE

GUIDELINE = "Keep fluent prose. <script>alert(1)</script> <b>not bold</b>"
KEYS = {"alice": ["k", "k", "d", "k"], "bob": ["k", "d", "d", "k"]}


@pytest.fixture(scope="module")
def browse_task(annotation_index_dir):
    """A keep/drop task of four documents, the markup document (doc 7) third."""
    with open_index(annotation_index_dir) as index:
        drawn = sample(index, "quality", bins=2, per_bin=3, seed=8)
        docs = [d.doc for d in drawn.documents if d.doc != 7][:3]
        docs.insert(2, 7)
        create_task(index, "browse", docs, [0.1, 0.4, 0.6, 0.9], guideline=GUIDELINE, score_name="quality")
    return docs


@pytest.fixture(scope="module")
def annotation_server(annotation_index_dir, browse_task):
    yield from serve(annotation_index_dir)


def bar(p, text: str):
    """The progress bar once it says `text` (while the page reruns, the old bar can linger beside the new one)."""
    return p.locator('[data-testid="stProgress"]').filter(has_text=text).first


def metric_value(p, label: str):
    return p.locator('[data-testid="stMetric"]').filter(has_text=label).locator('[data-testid="stMetricValue"]')


def test_two_annotators_label_with_keys_and_the_agreement_shows(browser, page, annotation_server,
                                                                annotation_index_dir, browse_task):
    from playwright.sync_api import expect

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    page_b = other.new_page()
    page_b.dialogs = []
    page_b.on("dialog", lambda d: (page_b.dialogs.append(d.message), d.dismiss()))
    try:
        annotators = {"alice": page, "bob": page_b}
        for name, p in annotators.items():
            p.goto(f"{annotation_server}/annotate?task=browse&annotator={name}")
            expect(bar(p, "0 of 4 labelled")).to_be_visible(timeout=30_000)
        guideline = page.get_by_text("Keep fluent prose.")
        assert guideline.inner_text().strip() == GUIDELINE  # the markup is shown, not run
        for n in range(4):  # the two annotators take turns, each at their own pace
            for name, p in annotators.items():
                expect(bar(p, f"{n} of 4 labelled")).to_be_visible(timeout=20_000)
                text = p.locator(".annotate-text")
                expect(text).to_be_visible()
                if n == 2:
                    assert text.inner_text().strip() == HOSTILE
                    assert p.locator(".annotate-text script, .annotate-text b, .annotate-text a").count() == 0
                    if name == "alice":
                        screenshot(p, "annotate")
                p.keyboard.press(KEYS[name][n])
                expect(bar(p, f"{n + 1} of 4 labelled")).to_be_visible(timeout=20_000)
                expect(p.get_by_text("Saved:")).to_be_visible()  # the confirmation
        for p in annotators.values():
            expect(p.get_by_text("are done")).to_be_visible()
        assert page.dialogs == [] and page_b.dialogs == []  # no alert() ran
    finally:
        other.close()

    with open_index(annotation_index_dir) as index:
        stats = label_stats(index, "browse")
    assert stats.kappa is not None and stats.annotators == ("alice", "bob")
    page.goto(f"{annotation_server}/agreement?task=browse")
    expect(metric_value(page, "Cohen's κ")).to_have_text(f"{stats.kappa:.3f}", timeout=30_000)
    expect(metric_value(page, "Items with ≥ 2 labels")).to_have_text("4")
    expect(page.get_by_role("link", name=f"doc {browse_task[1]}")).to_be_visible()
    screenshot(page, "agreement")
    settle(page)  # a click during a rerun can land on a button the rerun replaces: no download then
    with page.expect_download(timeout=20_000) as download:
        page.get_by_role("button", name="Labels (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [r["label:alice"] for r in rows] == ["keep", "keep", "drop", "keep"]
    assert [r["label:bob"] for r in rows] == ["keep", "drop", "drop", "keep"]
    assert [int(r["doc"]) for r in rows] == browse_task

    # the disagreement opens the Annotate page on its item
    page.get_by_role("link", name=f"doc {browse_task[1]}").click()
    # a new tab (this session has not annotated): the page asks who you are
    name = page.locator('input[aria-label="Your name"]')
    name.fill("bob")
    name.press("Enter")
    expect(page.get_by_text("You labelled this item")).to_be_visible(timeout=20_000)
    assert "/annotate" in page.url and f"doc={browse_task[1]}" in page.url


def test_the_sample_page_draws_and_creates_a_task(page, annotation_server, annotation_index_dir):
    from playwright.sync_api import expect

    from inspector import tasks

    page.goto(f"{annotation_server}/sample?score=quality&bins=2&per_bin=2&seed=4")
    expect(page.get_by_role("heading", name="Sampled documents")).to_be_visible(timeout=30_000)
    page.locator('input[aria-label="Task name"]').fill("from-the-browser")
    page.get_by_role("button", name="Create the task").click()
    expect(page.get_by_text("created: 4 items")).to_be_visible(timeout=20_000)
    screenshot(page, "sample")
    with open_index(annotation_index_dir) as index:
        assert "from-the-browser" in {t.name for t in tasks(index)}


FAST_DOCS = list(range(20, 30))


def press_log(p) -> list[dict]:
    """Every press the page lists (oldest first): its key, whether it counted, and the document it was given on."""
    rows = p.locator(".label-keys .presses li").evaluate_all(
        "items => items.map(li => ({n: +li.dataset.n, key: li.dataset.key, state: li.dataset.state, "
        "doc: li.dataset.doc === undefined ? null : +li.dataset.doc, text: li.textContent}))")
    return sorted(rows, key=lambda r: r["n"])


@pytest.mark.serial
def test_keys_pressed_50_ms_apart_are_each_saved_in_order_or_shown_as_not_counted(
    page, annotation_server, annotation_index_dir
):
    """Label keys pressed every 50 ms, faster than the page saves: every press the page lists as saved is in the
    labels, in the order pressed and on the document it was pressed on; every other one is listed as not counted."""
    import random

    from playwright.sync_api import expect

    from inspector import current_labels

    with open_index(annotation_index_dir) as index:
        create_task(index, "fast", FAST_DOCS)
    page.goto(f"{annotation_server}/annotate?task=fast&annotator=quick")
    expect(bar(page, "0 of 10 labelled")).to_be_visible(timeout=30_000)
    expect(page.locator('.label-keys[data-busy="false"]')).to_be_visible(timeout=20_000)
    rng = random.Random(19)
    pressed = []
    while len(pressed) < 400 and not page.get_by_text("are done").count():
        pressed.append(rng.choice("kd"))
        page.keyboard.press(pressed[-1])
        page.wait_for_timeout(50)
    for key in "kd":  # a press once every item is done: refused, and listed so
        pressed.append(key)
        page.keyboard.press(key)
        page.wait_for_timeout(50)
    expect(bar(page, "10 of 10 labelled")).to_be_visible(timeout=20_000)
    expect(page.locator(".label-keys")).to_have_count(1, timeout=20_000)  # the page has settled
    expect(page.locator('.label-keys[data-busy="false"]')).to_be_visible(timeout=20_000)
    log = press_log(page)
    assert [r["key"] for r in log] == pressed  # every press is listed, in order
    assert {r["state"] for r in log} <= {"saved", "refused"}, log  # each one either counted or was refused
    saved = [(r["doc"], r["key"]) for r in log if r["state"] == "saved"]
    refused = [r for r in log if r["state"] == "refused"]
    assert refused and all(r["text"].startswith(f"{r['key']}: not counted") for r in refused)
    assert log[-1]["state"] == log[-2]["state"] == "refused"
    summary = page.locator(".label-keys .presses summary")
    expect(summary).to_have_text(f"Presses this session: {len(log)} ({len(saved)} saved, {len(refused)} not counted)")
    with open_index(annotation_index_dir) as index:
        given = [(e.doc, {"keep": "k", "drop": "d"}[e.label]) for e in current_labels(index, "fast", history=True)
                 if e.annotator == "quick"]
    assert given == saved  # the labels hold exactly the presses listed as saved, in order
    assert [doc for doc, _ in given] == FAST_DOCS  # one each, on the document shown when it was pressed
    screenshot(page, "annotate-fast-keys")


def test_a_label_key_after_enter_in_the_name_or_the_note_box_labels_under_that_name(
    page, annotation_server, annotation_index_dir
):
    """The reported sequence: type `dave` in the name box, press Enter, press a label key. Enter leaves the box, so
    the key labels (for dave) and does not type into it (`daved`); the same after typing a note. While a box has
    focus the page says the keys are off."""
    from playwright.sync_api import expect

    from inspector import current_labels

    with open_index(annotation_index_dir) as index:
        create_task(index, "names", [30, 31, 32, 33])
    page.goto(f"{annotation_server}/annotate?task=names")
    expect(page.locator(".label-keys")).to_contain_text("Keys: none until", timeout=30_000)  # its keys are there
    name = page.locator('input[aria-label="Your name"]')
    name.click()
    name.press_sequentially("dave")
    name.press("Enter")
    keys_on = page.locator('.label-keys[data-busy="false"][data-keys="on"]')
    expect(keys_on).to_be_visible(timeout=30_000)
    page.keyboard.press("k")
    expect(bar(page, "1 of 4 labelled")).to_be_visible(timeout=20_000)
    expect(name).to_have_value("dave")
    expect(keys_on).to_be_visible(timeout=20_000)  # the press is answered: the page takes presses again

    note = page.locator('input[aria-label="Note (optional)"]')
    # the next item's note box replaces the last one's when the run ends; until then both are drawn (the old one faded)
    expect(note).to_have_count(1, timeout=20_000)
    note.click()
    expect(page.locator('.label-keys[data-keys="off"]')).to_contain_text("Keys off")  # typing: said so
    note.press_sequentially("short")  # holds k and d: typed into the note, never a label
    note.press("Enter")
    expect(keys_on).to_be_visible(timeout=20_000)
    page.keyboard.press("d")
    expect(bar(page, "2 of 4 labelled")).to_be_visible(timeout=20_000)
    expect(name).to_have_value("dave")
    with open_index(annotation_index_dir) as index:
        given = [(e.annotator, e.doc, e.label, e.note) for e in current_labels(index, "names", history=True)]
    assert given == [("dave", 30, "keep", None), ("dave", 31, "drop", "short")]
    assert "annotator=dave" in page.url


def test_a_disagreement_link_keeps_the_leads_name_in_this_tab_and_a_new_one(
    browser, page, annotation_server, annotation_index_dir
):
    """The lead opens the Agreement page under their name and follows a disagreement: in the same tab, and in a new
    one (a new session, which knows nothing but the link), Annotate opens that item under the lead's name."""
    from urllib.parse import urljoin

    from playwright.sync_api import expect

    from inspector import add_label, current_labels

    with open_index(annotation_index_dir) as index:
        create_task(index, "lead-links", [34, 35, 36])
        for doc, va, vb in [(34, "keep", "keep"), (35, "keep", "drop"), (36, "drop", "drop")]:
            add_label(index, "lead-links", doc, "ann", va)
            add_label(index, "lead-links", doc, "bea", vb)
    page.goto(f"{annotation_server}/agreement?task=lead-links&annotator=lead")
    link = page.get_by_role("link", name="doc 35")
    expect(link).to_be_visible(timeout=30_000)
    href = urljoin(annotation_server + "/", link.get_attribute("href"))
    assert "annotator=lead" in href and "doc=35" in href

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = other.new_page()
        tab.goto(href)
        expect(tab.locator('input[aria-label="Your name"]')).to_have_value("lead", timeout=30_000)
        expect(tab.get_by_text("doc 35 ·")).to_be_visible()
    finally:
        other.close()

    link.click()
    expect(page.locator('input[aria-label="Your name"]')).to_have_value("lead", timeout=30_000)
    expect(page.locator('.label-keys[data-busy="false"][data-keys="on"]')).to_be_visible(timeout=20_000)
    page.keyboard.press("d")
    expect(bar(page, "1 of 3 labelled")).to_be_visible(timeout=20_000)
    assert "annotator=lead" in page.url
    with open_index(annotation_index_dir) as index:
        given = [(e.annotator, e.doc, e.label) for e in current_labels(index, "lead-links") if e.annotator == "lead"]
    assert given == [("lead", 35, "drop")]
