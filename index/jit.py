"""numba, set up once: compiled code cached on disk, and nothing imported until a compiled verb is first used.

The cache lies beside the package when its folder is writable, else under `$XDG_CACHE_HOME/corpus-inspector/numba`
(`NUMBA_CACHE_DIR` overrides both), so no process pays a compile another has paid. Opening an index and single
queries never import this module: the build (`sa_kernels`) and the batch searches (`search_kernels`) do.
numba's cache keys a kernel on its own file only: after editing `big_endian` here, touch the kernels' files (or
remove their `__pycache__`) so that they compile again.
"""
from __future__ import annotations

import os
from pathlib import Path

if "NUMBA_CACHE_DIR" not in os.environ and not os.access(Path(__file__).parent, os.W_OK):
    _cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corpus-inspector" / "numba"
    os.environ["NUMBA_CACHE_DIR"] = str(_cache)

import numba  # noqa: E402
import numpy as np  # noqa: E402

#: compiled, cached on disk, and free of the GIL (the callers run kernels on threads side by side)
jit = numba.njit(cache=True, nogil=True)


@jit
def big_endian(x):
    """A little-endian uint64 read as big-endian (LLVM makes this one instruction): the 8 bytes at a token, loaded
    from a strided view of the text, as a number whose order is the tokens' order."""
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) << np.uint64(8)) | ((x >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF))
    x = ((x & np.uint64(0x0000FFFF0000FFFF)) << np.uint64(16)) | ((x >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF))
    return (x << np.uint64(32)) | (x >> np.uint64(32))


def word_view(text: np.ndarray, width: int, n_tokens: int) -> np.ndarray:
    """The 8 bytes at every token of `text` (uint8, with 8 bytes of padding past the last token) as a strided
    little-endian uint64 array: kernels read a word in one load, then `big_endian`."""
    return np.ndarray((n_tokens,), dtype="<u8", buffer=text, strides=(width,))
