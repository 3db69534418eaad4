"""What the app needs to serve untrusted input from one shared process: Markdown escaping, URL values bounded before
they reach native code, index folders confined to roots, and a bounded window of a (possibly huge) document."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.errors import IndexMissing, InvalidQuery
from index.storage import CURRENT, current_name

from .highlight import merge_ranges
from .query import parse_cnf, token_variants

#: the environment variable that carries `inspector app --root` folders to the Streamlit process (os.pathsep-joined)
ROOTS_ENV = "INSPECTOR_ROOTS"
MAX_PATH_CHARS = 1024

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&=^\"'])")


def escape_markdown(text: object) -> str:
    """Text made inert for Streamlit's Markdown (labels, captions, errors): every special character escaped."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def url_int(value: str | None, name: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number from a URL (or None: `default`), checked to lie in [low, high]; InvalidQuery says why not."""
    if value is None or value == "":
        if default is None:
            raise InvalidQuery(f"{name} is {'empty' if value == '' else 'missing'}: give a whole number from {low:,} "
                               f"to {high:,}")
        return default
    text = value.strip()
    if len(text) > 20 or not re.fullmatch(r"[+-]?[0-9]+", text):
        raise InvalidQuery(f"{name} must be a whole number from {low:,} to {high:,}, not {_quote(value)}")
    number = int(text)
    if not low <= number <= high:
        raise InvalidQuery(f"{name} must be from {low:,} to {high:,}, not {number:,}")
    return number


def url_text(value: str | None, name: str, limit: int) -> str:
    """A text from a URL, at most `limit` characters and without NUL (no parser below us expects one)."""
    text = value or ""
    if len(text) > limit:
        raise InvalidQuery(f"{name} has {len(text):,} characters; the limit is {limit:,}")
    if "\x00" in text:
        raise InvalidQuery(f"{name} contains a NUL character")
    return text


def url_span(value: str | None, name: str, high: int = 10**15) -> tuple[int, int] | None:
    """A character span START-END from a URL (or None when absent): two whole numbers, 0 <= START <= END <= high."""
    if value is None or value == "":
        return None
    text = value.strip()
    found = re.fullmatch(r"([0-9]{1,16})-([0-9]{1,16})", text)
    if not found:
        raise InvalidQuery(f"{name} must be START-END, two whole numbers such as 120-180, not {_quote(value)}")
    start, end = int(found[1]), int(found[2])
    if start > end:
        raise InvalidQuery(f"{name} must start before it ends, not {start:,}-{end:,}")
    if end > high:
        raise InvalidQuery(f"{name} must end by {high:,}, not {end:,}")
    return start, end


def _quote(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def confined_path(path: str, roots: Sequence[str]) -> str:
    """`path` with symlinks and .. resolved, once it is known to lie under one of `roots` (when there are any).

    Confined, the path must lie under a root as typed (`..` taken by name, before any link is followed), then
    resolved, and so must its `CURRENT` and the build folder that names: nothing outside the roots is looked up,
    followed or served. Every refusal is the same message, so an answer reveals nothing about the disk (which
    accounts, processes or files exist). Confined, `~` is a name like any other; with no roots, `~/` is the home
    folder.
    """
    url_text(path, "the index folder", MAX_PATH_CHARS)
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


def bounded_metadata(value, chars: int = 2000, items: int = 100):
    """Metadata as shown: long strings and lists cut (a metadata column can be as large as a text)."""
    if isinstance(value, str):
        return value if len(value) <= chars else f"{value[:chars]}… ({len(value):,} characters)"
    if isinstance(value, list):
        cut = [bounded_metadata(v, chars, items) for v in value[:items]]
        return cut + [f"… ({len(value):,} items)"] if len(value) > items else cut
    if isinstance(value, dict):
        return {k: bounded_metadata(v, chars, items) for k, v in list(value.items())[:items]}
    return value


@dataclass(frozen=True)
class DocumentWindow:
    """Characters [start, end) of document `doc` (of `chars` in all) and the marks inside, relative to `start`."""

    doc: int
    id: str | None
    file: str
    row: int
    tokens: int
    chars: int
    start: int
    end: int
    text: str
    marks: tuple[tuple[int, int], ...]
    metadata: dict
    #: which of the window's marks (merged, in order: the n-th <mark> of `highlight_html`) is the focused span
    focus_mark: int | None = None


def document_window(index, doc: int, start: int, size: int, ngram: str = "", search: str = "",
                    marks: Sequence[tuple[int, int]] = (), focus: tuple[int, int] | None = None,
                    lead: int = 0) -> DocumentWindow:
    """A window of a document with the n-gram and search matches inside it, and `marks` (character spans of the
    whole document, such as a contamination match) where they fall in it: the marking work and the text shown are
    bounded by `size`, however long the document.

    `focus` is a span of the whole document to show (a match stepped to; marked too): the window then opens at the
    document's start when the whole document fits in `size` (a window shows it all), else `lead` characters before
    the span, and `start` is not used."""
    document = index.document(doc)
    total = len(document.text)
    for a, b in [*marks, *([focus] if focus else [])]:
        if not 0 <= a <= b <= total:
            raise InvalidQuery(f"the mark {a:,}-{b:,} is outside document {doc}, which has {total:,} characters")
    if focus:
        start = 0 if total <= size else max(0, focus[0] - lead)
        marks = [*marks, focus]
    if not 0 <= start <= max(0, total - 1):
        raise InvalidQuery(f"document {doc} has {total:,} characters: the window must start at 0..{max(0, total - 1):,}")
    end = min(total, start + size)
    text = document.text[start:end]
    marks = [(max(a, start) - start, min(b, end) - start) for a, b in marks if a < end and b > start]
    if ngram:
        marks += _ngram_marks(index, doc, ngram, start, end)
    if search:
        marks += index.search_highlights(text, search)
    shown = None if not focus else sum(b < focus[0] - start for _, b in merge_ranges(marks))
    return DocumentWindow(document.doc, document.id, document.file, document.row, document.tokens, total, start, end,
                          text, tuple(marks), bounded_metadata(document.metadata), shown)


_CHARS: dict[int, tuple[object, np.ndarray]] = {}


def _chars_per_token(tokenizer) -> np.ndarray:
    """Per token id, the characters it starts (its UTF-8 bytes that are not continuation bytes): summed over a
    document's tokens these give character offsets, as the text's own characters would."""
    cached = _CHARS.get(id(tokenizer))
    if cached is None or cached[0] is not tokenizer:
        counts = [sum((b & 0xC0) != 0x80 for b in tokenizer.token_bytes(i)) for i in range(tokenizer.max_id + 1)]
        cached = _CHARS[id(tokenizer)] = (tokenizer, np.array(counts + [0], dtype=np.int64))
    return cached[1]


def _ngram_marks(index, doc: int, query: str, start: int, end: int, chunk: int = 1 << 20) -> list[tuple[int, int]]:
    """Matches of a CNF query's terms within characters [start, end), relative to `start` (a match across an edge
    cut there): the document's tokens are walked in chunks (bounded memory) to find the window's tokens, and only
    those, with a margin of the longest query each side, are searched. The margin takes in a match across either
    edge, and the tokens that end a character split over tokens (they start no character, so a window's character
    count alone would leave them out)."""
    seqs = [s for clause in parse_cnf(query, index.settings) for t in clause
            for s in token_variants(index.tokenizer, index.settings, t, None)]
    if not seqs:
        return []
    margin = max(len(s) for s in seqs)
    table = _chars_per_token(index.tokenizer)
    tokens = index.document_tokens(doc)
    lo = hi = None
    lo_char = base = 0
    for s in range(0, len(tokens), chunk):
        piece = np.minimum(tokens[s : s + chunk], len(table) - 1)
        ends = np.cumsum(table[piece]) + base
        if lo is None and ends[-1] > start:
            i = int(np.searchsorted(ends, start, "right"))
            lo, lo_char = s + i, int(ends[i] - table[piece[i]])
        if lo is not None and ends[-1] >= end:
            hi = s + int(np.searchsorted(ends, end, "left")) + 1
            break
        base = int(ends[-1])
    if lo is None:
        return []
    before = tokens[max(0, lo - margin) : lo]
    lo, lo_char = lo - len(before), lo_char - int(table[np.minimum(before, len(table) - 1)].sum())
    window = tokens[lo : len(tokens) if hi is None else hi + margin]
    offsets = lo_char + np.concatenate([[0], np.cumsum(table[np.minimum(window, len(table) - 1)])])
    spans = index.engine.locate(doc, seqs, index.settings.max_clause_freq, tokens=window)
    found = ((int(offsets[a]), int(offsets[b])) for a, b in spans)  # a margin's match may lie outside
    return [(max(a, start) - start, min(b, end) - start) for a, b in found if a < end and b > start]


@dataclass(frozen=True)
class DocumentMatches:
    """Where a document's n-gram or search matches are (character spans of the whole text, in order); `limited`
    says why the list may stop short ("" when it holds every match)."""

    spans: tuple[tuple[int, int], ...]
    limited: str


def document_matches(index, doc: int, ngram: str = "", search: str = "", limit: int = 1000,
                     scan_chars: int = 50_000_000) -> DocumentMatches:
    """The first `limit` n-gram and search matches in document `doc`, for a page that steps from match to match.

    Bounded work: n-gram matches come from the engine's `locate` (at most `limit + 1` per query) with character
    offsets walked in chunks; search matches from the text scanned a million characters at a time (with a margin
    each side, so a phrase across a cut is found and a cut word is not), stopping after `limit` matches or
    `scan_chars` characters."""
    spans: set[tuple[int, int]] = set()
    limited = ""
    if ngram:
        seqs = [s for clause in parse_cnf(ngram, index.settings) for t in clause
                for s in token_variants(index.tokenizer, index.settings, t, None)]
        tokens = index.document_tokens(doc)
        located = index.engine.locate(doc, seqs, limit + 1, tokens=tokens)
        offsets = _token_char_offsets(index, tokens, [p for span in located for p in span])
        spans.update(zip(offsets[0::2].tolist(), offsets[1::2].tolist()))
    if search:
        text = index.document(doc).text
        chunk, overlap, start, stop, found = 1_000_000, 2_000, 0, min(len(text), scan_chars), 0
        while start < stop and found <= limit:
            lo, hi = max(0, start - overlap), min(stop, start + chunk)  # a margin each side of the piece kept:
            piece = text[lo : hi + overlap]  # a word cut at the piece's edge is not kept from it
            kept = [(lo + a, lo + b) for a, b in index.search_highlights(piece, search) if start <= lo + a < hi]
            spans.update(kept)
            found, start = found + len(kept), hi
        if stop < len(text) and found <= limit:
            limited = f"searched the first {scan_chars:,} characters"
    ordered = sorted(spans)
    if len(ordered) > limit:
        ordered, limited = ordered[:limit], f"the first {limit:,} matches"
    return DocumentMatches(tuple(ordered), limited)


def _token_char_offsets(index, tokens: np.ndarray, positions: Sequence[int], chunk: int = 1 << 20) -> np.ndarray:
    """Character offsets of token positions of a document, its tokens walked in chunks (bounded memory)."""
    positions = np.asarray(positions, dtype=np.int64)
    out = np.zeros(len(positions), dtype=np.int64)
    table = _chars_per_token(index.tokenizer)
    base, last = 0, int(positions.max()) if len(positions) else -1
    for s in range(0, len(tokens), chunk):
        if s > last:
            break
        piece = np.minimum(tokens[s : s + chunk], len(table) - 1)
        bounds = np.concatenate([[base], base + np.cumsum(table[piece])])
        inside = (positions >= s) & (positions <= s + len(piece))
        out[inside] = bounds[positions[inside] - s]
        base = int(bounds[-1])
    return out


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
