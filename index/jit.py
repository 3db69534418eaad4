"""numba, set up once: compiled code cached on disk, and nothing imported until a compiled verb is first used.

The cache lies beside the package when its folder is writable, else under `$XDG_CACHE_HOME/corpus-inspector/numba`
(`NUMBA_CACHE_DIR` overrides both), so no process pays a compile another has paid. Opening an index and single
queries never import this module: the build (`sa_kernels`) and the batch searches (`search_kernels`) do.
"""
from __future__ import annotations

import os
from pathlib import Path

if "NUMBA_CACHE_DIR" not in os.environ and not os.access(Path(__file__).parent, os.W_OK):
    _cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corpus-inspector" / "numba"
    os.environ["NUMBA_CACHE_DIR"] = str(_cache)

import numba  # noqa: E402

#: compiled, cached on disk, and free of the GIL (the callers run kernels on threads side by side)
jit = numba.njit(cache=True, nogil=True)


def typed_list(arrays):
    """A typed list of arrays, as kernels take a varying number of them."""
    from numba.typed import List

    typed = List()
    for array in arrays:
        typed.append(array)
    return typed
