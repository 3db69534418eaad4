"""Index folders: an atomic, locked build area and a checked manifest.

Layout of an index folder DIR:

    DIR/.lock             flock held by a running build (released by the kernel if the build dies)
    DIR/CURRENT           name of the live build folder, replaced atomically (os.replace) at the end of a build
    DIR/build-<ns>/       one complete build: manifest.json plus the files it lists
    DIR/.tmp-<pid>-<ns>/  a build in progress; removed by the next build if it was killed

A build is visible only once CURRENT names it, so a killed build never leaves something that opens as valid, and
the previous build stays usable until the very last step.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildLocked, IndexCorrupt, IndexMissing, InspectorError

FORMAT = "corpus-inspector"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
_CHUNK = 1 << 24


def crc32_file(path: Path) -> int:
    """CRC-32 of a whole file, streamed (about 1 GB/s): cheap enough to check small indexes on every open."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
    for path in sorted(p for p in root.rglob("*") if p.is_dir()):
        _fsync_dir(path)
    _fsync_dir(root)


def _is_index_folder(path: Path) -> bool:
    return (path / CURRENT).exists() or (path / ".lock").exists()


@contextmanager
def build_area(out: Path) -> Iterator[Path]:
    """Lock `out`, yield an empty temporary folder inside it; `commit` must be called to publish it.

    On any exception (or a kill) the temporary folder is abandoned and the previous build stays live.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InspectorError(f"{out} exists and is not a folder: choose another --out")
    if out.is_dir() and any(out.iterdir()) and not _is_index_folder(out):
        raise InspectorError(f"{out} is a non-empty folder that holds no index: choose an empty or new --out")
    out.mkdir(parents=True, exist_ok=True)
    lock_path = out / ".lock"
    lock = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(f"another build is writing {out} (lock {lock_path} is held): wait for it to finish") from None
        for stale in out.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = out / f".tmp-{os.getpid()}-{time.time_ns()}"
        tmp.mkdir()
        try:
            yield tmp
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        lock.close()


def commit(tmp: Path, manifest: dict) -> Path:
    """Checksum every file in `tmp`, write the manifest, fsync, and make it the live build of its folder."""
    out = tmp.parent
    files = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        rel = path.relative_to(tmp).as_posix()
        files[rel] = {"size": path.stat().st_size, "crc32": crc32_file(path)}
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, **manifest, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    _fsync_tree(tmp)
    final = out / f"build-{time.time_ns()}"
    os.rename(tmp, final)
    pointer = out / f".{CURRENT}.new"
    with open(pointer, "w") as f:
        f.write(final.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer, out / CURRENT)
    _fsync_dir(out)
    for old in out.glob("build-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def live_build(out: Path) -> Path:
    """The folder of the live build in `out`; IndexMissing if there is none."""
    out = Path(out)
    if not out.is_dir():
        raise IndexMissing(f"no index at {out}: build one with `inspector build CORPUS --out {out}`")
    try:
        name = (out / CURRENT).read_text().strip()
    except FileNotFoundError:
        raise IndexMissing(f"no finished index at {out}: build one with `inspector build CORPUS --out {out}`") from None
    live = out / name
    if not name.startswith("build-") or not live.is_dir():
        raise IndexCorrupt(f"index at {out} is corrupt or incomplete ({CURRENT} names a missing build): rebuild it")
    return live


def read_manifest(build: Path, verify: bool | None, verify_bytes: int = 1 << 30) -> dict:
    """Read and check the manifest: every listed file present with its size; with `verify`, its CRC too.

    `verify=None` checks CRCs when the listed files add up to at most `verify_bytes`.
    """
    corrupt = f"index at {build.parent} is corrupt or incomplete"
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{corrupt} (manifest unreadable: {exc}): rebuild it") from None
    if manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{corrupt} (not a corpus-inspector manifest): rebuild it")
    if manifest.get("version") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index at {build.parent} has format version {manifest.get('version')}, this program reads "
            f"{FORMAT_VERSION}: rebuild it"
        )
    files = manifest.get("files", {})
    if verify is None:
        verify = sum(f["size"] for f in files.values()) <= verify_bytes
    for rel, facts in files.items():
        path = build / rel
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorrupt(f"{corrupt} ({rel} is missing): rebuild it") from None
        if size != facts["size"]:
            raise IndexCorrupt(f"{corrupt} ({rel} has {size} bytes, expected {facts['size']}): rebuild it")
        if verify and crc32_file(path) != facts["crc32"]:
            raise IndexCorrupt(f"{corrupt} ({rel} fails its checksum): rebuild it")
    return manifest
