"""Index folders for the app to offer: those found a few levels under some folders, and what to say where there is
none: where the index inside is, or what to run (a folder of Parquet files is a corpus, to be indexed into another
folder, never into itself; a system, temporary or home folder is no corpus)."""
from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.errors import IndexMissing
from index.layout import CURRENT


def find_indexes(folders: Iterable[str], depth: int = 2, entries: int = 2000) -> list[str]:
    """Index folders (those holding a CURRENT file) at most `depth` levels under `folders`, reading at most `entries`
    folder entries in all (a home folder can hold millions); symbolic links and hidden folders are not followed."""
    budget = [entries]  # shared by every folder searched
    return sorted({str(found) for folder in folders for found in _walk(Path(folder), depth, budget)})


def _walk(folder: Path, depth: int, budget: list[int]) -> Iterator[Path]:
    if _is_file(folder / CURRENT):
        yield folder  # its build folders are no indexes: not searched
    elif depth > 0:
        for entry in _entries(folder, budget):
            if not entry.name.startswith(".") and _is_folder(entry):
                yield from _walk(Path(entry.path), depth - 1, budget)


def _entries(folder: Path, budget: list[int]) -> list[os.DirEntry]:
    """At most the remaining budget of `folder`'s entries, in name order; none when it cannot be read."""
    taken = []
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
                taken.append(entry)
    except OSError:
        return []
    return sorted(taken, key=lambda e: e.name)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as scan:
            return next(scan, None) is None
    except OSError:
        return False


def holds_parquet(path: str | Path, entries: int = 1000) -> bool:
    """Whether `path` is a .parquet file or a folder holding one (in it or below), looking at most `entries` entries."""
    if str(path).endswith(".parquet"):
        return _is_file(Path(path))
    budget = [entries]
    pending = [Path(path)]
    while pending and budget[0] > 0:
        for entry in _entries(pending.pop(), budget):
            if entry.name.endswith(".parquet"):
                return True
            if _is_folder(entry):
                pending.append(Path(entry.path))
    return False


class NotAnIndex(IndexMissing):
    """No index at a path the app or CLI was given, and what to do instead: `found`, the index folders a few levels
    inside it (a folder that holds an index is not one), or `command`, the shell command that would make an index
    (None where none would do good: never the whole of the filesystem root, a folder right under it, the home or the
    temporary folder, never `--out` on a file or on a folder holding other files). The message says which."""

    def __init__(self, path: str):
        self.found: tuple[str, ...] = ()
        self.command: str | None = None
        shown = path if len(path) <= 200 else path[:200] + "…"
        here = Path(path)
        try:
            folder = here.is_dir()
            missing = not folder and not here.exists()
        except (OSError, ValueError):  # a name too long, or holding a NUL: nothing to suggest
            super().__init__(f"no index at {shown}")
            return
        if missing:
            self.command = f"inspector build CORPUS_FOLDER --out {shlex.quote(path)}"
            what = "no such file or folder"
        elif not folder:
            what = self._corpus_file(here)
        elif broad := too_broad(here):
            what = f"it is {broad}, no corpus to index whole: choose an index folder, or build one from a corpus inside"
        elif found := find_indexes([path]):
            self.found = tuple(found)
            what = (f"the index is at {found[0]}" if len(found) == 1 else
                    f"it holds {len(found)} indexes: {', '.join(found[:5])}{', …' if len(found) > 5 else ''}")
        elif _is_empty(here):
            self.command = f"inspector build CORPUS_FOLDER --out {shlex.quote(path)}"
            what = "it is an empty folder"
        elif holds_parquet(here):
            what = self._corpus_folder(here)
        else:
            what = "it holds neither an index nor Parquet files"
        super().__init__(f"no index at {shown}: {what}")

    def _corpus_file(self, corpus: Path) -> str:
        if not corpus.name.endswith(".parquet"):
            return "it is a file; an index is a folder made by inspector build"
        self._build_beside(corpus, corpus.name.removesuffix(".parquet"))
        return "it is a Parquet file, a corpus to build an index from (into another folder)"

    def _corpus_folder(self, corpus: Path) -> str:
        self._build_beside(corpus, corpus.name)
        return "it holds Parquet files, a corpus to build an index from (into another folder)"

    def _build_beside(self, corpus: Path, name: str) -> None:
        """The command that builds `corpus` into NAME-index beside it, when that folder is new and not in the
        filesystem root."""
        out = corpus.parent / f"{name}-index"
        if os.path.realpath(out.parent) != os.path.realpath(out.anchor or os.sep) and not os.path.lexists(out):
            self.command = f"inspector build {shlex.quote(str(corpus))} --out {shlex.quote(str(out))}"

    def advice(self) -> str:
        """The message and the command, as one line (the CLI's)."""
        return f"{self}; to build one: {self.command}" if self.command else str(self)


def too_broad(folder: Path) -> str:
    """What `folder` is when it is the filesystem root, a folder right under it (/tmp, /usr, /home…), the home folder
    or one holding it, or the temporary folder: never a corpus to index whole, nor a place to build an index beside.
    "" for any other folder."""
    real = Path(os.path.realpath(folder))
    try:
        home = Path(os.path.realpath(Path.home()))
    except (RuntimeError, KeyError):  # no home folder known
        home = None
    if len(real.parts) <= 1:
        return "the filesystem root"
    if real in {Path(os.path.realpath(t)) for t in (tempfile.gettempdir(), "/tmp", "/var/tmp")}:
        return "the temporary folder"
    if home is not None and real == home:
        return "the home folder"
    if home is not None and real in home.parents:
        return "a folder holding the home folder"
    return "a folder right under the filesystem root" if len(real.parts) == 2 else ""
