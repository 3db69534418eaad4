"""Normalisation (`inspector.normalize`) against its definition, one character at a time: the build normalises the
corpus with a faster path for ASCII runs, and an item only matches if both sides give the same text."""
from __future__ import annotations

import unicodedata

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.normalize import normalize, normalize_with_offsets, original_span

from .profiles import examples


def by_definition(text: str) -> tuple[str, list[int]]:
    """NFKC of each base character with its combining marks, lower case, punctuation, symbols, separators and
    controls as one space between words; for each output character the input character it came from."""
    out, origin, space_pending, i = [], [], False, 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        for char in unicodedata.normalize("NFKC", text[i:j]).lower():
            if char.isspace() or unicodedata.category(char)[0] in "PSZC":
                space_pending = bool(out)
            else:
                if space_pending:
                    out.append(" ")
                    origin.append(i)
                    space_pending = False
                out.append(char)
                origin.append(i)
        i = j
    return "".join(out), origin + [len(text)]


# ASCII words and separators, combining marks (after ASCII and not), fullwidth and compatibility forms, Hangul jamo,
# CJK, a ligature, the dotted capital I whose lower case is two characters
ALPHABET = list("aZ09_ -.,\n\t'\"") + ["\u0301", "\u0327", "é", "Ａ", "ﬁ", "½", "ᄀ", "ᅡ", "中", "İ", "—", "\u200b"]


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_normalize_is_its_definition_character_by_character(text):
    expected, origin = by_definition(text)
    got, offsets = normalize_with_offsets(text)
    assert got == expected
    assert offsets.tolist() == origin
    assert normalize(text) == expected


def test_an_ascii_run_keeps_the_offsets_of_its_words():
    text = "Fish--costs  MORE, e\u0301x"
    got, offsets = normalize_with_offsets(text)
    assert got == "fish costs more éx"
    start = got.index("more")
    assert text[slice(*original_span(offsets, start, start + 4))] == "MORE"
    assert isinstance(offsets, np.ndarray) and len(offsets) == len(got) + 1
