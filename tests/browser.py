"""Helpers the browser tests share: the real app served on a free port, screenshots, the first metric of a page.

The `browser` and `page` fixtures that use Debian's chromium live in conftest.py.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(proc: subprocess.Popen, url: str, seconds: float) -> None:
    """Return once the server at `url` answers its health check; fail the test with its last words if it exits or
    `seconds` pass first (its stderr must be a pipe)."""
    deadline = time.time() + seconds
    while proc.poll() is None and time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the app did not start: {proc.communicate()[1].decode()[-2000:]}")


def serve(index_dir):
    """Start the real app on a free port; yield its URL once it answers."""
    port = free_port()
    env = {**os.environ, "INSPECTOR_INDEX": str(index_dir)}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(proc, url, 60)
    try:
        yield url
    finally:  # also when the caller closes the generator early
        proc.terminate()
        proc.wait(10)


def screenshot(page, name: str) -> None:
    page.wait_for_timeout(400)  # let charts finish drawing
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def metric(page, index: int = 0):
    return page.locator('[data-testid="stMetricValue"]').nth(index)


def settle(page) -> None:
    """Wait until the app has finished running the script for this request (reruns included)."""
    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    page.locator(idle).wait_for(timeout=30_000)
    page.wait_for_timeout(300)
    page.locator(idle).wait_for(timeout=30_000)
