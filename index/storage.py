"""Index folders: an atomic, locked build area and a checked manifest.

Layout of an index folder DIR:

    DIR/.lock             flock held by a running build (released by the kernel if the build dies)
    DIR/CURRENT           name of the live build folder, replaced atomically (os.replace) at the end of a build
    DIR/build-<ns>/       one complete build: manifest.json, the files it lists, and .readers
    DIR/.tmp-<pid>-<ns>/  a build in progress; removed by the next build if it was killed

A build is visible only once CURRENT names it, so a killed build never leaves something that opens as valid, and
the previous build stays usable until the very last step. Every open build holds a shared flock on its
`.readers` file for as long as it is open; a build removes an old build only when it can take that lock
exclusively, so a process that opened an index (the app, a notebook) keeps answering from it through any number of
rebuilds, and a later build removes it once it is free.

Damage: the manifest records each file's size, CRC-32 and modification time. Opening checks sizes and times (a
stat per file); a file whose time changed is checked against its CRC. `verify=True` (`inspector info --verify`,
the app's background check) reads every file, which also finds damage that kept the time (a failing disk).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BuildLocked, IndexCorrupt, IndexMissing, InspectorError

FORMAT = "corpus-inspector"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
READERS = ".readers"
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
        for stale in [*out.glob(".tmp-*"), *out.glob(".trash-*")]:
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
    for rel, facts in files.items():  # nothing writes these files again
        facts["mtime_ns"] = (tmp / rel).stat().st_mtime_ns
    (tmp / READERS).touch()
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
    remove_unused_builds(out)
    return final


def remove_unused_builds(out: Path) -> None:
    """Remove every build but the live one that no process holds open (the others go with a later build)."""
    live = current_name(out)
    for old in sorted(out.glob("build-*")):
        if old.name == live:
            continue
        try:
            holder = open(old / READERS, "rb")
        except FileNotFoundError:  # a build without reader locks: nobody can be holding it
            holder = None
        try:
            if holder is not None:
                try:
                    fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
            trash = out / f".trash-{old.name}"
            os.rename(old, trash)  # a reader opening it from now on finds it gone and reads CURRENT again
            shutil.rmtree(trash, ignore_errors=True)
        finally:
            if holder is not None:
                holder.close()


def current_name(out: Path) -> str | None:
    """The name of the live build in index folder `out` (the one place CURRENT is read), or None."""
    try:
        return (Path(out) / CURRENT).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):  # a folder, unreadable, not text, a path with a NUL: names no build
        return ""


def live_build(out: Path) -> Path:
    """The folder of the live build in `out`; IndexMissing if there is none."""
    out = Path(out)
    try:
        is_folder = out.is_dir()
    except (OSError, ValueError):  # a path too long, or holding a NUL
        is_folder = False
    if not is_folder:
        raise IndexMissing(f"no index at {str(out)[:200]!r}: build one with `inspector build CORPUS --out DIR`")
    name = current_name(out)
    if name is None:
        raise IndexMissing(f"no finished index at {out}: build one with `inspector build CORPUS --out {out}`")
    live = out / name
    if not re.fullmatch(r"build-\d+", name) or not live.is_dir():  # never a path out of the folder
        raise IndexCorrupt(f"index at {out} is corrupt or incomplete ({CURRENT} names a missing build): rebuild it")
    return live


class OpenBuild:
    """The live build of an index folder, held open: a shared lock on its `.readers` keeps later builds from
    removing it until `close` (or until this object is collected, or the process ends)."""

    _holder = None

    def __init__(self, out: Path, verify: bool | None = None):
        out = Path(out)
        for attempt in range(20):
            try:
                folder = live_build(out)
            except IndexCorrupt:  # CURRENT read just before a build replaced it and removed the build it named
                if attempt == 19:
                    raise
                continue
            try:
                holder = open(folder / READERS, "rb")
            except FileNotFoundError:
                continue  # removed between reading CURRENT and opening it: read CURRENT again
            try:
                fcntl.flock(holder.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                still_there = os.stat(folder / READERS).st_ino == os.fstat(holder.fileno()).st_ino
            except (BlockingIOError, FileNotFoundError):
                still_there = False  # a build is removing it right now
            if not still_there:
                holder.close()
                continue
            self.folder, self._holder = folder, holder
            try:
                self.manifest = read_manifest(folder, verify)
            except BaseException:
                self.close()
                raise
            return
        raise IndexCorrupt(f"index at {out} keeps changing while it is opened: try again")

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()
            self._holder = None


def read_manifest(build: Path, verify: bool | None) -> dict:
    """Read and check the manifest: every listed file present with its size; its CRC too when `verify` is True, or
    when `verify` is None and the file's modification time differs from the one recorded (False: sizes only)."""
    corrupt = f"index at {build.parent} is corrupt or incomplete"
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{corrupt} (manifest unreadable: {exc}): rebuild it") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{corrupt} (not a corpus-inspector manifest): rebuild it")
    if manifest.get("version") != FORMAT_VERSION:
        raise IndexCorrupt(
            f"index at {build.parent} has format version {manifest.get('version')}, this program reads "
            f"{FORMAT_VERSION}: rebuild it"
        )
    for rel, facts in manifest.get("files", {}).items():
        path = build / rel
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise IndexCorrupt(f"{corrupt} ({rel} is missing): rebuild it") from None
        if stat.st_size != facts["size"]:
            raise IndexCorrupt(f"{corrupt} ({rel} has {stat.st_size} bytes, expected {facts['size']}): rebuild it")
        check = verify or (verify is None and stat.st_mtime_ns != facts.get("mtime_ns"))
        if check and crc32_file(path) != facts["crc32"]:
            raise IndexCorrupt(f"{corrupt} ({rel} fails its checksum): rebuild it")
    return manifest
