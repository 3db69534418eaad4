"""A user-given file read whole, but never more of it than its limit: /dev/zero, a pipe that never ends or a huge
file is refused once it passes the limit, after reading at most limit + 1 characters."""
from __future__ import annotations

from pathlib import Path

from index.errors import InvalidQuery


def read_text(path: str | Path, limit: int, what: str) -> str:
    """The UTF-8 text of `path` (a file, a character device, a FIFO), or one InvalidQuery naming `what` and the file
    when it is unreadable, not UTF-8, or longer than `limit` characters."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(limit + 1)
    except UnicodeDecodeError:
        raise InvalidQuery(f"{what} {path}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidQuery(f"{what} {path}: cannot read it ({exc.strerror or exc})") from None
    if len(text) > limit:
        raise InvalidQuery(f"{what} {path} is longer than the limit of {limit:,} characters")
    return text
