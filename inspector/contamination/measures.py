"""What contamination measures of one benchmark item, and the parameters that define them.

All three measures of an item come from one pass of the ∞-gram engine: `match_lengths_many` gives, for every token
of the item, the longest span ending there that occurs in the corpus (m[i]). Then, with n-gram size n and minimum
match L:
- n-gram overlap (GPT-3, lm-eval's 13-gram decontamination): the n-gram ending at token i occurs iff m[i] >= n, so
  the share of the item's n-grams that occur is mean(m[n-1:] >= n); `any_hit` is lm-eval's "dirty" rule.
- longest match (PaLM's verbatim-overlap view): max(m), where it ends, and how often that span occurs.
- coverage (Llama 2, Touvron et al. 2023, A.6): the share of the item's tokens inside a corpus match of >= L
  tokens; token i is covered iff some j >= i has m[j] >= L and j - m[j] + 1 <= i. Verdict: `clean` below 20 %,
  `dirty` from 80 %, `partial` between (Llama 2's thresholds; settable).
n and L count tokens that are not only whitespace (spaces between them ride along): runs of spaces and newlines
in code match everywhere and say nothing, as lm-eval's normalisation to words drops them (`count_whitespace`
counts them too). So an n-gram is n such tokens and whatever whitespace lies between them; coverage is the share of
those tokens covered. An item with fewer than n (or L) of them counts as one n-gram (one match) of its own:
contaminated only when it occurs whole. No Python loop runs per n-gram: every item of a batch goes through the
batched engine at once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.errors import InvalidQuery

from ..results import Result

VERDICTS = ("clean", "partial", "dirty")
MATCH_MODES = ("auto", "exact", "normalized", "both")


@dataclass(frozen=True, slots=True)
class ContaminationParams(Result):
    #: n-gram size of the overlap measure (lm-eval and GPT-3 use 13)
    n: int = 13
    #: minimum match, in tokens, that counts toward coverage and the decontamination list
    min_match: int = 13
    clean_below: float = 0.2
    dirty_from: float = 0.8
    #: documents shown as evidence per item (all are counted)
    evidence_documents: int = 3
    #: occurrences of one span read to list its documents; more and the list is an even sample (`approx`)
    max_span_occurrences: int = 10_000
    #: longest item checked, in tokens; a longer one is reported, not checked
    max_item_tokens: int = 200_000
    #: the check's memory budget: most items, and characters of item text, in one check (every result is held; a
    #: file beyond is refused, naming it), and most corpus occurrences read for the decontamination list (beyond,
    #: it is an even sample: `documents_approx`)
    max_items: int = 200_000
    max_text_chars: int = 100_000_000
    max_listed_occurrences: int = 2_000_000
    #: how items are compared: "exact" tokens, "normalized" text (lower case, NFKC, no punctuation, whitespace
    #: collapsed; on the normalised index), "both" (each item's verdict the worse of the two), or "auto": "both" when
    #: the index has normalised shards, else "exact"
    match: str = "auto"
    #: count text shared by several items of a benchmark file (templates) toward coverage, overlap and verdict
    count_templates: bool = False
    #: count whitespace tokens toward n and L too (infini-gram mini's 50 characters include spaces)
    count_whitespace: bool = False

    def check(self) -> None:
        if not 1 <= self.n <= 1000 or not 1 <= self.min_match <= 1000:
            raise InvalidQuery(f"--n and --min-match must be between 1 and 1000, not {self.n} and {self.min_match}")
        if not 0 <= self.clean_below <= self.dirty_from <= 1:
            raise InvalidQuery(
                f"thresholds must satisfy 0 <= clean ({self.clean_below}) <= dirty ({self.dirty_from}) <= 1"
            )
        if self.max_items < 1 or self.max_text_chars < 1 or self.max_listed_occurrences < 0:
            raise InvalidQuery("the check's budget (items, characters, listed occurrences) must be positive")
        if self.match not in MATCH_MODES:
            raise InvalidQuery(f"match must be one of {', '.join(MATCH_MODES)}, not {self.match!r}")
        if not 0 <= self.evidence_documents <= 100:
            raise InvalidQuery(f"evidence documents must be between 0 and 100, not {self.evidence_documents}")


@dataclass(frozen=True, slots=True)
class Measures:
    """An item's measures from its match lengths (token offsets; see the module docstring)."""

    ngrams: int
    ngrams_found: int
    longest: int
    longest_start: int
    coverage: float
    #: token spans [start, end) covered by matches of >= L tokens, merged
    covered: tuple[tuple[int, int], ...]

    @property
    def overlap(self) -> float:
        return self.ngrams_found / self.ngrams if self.ngrams else 0.0


def measure(m: np.ndarray, n: int, min_match: int, blank: np.ndarray | None = None,
            template: np.ndarray | None = None) -> Measures:
    """The measures of one item from `m`, its per-token match lengths (`NgramIndex.match_lengths`); `blank` marks
    its whitespace-only tokens (none by default); `template` its tokens inside text shared with other items of its
    file, which then count toward neither coverage nor overlap (unless every counting token is template text)."""
    m = np.asarray(m, dtype=np.int64)
    size = len(m)
    blank = np.zeros(size, dtype=bool) if blank is None else np.asarray(blank, dtype=bool)
    words = np.nonzero(~blank)[0]  # positions of the tokens that count
    if not len(words):
        return Measures(0, 0, 0, 0, 0.0, ())
    counted = np.concatenate([[0], np.cumsum(~blank)])  # counted[k]: counting tokens among the first k
    ends = np.arange(1, size + 1)
    inside = counted[ends] - counted[ends - m]  # counting tokens in the match ending at each token
    n, least = min(n, len(words)), min(min_match, len(words))
    end = int(np.argmax(inside))
    longest = int(m[end]) if inside[end] else 0
    positions = np.arange(size)
    starts = np.where(inside >= least, positions - m + 1, size)
    reach = np.minimum.accumulate(starts[::-1])[::-1]  # the earliest start of an eligible match ending at >= i
    covered = reach <= positions
    own, grams = words, np.ones(len(words) - n + 1, dtype=bool)
    if template is not None and not template[words].all():
        own = words[~template[words]]
        grams = own_grams(template, words, n)
    return Measures(
        ngrams=int(np.count_nonzero(grams)),
        ngrams_found=int(np.count_nonzero(occurs(m, words, n) & grams)),
        longest=longest,
        longest_start=end - longest + 1,
        coverage=float(np.count_nonzero(covered[own]) / len(own)),
        covered=runs(covered),
    )


def own_grams(template: np.ndarray, words: np.ndarray, n: int) -> np.ndarray:
    """Per n-gram of counting tokens: does it hold a counting token that is not template text?"""
    own = np.concatenate([[0], np.cumsum(~template[words])])
    return own[n:] - own[: len(words) - n + 1] > 0


def gram_starts(words: np.ndarray, n: int) -> np.ndarray:
    """Where each n-gram of counting tokens starts: one per counting token from the n-th on, which it ends at."""
    return words[: len(words) - n + 1]


def occurs(m: np.ndarray, words: np.ndarray, n: int) -> np.ndarray:
    """Per n-gram of counting tokens: does it occur, i.e. is the match ending at its last token at least as long as
    the n-gram with the whitespace inside it?"""
    ends = words[n - 1 :]
    return m[ends] >= ends - gram_starts(words, n) + 1


def runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return tuple(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))


def verdict(coverage: float, params: ContaminationParams) -> str:
    if coverage >= params.dirty_from:
        return "dirty"
    return "clean" if coverage < params.clean_below else "partial"
