"""URL query parameters as a page reads them: each value checked and bounded before it reaches native code, and
InvalidQuery naming the parameter and saying what was wrong (a bad link is never silently read as another)."""
from __future__ import annotations

import math
import re

from inspector import InvalidQuery


def url_int(value: str | None, name: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number from a URL (or None: `default`), checked to lie in [low, high]; InvalidQuery says why not."""
    if value is None or value == "":
        if default is None:
            raise InvalidQuery(f"{name} is {'empty' if value == '' else 'missing'}: give a whole number from {low:,} "
                               f"to {high:,}")
        return default
    text = value.strip()
    if len(text) > 20 or not re.fullmatch(r"[+-]?[0-9]+", text):
        raise InvalidQuery(f"{name} must be a whole number from {low:,} to {high:,}, not {quoted(value)}")
    number = int(text)
    if not low <= number <= high:
        raise InvalidQuery(f"{name} must be from {low:,} to {high:,}, not {number:,}")
    return number


def url_span(value: str | None, name: str, high: int = 10**15) -> tuple[int, int] | None:
    """A character span START-END from a URL (or None when absent): two whole numbers, 0 <= START <= END <= high."""
    if value is None or value == "":
        return None
    text = value.strip()
    found = re.fullmatch(r"([0-9]{1,16})-([0-9]{1,16})", text)
    if not found:
        raise InvalidQuery(f"{name} must be START-END, two whole numbers such as 120-180, not {quoted(value)}")
    start, end = int(found[1]), int(found[2])
    if start > end:
        raise InvalidQuery(f"{name} must start before it ends, not {start:,}-{end:,}")
    if end > high:
        raise InvalidQuery(f"{name} must end by {high:,}, not {end:,}")
    return start, end


def quoted(value: str) -> str:
    """A value from a URL as a message quotes it: its repr, cut at 40 characters."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_RANGE = re.compile(rf"\s*({_NUMBER})?\s*\.\.\s*({_NUMBER})?\s*")


def url_range(value: str, name: str, whole: bool = False) -> tuple[float | int | None, float | int | None]:
    """A URL's `LOW..HIGH` (either side may be left out; whole numbers only if `whole`), checked before it reaches
    a filter; InvalidQuery naming the parameter otherwise."""
    found = _RANGE.fullmatch(value)
    bounds = [None if v is None else float(v) for v in found.groups()] if found else [math.nan]
    if not all(b is None or math.isfinite(b) for b in bounds):
        raise InvalidQuery(f"{name} must be LOW..HIGH with numbers (either may be left out), such as 0.5..0.9, "
                           f"not {value[:40]!r}")
    if whole:
        if not all(b is None or b.is_integer() for b in bounds):
            raise InvalidQuery(f"{name} holds whole numbers: give LOW..HIGH such as 10..200, not {value[:40]!r}")
        bounds = [None if b is None else int(v) if re.fullmatch(r"[+-]?[0-9]+", v.strip()) else int(b)
                  for b, v in zip(bounds, found.groups())]
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise InvalidQuery(f"{name} must go from low to high, not {value[:40]!r}")
    return low, high
