"""The Document page on a 50 MB document, through the real server and chromium: seconds to show a window with its
search and n-gram marks, the HTML sent, and the server's memory after (issue 8: no request may hold the server).

    python bench/bench_document_window.py            # writes and indexes bench/data/bigdoc (about 30 s) first

The document: 50,000,000 characters of random 12-word lines over a small vocabulary ("zebra" among them), GPT-2.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector import build_index  # noqa: E402
from tests.conftest import write_parquet  # noqa: E402
from tests.test_app_browser import CHROMIUM, free_port  # noqa: E402
from tests.test_server_fuzz import healthy  # noqa: E402

DATA = ROOT / "bench" / "data" / "bigdoc"
URLS = ["doc=0&search=zebra", "doc=0&search=zebra&ngram=zebra&at=40000000", "doc=0&search=zebra&at=49950000"]


def make_index() -> Path:
    if (DATA / "idx" / "CURRENT").exists():
        return DATA / "idx"
    rng = random.Random(1)
    words = "the quick brown fox zebra jumps over lazy dog <b>bold</b> naïve café data model".split()
    parts, size = [], 0
    while size < 50_000_000:
        line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
        parts.append(line)
        size += len(line)
    rows = [{"id": "big", "text": "".join(parts)}, {"id": "small", "text": "a zebra"}]
    write_parquet(DATA / "corpus" / "big.parquet", rows)
    started = time.time()
    build_index([DATA / "corpus"], DATA / "idx")
    print(f"indexed a {size:,}-character document in {time.time() - started:.1f} s")
    return DATA / "idx"


def main() -> None:
    from playwright.sync_api import sync_playwright

    index = make_index()
    port = free_port()
    env = {**os.environ, "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    server = subprocess.Popen([sys.executable, "-m", "inspector", "app", str(index), "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while not healthy(url):
            time.sleep(0.2)
        with sync_playwright() as p:
            page = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"]).new_page()
            print("| URL | seconds | marks | HTML sent (characters) |\n| --- | --- | --- | --- |")
            for query in URLS:
                started = time.time()
                page.goto(f"{url}/document?{query}")
                page.locator(".document-text mark").first.wait_for(timeout=300_000)
                seconds = time.time() - started
                marks = page.locator(".document-text mark").count()
                html = len(page.locator(".document-text").inner_html())
                print(f"| `/document?{query}` | {seconds:.2f} | {marks:,} | {html:,} |")
        rss = int(Path(f"/proc/{server.pid}/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
        print(f"server alive: {server.poll() is None}; resident memory after: {rss} MB")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
