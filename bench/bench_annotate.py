"""Benchmark labelling on the Annotate page in a real browser (Debian's chromium + Playwright, the real Streamlit
server): from a label key's press to the next item's text drawn, with 1 annotator and with several at once.

    python bench/bench_annotate.py                      # 1 and 8 annotators, 30 presses each
    python bench/bench_annotate.py --annotators 1 2 8 --presses 40

The bench writes its own seeded corpus (600 documents of 40-400 words, with a `quality` score and a `source`),
builds an index of it in a temporary folder, creates one keep/drop task per run, and starts the app. Each annotator
is a browser context of its own; all press at once (each as soon as its page takes presses again), so with N
annotators N presses are being saved at the same moment. The time is taken inside the page: from the keydown event
to the moment the `.annotate-text` element holds the next item's text (a MutationObserver), so Playwright's own
round trips are not counted. The first WARMUP presses of each annotator are left out. Every press must be saved: the
labels in the DuckDB store are counted afterwards against the presses made.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector import build_index, create_task, current_labels, open_index  # noqa: E402  (after the path)

try:  # the options `inspector app` starts Streamlit with (a checkout from before them: none)
    from inspector.cli import APP_SPEED_OPTIONS as APP_OPTIONS
except ImportError:
    APP_OPTIONS = ("--server.fileWatcherType", "none")

CHROMIUM = "/usr/bin/chromium"
WARMUP = 3
WORDS = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "music", "silver", "table", "orange", "bread",
         "letter", "forest", "harbour", "engine", "valley", "morning", "copper", "signal"]

# keydown -> the next item's text in the DOM, measured in the page (installed before the app's own scripts)
PROBE = """
window.__bench = {times: [], t0: null, before: null};
document.addEventListener("keydown", (e) => {
  if (e.key !== "k" && e.key !== "d") return;
  const shown = document.querySelector(".annotate-text");
  window.__bench.t0 = performance.now();
  window.__bench.before = shown ? shown.textContent : null;
}, true);
new MutationObserver(() => {
  const b = window.__bench;
  if (b.t0 === null) return;
  const shown = document.querySelector(".annotate-text");
  if (shown && shown.textContent !== b.before) { b.times.push(performance.now() - b.t0); b.t0 = null; }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def write_corpus(folder: Path, n: int = 600) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(41)
    rows = [{"id": f"{rng.choice(['cc', 'wiki'])}-{i:05d}",
             "text": f"Document {i}. " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 400))),
             "source": rng.choice(["cc", "wiki"]), "quality": round(rng.random(), 4)} for i in range(n)]
    out = folder / "corpus"
    out.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), out / "part-0.parquet")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "INSPECTOR_INDEX": str(index_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         *APP_OPTIONS],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the app did not start within 60 s")


async def annotate(browser, url: str, task: str, name: str, presses: int, start: asyncio.Barrier) -> list[float]:
    """One annotator: open the task, then press k/d `presses` times, each once the page takes presses again."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(PROBE)
    page = await context.new_page()
    ready = page.locator('.label-keys[data-busy="false"]')
    try:
        await page.goto(f"{url}/annotate?task={task}&annotator={name}")
        await page.locator(".annotate-text").wait_for(timeout=60_000)
        await ready.wait_for(timeout=60_000)
        await start.wait()
        rng = random.Random(name)
        for n in range(presses):
            await page.keyboard.press(rng.choice("kd"))
            await page.wait_for_function(f"window.__bench.times.length > {n}", timeout=60_000)
            await ready.wait_for(timeout=60_000)
        return await page.evaluate("window.__bench.times")
    finally:
        await context.close()


async def run(url: str, index_dir: Path, counts: list[int], presses: int) -> list[tuple[int, list[float]]]:
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            for n in counts:
                task = f"bench-{n}"
                names = [f"annotator-{n}-{i}" for i in range(n)]
                start = asyncio.Barrier(n)
                times = await asyncio.gather(*(annotate(browser, url, task, name, presses, start) for name in names))
                with open_index(index_dir) as index:
                    saved = [e for e in current_labels(index, task, history=True) if e.annotator in names]
                if len(saved) != n * presses:
                    raise SystemExit(f"{len(saved)} labels saved for {n * presses} presses: a press was lost")
                results.append((n, [t for per in times for t in per[WARMUP:]]))
        finally:
            await browser.close()
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--presses", type=int, default=30, help="presses per annotator")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("needs Debian's chromium at /usr/bin/chromium")
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        folder = Path(tmp)
        build_index([write_corpus(folder)], folder / "idx", signals=False)
        with open_index(folder / "idx") as index:
            docs = list(range(index.n_documents))
            random.Random(3).shuffle(docs)
            for n in args.annotators:
                create_task(index, f"bench-{n}", docs[: args.presses + 5], score_name="quality")
        proc, url = start_app(folder / "idx")
        try:
            results = asyncio.run(run(url, folder / "idx", args.annotators, args.presses))
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"Key press -> next item's text shown, chromium, {args.presses} presses per annotator "
          f"(first {WARMUP} left out), {os.cpu_count()} cores\n")
    print("| annotators at once | presses timed | median (ms) | p90 (ms) | max (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for n, times in results:
        print(f"| {n} | {len(times)} | {statistics.median(times):.0f} | {percentile(times, 0.9):.0f} "
              f"| {max(times):.0f} |")


if __name__ == "__main__":
    main()
