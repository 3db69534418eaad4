"""Retake the README's screenshots from the built-in demo corpus, in the real app and a real browser.

    inspector demo --out data/demo      # once: the demo corpus and its index, in the project's data/demo
    python docs/screenshots.py          # writes docs/screenshots/*.png

The app runs on the demo index itself, so the pictures show what a newcomer sees; the HumanEval report and the
annotation task (with two annotators' labels) the Contamination, Annotate and Agreement pictures need are made for
the run and removed after it: the demo's `reports/` and `labels.duckdb` are left as they were. Needs Debian's chromium
and Python's playwright, as the browser tests do (`bash tests/run.sh` installs both).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector import (  # noqa: E402
    add_label,
    bundled_benchmarks,
    check_contamination,
    create_task,
    keep_report,
    open_benchmark,
    open_index,
    sample,
)
from inspector.contamination import BULLETIN  # noqa: E402
from inspector.labels import STORE  # noqa: E402

#: (file name, path and query of the view, what must be on screen before the picture is taken)
VIEWS = [
    ("overview", "/", "Overview"),
    ("ngrams-count", "/ngrams?mode=Count&q=regular expression", "Count"),
    ("ngrams-next-token", "/ngrams?mode=Next token&q=import", "Prompt count"),
    ("ngrams-infgram", "/ngrams?mode=∞-gram&q=The Python Software Foundation is a non-profit corporation.",
     "longest matching suffix"),
    ("ngrams-documents", "/ngrams?mode=Documents&q=regular expression AND (match OR search)", "Documents"),
    ("repeats", "/repeats?n=13&k=15", "Their documents, in context"),
    ("search", '/search?q="regular expression" AND compile', "Matching documents"),
    ("document", "/document?doc={doc}&search=regular expression", "Document"),
    ("contamination", "/contamination?report={report}", "Items"),
    ("sample", "/sample?score=heuristic_score&bins=5&binning=quantile&per_bin=4&seed=0", "Sample"),
    ("annotate", "/annotate?task=demo-quality&annotator=alice", "Item"),
    ("agreement", "/agreement?task=demo-quality", "Krippendorff"),
]


def prepare(index_dir: Path) -> dict[str, str]:
    """A kept HumanEval report, a quality task labelled by two annotators; the values the URLs need."""
    with open_index(index_dir) as index:
        report = check_contamination(index, [open_benchmark(bundled_benchmarks()["humaneval"])])
        kept = keep_report(index, report)
        drawn = sample(index, "heuristic_score", bins=5, binning="quantile", per_bin=4, seed=0)
        task = create_task(index, "demo-quality", drawn, scheme="keep-drop",
                           guideline="Keep what a model should learn from: prose or code a person wrote with care.")
        for i, item in enumerate(drawn.documents[:-4]):  # two annotators; a few items still to do
            keep_a = item.bin >= 2 if i % 3 else item.bin >= 1  # mostly the upper bins, as a reader might
            keep_b = keep_a if i % 4 else not keep_a
            add_label(index, task.name, item.doc, "alice", "keep" if keep_a else "drop")
            add_label(index, task.name, item.doc, "bob", "keep" if keep_b else "drop")
        doc = index.search('"regular expression"', limit=1).hits[0].doc
    return {"report": kept.name, "doc": str(doc)}


@contextmanager
def kept_as_it_was(path: Path, backup: Path):
    """Whatever is at `path` (a file, a folder or nothing) is there again afterwards."""
    existed = path.exists()
    if existed:
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, backup)
    try:
        yield
    finally:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        if existed:
            (shutil.copytree if backup.is_dir() else shutil.copy2)(backup, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("data/demo/index"),
                        help="relative to the project (the sidebar shows it as given: the same on every machine)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    os.chdir(ROOT)  # the sidebar shows the index folder as given: data/demo/index
    index_dir = args.demo
    with tempfile.TemporaryDirectory() as tmp, kept_as_it_was(index_dir / STORE, Path(tmp) / STORE), \
            kept_as_it_was(index_dir / f"{STORE}.wal", Path(tmp) / f"{STORE}.wal"), \
            kept_as_it_was(index_dir / BULLETIN, Path(tmp) / BULLETIN):
        values = prepare(index_dir)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, "INSPECTOR_INDEX": str(index_dir)}, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            args.out.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1400, "height": 1500})
                for name, view, shown in VIEWS:
                    path, _, query = view.format(**values).partition("?")
                    page.goto(url + path + ("?" + urllib.parse.quote(query, safe="=&") if query else ""))
                    page.get_by_text(shown).first.wait_for(timeout=60_000)
                    page.wait_for_timeout(2500)  # charts and tables finish drawing
                    page.screenshot(path=str(args.out / f"{name}.png"))
                    print(f"{name}: {page.url}")
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
