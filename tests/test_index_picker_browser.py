"""The app as `inspector app` serves it, in chromium: figures readable in a narrow window, a visible sign of work."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from inspector import build_index

from .browser import metric, screenshot
from .corpora import sample_rows, write_parquet
from .test_server_fuzz import serve_app


def serve_url(index_dir, *options: str):
    """`inspector app DIR OPTIONS` as a real server; its URL."""
    for _, url in serve_app(index_dir, *options):
        yield url


@pytest.fixture(scope="module")
def app_url(index_dir):
    yield from serve_url(index_dir)


@pytest.fixture(scope="module")
def root(corpus_dir, tmp_path_factory):
    """ROOT/a (59 documents) and ROOT/b (29)."""
    root = tmp_path_factory.mktemp("pickroot")
    build_index([corpus_dir], root / "a")
    build_index([write_parquet(root / "corpus" / "b.parquet", sample_rows(n=30))], root / "b")
    return root


@pytest.fixture(scope="module")
def confined_url(root):
    yield from serve_url(root / "a", "--root", str(root))


def idle(tab) -> None:
    """Wait until the app has finished running its script."""
    tab.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)


def test_overview_figures_are_whole_in_an_800_pixel_window(page, app_url, index):
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(app_url)
    values = page.locator('[data-testid="stMetricValue"]')
    values.first.wait_for(timeout=30_000)
    idle(page)
    assert page.locator('[data-testid="stSidebar"]').bounding_box()["width"] > 200  # the sidebar is open
    info = index.info()
    assert values.all_inner_texts() == [f"{info.documents:,}", f"{info.tokens:,}", str(len(info.shards)),
                                        info.tokenizer, info.created[:10]]
    cut = values.evaluate_all("""values => values.flatMap(v => [v, ...v.querySelectorAll('*')])
        .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)""")
    assert cut == [], f"figures cut at 800 pixels: {cut}"
    screenshot(page, "overview-800px")


def script_ends(message: bytes) -> bool:
    """Whether a message from the server tells the page that the script run has ended."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.ParseFromString(message)
    kind = msg.WhichOneof("type")
    return kind == "script_finished" or (kind == "session_status_changed"
                                         and not msg.session_status_changed.script_is_running)


def test_a_running_script_shows_a_sign(page, app_url):
    """While the script runs the page shows Streamlit's running indicator. The end of the run is held back from the
    page (its messages intercepted) until the indicator is seen, so no timing decides the outcome."""
    held, holding, sockets = [], [False], []

    def relay(ws):
        server = ws.connect_to_server()
        sockets.append(ws)

        def to_page(message):
            if holding[0] and isinstance(message, bytes) and script_ends(message):
                held.append(message)
            else:
                ws.send(message)

        server.on_message(to_page)
        ws.on_message(server.send)

    page.route_web_socket(re.compile(r"/_stcore/stream"), relay)
    page.goto(app_url)
    page.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=30_000)
    idle(page)
    holding[0] = True
    page.locator("h1").first.click()
    page.keyboard.press("r")  # Streamlit's rerun key
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="visible", timeout=15_000)
    holding[0] = False
    for message in held:
        sockets[-1].send(message)
    idle(page)


def test_an_index_picked_in_the_sidebar_opens_and_goes_in_the_url(page, confined_url, root):
    from playwright.sync_api import expect

    page.goto(confined_url)
    expect(metric(page)).to_have_text("59", timeout=30_000)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    expect(page.get_by_role("option")).to_have_text([f"a — {root}", f"b — {root}"])
    page.get_by_role("option", name=f"b — {root}").click()
    expect(metric(page)).to_have_text("29", timeout=30_000)
    expect(page).to_have_url(re.compile(r"index=" + re.escape(quote(str(root / "b"), safe=""))))
    screenshot(page, "index-picker")
    page.goto(f"{confined_url}/search?index={quote('/etc', safe='')}")
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("is not under the folders")
    expect(page.locator("h1")).to_have_text("Search")


def test_at_800_pixels_the_sidebar_is_narrow_and_no_button_is_cut(page, app_url, index):
    """N-grams' downloads, Document's match steps and Search's pager at 800 pixels: every button's text whole (the
    text of the button, and of each element inside it, fits its box), the sidebar 240 pixels of the 800."""
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(app_url)
    idle(page)
    page.reload()  # a fresh server's first session draws the sidebar before the entry script has sized it
    doc = index.search("data").hits[0].doc
    views = {"ngrams": f"/ngrams?mode={quote('Next token')}&q=data", "document": f"/document?doc={doc}&search=data",
             "search": "/search?q=data&page=2"}
    for name, path in views.items():
        page.goto(app_url + path)
        page.locator('[data-testid="stMetricValue"], .document-text').first.wait_for(timeout=30_000)
        buttons = page.locator('[data-testid="stMain"] button:visible')
        buttons.nth(1).wait_for(timeout=30_000)  # a rerun may briefly clear the page after its first figure
        idle(page)
        assert buttons.count() >= 2, name
        cut = buttons.evaluate_all("""buttons => buttons.flatMap(b => [b, ...b.querySelectorAll('*')])
            .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)""")
        assert cut == [], f"{name}: buttons cut at 800 pixels: {cut}"
        assert page.locator('[data-testid="stSidebar"]').bounding_box()["width"] <= 240, name
        screenshot(page, f"{name}-800px")
