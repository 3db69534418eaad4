"""The quality signals of a whole batch of texts at once: `quality_values.values` for every text, to the last bit,
without a Python loop over documents, words or lines (issue 10: the signals may add at most 20 % to a build).

Words are split where `str.split()` splits, over the batch's UTF-8 bytes; lines and paragraphs come from Arrow's
string kernels. Each word becomes a number (`dictionary_encode`), so a word n-gram is a pair (its (n-1)-gram's
group, its last word) and the n-grams of all documents are grouped by one sort per n. An n-gram can only repeat where
its (n-1)-gram repeats, so each n looks only at the windows whose (n-1)-gram occurs twice or more in its document.

Texts holding a line break `str.splitlines` knows beyond "\\n" (\\r, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028, \\u2029)
take the per-text way (`quality_values.values`): the rules split lines three different ways, and only with "\\n"
alone do the three agree with a split at "\\n". `tests/test_quality.py` holds both ways equal on random texts.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .quality_values import END_PUNCTUATION, FINEWEB_STOP, POLICY, SIGNALS, STOP_WORDS
from .quality_values import values as text_values

_OTHER_LINE_BREAKS = "[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"
#: what str.isspace calls white space (the last is U+3000)
_SPACES = tuple(chr(c) for c in range(0x3001) if chr(c).isspace())
_WHITESPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SPACES) + "]"  # as an RE2 class
_SENTENCE_END = r"[.!?]+(?:" + _WHITESPACE + "|$)"  # quality_values._SENTENCE_END, as RE2 has no lookahead
_CITATION = r"\[\p{Nd}*\]|\[edit\]|\[citation needed\]"  # Python's \d is any decimal digit, RE2's only 0-9


def values(texts: list[str] | pa.Array) -> dict[str, np.ndarray]:
    """`quality_values.values` of each text, one float64 array per signal (plus the C4 page flags)."""
    column = texts.cast(pa.large_string()) if isinstance(texts, pa.Array) else pa.array(texts, pa.large_string())
    if not len(column):
        return {name: np.zeros(0) for name in _NAMES}
    other = np.asarray(pc.match_substring_regex(column, _OTHER_LINE_BREAKS).to_numpy(zero_copy_only=False), bool)
    if other.any():
        plain = np.flatnonzero(~other)
        out = {name: np.zeros(len(texts)) for name in _NAMES}
        if len(plain):
            for name, array in _values(column.take(plain)).items():
                out[name][plain] = array
        for i in np.flatnonzero(other):
            for name, value in text_values(column[int(i)].as_py()).items():
                out[name][i] = value
        return out
    return _values(column)


_NAMES = (*SIGNALS, "c4_lorem_ipsum", "c4_curly_bracket")


def _values(column: pa.Array) -> dict[str, np.ndarray]:
    n_chars = _numbers(pc.utf8_length(column))
    words = _words(column)
    newlines = _count(column, "\n")
    out = {
        "q_words": words["alnum"],
        "q_mean_word_length": _ratio(words["alnum_chars"], words["alnum"]),
        "q_hash_ratio": _ratio(_count(column, "#"), words["count"]),
        "q_ellipsis_ratio": _ratio(_numbers(pc.count_substring(column, "...")) + _count(column, "…"), words["count"]),
        "q_alpha_words": _ratio(words["alpha"], words["count"]),
        "q_stop_words": words["stop"],
        "q_newline_ratio": _ratio(newlines, words["count"]),
    }
    out.update(_ngrams(words["ids"], words["doc"], words["lengths"], n_chars))
    pieces = _Pieces(pc.split_pattern(column, "\n"))
    # re.split(r"\n+", text): the pieces of a split at "\n" that are not empty, and the first and the last
    lines = pieces.select((pieces.length > 0) | pieces.first | pieces.last)
    repeats, chars = lines.duplicates()
    out["q_dup_line_frac"], out["q_dup_line_char_frac"] = _ratio(repeats, lines.count), _ratio(chars, n_chars)
    paragraphs = _Pieces(pc.split_pattern_regex(pc.utf8_trim_whitespace(column), r"\n{2,}"))
    repeats, chars = paragraphs.duplicates()
    out["q_dup_para_frac"], out["q_dup_para_char_frac"] = _ratio(repeats, paragraphs.count), _ratio(chars, n_chars)
    # FineWeb: text.split("\n")
    out["q_line_punct_ratio"] = _ratio(pieces.per_doc(_ends_with(pieces.strings, FINEWEB_STOP)), pieces.count)
    out["q_short_line_ratio"] = _ratio(pieces.per_doc(pieces.length <= 30), pieces.count)
    blank = _flags(pc.equal(pc.utf8_trim_whitespace(pieces.strings), ""))
    out["q_char_dup_ratio"] = _ratio(pieces.select(~blank).duplicates()[1], n_chars - newlines)
    # str.splitlines(): the pieces but a last empty one
    split_lines = pieces.select(~(pieces.last & (pieces.length == 0)))
    bullets = _starts_with(pc.utf8_ltrim_whitespace(split_lines.strings), ("•", "-"))
    ellipsis = _ends_with(pc.utf8_rtrim_whitespace(split_lines.strings), ("...", "…"))
    out["q_bullet_lines"] = _ratio(split_lines.per_doc(bullets), split_lines.count)
    out["q_ellipsis_lines"] = _ratio(split_lines.per_doc(ellipsis), split_lines.count)
    out.update(_c4(split_lines))
    return out


def _numbers(array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), np.int64)


def _flags(array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), bool)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b as floats, 0 where b is 0 (quality_values._div)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(len(a)), where=b != 0)


def _utf8(strings: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes under a string array without nulls, and each string's start and end in them."""
    _, offsets, data = strings.buffers()
    kind = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    bounds = np.frombuffer(offsets, kind)[strings.offset : strings.offset + len(strings) + 1].astype(np.int64)
    raw = np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
    return raw, bounds[:-1], bounds[1:]


def _affix(strings: pa.Array, affixes: tuple[str, ...], at_end: bool) -> np.ndarray:
    """Whether each string starts (ends) with one of `affixes`: a look at its first (last) bytes."""
    raw, start, end = _utf8(strings)
    single = [a for a in affixes if len(a.encode()) == 1]
    table = np.zeros(256, bool)
    table[[ord(a) for a in single]] = True
    some = np.flatnonzero(end > start)
    out = np.zeros(len(start), bool)
    out[some] = table[raw[(end - 1 if at_end else start)[some]]]
    for affix in set(affixes) - set(single):
        data = affix.encode()
        fits = end - start >= len(data)
        first = (end - len(data) if at_end else start)[fits]
        ok = np.ones(len(first), bool)
        for j, byte in enumerate(data):
            ok &= raw[first + j] == byte
        out[np.flatnonzero(fits)[ok]] = True
    return out


def _ends_with(strings: pa.Array, suffixes: tuple[str, ...]) -> np.ndarray:
    return _affix(strings, suffixes, at_end=True)


def _starts_with(strings: pa.Array, prefixes: tuple[str, ...]) -> np.ndarray:
    return _affix(strings, prefixes, at_end=False)


def _count(column: pa.Array, char: str) -> np.ndarray:
    """Occurrences of one character in each text (its UTF-8 bytes in a row: a character can't overlap itself)."""
    raw, start, end = _utf8(column)
    data = char.encode()
    hits = np.flatnonzero(raw[: max(0, len(raw) - len(data) + 1)] == data[0])
    for j, byte in enumerate(data[1:], 1):
        hits = hits[raw[hits + j] == byte]
    return np.bincount(np.searchsorted(end, hits, "right"), minlength=len(start))


class _Pieces:
    """The pieces of each document (lines, paragraphs, words) flattened in document order, with their document."""

    def __init__(self, lists: pa.Array):
        self.strings = lists.flatten()
        self.n_docs = len(lists)
        self.doc = np.repeat(np.arange(len(lists)), _numbers(pc.list_value_length(lists)))
        self.length = _numbers(pc.utf8_length(self.strings))
        self.count = np.bincount(self.doc, minlength=self.n_docs)
        ends = np.cumsum(self.count)
        self.first = np.zeros(len(self.doc), bool)
        self.first[(ends - self.count)[self.count > 0]] = True
        self.last = np.zeros(len(self.doc), bool)
        self.last[ends[self.count > 0] - 1] = True

    def select(self, keep: np.ndarray) -> _Pieces:
        chosen = object.__new__(_Pieces)
        chosen.strings = self.strings.filter(pa.array(keep))
        chosen.n_docs, chosen.doc, chosen.length = self.n_docs, self.doc[keep], self.length[keep]
        chosen.count = np.bincount(chosen.doc, minlength=self.n_docs)
        chosen.first, chosen.last = self.first[keep], self.last[keep]  # of the original pieces
        return chosen

    def per_doc(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.doc, weights=np.asarray(weights, np.float64), minlength=self.n_docs)

    def duplicates(self) -> tuple[np.ndarray, np.ndarray]:
        """quality_values._duplicates per document: the pieces equal to an earlier one of their document, their
        characters. Only pieces sharing their length with another of their document are compared (hashed) at all."""
        if not len(self.doc):
            return np.zeros(self.n_docs), np.zeros(self.n_docs)
        _, same_length, _ = _group(self.doc * (int(self.length.max()) + 1) + self.length)
        maybe = np.flatnonzero(same_length > 1)
        identity = np.arange(len(self.doc)) + len(maybe)  # a piece of its own length is its own
        encoded = pc.dictionary_encode(self.strings.take(pa.array(maybe)))
        identity[maybe] = _numbers(encoded.indices)
        _, _, first = _group(self.doc * (len(self.doc) + len(maybe)) + identity)
        return np.bincount(self.doc[~first], minlength=self.n_docs), self.per_doc(np.where(first, 0, self.length))


@lru_cache(maxsize=1)
def _white_space() -> tuple[np.ndarray, np.ndarray, tuple[bytes, ...]]:
    """str.isspace in UTF-8: the one-byte white space (a table over bytes), the first bytes of the longer ones, and
    the longer ones (U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000)."""
    single = np.zeros(256, bool)
    single[[ord(c) for c in _SPACES if ord(c) < 128]] = True
    wide = tuple(c.encode() for c in _SPACES if ord(c) >= 128)
    leads = np.zeros(256, bool)
    leads[[w[0] for w in wide]] = True
    return single, leads, wide


def _words(column: pa.Array) -> dict[str, np.ndarray]:
    """Per word (str.split(), over the UTF-8 bytes: 3-4x Arrow's utf8_split_whitespace): its number in this batch,
    document, length; per document: counts and sums."""
    raw, start, end = _utf8(column)
    raw, start, end = np.append(raw[start[0] : end[-1]], np.zeros(3, np.uint8)), start - start[0], end - start[0]
    single, leads, wide = _white_space()
    space = single[raw]
    lead = np.flatnonzero(leads[raw])
    for char in wide:
        at = lead[raw[lead] == char[0]]
        for j in range(1, len(char)):
            at = at[raw[at + j] == char[j]]
        for j in range(len(char)):
            space[at + j] = True
    space[len(raw) - 3 :] = True
    inside = ~space
    before = np.zeros(len(raw), bool)  # the byte before is inside a word of the same document
    before[1:] = inside[:-1]
    before[start] = False
    after = np.zeros(len(raw), bool)
    after[:-1] = inside[1:]
    after[end[end > start] - 1] = False
    first, last = np.flatnonzero(inside & ~before), np.flatnonzero(inside & ~after) + 1
    offsets = np.zeros(len(first) + 1, np.int64)
    np.cumsum(last - first, out=offsets[1:])
    words = pa.LargeStringArray.from_buffers(len(first), pa.py_buffer(offsets), pa.py_buffer(raw[inside]))
    n_docs = len(column)
    doc = np.searchsorted(end, first, "right")
    encoded = pc.dictionary_encode(words)
    vocabulary = encoded.dictionary
    ids = _numbers(encoded.indices)
    lengths = _numbers(pc.utf8_length(vocabulary))[ids]
    alpha = _flags(pc.match_substring_regex(vocabulary, r"\pL"))[ids]
    alnum = _flags(pc.match_substring_regex(vocabulary, r"[\pL\pN]"))[ids]
    stop = _flags(pc.is_in(vocabulary, value_set=pa.array(STOP_WORDS, vocabulary.type)))[ids]

    def per_doc(weights):
        return np.bincount(doc, weights=np.asarray(weights, np.float64), minlength=n_docs)

    return {"ids": ids, "doc": doc, "lengths": lengths, "count": np.bincount(doc, minlength=n_docs),
            "alnum": per_doc(alnum), "alnum_chars": per_doc(np.where(alnum, lengths, 0)),
            "alpha": per_doc(alpha), "stop": per_doc(stop)}


def _group(key: np.ndarray, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal keys grouped (and apart where `within`, nondecreasing, differs): each key's group (dense), its group's
    size, and whether it is its group's first."""
    m = len(key)
    if not m:
        return key, key, np.zeros(0, bool)
    bits = m.bit_length()
    if int(key.max()) < 1 << (63 - bits):  # one sort of key and position packed together: 5-10x an argsort
        packed = np.sort((key << bits) | np.arange(m))
        order, ordered = packed & ((1 << bits) - 1), packed >> bits
    else:
        order = np.argsort(key, kind="stable")
        ordered = key[order]
    start = np.ones(m, bool)
    start[1:] = ordered[1:] != ordered[:-1]
    if within is not None:
        apart = within[order]
        start[1:] |= apart[1:] != apart[:-1]
    runs = np.flatnonzero(start)
    group = np.empty(m, np.int64)
    group[order] = np.cumsum(start) - 1
    first = np.zeros(m, bool)
    first[order[runs]] = True
    return group, np.diff(np.append(runs, m))[group], first


def _ngrams(ids: np.ndarray, doc: np.ndarray, lengths: np.ndarray, n_chars: np.ndarray) -> dict[str, np.ndarray]:
    """quality_values._ngram_signals for every document: top 2/3/4-gram and duplicated 5..10-gram character shares."""
    n_docs = len(n_chars)
    out = {**{f"q_top_{n}_gram": np.zeros(n_docs) for n in (2, 3, 4)},
           **{f"q_dup_{n}_gram": np.zeros(n_docs) for n in range(5, 11)}}
    m = len(ids)
    if not m:
        return out
    words_per_doc = np.bincount(doc, minlength=n_docs)
    doc_start = np.cumsum(words_per_doc) - words_per_doc
    doc_end = (doc_start + words_per_doc)[doc]
    chars_before = np.zeros(m + 1, np.int64)
    np.cumsum(lengths, out=chars_before[1:])
    vocabulary = int(ids.max()) + 1
    windows = np.arange(m)  # where each n-gram still worth looking at starts
    group = ids  # of each window's (n-1)-gram: its word at first, then groups within one document
    for n in range(2, 11):
        fits = windows + n <= doc_end[windows]
        windows, group = windows[fits], group[fits]
        group, count, first = _group(group * vocabulary + ids[windows + n - 1],
                                     within=doc[windows] if n == 2 else None)
        if n <= 4:
            out[f"q_top_{n}_gram"] = _top(windows, count, doc, doc_start, words_per_doc, chars_before, n, n_chars)
        else:
            repeats = windows[~first]
            depth = np.cumsum(np.bincount(repeats, minlength=m + 1) - np.bincount(repeats + n, minlength=m + 1))
            covered = depth[:m] > 0
            out[f"q_dup_{n}_gram"] = _ratio(np.bincount(doc[covered], weights=lengths[covered].astype(np.float64),
                                                        minlength=n_docs), n_chars)
        twice = count >= 2
        windows, group = windows[twice], group[twice]
    return out


def _top(windows, count, doc, doc_start, words_per_doc, chars_before, n, n_chars) -> np.ndarray:
    """Characters of each document's most frequent n-gram (the first seen among equals) times its count, over the
    document's characters. Windows left out occur once; so does every n-gram of a document without windows."""
    most = np.where(words_per_doc >= n, 1, 0)
    at = doc_start.copy()  # with a top count of 1: the first n-gram
    window_doc = doc[windows]
    np.maximum.at(most, window_doc, count)
    best = count == most[window_doc]
    best &= count > 1
    best_doc = window_doc[best]
    firsts = np.ones(len(best_doc), bool)
    firsts[1:] = best_doc[1:] != best_doc[:-1]
    at[best_doc[firsts]] = windows[best][firsts]
    chars = chars_before[np.minimum(at + n, len(chars_before) - 1)] - chars_before[at] + n - 1
    return _ratio(np.where(most > 0, chars * most, 0), n_chars)


def _c4(lines: _Pieces) -> dict[str, np.ndarray]:
    """quality_values._c4 for every document over its lines (str.splitlines), in line order: a lorem-ipsum or
    curly-bracket line ends the page's reading (and flags it); only lines before it are counted."""
    n_docs = lines.n_docs
    stripped = pc.utf8_trim_whitespace(lines.strings)
    at = np.flatnonzero(_ends_with(stripped, END_PUNCTUATION + ("]",)))
    line = stripped.take(pa.array(at))
    words = pc.utf8_split_whitespace(line)
    per_line = _numbers(pc.list_value_length(words))
    word_line = np.repeat(np.arange(len(at)), per_line)
    too_long = np.bincount(word_line[_numbers(pc.utf8_length(words.flatten())) > 1000], minlength=len(at)) > 0
    line = pc.replace_substring_regex(line, _CITATION, "")
    ok = ~too_long & (per_line >= 3) & _ends_with(line, END_PUNCTUATION) & ~_flags(pc.ends_with(line, "..."))
    lower = pc.utf8_lower(pc.replace_substring(line, "\u0130", "i\u0307"))  # str.lower's full mapping of İ
    lorem = _flags(pc.match_substring(lower, "lorem ipsum"))
    javascript = _flags(pc.match_substring(lower, "javascript"))
    curly = _flags(pc.match_substring(line, "{"))
    policy = _flags(pc.match_substring_regex(lower, "|".join(POLICY)))
    ends_page = ok & (lorem | (~javascript & curly))
    doc = lines.doc[at]
    page_end = np.full(n_docs, len(lines.doc))
    np.minimum.at(page_end, doc[ends_page], at[ends_page])
    kept = ok & ~lorem & ~javascript & ~curly & ~policy & (at < page_end[doc])
    sentences = np.maximum(1, _numbers(pc.count_substring_regex(line, _SENTENCE_END)))
    first_end = ends_page & (at == page_end[doc])
    return {
        "q_c4_sentences": np.bincount(doc[kept], weights=sentences[kept].astype(np.float64), minlength=n_docs),
        "q_c4_lines_kept": _ratio(np.bincount(doc[kept], minlength=n_docs), lines.count),
        "c4_lorem_ipsum": np.bincount(doc[first_end & lorem], minlength=n_docs).astype(np.float64),
        "c4_curly_bracket": np.bincount(doc[first_end & ~lorem], minlength=n_docs).astype(np.float64),
    }
