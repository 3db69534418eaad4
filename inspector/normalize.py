"""Normalised text for matching copies that were re-cased, re-wrapped or re-punctuated (`--normalize`).

lm-eval's decontamination lower-cases and strips punctuation before it compares 13-grams; exact tokens miss such
copies, the gap people report. Here: Unicode NFKC, lower case, punctuation and symbols read as spaces (so
"fish—costs" and "fish - costs" agree), every run of them one space, no space at either end. The same function runs
on the corpus (`inspector build --normalized` indexes it beside the exact tokens) and on each checked text, and it
keeps, for every character it outputs, the character of the input it came from, so matches found in normalised
text are marked on the original.
"""
from __future__ import annotations

import unicodedata

import numpy as np

_SEPARATORS = ("P", "S", "Z", "C")  # Unicode categories: punctuation, symbols, separators, controls


def normalize(text: str) -> str:
    return normalize_with_offsets(text)[0]


def normalize_with_offsets(text: str) -> tuple[str, np.ndarray]:
    """(normalised text, for each of its characters the index of the input character it came from, plus one entry
    len(text) at the end), so a span [a, b) of the output is [offsets[a], offsets[b - 1] + 1) of the input."""
    out: list[str] = []
    origin: list[int] = []
    space_pending = False
    i, size = 0, len(text)
    while i < size:
        j = i + 1
        while j < size and unicodedata.combining(text[j]):  # a base character with its marks composes as one
            j += 1
        for char in unicodedata.normalize("NFKC", text[i:j]).lower():
            if char.isspace() or unicodedata.category(char)[0] in _SEPARATORS:
                space_pending = bool(out)
            else:
                if space_pending:
                    out.append(" ")
                    origin.append(i)
                    space_pending = False
                out.append(char)
                origin.append(i)
        i = j
    origin.append(size)
    return "".join(out), np.asarray(origin, dtype=np.int64)


def original_span(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The input characters a span [start, end) of normalised text came from."""
    if end <= start:
        at = int(offsets[start])
        return at, at
    return int(offsets[start]), int(offsets[end - 1]) + 1
