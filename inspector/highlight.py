"""Untrusted text to safe HTML: escape every piece first, then wrap the marked ranges in <mark>.

Corpus and benchmark text never reaches HTML or Markdown raw; this is the one place it becomes HTML.
"""
from __future__ import annotations

import html
from collections.abc import Sequence


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted((max(0, a), b) for a, b in ranges if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def highlight_html(text: str, ranges: Sequence[tuple[int, int]] = (), tag: str = "mark") -> str:
    """`text` escaped for HTML, with each character range [a, b) wrapped in <tag> (overlaps merged)."""
    out, at = [], 0
    for a, b in merge_ranges(ranges):
        a, b = min(a, len(text)), min(b, len(text))
        out.append(html.escape(text[at:a]))
        out.append(f"<{tag}>{html.escape(text[a:b])}</{tag}>")
        at = b
    out.append(html.escape(text[at:]))
    return "".join(out)
