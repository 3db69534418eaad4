"""What keeps the app quick between a key press and the answer (bench/bench_app.py measures it in chromium): Streamlit
runs no full garbage collection after each rerun, and the tokenizer and compiled searches load in the background once
the first page is drawn, not while it is and not on the first query."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inspector import build_index, confined_path, live_build_name

from .corpora import sample_rows, write_parquet

ROOT = Path(__file__).resolve().parents[1]
#: it watches the order and timing of a server's own work: alone, not beside other tests
pytestmark = pytest.mark.serial


def test_inspector_app_turns_off_the_collection_after_each_rerun(index_dir):
    """With an index open a full gc.collect() takes 0.1-0.25 s and holds the GIL before the answer is sent."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "inspector", "app", str(index_dir), "--port", str(port)],
                              cwd=ROOT, env={**os.environ, "STREAMLIT_SERVER_HEADLESS": "true"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # `inspector app` becomes `streamlit run ...` in the same process
            argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
            if "streamlit" in argv:
                break
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(10)
    assert "streamlit" in argv, argv
    assert argv[argv.index("--runner.postScriptGC") + 1] == "false"
    assert argv[argv.index("--server.fileWatcherType") + 1] == "none"


def test_the_tokenizer_loads_in_the_background_after_the_first_page(tmp_path, monkeypatch):
    write_parquet(tmp_path / "corpus" / "part-000.parquet", sample_rows())
    build_index([tmp_path / "corpus"], tmp_path / "index")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(tmp_path / "index"))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and not at.error
    for thread in threading.enumerate():
        if thread.name == "warm-kernels":
            thread.join(60)
    shared = sys.modules["pages._shared"]
    path = confined_path(str(tmp_path / "index"), ())
    index = shared._open(path, live_build_name(path))  # the one the page opened (cached per folder and build)
    assert "tokenizer" in vars(index)  # loaded with no query typed: the first count does not wait for it
