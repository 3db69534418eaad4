"""Benchmark the app in a real browser (Debian's chromium + Playwright) on the demo index; prints a Markdown table.

    python -m inspector demo
    python bench/bench_app.py [--index DIR] [--cold 3]      # default: the demo's index (inspector.DEFAULT_DEMO)

- Cold first page: from launching `inspector app` to the Overview's document count drawn, `--cold` times, each a new
  server and a new browser tab (the OS file cache and numba's on-disk cache stay warm, as on a second `inspector app`).
- Count: Ctrl+Enter in the N-grams query box to the count drawn; search: Enter in the Search box to the total drawn;
  20 different queries each, every answer checked against the Python API.

Where the time goes, per query, all on the browser's own clock: the key pressed to the request sent on the websocket
(the frontend), the request sent to the bytes holding the answer received (the server: rerun, query, drawing the
elements before the answer), and those bytes received to the answer in a painted frame (the browser's rendering).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector import DEFAULT_DEMO, open_index  # noqa: E402  (after the path)

COUNT_QUERIES = ["import os", "def __init__", "return None", "self.assertEqual", "the GNU General Public License",
                 "raise ValueError", "for i in range", "if __name__ ==", "Copyright (C)", "regular expression",
                 "string", "open(", "print(", "class Foo", "license", "Python", "except Exception", "with open",
                 "lambda x", "the following"]
SEARCH_QUERIES = ["regular expression", "license", "socket", "thread", '"free software"', "warranty", "unicode",
                  "decimal", "import", "iterator", "encoding", "email", "sqlite", "zipfile", "deprecated",
                  "generator", "asyncio", "pickle", "calendar", "logging"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

#: Injected before the app's own scripts: stamps (performance.now()) the key press, the first websocket message sent
#: after it, the first message received holding every string of `window.__want`, and the first painted frame whose
#: DOM holds the answer (`window.__shown(document)` true).
PROBE = """
(() => {
  const t = window.__t = {};
  window.__want = null; window.__shown = null;
  const decoder = new TextDecoder('latin1');
  document.addEventListener('keydown', e => { if (e.key === 'Enter') t.key = t.key ?? performance.now(); }, true);
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    const send = ws.send.bind(ws);
    ws.send = data => { if (t.key !== undefined && t.sent === undefined) t.sent = performance.now(); send(data); };
    ws.addEventListener('message', event => {
      const now = performance.now();
      t.first ??= now;
      if (window.__want && t.answer === undefined && event.data instanceof ArrayBuffer) {
        const text = decoder.decode(event.data);
        if (window.__want.every(s => text.includes(s))) t.answer = now;
      }
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  const look = () => {
    if (t.drawn === undefined && window.__shown && window.__shown(document)) {
      const seen = performance.now();
      requestAnimationFrame(() => { t.drawn ??= performance.now(); t.dom = seen; });
    }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""

#: the answer is drawn: the first metric of the page shows `value` (checked in the page at every DOM change)
METRIC_SHOWS = "value => doc => doc.querySelector('[data-testid=\"stMetricValue\"]')?.textContent === value"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, index: str, port: int) -> subprocess.Popen:
    """The app as a user starts it, `inspector app DIR`, from the checkout at `root`."""
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", "app", index, "--port", str(port)],
        cwd=root, env={**os.environ, "STREAMLIT_SERVER_HEADLESS": "true"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def expect_answer(page, want: list[str], value: str) -> None:
    """Arm the probe: the answer is the first websocket message holding every string of `want`, drawn when the
    page's first metric reads `value`."""
    page.evaluate(f"([want, value]) => {{ for (const k in window.__t) delete window.__t[k]; window.__want = want; "
                  f"window.__shown = ({METRIC_SHOWS})(value); }}", [want, value])


def wait_drawn(page, timeout_s: float = 60) -> dict:
    page.wait_for_function("() => window.__t.drawn !== undefined", timeout=timeout_s * 1000, polling=20)
    return page.evaluate("() => ({...window.__t})")


def cold_start(browser, root: Path, index, path: str) -> dict:
    """One cold first page: seconds from `inspector app` to the Overview's document count drawn, with its parts."""
    port = free_port()
    page = browser.new_page()
    page.add_init_script(PROBE)
    started = time.perf_counter()
    server = start_server(root, path, port)
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("the app did not start") from None
                time.sleep(0.02)
        listening = time.perf_counter()
        page.goto(url, wait_until="commit")
        origin = page.evaluate("() => performance.timeOrigin") / 1000  # the page's clock, in epoch seconds
        offset = time.time() - time.perf_counter()  # to put the page's stamps on this clock
        expect_answer(page, ["Documents", f"{index.n_documents:,}"], f"{index.n_documents:,}")
        t = wait_drawn(page)
        cpu = cpu_seconds(server.pid)
        stamp = lambda key: origin + t[key] / 1000 - offset - started
        return {"total": stamp("drawn"), "listening": listening - started, "first message": stamp("first"),
                "answer received": stamp("answer"), "cpu": cpu}
    finally:
        server.terminate()
        server.wait(10)
        page.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc): the server's work, whatever else the machine
    runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def typed_to_shown(page, box, key: str, queries: list[str], want_label: str, expected, server: int) -> list[dict]:
    """For each query: type it into `box`, press `key`, and time it until the answer `expected(query)` is drawn;
    with the server's CPU time from the key press to the next query's."""
    runs, shown = [], None
    for query in queries:
        value = expected(query)
        if value == shown:
            raise SystemExit(f"{query!r} has the answer already shown ({value}): the wait would measure nothing")
        shown = value
        box.fill(query)
        page.wait_for_timeout(50)  # let the frontend settle the typed text
        expect_answer(page, [want_label, value], value)
        cpu = cpu_seconds(server)
        box.press(key)
        t = wait_drawn(page, 30)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")  # the rerun has finished
        runs.append({"total": t["drawn"] - t["key"], "frontend": t["sent"] - t["key"],
                     "server": t["answer"] - t["sent"], "browser": t["drawn"] - t["answer"],
                     "cpu": (cpu_seconds(server) - cpu) * 1e3})
    return runs


def row(name: str, values: list[float], unit: str, scale: float = 1.0) -> str:
    values = sorted(v * scale for v in values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    fmt = (lambda v: f"{v:.2f} {unit}") if unit == "s" else (lambda v: f"{v:.0f} {unit}")
    return f"| {name} | {len(values)} | {fmt(statistics.median(values))} | {fmt(p90)} | {fmt(values[-1])} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(DEFAULT_DEMO / "index"))
    parser.add_argument("--cold", type=int, default=3, help="cold first pages to time (a new server each)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose app to run (default: this one): e.g. an older commit's, unpacked "
                             "with `git archive`, to compare before and after on the same machine in one sitting")
    args = parser.parse_args()
    path = str(Path(args.index).resolve())
    index = open_index(path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        colds = [cold_start(browser, args.root, index, path) for _ in range(args.cold)]
        port = free_port()
        server = start_server(args.root, path, port)
        try:
            page = browser.new_page()
            page.add_init_script(PROBE)
            for _ in range(600):
                try:
                    page.goto(f"http://127.0.0.1:{port}/ngrams")
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(0.05)
            box = page.locator('textarea[aria-label="Query"]')  # several lines: Ctrl+Enter runs it
            box.wait_for(timeout=60_000)
            counts = typed_to_shown(page, box, "Control+Enter", COUNT_QUERIES, "Occurrences",
                                    lambda q: f"{index.count(q).count:,}", server.pid)
            page.goto(f"http://127.0.0.1:{port}/search")
            box = page.locator('input[aria-label="Query"]')
            box.wait_for(timeout=60_000)
            searches = typed_to_shown(page, box, "Enter", SEARCH_QUERIES, "Matching documents",
                                      lambda q: f"{index.search(q, limit=1).total:,}", server.pid)
        finally:
            server.terminate()
            server.wait(10)
            browser.close()
    print("| measure | n | median | p90 | max |\n| --- | --- | --- | --- | --- |")
    print(row("cold first page: `inspector app` to the Overview drawn", [c["total"] for c in colds], "s"))
    print(row("… of which: the server listening", [c["listening"] for c in colds], "s"))
    print(row("… of which: to the first websocket message", [c["first message"] for c in colds], "s"))
    print(row("… of which: to the answer received", [c["answer received"] for c in colds], "s"))
    print(row("… the server's CPU time until then (its load-free floor)", [c["cpu"] for c in colds], "s"))
    timed = (("count: Ctrl+Enter to the count drawn", counts), ("search: Enter to the total drawn", searches))
    for name, runs in timed:
        print(row(name, [r["total"] for r in runs], "ms"))
        print(row("… frontend: key to request sent", [r["frontend"] for r in runs], "ms"))
        print(row("… server: request sent to the answer received", [r["server"] for r in runs], "ms"))
        print(row("… browser: answer received to drawn", [r["browser"] for r in runs], "ms"))
        print(row("… the server's CPU time per query (whole rerun)", [r["cpu"] for r in runs], "ms"))


if __name__ == "__main__":
    main()
