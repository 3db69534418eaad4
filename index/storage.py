"""Index folders: an atomic, locked build area and a checked manifest (its fields and checks: `index.layout`).

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

What is verified, and when:
- The manifest, on every open: `CURRENT` holds its SHA-256 beside the build's name (a damaged manifest, or one
  edited by hand, fails it), and its shape, each field's domain and its totals against its shards are checked
  before anything reads it.
- Every file, on every open, by one `stat`: its size, and its change time (st_ctime). Any write changes the change
  time, even one that sets the modification time back, and nothing can set it back; so a file that was written
  after the build is read against its CRC-32 before it is used. A pass is remembered in `.verified` (a copied index
  is checked once, not on every open) with the facts any write changes (size, times, inode), signed with a key of
  this user's: a stale or hand-written record passes no changed file. A file whose change time is the recorded one
  is not read. No file or folder of a build may be a link (one could serve a file from outside an app's roots).
- What no time shows (a disk returning bad bytes): `verify=True` (`inspector info --verify`, and the app in a
  background thread on every build it opens) reads every file against its CRC.
- The source Parquet shards are not part of the build: see `inspector.documents` (each document's text is checked
  against the CRC recorded at build when it is read back).
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import shutil
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from stat import S_ISDIR, S_ISREG

from .errors import BuildLocked, IndexCorrupt, IndexMissing, InspectorError
from .layout import CURRENT, MANIFEST, READERS, VERIFIED, FileFacts, Manifest

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
            raise BuildLocked(
                f"another build is writing {out} (lock {lock_path} is held): wait for it to finish"
            ) from None
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


def commit(tmp: Path, manifest: Manifest, known: dict[str, FileFacts] | None = None) -> Path:
    """Checksum every file in `tmp`, write the manifest (with them as its `files`), fsync, and make it the live build
    of its folder.

    `known`: files hard-linked from the live build (an append), with their facts from its manifest: their CRC is
    taken from there (checked by size), not read again; and as removing the old build changes their change time,
    that change is remembered as checked (see `read_manifest`)."""
    out = tmp.parent
    known = known or {}
    files = {}
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        rel = path.relative_to(tmp).as_posix()
        stat = path.stat()
        same = rel in known and known[rel].size == stat.st_size
        crc = known[rel].crc32 if same else crc32_file(path)
        files[rel] = FileFacts(stat.st_size, crc, stat.st_ctime_ns)  # nothing writes these files again
    (tmp / READERS).touch()
    digest = replace(manifest, files=files).write(tmp)
    _fsync_tree(tmp)
    final = out / f"build-{time.time_ns()}"
    os.rename(tmp, final)
    pointer = out / f".{CURRENT}.new"
    with open(pointer, "w") as f:
        f.write(f"{final.name}\nsha256 {digest}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer, out / CURRENT)
    _fsync_dir(out)
    remove_unused_builds(out)
    if known:
        _remember_verified(final, digest,
                           {rel: _stat_facts((final / rel).stat()) for rel in known if rel in files})
    return final


def link_files(build: Path, tmp: Path, files: Mapping[str, FileFacts], known: dict[str, FileFacts],
               skip: Callable[[str], bool]) -> None:
    """Hard-link the files of live build `build` (its manifest's `files`) but those `skip` names into `tmp`, with their
    facts into `known` (for `commit`): what a publish that changes a few files keeps of the rest."""
    for rel, facts in files.items():
        if skip(rel):
            continue
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(build / rel, tmp / rel)
        known[rel] = facts


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


def current_pointer(out: Path) -> tuple[str, str] | None:
    """(name of the live build, SHA-256 of its manifest) from CURRENT, the one place it is read; None when there is
    no CURRENT, ("", "") when it names nothing readable."""
    try:
        lines = (Path(out) / CURRENT).read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):  # a folder, unreadable, not text, a path with a NUL: names no build
        return "", ""
    name = lines[0].strip() if lines else ""
    digest = lines[1].removeprefix("sha256 ").strip() if len(lines) > 1 else ""
    return name, digest


def current_name(out: Path) -> str | None:
    """The name of the live build in index folder `out`, or None."""
    pointer = current_pointer(out)
    return None if pointer is None else pointer[0]


def live_build(out: Path) -> tuple[Path, str]:
    """The folder of the live build in `out` and its manifest's SHA-256; IndexMissing if there is none."""
    out = Path(out)
    try:
        is_folder = out.is_dir()
    except (OSError, ValueError):  # a path too long, or holding a NUL
        is_folder = False
    if not is_folder:
        raise IndexMissing(f"no index at {str(out)[:200]!r}: build one with `inspector build CORPUS --out DIR`")
    pointer = current_pointer(out)
    if pointer is None:
        raise IndexMissing(f"no finished index at {out}: build one with `inspector build CORPUS --out {out}`")
    name, digest = pointer
    live = out / name
    if not re.fullmatch(r"build-\d+", name) or not live.is_dir():  # never a path out of the folder
        raise IndexCorrupt(f"index at {out} is corrupt or incomplete ({CURRENT} names a missing build): rebuild it")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise IndexCorrupt(
            f"index at {out} is corrupt, incomplete or from an older version ({CURRENT} holds no manifest "
            "checksum): rebuild it"
        )
    return live, digest


class OpenBuild:
    """The live build of an index folder, held open: a shared lock on its `.readers` keeps later builds from
    removing it until `close` (or until this object is collected, or the process ends)."""

    _holder = None

    def __init__(self, out: Path, verify: bool | None = None):
        out = Path(out)
        for attempt in range(20):
            try:
                folder, digest = live_build(out)
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
            self.folder, self.digest, self._holder = folder, digest, holder
            try:
                self.manifest = read_manifest(folder, digest, verify)
            except BaseException:
                self.close()
                raise
            return
        raise IndexCorrupt(f"index at {out} keeps changing while it is opened: try again")

    def verify(self) -> None:
        """Read every file of the build against its CRC; IndexCorrupt when one fails."""
        read_manifest(self.folder, self.digest, verify=True)

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()
            self._holder = None


def read_manifest(build: Path, digest: str, verify: bool | None) -> Manifest:
    """Read and check the manifest against `digest` (from CURRENT) and its schema, then every listed file: present,
    its size, and its CRC when `verify` is True or (None) when its change time is not the one recorded."""
    corrupt = f"index at {build.parent} is corrupt or incomplete"
    try:
        _own_stat(build, MANIFEST, corrupt, set())
        manifest = Manifest.read(build, digest)
    except OSError as exc:
        raise IndexCorrupt(f"{corrupt} (manifest unreadable: {exc.strerror}): rebuild it") from None
    verified = _read_verified(build, digest)
    passed, folders = {}, set()
    for rel, facts in manifest.files.items():
        try:
            stat = _own_stat(build, rel, corrupt, folders)
        except FileNotFoundError:
            raise IndexCorrupt(f"{corrupt} ({rel} is missing): rebuild it") from None
        if stat.st_size != facts.size:
            raise IndexCorrupt(f"{corrupt} ({rel} has {stat.st_size} bytes, expected {facts.size}): rebuild it")
        unchanged = stat.st_ctime_ns == facts.ctime_ns or verified.get(rel) == _stat_facts(stat)
        if verify or (verify is None and not unchanged):
            if crc32_file(build / rel) != facts.crc32:
                raise IndexCorrupt(f"{corrupt} ({rel} fails its checksum): rebuild it")
            if not unchanged:
                passed[rel] = _stat_facts(stat)  # taken before the read: a write during it leaves a record that fails
    if passed:
        _remember_verified(build, digest, {**verified, **passed})
    return manifest


def _own_stat(build: Path, rel: str, corrupt: str, folders: set[str]) -> os.stat_result:
    """`lstat` of a file of the build, and of its folders (each once per open; `folders` holds those seen): a link
    is refused, never followed. A build's files are its own: a link could serve one from outside the folders the
    app is confined to."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if folder not in folders:
            if not S_ISDIR(os.lstat(os.path.join(build, folder)).st_mode):
                raise IndexCorrupt(f"{corrupt} ({folder} is a link or not a folder): rebuild it")
            folders.add(folder)
    stat = os.lstat(os.path.join(build, rel))
    if not S_ISREG(stat.st_mode):
        raise IndexCorrupt(f"{corrupt} ({rel} is a link or not a plain file): rebuild it")
    return stat


# -- .verified: files whose CRC passed after the build (a copied index), so they are read once, not on every open --

def _stat_facts(stat: os.stat_result) -> list[int]:
    """What a `.verified` record holds of a file: any write moves the change time, a replaced file has another
    inode, so a file whose content changed after its pass never matches its record."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _verified_key(create: bool) -> bytes | None:
    """This user's secret for signing `.verified` records (made once, readable by this user only): a record written
    by hand or by anyone else is ignored. None where there is no such place; then nothing is remembered."""
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corpus-inspector"
        key = folder / "verified.key"
        if create and not key.exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"verified.key.{os.getpid()}-{time.time_ns()}"
            try:
                with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    f.write(os.urandom(32))
                os.link(tmp, key)  # never replaces a key another process made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        secret = key.read_bytes()
    except (OSError, RuntimeError):  # no home folder, a read-only one
        return None
    return secret if len(secret) == 32 else None


def _verified_mac(key: bytes, digest: str, records: dict) -> str:
    """The records' signature, tied to the build's manifest (by its SHA-256, from CURRENT)."""
    return hmac.new(key, json.dumps([digest, records], sort_keys=True).encode(), hashlib.sha256).hexdigest()


def _read_verified(build: Path, digest: str) -> dict[str, list[int]]:
    """The records of `.verified` when this user signed them for this manifest; none otherwise."""
    try:
        verified = json.loads((build / VERIFIED).read_text())
        records, mac = verified["files"], verified["mac"]
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    key = _verified_key(create=False)
    if key is None or not isinstance(records, dict) or not isinstance(mac, str):
        return {}
    return records if hmac.compare_digest(mac, _verified_mac(key, digest, records)) else {}


def _remember_verified(build: Path, digest: str, records: dict[str, list[int]]) -> None:
    """Best effort: a reader without write permission (or without a key) simply checks again next time."""
    key = _verified_key(create=True)
    if key is None:
        return
    tmp = build / f"{VERIFIED}.{os.getpid()}-{time.time_ns()}"
    try:
        tmp.write_text(json.dumps({"files": records, "mac": _verified_mac(key, digest, records)}))
        os.replace(tmp, build / VERIFIED)
    except OSError:
        tmp.unlink(missing_ok=True)
