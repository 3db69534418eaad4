"""Normalised text for matching copies that were re-cased, re-wrapped or re-punctuated (`--normalize`).

lm-eval's decontamination lower-cases and strips punctuation before it compares 13-grams; exact tokens miss such
copies, the gap people report. Here: Unicode NFKC, lower case, punctuation and symbols read as spaces (so
"fish—costs" and "fish - costs" agree), every run of them one space, no space at either end. The same function runs
on the corpus (`inspector build --normalized` indexes it beside the exact tokens) and on each checked text, and it
keeps, for every character it outputs, the character of the input it came from, so matches found in normalised
text are marked on the original.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np

_SEPARATORS = ("P", "S", "Z", "C")  # Unicode categories: punctuation, symbols, separators, controls


def normalize(text: str) -> str:
    return _normalized(text, offsets=False)[0]


def normalize_with_offsets(text: str) -> tuple[str, np.ndarray]:
    """(normalised text, for each of its characters the index of the input character it came from, plus one entry
    len(text) at the end), so a span [a, b) of the output is [offsets[a], offsets[b - 1] + 1) of the input."""
    out, origin = _normalized(text, offsets=True)
    return out, np.asarray(origin, dtype=np.int64)


_ASCII_RUN = re.compile(r"[\x00-\x7f]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")  # in ASCII, NFKC changes nothing and all else is P, S, Z or C


def _normalized(text: str, offsets: bool) -> tuple[str, list[int]]:
    """Character by character (a base character with its combining marks as one), except that a run of ASCII is
    taken a word at a time: the same output, several times faster on mostly-ASCII text (the build normalises the
    whole corpus)."""
    out: list[str] = []
    origin: list[int] = []
    space_pending = False
    i, size = 0, len(text)
    while i < size:
        if text[i] < "\x80":
            end = _ASCII_RUN.match(text, i).end()
            if end < size and unicodedata.combining(text[end]):
                end -= 1  # the run's last character is the base of marks that follow: it goes with them
            if end > i:
                last = i
                for word in _ASCII_WORD.finditer(text, i, end):
                    start, stop = word.span()
                    if start > last:  # separators before the word
                        space_pending = bool(out)
                    if space_pending:
                        out.append(" ")
                        if offsets:
                            origin.append(start)
                        space_pending = False
                    out.append(word.group().lower())
                    if offsets:
                        origin.extend(range(start, stop))
                    last = stop
                if end > last:
                    space_pending = bool(out)
                i = end
                continue
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
    return "".join(out), origin


def original_span(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The input characters a span [start, end) of normalised text came from."""
    if end <= start:
        at = int(offsets[start])
        return at, at
    return int(offsets[start]), int(offsets[end - 1]) + 1
