"""Hostile input against the real, shared app server and the CLI: it must answer every request with a result or one
error, never a traceback, never die, never render injected markup, and never say what lies outside its roots.

The server is `inspector app --root ROOT` in a subprocess on an index this module builds (seeded); requests go
through chromium. Seeded, so a failure replays; about a minute in all.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from .browser import free_port, settle
from .corpora import XSS_TEXT, sample_rows, write_parquet

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_COLUMN = ":red[q] [a](javascript:alert(1))"
BIG = "99999999999999999999"
HOSTILE = [
    "(" * 3000, "x" * 10_000, "\x00", "a\x00b", "-1", BIG, "1e309", "abc", "", " ", "NaN", "-0", "0x10", "٣",
    "<script>alert(1)</script>", ":red[x]", "[a](javascript:alert(1))", "**b** _i_ $x^2$ # h", "🎉" * 50, "\u202e",
    "../../../../etc/passwd", "AND", "OR OR (", '"', "data AND (model OR", "quality:[a TO", "source:web", "*", "\\",
    "ṡ̷̢ȩ̵̱", "<img src=x onerror=alert(1)>", "data model", "3", "東京", "עברית", "2",
]
PARAMS = ["index", "doc", "at", "ngram", "search", "q", "mode", "page", "match"]
PAGES = ["", "ngrams", "search", "document"]


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    """ROOT/idx: a small seeded index with a hostile column name; ROOT/weird: a folder whose CURRENT is a folder."""
    from inspector import build_index

    root = tmp_path_factory.mktemp("fuzzroot")
    rows = sample_rows(seed=11, n=40)
    for i, row in enumerate(rows):
        row[HOSTILE_COLUMN] = i / 7
        row["tags"] = ["a", "b", "c"][: i % 4]  # a list column: searched as text, never a filter
        row["extreme"] = (-1) ** i * 1.7e308  # its range overflows a float: no slider, no crash
    rows[3]["text"] += " 東京 עברית 東京 עברית"  # right-to-left and CJK text, marked by the Document page
    write_parquet(root / "corpus" / "a.parquet", rows)
    build_index([root / "corpus"], root / "idx")
    (root / "weird" / "CURRENT").mkdir(parents=True)
    (root / "link").symlink_to("/etc")  # inside the root by name, outside once resolved
    return root


def serve_app(index_dir, *options: str):
    """`inspector app DIR OPTIONS` as a real server process (the options the command gives Streamlit); yields the
    process and its URL once it answers."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [sys.executable, "-m", "inspector", "app", str(index_dir), "--port", str(port), *options]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while not healthy(url):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the app did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def app_server(fuzz_root):
    """`inspector app` confined to the fuzz root, as a real server process."""
    yield from serve_app(fuzz_root / "idx", "--root", str(fuzz_root))


@pytest.fixture(scope="module")
def page(browser):
    """One tab for the whole module (its cache keeps each visit under a second); alert() calls are recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    yield tab
    context.close()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False




def visit(page, app_server, path: str, params: dict[str, str]) -> list[str]:
    """Open one URL and check the server and the page; the error boxes shown."""
    proc, url = app_server
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    page.goto(f"{url}/{path}?{query}", wait_until="commit")
    return check(page, app_server, f"/{path}?{query[:200]}")


def check(page, app_server, where: str) -> list[str]:
    """The server alive and answering; the page showing an answer or one error, no traceback, nothing injected."""
    proc, url = app_server
    settle(page)
    assert proc.poll() is None, f"the server died on {where}"
    assert healthy(url), f"the server stopped answering after {where}"
    assert page.locator('[data-testid="stException"]').count() == 0, f"a traceback on {where}"
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert len(errors) <= 1, (where, errors)
    assert errors or page.locator("h1").count() >= 1, f"neither an answer nor an error on {where}"
    assert page.dialogs == [], f"injected script ran on {where}"
    assert page.locator('a[href^="javascript"], [data-testid="stMain"] img[src="x"]').count() == 0, where
    return errors


@pytest.mark.parametrize("path, params, message", [
    ("", {"index": "\x00"}, "NUL"),
    ("", {"index": "x" * 5000}, "the limit is 1,024"),
    ("document", {"doc": "-1"}, "doc (the document number) must be from 0 to 38, not -1"),
    ("document", {"doc": BIG}, "not 99,999,999,999,999,999,999"),
    ("document", {"doc": "abc"}, "must be a whole number"),
    ("document", {"doc": "3", "at": BIG}, "at (the first character shown) must be from 0"),
    ("document", {"doc": ":red[zq] [a](javascript:alert(1))"}, "not ':red[zq] [a](javascript:alert(1))'"),
    ("search", {"page": BIG}, "page must be"),
    ("search", {"q": "(" * 3000}, "nests parentheses 3000 deep"),
    ("ngrams", {"mode": "Documents", "q": "data", "page": "-4"}, "page must be from 1"),
    ("ngrams", {"mode": "Documents", "q": "(" * 3000}, "nests parentheses"),
    ("ngrams", {"mode": ":red[zq]"}, "mode must be one of"),
])
def test_hostile_urls_are_one_error(page, app_server, fuzz_root, path, params, message):
    params = {k: v.replace("ROOT", str(fuzz_root)) for k, v in params.items()}
    errors = visit(page, app_server, path, params)
    assert len(errors) == 1 and message in errors[0], errors


def test_confinement_reveals_nothing_outside_the_roots(page, app_server, fuzz_root, index_dir):
    """An existing index outside the root, a missing path, and a symlink out of the root get the same refusal."""
    outside = {str(index_dir): str(index_dir), "/no/such/folder": "/no/such/folder",
               f"{fuzz_root}/../{index_dir.parent.name}": "PATH", str(fuzz_root / "link"): "PATH"}
    said = set()
    for path in outside:
        [error] = visit(page, app_server, "", {"index": path})
        said.add(error.replace(path, "PATH"))
    assert len(said) == 1 and "is not under the folders this app may open" in said.pop()
    [error] = visit(page, app_server, "", {"index": str(fuzz_root / "weird")})
    assert str(fuzz_root / "weird") in error and ("corrupt" in error or "no usable index" in error)
    visit(page, app_server, "", {"index": str(fuzz_root / "idx")})
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "39"


def test_random_hostile_urls(page, app_server):
    rng = random.Random(20240611)
    for _ in range(18):
        params = {name: rng.choice(HOSTILE) for name in rng.sample(PARAMS, rng.randint(1, 3)) if name != "index"}
        visit(page, app_server, rng.choice(PAGES), params)


def test_typed_hostile_queries(page, app_server):
    """What a person types goes the same way as a URL: bounded, escaped, answered."""
    rng = random.Random(7)
    for path in ["ngrams", "search"]:
        for value in rng.sample(HOSTILE, 3) + ["x" * 10_000, "(" * 3000]:
            visit(page, app_server, path, {})
            box = page.locator('input[aria-label="Query"], textarea[aria-label="Query"]')  # N-grams: many lines
            box.fill(value)
            box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
            check(page, app_server, f"/{path} typed {value[:50]!r}")


def test_corpus_markup_is_shown_as_text(page, app_server):
    """The hostile column name is a filter label on the search page, and the XSS text a document: both literal."""
    visit(page, app_server, "search", {"q": "data"})
    page.get_by_text("Filters").click()
    label = page.locator('[data-testid="stSlider"] [data-testid="stWidgetLabel"]', has_text="javascript")
    assert label.inner_text().strip() == HOSTILE_COLUMN
    assert label.locator("a, span[class*='red'], [style*='color']").count() == 0
    visit(page, app_server, "document", {"doc": "10"})
    assert page.locator(".document-text").inner_text().strip() == XSS_TEXT


CLI = [
    ["count", "IDX", "(" * 3000], ["count", "IDX", "x" * 10_000], ["count", "IDX", "--ids", f"1,{BIG}"],
    ["count", "IDX", "--ids", "-1"], ["ntd", "IDX", "data", "--top", BIG], ["ntd", "IDX", "data", "--top", "abc"],
    ["find", "IDX", "data AND (model OR"], ["find", "IDX", "data", "--limit", "-1"],
    ["search", "IDX", "(" * 3000], ["search", "IDX", "data", "--limit", BIG],
    ["search", "IDX", "data", "--where", "1=1; DROP"],
    ["doc", "IDX", "-1"], ["doc", "IDX", BIG], ["doc", "IDX", "abc"], ["doc", "/no/such/index", "0"],
    ["count", "IDX", "<script>:red[x]\x7f🎉"],
]


@pytest.mark.slow
def test_cli_hostile_arguments(fuzz_root):
    """Exit code 0 or 2, an error as one line, never a traceback or a signal (run four at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    def run(args):
        args = [str(fuzz_root / "idx") if a == "IDX" else a for a in args]
        return args, subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
                                    timeout=60)

    with ThreadPoolExecutor(4) as pool:
        for args, done in pool.map(run, CLI):
            what = (args[0], args[-1][:40], done.returncode, done.stderr[-500:])
            assert done.returncode in (0, 2) and "Traceback" not in done.stderr, what
            if done.returncode == 2:
                assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: "), what


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory):
    """A bytes index where the item `x\\nx` occurs 97,600 times: a file of such short frequent items is the heaviest
    check there is (the issue's 90 KB upload took a server from 544 MB to 3.19 GB)."""
    from inspector import build_index

    root = tmp_path_factory.mktemp("busy")
    write_parquet(root / "corpus" / "a.parquet", [{"text": "x\n" * 2500} for _ in range(40)])
    build_index([root / "corpus"], root / "idx", tokenizer="bytes")
    yield from serve_app(root / "idx")


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the server and its check worker)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grown = {pid}, True
    while grown:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sorted(tree)


def _peak_rss(pid: int, stop) -> list[int]:
    """The resident memory in bytes of the server and its descendants, summed, sampled every 50 ms until `stop` is
    set (a thread fills the list). The processes are looked up once a second (a walk of /proc every 50 ms took a
    tenth of a core from a machine the test times)."""
    import threading

    seen: list[int] = []

    def sample():
        while not stop.is_set():
            total = 0
            if len(seen) % 20 == 0:
                members = _tree(pid)
            for member in members:
                try:
                    with open(f"/proc/{member}/status") as f:
                        total += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
                except OSError:
                    continue
            seen.append(total)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    return seen


#: how long the other client looks at a page before it opens the next: a reader's pace, not a robot's (clicking
#: again the moment a page is drawn kept its browser tab at 70% of one of this machine's two cores, and that tab,
#: not the server, was what made a load slow: the server's part of the slowest load was under 0.9 s)
READING_MS = 1_000


@pytest.mark.serial
def test_a_heavy_upload_keeps_the_server_bounded_and_answering(browser, busy_server):
    """50,000 lines of one short frequent item, uploaded: while the check runs (in the server's worker process) the
    server and its worker stay under 1.5 GB, another client going from page to page at a reader's pace is answered
    within 1 s nine times in ten and within 2 s each time, and a second check is told to wait; the check ends with
    every item dirty."""
    import gzip
    import itertools
    import threading

    proc, url = busy_server
    checker, other = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2))
    checker.goto(f"{url}/contamination")
    settle(checker)
    checker.get_by_text("HumanEval (bundled)").click()
    settle(checker)
    checker.locator('input[type="file"]').set_input_files(files=[{
        "name": "xs.jsonl.gz", "mimeType": "application/gzip",
        "buffer": gzip.compress(b'{"question": "x", "answer": "x"}\n' * 50_000)}])
    checker.get_by_text("Preset picked automatically: gsm8k").wait_for(timeout=60_000)
    other.goto(f"{url}/")  # the other client has the app open and has used both pages (a first visit loads scripts)
    nav = other.locator('[data-testid="stSidebarNav"] a')  # it moves inside its tab, as people do
    nav.filter(has_text="N-grams").click()
    other.locator("h1", has_text="N-grams").wait_for(timeout=30_000)
    nav.filter(has_text="Overview").click()
    other.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=30_000)
    stop = threading.Event()
    rss = _peak_rss(proc.pid, stop)
    checker.get_by_role("button", name="Run the check").click()
    running = checker.locator('[data-testid="stApp"][data-test-script-state="running"]')
    running.wait_for(timeout=10_000)
    nav.filter(has_text="Contamination").click()
    other.get_by_role("button", name="Run the check").click()
    other.get_by_text("Another contamination check is running on this server").wait_for(timeout=10_000)
    assert running.count(), "the check ended before a second one was asked for"
    checked = checker.get_by_text("Checked 50,000 items").or_(checker.locator("pre.contam-text"))
    loads = []
    nav.filter(has_text="Overview").click()
    idle = other.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    other.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=30_000)  # timed from a drawn page
    idle.wait_for(timeout=30_000)
    for page_title in itertools.cycle(["N-grams", "Overview"]):  # the other client goes from page to page
        if not running.count() or checked.count():  # until the check has ended (then the report is drawn)
            break
        other.wait_for_timeout(READING_MS)
        started = time.monotonic()
        other.locator('[data-testid="stSidebarNav"] a', has_text=page_title).click()
        other.locator("h1", has_text=page_title).wait_for(timeout=30_000)
        idle.wait_for(timeout=30_000)
        loads.append((time.monotonic() - started, not checked.count()))
    checker.locator("pre.contam-text").first.wait_for(timeout=120_000)
    stop.set()
    during = [seconds for seconds, still in loads if still]
    assert during, f"the check ended before another client was served ({loads})"
    slow = sorted(during)[len(during) * 9 // 10]  # (a check in the server's own process: 1.4 s here, the worker's 0.5)
    assert slow < 1.0 and max(during) < 2.0, loads
    assert max(rss) < 1.5 * 2**30, f"the server reached {max(rss) / 2**30:.2f} GiB"
    assert "50,000" in checker.locator('[data-testid="stMain"]').inner_text()
    assert proc.poll() is None and healthy(url)


def test_an_upload_nested_a_hundred_thousand_deep_is_one_error(browser, app_server):
    """The issue's deep JSON through the Contamination page's file picker: one error naming the file."""
    url = app_server[1]
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.goto(f"{url}/contamination")
    tab.locator('input[type="file"]').set_input_files(files=[{
        "name": "deep.json", "mimeType": "application/json", "buffer": b"[" * 100_000 + b"]" * 100_000}])
    tab.get_by_text("nested too deep").wait_for(timeout=20_000)
    tab.dialogs = []
    errors = check(tab, app_server, "/contamination upload deep.json")
    assert len(errors) == 1 and errors[0].startswith("deep.json: JSON nested too deep"), errors


def test_a_match_in_cjk_and_right_to_left_text_is_marked_whichever_is_asked(page, app_server):
    """`ngram=東京&match=2` (and Hebrew) marks the second match, with all its characters."""
    for word in ("東京", "עברית"):
        for match in ("1", "2"):
            visit(page, app_server, "document", {"doc": "3", "ngram": word, "match": match})
            marks = page.locator(".document-text mark")
            texts = marks.all_inner_texts()  # a match may take the space before it (the token " 東京")
            assert len(texts) == 2 and {t.strip() for t in texts} == {word}, (word, match, texts)
