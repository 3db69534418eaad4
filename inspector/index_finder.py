"""Index folders for the app to offer: those found a few levels under some folders, and what to run where there is
none (a folder of Parquet files is a corpus, to be indexed into another folder, never into itself)."""
from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.errors import IndexMissing
from index.storage import CURRENT


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
    """No index at a path the app may open; `command` is the shell command that would make one there or, for a
    Parquet corpus (a file or a folder of them), beside it."""

    def __init__(self, path: str):
        corpus = Path(path)
        if holds_parquet(corpus):
            out = corpus.parent / f"{corpus.name.removesuffix('.parquet')}-index"
            self.command = f"inspector build {shlex.quote(str(corpus))} --out {shlex.quote(str(out))}"
            what = "is a Parquet file" if corpus.name.endswith(".parquet") else "holds Parquet files"
            super().__init__(f"no index at {path}: it {what}, a corpus to build an index from (into another folder)")
        else:
            self.command = f"inspector build CORPUS_FOLDER --out {shlex.quote(str(corpus))}"
            super().__init__(f"no index at {path}")
