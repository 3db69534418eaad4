"""A bounded window of a (possibly huge) document and where its n-gram and search matches are: what a page (or a
notebook) shows of one document, with the work and the text bounded by the window, not the document."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.errors import InvalidQuery

from .highlight import merge_ranges
from .query import parse_cnf, token_variants


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
        raise InvalidQuery(f"document {doc} has {total:,} characters: the window must start at "
                           f"0..{max(0, total - 1):,}")
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
