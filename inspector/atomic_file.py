"""A file written whole or not at all: written beside its target and renamed onto it, so a reader (a dedup
pipeline, the app reading a kept report) never sees half of it, and a failed write leaves nothing behind."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def write_then_rename(path: Path, write: Callable[[Path], None], failure: Callable[[str], Exception]) -> None:
    """`write(temporary)`, then the temporary renamed onto `path`; an OSError (disk full, no such folder) removes the
    temporary and raises `failure(reason)`, one line for the faces to show."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise failure(exc.strerror or str(exc)) from None
