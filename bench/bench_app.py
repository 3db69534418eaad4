"""Benchmark the app in a real browser (Debian's chromium + Playwright) on the demo index.

    python -m inspector demo
    python bench/bench_app.py --index data/demo/index

Cold start: from launching `streamlit run` to the overview's first number drawn in the browser. Query: from pressing
Ctrl+Enter in the N-grams query box to the count shown (checked against the API), p50 over 20 different queries.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector import open_index  # noqa: E402

QUERIES = ["import os", "def __init__", "return None", "self.assertEqual", "the GNU General Public License",
           "raise ValueError", "for i in range", "if __name__ ==", "Copyright (C)", "regular expression",
           "string", "open(", "print(", "class Foo", "license", "Python", "except Exception", "with open",
           "lambda x", "the following"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="data/demo/index")
    args = parser.parse_args()
    index = open_index(args.index)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INSPECTOR_INDEX": str(Path(args.index).resolve())}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(0.05)
            expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text(
                f"{index.n_documents:,}", timeout=60_000
            )
            cold = time.perf_counter() - started
            page.goto(f"http://127.0.0.1:{port}/ngrams")
            box = page.locator('textarea[aria-label="Query"]')  # several lines: Ctrl+Enter runs it
            box.wait_for()
            metric = page.locator('[data-testid="stMetricValue"]').first
            times, shown = [], None
            for query in QUERIES:
                expected = f"{index.count(query).count:,}"
                if expected == shown:
                    raise SystemExit(f"{query!r} has the count already shown: the wait would measure nothing")
                shown = expected
                box.fill(query)
                t0 = time.perf_counter()
                box.press("Control+Enter")
                expect(metric).to_have_text(expected, timeout=30_000)
                expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
                times.append((time.perf_counter() - t0) * 1e3)
        finally:
            server.terminate()
            browser.close()
    print("| measure | value |\n| --- | --- |")
    print(f"| cold start to first page drawn | {cold:.2f} s |")
    print(f"| typed count query to answer shown, {len(times)} queries | p50 {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms |")


if __name__ == "__main__":
    main()
