"""Heuristic quality signals per document, for corpora without a quality score (issue 10).

The standard rule sets, each rule with datatrove's reason name and default threshold (huggingface/datatrove,
`src/datatrove/pipeline/filters/`): `gopher_quality_filter.py` (GopherQualityFilter, Rae et al. 2021, §A.1.1),
`gopher_repetition_filter.py` (GopherRepetitionFilter, Rae et al. Table A1), `c4_filters.py` (C4QualityFilter,
Raffel et al. 2020) and `fineweb_quality_filter.py` (FineWebQualityFilter, Penedo et al. 2024). Per document:

- a value column `q_<name>` (a count or a ratio, see SIGNALS),
- a flag column named by datatrove's reason (`gopher_short_doc`, `dup_line_frac`, `top_2_gram`, ...; see RULES):
  True when the document FAILS that rule (datatrove would drop it with that reason),
- `heuristic_score` = the share of the RULES the document passes, in [0, 1] (1.0: no rule fails), and
- `heuristic_fail` = the reason of the first failing rule in RULES order (datatrove's order within each filter,
  filters in the order Gopher quality, Gopher repetition, C4, FineWeb), "" when none fails.

Where we differ from datatrove, and why:

- **Words** are whitespace-separated (`str.split()`, as C4 and the Gopher paper count them), not NLTK's Treebank
  tokens: NLTK's punkt data would be a download, and a regex tokenizer costs 10x `str.split` on the bench corpus.
  So punctuation stays attached ("the," is one word): a little fewer stop words and longer mean word lengths than
  datatrove on prose; a word is a "symbol" word (left out of the word count and the mean length, as datatrove's
  `non_symbol_words`) when it has no letter or digit.
- **Duplicated 5..10-grams** (`duplicated_{n}_n_grams`): the Gopher paper's definition — the characters of the words
  covered by any n-gram occurrence that repeats an earlier one, overlaps counted once — computed with NumPy; datatrove's
  greedy scan (skip n words after each duplicate) gives the same figure unless duplicates overlap. Characters are the
  words' own (no spaces), over len(text), as datatrove.
- **C4**: datatrove's `C4QualityFilter` defaults (Dodge et al. 2021's description of the released C4): a line is kept
  when, after removing Wikipedia citations, it ends in terminal punctuation (not an ellipsis), has >= 3 words, no word
  over 1,000 characters, no "javascript" and no cookie/terms-of-use phrase; the page fails with `lorem_ipsum` or
  `curly_bracket` when a kept-so-far line holds one, and with `too_few_sentences` below 5 sentences in kept lines.
  (The T5 paper and its TFDS code use >= 5 words a line and >= 3 sentences a page.) Sentences are counted without
  NLTK: a kept line's runs of `.`, `!` or `?` followed by a space or its end, at least 1 a line. **The bad-words rule
  is skipped**: no list ships with us and nothing is downloaded at run time.
- **FineWeb**: datatrove's defaults, i.e. the paper's appendix table: char_dup_ratio fails at >= 0.01 (the paper's
  text says 0.1), line_punct_ratio at <= 0.12, short_line_ratio at >= 0.67 (lines of <= 30 characters), list_ratio
  above 0.3 newlines per word.

The build computes them a batch at a time (`inspector.quality_batch`, about 110 ns per character, equal to `values`
text by text) in a worker process on idle CPU (see `inspector.build`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}
_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: the document fails (is flagged `reason`) when `signal` `op` `threshold`."""

    reason: str
    signal: str
    op: str  # "<", "<=", ">", ">="
    threshold: float
    family: str

    def fails(self, value: float) -> bool:
        if self.op == "<":
            return value < self.threshold
        if self.op == "<=":
            return value <= self.threshold
        if self.op == ">":
            return value > self.threshold
        return value >= self.threshold


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

#: every rule, in the order `heuristic_fail` reports the first failure
RULES: tuple[Rule, ...] = (
    Rule("gopher_short_doc", "q_words", "<", 50, "gopher_quality"),
    Rule("gopher_long_doc", "q_words", ">", 100_000, "gopher_quality"),
    Rule("gopher_below_avg_threshold", "q_mean_word_length", "<", 3, "gopher_quality"),
    Rule("gopher_above_avg_threshold", "q_mean_word_length", ">", 10, "gopher_quality"),
    Rule("gopher_too_many_hashes", "q_hash_ratio", ">", 0.1, "gopher_quality"),
    Rule("gopher_too_many_ellipsis", "q_ellipsis_ratio", ">", 0.1, "gopher_quality"),
    Rule("gopher_too_many_bullets", "q_bullet_lines", ">", 0.9, "gopher_quality"),
    Rule("gopher_too_many_end_ellipsis", "q_ellipsis_lines", ">", 0.3, "gopher_quality"),
    Rule("gopher_below_alpha_threshold", "q_alpha_words", "<", 0.8, "gopher_quality"),
    Rule("gopher_enough_stop_words", "q_stop_words", "<", 2, "gopher_quality"),
    Rule("dup_para_frac", "q_dup_para_frac", ">", 0.3, "gopher_repetition"),
    Rule("dup_para_char_frac", "q_dup_para_char_frac", ">", 0.2, "gopher_repetition"),
    Rule("dup_line_frac", "q_dup_line_frac", ">", 0.3, "gopher_repetition"),
    Rule("dup_line_char_frac", "q_dup_line_char_frac", ">", 0.2, "gopher_repetition"),
    Rule("top_2_gram", "q_top_2_gram", ">", 0.2, "gopher_repetition"),
    Rule("top_3_gram", "q_top_3_gram", ">", 0.18, "gopher_repetition"),
    Rule("top_4_gram", "q_top_4_gram", ">", 0.16, "gopher_repetition"),
    *(Rule(f"duplicated_{n}_n_grams", f"q_dup_{n}_gram", ">", round(0.15 - 0.01 * (n - 5), 2), "gopher_repetition")
      for n in range(5, 11)),
    Rule("lorem_ipsum", "c4_lorem_ipsum", ">", 0, "c4"),
    Rule("curly_bracket", "c4_curly_bracket", ">", 0, "c4"),
    Rule("too_few_sentences", "q_c4_sentences", "<", 5, "c4"),
    Rule("line_punct_ratio", "q_line_punct_ratio", "<=", 0.12, "fineweb"),
    Rule("short_line_ratio", "q_short_line_ratio", ">=", 0.67, "fineweb"),
    Rule("char_dup_ratio", "q_char_dup_ratio", ">=", 0.01, "fineweb"),
    Rule("list_ratio", "q_newline_ratio", ">", 0.3, "fineweb"),
)

REASONS: tuple[str, ...] = tuple(r.reason for r in RULES)

#: every catalog column `signals` gives, in order: values (DOUBLE), flags (BOOLEAN), the score and the first reason
COLUMNS: tuple[str, ...] = (*SIGNALS, *REASONS, "heuristic_score", "heuristic_fail")

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_END_PUNCTUATION = (".", "?", "!", '"', "'")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
_FINEWEB_STOP = (".", "'", '"', "!", "?")
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
        if not line.endswith(_END_PUNCTUATION + ("]",)):  # a citation at the end may hide the punctuation
            continue
        words = line.split()
        if any(len(w) > 1000 for w in words):
            continue
        line = _CITATION.sub("", line)
        if not line.endswith(_END_PUNCTUATION) or line.endswith("..."):
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
        if any(p in lower for p in _POLICY):
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
    v["q_line_punct_ratio"] = _div(sum(line.endswith(_FINEWEB_STOP) for line in fw_lines), len(fw_lines))
    v["q_short_line_ratio"] = _div(sum(len(line) <= 30 for line in fw_lines), len(fw_lines))
    non_empty = [line for line in fw_lines if line.strip()]
    v["q_char_dup_ratio"] = _div(_duplicates(non_empty)[1], n_chars - text.count("\n"))
    v["q_newline_ratio"] = _div(text.count("\n"), n_words)
    return v


@lru_cache(maxsize=1)
def _stop_hashes() -> np.ndarray:
    joined = " ".join(_STOP_WORDS)
    codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    ends = np.cumsum([len(w) + 1 for w in _STOP_WORDS]) - 1
    return _word_hashes(codes, ends - np.array([len(w) for w in _STOP_WORDS]), ends)


def signals(text: str) -> dict[str, float | bool | str]:
    """Every column of COLUMNS for one text: the values, a flag per rule (True: fails it), the score, the first
    failing reason ("" if none)."""
    v = values(text)
    flags = {rule.reason: rule.fails(v[rule.signal]) for rule in RULES}
    out: dict[str, float | bool | str] = {name: v[name] for name in SIGNALS}
    out.update(flags)
    failed = [reason for reason, bad in flags.items() if bad]
    out["heuristic_score"] = round(1.0 - len(failed) / len(RULES), 4)
    out["heuristic_fail"] = failed[0] if failed else ""
    return out


def signals_batch(texts: list[str] | pa.Array) -> dict[str, np.ndarray]:
    """`signals` of each text, one array per column (COLUMNS order), computed for the whole batch at once
    (`inspector.quality_batch`)."""
    from inspector.quality_batch import values as batch_values

    v = batch_values(texts)
    columns: dict[str, np.ndarray] = {name: v[name] for name in SIGNALS}
    failed = np.zeros(len(texts), np.int64)
    first = np.full(len(texts), "", object)
    for rule in reversed(RULES):  # the first failing rule written last
        fails = _OPS[rule.op](v[rule.signal], rule.threshold)
        columns[rule.reason] = fails
        failed += fails
        first[fails] = rule.reason
    columns = {name: columns[name] for name in COLUMNS[:-2]}
    columns["heuristic_score"] = np.round(1.0 - failed / len(RULES), 4)
    columns["heuristic_fail"] = first
    return columns


def signals_table(texts: list[str] | pa.Array) -> pa.Table:
    """`signals_batch` as the catalog stores it: values as DOUBLE, flags as BOOLEAN, heuristic_fail as VARCHAR."""
    columns = signals_batch(texts)
    types = {**{n: pa.float64() for n in SIGNALS}, **{n: pa.bool_() for n in REASONS},
             "heuristic_score": pa.float64(), "heuristic_fail": pa.string()}
    return pa.table({name: pa.array(columns[name], types[name]) for name in COLUMNS})


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def quality_score(text: str) -> float:
    """A Gopher-rules heuristic in [0, 1] (Rae et al., 2021): the share of rules passed, nudged by letter share.

    Not a classifier; it gives the demo a realistic score column (`quality`) to filter and sample on. Kept as it was
    (moved from `inspector.demo`) so the demo's figures stay; `heuristic_score` is the documented one.
    """
    words = text.split()
    if not words:
        return 0.0
    lines = [line for line in text.splitlines() if line.strip()] or [""]
    letters = sum(any(c.isalpha() for c in w) for w in words) / len(words)
    rules = [
        50 <= len(words) <= 100_000,
        3 <= sum(map(len, words)) / len(words) <= 10,
        (text.count("#") + text.count("...")) / len(words) < 0.1,
        sum(line.lstrip().startswith(("-", "*", "•")) for line in lines) / len(lines) < 0.9,
        letters >= 0.8,
        len(_STOP & {w.lower() for w in words}) >= 2,
        sum(line.rstrip().endswith((".", "!", "?", '"')) for line in lines) / len(lines) > 0.12,
    ]
    return round(0.85 * sum(rules) / len(rules) + 0.15 * letters, 4)
