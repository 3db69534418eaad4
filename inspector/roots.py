"""Index folders a shared app may open: the roots it is confined to (`inspector app --root`), and a typed folder
checked against them before anything under it is looked up, followed or served."""
from __future__ import annotations

import os
from collections.abc import Sequence

from index.errors import IndexMissing
from index.layout import CURRENT
from index.storage import current_name

from .query import bounded_text

#: the environment variable that carries `inspector app --root` folders to the Streamlit process (os.pathsep-joined)
ROOTS_ENV = "INSPECTOR_ROOTS"
MAX_PATH_CHARS = 1024


def confined_path(path: str, roots: Sequence[str]) -> str:
    """`path` with symlinks and .. resolved, once it is known to lie under one of `roots` (when there are any).

    Confined, the path must lie under a root as typed (`..` taken by name, before any link is followed), then
    resolved, and so must its `CURRENT` and the build folder that names: nothing outside the roots is looked up,
    followed or served. Every refusal is the same message, so an answer reveals nothing about the disk (which
    accounts, processes or files exist). Confined, `~` is a name like any other; with no roots, `~/` is the home
    folder.
    """
    bounded_text(path, "the index folder", MAX_PATH_CHARS)
    if not path.strip():
        raise IndexMissing("no index folder given: type one in the sidebar")
    if not roots:  # a local app: `~/x` is the user's own home folder, as a shell would take it
        return os.path.realpath(os.path.expanduser(path) if path == "~" or path.startswith("~/") else path)
    typed = path  # confined: no `~` is expanded, so no answer depends on whose home folders exist
    bases = [os.path.realpath(root) for root in roots]
    real = os.path.realpath(typed) if _under(os.path.abspath(typed), bases) else None
    if real is not None and _under(real, bases) and _under(os.path.realpath(os.path.join(real, CURRENT)), bases):
        build = current_name(real)
        if not build or "\x00" in build or _under(os.path.realpath(os.path.join(real, build)), bases):
            return real
    raise IndexMissing(f"that folder is not under the folders this app may open ({', '.join(roots)})")


def _under(path: str, bases: Sequence[str]) -> bool:
    return any(path == base or path.startswith(base.rstrip(os.sep) + os.sep) for base in bases)
