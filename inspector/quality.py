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

The values are defined text by text in `inspector.quality_values`; the build computes them a batch at a time
(`inspector.quality_batch`, about 110 ns per character, equal to `quality_values.values` text by text) in each of its
parts, beside the tokenizing (see `inspector.build_part`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .quality_batch import values as batch_values
from .quality_values import SIGNALS, STOP_WORDS, values

_STOP = frozenset(STOP_WORDS)


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
