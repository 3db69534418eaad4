"""The value of every heuristic quality signal (SIGNALS) for one text: the definitions, text by text, that the rules
of `inspector.quality` judge and that `inspector.quality_batch` computes for a whole batch at once (its docstring,
and `inspector.quality`'s, say where and why they differ from datatrove's).
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: the Gopher stop words (case-sensitive)
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")

#: value columns: name -> meaning
SIGNALS: dict[str, str] = {
    "q_words": "words (whitespace-separated) with a letter or digit",
    "q_mean_word_length": "mean length in characters of those words",
    "q_hash_ratio": "'#' characters per word (all words)",
    "q_ellipsis_ratio": "'...' and '…' per word (all words)",
    "q_bullet_lines": "share of lines starting (after spaces) with '•' or '-'",
    "q_ellipsis_lines": "share of lines ending (before spaces) with '...' or '…'",
    "q_alpha_words": "share of words holding a letter",
    "q_stop_words": "occurrences of the stop words the, be, to, of, and, that, have, with (case-sensitive)",
    "q_dup_para_frac": "share of paragraphs (split at 2+ newlines) repeating an earlier one",
    "q_dup_para_char_frac": "characters in repeated paragraphs / characters",
    "q_dup_line_frac": "share of lines (split at newlines) repeating an earlier one",
    "q_dup_line_char_frac": "characters in repeated lines / characters",
    **{f"q_top_{n}_gram": f"characters of the most frequent word {n}-gram times its count / characters"
       for n in (2, 3, 4)},
    **{f"q_dup_{n}_gram": f"characters of words covered by repeated word {n}-grams / characters"
       for n in range(5, 11)},
    "q_c4_sentences": "sentences in the lines C4 keeps",
    "q_c4_lines_kept": "share of lines C4 keeps",
    "q_line_punct_ratio": "share of lines ending in . ' \" ! ? (FineWeb)",
    "q_short_line_ratio": "share of lines of <= 30 characters (FineWeb)",
    "q_char_dup_ratio": "characters in repeated non-empty lines / characters without newlines (FineWeb)",
    "q_newline_ratio": "newlines per word (FineWeb's list_ratio)",
}

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
FINEWEB_STOP = (".", "'", '"', "!", "?")
_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_NGRAM_BASE = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code point: is white space (as str.split), is a letter, is a letter or digit."""
    chars = [chr(c) for c in range(0x110000)]
    space = np.fromiter((c.isspace() for c in chars), bool, len(chars))
    alpha = np.fromiter((c.isalpha() for c in chars), bool, len(chars))
    alnum = np.fromiter((c.isalnum() for c in chars), bool, len(chars))
    return space, alpha, alnum


def _div(a: float, b: float) -> float:
    return float(a) / b if b else 0.0


def _duplicates(items: list[str]) -> tuple[int, int]:
    """datatrove's find_duplicates: elements equal to an earlier one, and their characters."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def _word_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit polynomial hash of each word codes[start:end] (equal words, equal hashes)."""
    n = len(codes)
    powers = np.full(n, _BASE, np.uint64)
    powers[0] = 1
    np.cumprod(powers, out=powers)
    inverse = np.full(n, pow(int(_BASE), -1, 2**64), np.uint64)
    inverse[0] = 1
    np.cumprod(inverse, out=inverse)
    prefix = np.zeros(n + 1, np.uint64)
    np.cumsum(codes.astype(np.uint64) * powers, out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * inverse[starts]


def _ngram_signals(hashes: np.ndarray, lengths: np.ndarray, n_chars: int) -> dict[str, float]:
    """Top 2/3/4-gram and duplicated 5..10-gram character shares over the words' hashes and lengths."""
    out = {}
    m = len(hashes)
    grams = hashes.copy()
    cum = np.zeros(m + 1, np.int64)
    np.cumsum(lengths, out=cum[1:])
    for n in range(2, 11):
        k = m - n + 1
        if k <= 0:
            out[f"q_top_{n}_gram" if n <= 4 else f"q_dup_{n}_gram"] = 0.0
            continue
        grams = grams[:k] * _NGRAM_BASE + hashes[n - 1 :]
        # groups numbered in order of first appearance (a hash table, not a sort: 2-3x np.unique's speed)
        group = pc.dictionary_encode(pa.array(grams)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        first = np.empty(k, bool)
        first[0] = True
        first[1:] = group[1:] > np.maximum.accumulate(group)[:-1]
        if n <= 4:
            # Counter.most_common(1): the highest count, the first seen among equals; " ".join: n - 1 spaces
            counts = np.bincount(group)
            at = int(np.flatnonzero(first)[int(counts.argmax())])
            chars = int(cum[at + n] - cum[at]) + n - 1
            out[f"q_top_{n}_gram"] = _div(chars * int(counts.max()), n_chars)
        else:
            repeats = np.flatnonzero(~first)
            if len(repeats) == 0:
                out[f"q_dup_{n}_gram"] = 0.0
                continue
            depth = np.cumsum(np.bincount(repeats, minlength=m + 1) - np.bincount(repeats + n, minlength=m + 1))
            out[f"q_dup_{n}_gram"] = _div(int(lengths[depth[:m] > 0].sum()), n_chars)
    return out


def _c4(text: str) -> tuple[float, float, float, float]:
    """(sentences in kept lines, share of lines kept, lorem ipsum, curly bracket) as datatrove's C4QualityFilter."""
    lines = text.splitlines()
    sentences = kept = 0
    lorem = curly = 0.0
    for line in lines:
        line = line.strip()
        if not line.endswith(END_PUNCTUATION + ("]",)):  # a citation at the end may hide the punctuation
            continue
        words = line.split()
        if any(len(w) > 1000 for w in words):
            continue
        line = _CITATION.sub("", line)
        if not line.endswith(END_PUNCTUATION) or line.endswith("..."):
            continue
        if len(words) < 3:
            continue
        lower = line.lower()
        if "lorem ipsum" in lower:
            lorem = 1.0
            break
        if "javascript" in lower:
            continue
        if "{" in line:
            curly = 1.0
            break
        if any(p in lower for p in POLICY):
            continue
        sentences += max(1, len(_SENTENCE_END.findall(line)))
        kept += 1
    return float(sentences), _div(kept, len(lines)), lorem, curly


def values(text: str) -> dict[str, float]:
    """The value of every signal (SIGNALS, plus the C4 page flags as 0/1) for one text."""
    space, alpha, alnum = _tables()
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    n_chars = len(codes)
    is_space = space[codes]
    inside = ~is_space
    edges = np.flatnonzero(np.diff(inside.view(np.int8), prepend=0, append=0))
    starts, ends = edges[0::2], edges[1::2]
    n_words = len(starts)
    lengths = ends - starts
    count_alpha = np.zeros(n_chars + 1, np.int64)
    np.cumsum(alpha[codes], out=count_alpha[1:])
    count_alnum = np.zeros(n_chars + 1, np.int64)
    np.cumsum(alnum[codes], out=count_alnum[1:])
    has_alpha = count_alpha[ends] > count_alpha[starts]
    has_alnum = count_alnum[ends] > count_alnum[starts]
    hashes = _word_hashes(codes, starts, ends) if n_words else np.zeros(0, np.uint64)
    stop_hashes = _stop_hashes()
    words_kept = int(has_alnum.sum())

    lines = text.splitlines()
    v = {
        "q_words": float(words_kept),
        "q_mean_word_length": _div(int(lengths[has_alnum].sum()), words_kept),
        "q_hash_ratio": _div(text.count("#"), n_words),
        "q_ellipsis_ratio": _div(text.count("...") + text.count("…"), n_words),
        "q_bullet_lines": _div(sum(s.lstrip().startswith(("•", "-")) for s in lines), len(lines)),
        "q_ellipsis_lines": _div(sum(s.rstrip().endswith(("...", "…")) for s in lines), len(lines)),
        "q_alpha_words": _div(int(has_alpha.sum()), n_words),
        "q_stop_words": float(np.isin(hashes, stop_hashes).sum()),
    }
    paragraphs = _PARAGRAPHS.split(text.strip())
    dup, dup_chars = _duplicates(paragraphs)
    v["q_dup_para_frac"] = _div(dup, len(paragraphs))
    v["q_dup_para_char_frac"] = _div(dup_chars, n_chars)
    split_lines = _LINES.split(text)
    dup, dup_chars = _duplicates(split_lines)
    v["q_dup_line_frac"] = _div(dup, len(split_lines))
    v["q_dup_line_char_frac"] = _div(dup_chars, n_chars)
    v.update(_ngram_signals(hashes, lengths, n_chars))
    v["q_c4_sentences"], v["q_c4_lines_kept"], v["c4_lorem_ipsum"], v["c4_curly_bracket"] = _c4(text)
    fw_lines = text.split("\n")
    v["q_line_punct_ratio"] = _div(sum(line.endswith(FINEWEB_STOP) for line in fw_lines), len(fw_lines))
    v["q_short_line_ratio"] = _div(sum(len(line) <= 30 for line in fw_lines), len(fw_lines))
    non_empty = [line for line in fw_lines if line.strip()]
    v["q_char_dup_ratio"] = _div(_duplicates(non_empty)[1], n_chars - text.count("\n"))
    v["q_newline_ratio"] = _div(text.count("\n"), n_words)
    return v


@lru_cache(maxsize=1)
def _stop_hashes() -> np.ndarray:
    joined = " ".join(STOP_WORDS)
    codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    ends = np.cumsum([len(w) + 1 for w in STOP_WORDS]) - 1
    return _word_hashes(codes, ends - np.array([len(w) for w in STOP_WORDS]), ends)
