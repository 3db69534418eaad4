"""Contamination: which benchmark items the corpus holds, how much of each, the evidence, and what it does to scores.

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
batched engine at once.

Three refinements, each for copies the plain rule misses or over-reports: items are matched as exact tokens and as
normalised text (re-cased and re-wrapped copies), each reported by the way with the worse verdict (`match_mode`,
`_worse`); an item's first word is matched in both spellings, alone and as inside running text (`A` / ` A`), as a
query's is (`_first_word_lengths`); and text several items of the file share (templates) is reported apart and, by
default, not counted (`_template_grams`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.errors import InvalidQuery

from .benchmarks import MAX_JSON_BYTES, BenchmarkError, Problem
from .bounded_read import read_text
from .normalize import normalize, normalize_with_offsets, original_span
from .results import Snippet, _Result

VERDICTS = ("clean", "partial", "dirty")
MATCH_MODES = ("auto", "exact", "normalized", "both")


@dataclass(frozen=True, slots=True)
class ContaminationParams(_Result):
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
        grams = _own_grams(template, words, n)
    return Measures(
        ngrams=int(np.count_nonzero(grams)),
        ngrams_found=int(np.count_nonzero(_occurs(m, words, n) & grams)),
        longest=longest,
        longest_start=end - longest + 1,
        coverage=float(np.count_nonzero(covered[own]) / len(own)),
        covered=_runs(covered),
    )


def _own_grams(template: np.ndarray, words: np.ndarray, n: int) -> np.ndarray:
    """Per n-gram of counting tokens: does it hold a counting token that is not template text?"""
    own = np.concatenate([[0], np.cumsum(~template[words])])
    return own[n:] - own[: len(words) - n + 1] > 0


def _gram_starts(words: np.ndarray, n: int) -> np.ndarray:
    """Where each n-gram of counting tokens starts: one per counting token from the n-th on, which it ends at."""
    return words[: len(words) - n + 1]


def _occurs(m: np.ndarray, words: np.ndarray, n: int) -> np.ndarray:
    """Per n-gram of counting tokens: does it occur, i.e. is the match ending at its last token at least as long as
    the n-gram with the whitespace inside it?"""
    ends = words[n - 1 :]
    return m[ends] >= ends - _gram_starts(words, n) + 1


def _runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return tuple(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))


def verdict(coverage: float, params: ContaminationParams) -> str:
    if coverage >= params.dirty_from:
        return "dirty"
    return "clean" if coverage < params.clean_below else "partial"


# -- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence(_Result):
    """A corpus document holding an item's longest match, with the match in context."""

    doc: int
    id: str | None
    file: str
    row: int
    snippet: Snippet
    #: where the match is in the document's text, in characters (None in normalised mode: it is in the normalised
    #: text there); the Document page marks it (`?doc=DOC&mark=START-END`)
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ItemResult(_Result):
    benchmark: str
    #: 0-based record number in the benchmark file
    index: int
    id: str | None
    text: str
    tokens: int
    #: share of the item's n-grams that occur in the corpus (None for an empty item)
    overlap: float | None
    ngrams: int
    ngrams_found: int
    #: tokens of the longest span of the item that occurs verbatim; where it is (characters of `text`); how often
    longest_match: int
    longest_span: tuple[int, int]
    longest_count: int
    #: share of tokens inside corpus matches of >= min_match tokens (Llama 2)
    coverage: float | None
    #: clean, partial, dirty; `empty` for an item with no text but whitespace (counted, not scored)
    verdict: str
    #: character spans of `text` inside matches of >= min_match tokens
    spans: tuple[tuple[int, int], ...]
    evidence: tuple[Evidence, ...]
    #: documents holding the longest match (a lower bound when `evidence_approx`)
    evidence_documents: int
    evidence_approx: bool
    score: float | None = None
    #: which way found the reported verdict's matches: "exact", "normalized", "both", or "" (no match of >= L tokens)
    matched_by: str = ""
    #: character spans of `text` inside n-grams that occur in several items of the same file (not counted by default)
    template_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class BenchmarkSummary(_Result):
    name: str
    file: str
    preset: str | None
    fields: tuple[str, ...]
    #: items checked (empty ones excluded), empty items, records skipped (malformed, too long)
    items: int
    empty: int
    skipped: int
    dirty: int
    partial: int
    clean: int
    any_hit: int
    mean_overlap: float
    mean_coverage: float
    #: items per coverage decile: [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]
    coverage_histogram: tuple[int, ...]
    problems: tuple[str, ...]
    #: items holding template text (shared with several items of the file)
    templated: int = 0

    def share(self, verdict_name: str) -> float:
        return getattr(self, verdict_name) / self.items if self.items else 0.0


@dataclass(frozen=True, slots=True)
class FlaggedDocument(_Result):
    """A corpus document holding matches of >= min_match tokens with dirty or partial items: what to remove."""

    doc: int
    id: str | None
    file: str
    row: int
    #: "benchmark:index" of each item matched
    items: tuple[str, ...]
    #: tokens of the document inside those matches (of the way that matched more, when both did)
    tokens_matched: int
    #: token spans [start, end) of the document inside those matches, merged (`decontaminate --mask` blanks them)
    spans: tuple[tuple[int, int], ...]
    #: the same for matches of normalised text, in the tokens of the document's normalised text (`decontaminate
    #: --mask` blanks the characters they came from)
    normalized_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ContaminationReport(_Result):
    index: str
    build: str
    tokenizer: str
    mode: str
    created: str
    params: ContaminationParams
    benchmarks: tuple[BenchmarkSummary, ...]
    items: tuple[ItemResult, ...]
    documents: tuple[FlaggedDocument, ...]
    #: True when a listed span had more occurrences than were read: `documents` is then a sample of them
    documents_approx: bool = False
    extra: dict = field(default_factory=dict)


Progress = Callable[[str, int, int], None]

MISSED_NOTE = ("only exact tokens were compared: re-cased or re-wrapped copies of items are missed; build the index "
               "with `inspector build --normalized` to find them")


def missed_note(report_or_mode) -> str | None:
    """The sentence the CLI prints and the page shows when a check compared exact tokens only because the index has
    no normalised shards (a report, its dict form, or a mode; an explicit `match="exact"` gets no note)."""
    if isinstance(report_or_mode, str):
        mode, match = report_or_mode, "auto"
    else:
        get = report_or_mode.get if isinstance(report_or_mode, dict) else lambda key: getattr(report_or_mode, key)
        params = get("params")
        mode = get("mode")
        match = (params.get("match") if isinstance(params, dict) else getattr(params, "match", None)) or "auto"
    return MISSED_NOTE if mode == "exact" and match == "auto" else None


def match_mode(index, params: ContaminationParams) -> str:
    """What a check runs: "exact", "normalized" or "both" (`params.match`, "auto" resolved on this index); a way the
    index cannot match is InvalidQuery, naming the build option that makes it."""
    normalized = bool(index.manifest.get("normalized"))
    if params.match == "auto":
        return "both" if normalized else "exact"
    if params.match != "exact" and not normalized:
        raise InvalidQuery(f"index at {index.path} has no normalised n-gram index, which match={params.match!r} "
                           "needs: rebuild it with `inspector build ... --normalized`")
    return params.match


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# -- checking benchmarks ----------------------------------------------------------------------------------------

_BATCH = 8192  # items per engine pass: long passes keep match_lengths_many's segments long
_BATCH_CHARS = 4_000_000  # and characters: about a second of the search threads, shared with the app's other users


class _Flagged:
    """The decontamination list, gathered batch by batch: every document holding a match of >= L tokens with a
    dirty or partial item, and the token spans of those matches in it.

    A document holds such a match iff it holds one of the item's L-grams that occur (m[j] >= L): every longer match
    contains one, and each is one. So the list is exactly the occurrences of those L-grams, found with one batched
    search per batch of items.

    Memory is bounded whatever the items' corpus counts: a batch's grams are searched once each however many items
    share them; at most `max_span_occurrences` occurrences of a gram and `max_listed_occurrences` in the whole check
    are read (beyond, the list is an even sample: `approx`); what a batch read is folded at once into merged spans
    per document and distinct (document, gram) pairs; a document lists at most `LISTED_ITEMS` items."""

    def __init__(self, engine, params: ContaminationParams):
        self.engine, self.params = engine, params
        self.keys: list[str] = []  # item keys, by item number
        self.grams = 0  # grams numbered so far (numbers are global; a batch's are new)
        self.gram_items: list[np.ndarray] = []  # per batch: distinct (gram, item) pairs, 2 x N
        self.doc_grams: list[np.ndarray] = []  # per batch: distinct (document, gram) pairs, 2 x N
        self.runs = np.zeros((3, 0), dtype=np.int64)  # merged spans: document, start, end
        self.left = params.max_listed_occurrences
        self.approx = False

    def add(self, contaminated: Sequence[tuple[str, Sequence[tuple]]]) -> None:
        """`contaminated`: (item key, spellings) of the batch's dirty and partial items; a spelling is (token ids,
        match lengths, whitespace tokens, template tokens or None): the item's own tokens, and with its first word
        spelled as inside running text. L-grams of template text alone list no document."""
        rows, lengths, owners = [], [], []
        for key, spellings in contaminated:
            for seq, m, blank, template in spellings:
                words = np.nonzero(~blank)[0]
                least = min(self.params.min_match, len(words))
                hit = _occurs(m, words, least)
                if template is not None:
                    hit &= _own_grams(template, words, least)
                starts, ends = _gram_starts(words, least)[hit], words[least - 1 :][hit] + 1
                if len(starts):
                    width = int((ends - starts).max())
                    at = starts[:, None] + np.arange(width)
                    rows.append(np.where(at < ends[:, None], seq[np.minimum(at, len(seq) - 1)], -1))  # -1: beyond
                    lengths.append(ends - starts)
                    owners.append(np.full(len(starts), len(self.keys)))
            self.keys.append(key)
        if not rows:
            return
        width = max(r.shape[1] for r in rows)
        table = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=-1) for r in rows])
        grams, gram_of_row = np.unique(table, axis=0, return_inverse=True)  # each gram searched once
        gram_of_row = gram_of_row.reshape(-1) + self.grams
        self.gram_items.append(np.unique(np.stack([gram_of_row, np.concatenate(owners)]), axis=1))
        gram_lengths = (grams >= 0).sum(axis=1)
        found = self.engine.occurrences_many(np.maximum(grams, 0), gram_lengths, self.params.max_span_occurrences,
                                             budget=self.left)
        self.left -= len(found.rows)
        self.approx |= found.approx
        self.doc_grams.append(np.unique(np.stack([found.docs, found.rows + self.grams]), axis=1))
        spans = np.stack([found.docs, found.offsets, found.offsets + gram_lengths[found.rows]])
        self.runs = _merge_spans(np.concatenate([self.runs, spans], axis=1))
        self.grams += len(grams)

    def by_document(self) -> dict[int, tuple[list[str], tuple[tuple[int, int], ...]]]:
        """{document: (keys of the items it holds matches with, merged token spans of those matches)}."""
        if not self.runs.shape[1]:
            return {}
        run_doc, run_start, run_end = self.runs
        flagged, run_at = np.unique(run_doc, return_index=True)
        run_at = np.append(run_at, len(run_doc))
        items = _items_by_document(np.concatenate(self.doc_grams, axis=1),
                                   np.concatenate(self.gram_items, axis=1), self.grams)
        out = {}
        for i, doc in enumerate(flagged.tolist()):
            runs = slice(run_at[i], run_at[i + 1])
            out[doc] = ([self.keys[k] for k in items.get(doc, ())],
                        tuple(zip(run_start[runs].tolist(), run_end[runs].tolist())))
        return out


def _flagged_documents(exact: _Flagged | None, normalized: _Flagged | None, documents) -> tuple[FlaggedDocument, ...]:
    """The union by document of what each way flagged: a document either way matched is listed once, with the
    items of both and the spans of each way in its own tokens."""
    by_exact = exact.by_document() if exact else {}
    by_normalized = normalized.by_document() if normalized else {}
    out = []
    for doc in sorted(by_exact.keys() | by_normalized.keys()):
        keys, spans = by_exact.get(doc, ([], ()))
        more, normalized_spans = by_normalized.get(doc, ([], ()))
        out.append(FlaggedDocument(
            doc=doc,
            id=documents.id(doc),
            file=documents.file(doc),
            row=documents.row(doc),
            items=tuple(sorted(set(keys) | set(more))[:LISTED_ITEMS]),
            tokens_matched=max(sum(b - a for a, b in spans), sum(b - a for a, b in normalized_spans)),
            spans=spans,
            normalized_spans=normalized_spans,
        ))
    return tuple(out)


#: items listed per flagged document (a span shared by thousands of items would otherwise list them all, everywhere)
LISTED_ITEMS = 100


def _merge_spans(spans: np.ndarray) -> np.ndarray:
    """(document, start, end) columns -> the same spans merged where they overlap or touch within a document,
    sorted by document and start."""
    docs, starts, ends = spans[:, np.lexsort((spans[1], spans[0]))]
    if not len(docs):
        return spans
    # offsets are shifted by document so one running max serves every document
    shift = docs * (int(ends.max()) + 1)
    reach = np.maximum.accumulate(ends + shift)
    new = np.ones(len(docs), dtype=bool)
    new[1:] = starts[1:] + shift[1:] > reach[:-1]
    first = np.nonzero(new)[0]
    return np.stack([docs[first], starts[first], np.maximum.reduceat(ends + shift, first) - shift[first]])


def _items_by_document(doc_grams: np.ndarray, gram_items: np.ndarray, grams: int,
                       chunk: int = 1 << 20) -> dict[int, np.ndarray]:
    """{document: the first LISTED_ITEMS item numbers whose grams it holds}, from (document, gram) and (gram, item)
    pairs; the pairs are joined a bounded chunk at a time."""
    gram_items = gram_items[:, np.lexsort((gram_items[1], gram_items[0]))]
    at = np.searchsorted(gram_items[0], np.arange(grams + 1))  # a gram's items: gram_items[1, at[g]:at[g+1]]
    doc_grams = doc_grams[:, np.lexsort((doc_grams[1], doc_grams[0]))]
    docs, pair_grams = doc_grams
    sizes = np.minimum(at[pair_grams + 1] - at[pair_grams], LISTED_ITEMS)  # a document lists at most that many
    bounds = np.append(np.flatnonzero(np.diff(docs, prepend=-1)), len(docs))  # where each document's pairs start
    total = np.concatenate([[0], np.cumsum(sizes)])
    out: dict[int, np.ndarray] = {}
    begin = 0
    while begin < len(docs):  # whole documents, about `chunk` expanded pairs at a time (at least one document)
        fits = bounds[np.searchsorted(total[bounds], total[begin] + chunk, "right") - 1]
        end = int(fits if fits > begin else bounds[np.searchsorted(bounds, begin, "right")])
        size = sizes[begin:end]
        offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        items = gram_items[1, np.repeat(at[pair_grams[begin:end]], size) + offset]
        pairs = np.unique(np.stack([np.repeat(docs[begin:end], size), items]), axis=1)
        firsts = np.unique(pairs[0], return_index=True)[1]
        for doc, group in zip(pairs[0, firsts].tolist(), np.split(pairs[1], firsts[1:])):
            out[doc] = group[:LISTED_ITEMS]
        begin = end
    return out


def _batches(records: Iterable, size: int, chars: int) -> Iterable[list]:
    """Records in batches of at most `size` records and about `chars` characters of text: a batch's work, and what
    it holds, is bounded however short or long the items are."""
    batch, held = [], 0
    for record in records:
        batch.append(record)
        held += len(getattr(record, "text", ""))
        if len(batch) == size or held >= chars:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _within_budget(benchmarks: Sequence, params: ContaminationParams) -> None:
    """Refuse, naming the file, a check that would hold more items or characters of item text than its budget,
    before any is checked: the records are streamed once to count them (a fraction of the check's time)."""
    items = chars = 0
    for bench in benchmarks:
        for record in bench.records():
            items += 1
            chars += len(getattr(record, "text", ""))
            if items > params.max_items or chars > params.max_text_chars:
                raise BenchmarkError(
                    f"{bench.file}: this check would hold more than {params.max_items:,} items or "
                    f"{params.max_text_chars:,} characters of item text, its budget: check fewer or smaller files "
                    "at a time (the CLI's --max-items and --max-chars raise it)"
                )


def check_contamination(index, benchmarks: Sequence, params: ContaminationParams | None = None,
                        progress: Progress | None = None) -> ContaminationReport:
    """Check every item of every benchmark against the corpus of `index` (a `CorpusIndex`).

    `benchmarks`: opened benchmark files (`inspector.benchmarks.open_benchmark`), each streamed in batches.
    `params.match` says how items are compared (`match_mode`): as exact tokens, as normalised text
    (`inspector.normalize`, on the normalised n-gram index a build made with `--normalized`; spans are still marked
    on the items' own text), or both ways, each item reported as the way that gives it the worse verdict found it
    (`matched_by`): re-cased and re-wrapped copies, common on the web, only the normalised way finds.
    A first pass over each file finds its template text (`_template_grams`), reported apart and not counted unless
    `params.count_templates`.
    """
    params = params or ContaminationParams()
    params.check()
    progress = progress or _no_progress
    mode = match_mode(index, params)
    ways = [_Way(name, index.engine if name == "exact" else index.normalized_engine, params)
            for name in (WAYS if mode == "both" else (mode,))]
    _within_budget(benchmarks, params)
    evidence: dict = {}
    summaries, items = [], []
    done = 0
    for bench in benchmarks:
        for way in ways:
            way.templates = _template_grams(index.tokenizer, bench, way.normalized, params)
        results: list[ItemResult] = []
        problems: list[str] = []
        for batch in _batches(bench.records(), _BATCH, _BATCH_CHARS):
            results += _check_batch(index, ways, bench, batch, params, problems, evidence)
            done += len(batch)
            progress(f"check {bench.name}", done, 0)
        summaries.append(_summary(bench, results, problems))
        items += results
    flagged = {way.name: way.flagged for way in ways}
    return ContaminationReport(
        index=str(index.path),
        build=index.build.name,
        tokenizer=index.manifest["tokenizer"]["kind"],
        mode=mode,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        params=params,
        benchmarks=tuple(summaries),
        items=tuple(items),
        documents=_flagged_documents(flagged.get("exact"), flagged.get("normalized"), index.documents),
        documents_approx=any(way.flagged.approx for way in ways),
    )


WAYS = ("exact", "normalized")  # in this order: a tie between the two ways' verdicts reports the exact one


class _Way:
    """One way of comparing items: its engine, its decontamination list, and the current file's template n-grams."""

    def __init__(self, name: str, engine, params: ContaminationParams):
        self.name, self.engine, self.normalized = name, engine, name == "normalized"
        self.flagged = _Flagged(engine, params)
        self.templates = np.zeros(0, dtype=np.uint64)


@dataclass(slots=True)
class _Matched:
    """An item as one way matched it: its tokens (of the normalised text in the normalised way), where each
    normalised character came from in the item's own text (None in the exact way), its match lengths (`plain`: of
    these tokens; `m`: a match may also start with the first word spelled as inside running text, `spaced`), its
    whitespace and template tokens, and its measures."""

    way: _Way
    record: object
    ids: np.ndarray
    origin: np.ndarray | None
    plain: np.ndarray
    m: np.ndarray
    spaced: np.ndarray | None
    spaced_m: np.ndarray | None
    blank: np.ndarray
    template: np.ndarray
    #: the template tokens the measures leave out (None when templates count, or the item is template text whole)
    uncounted: np.ndarray | None
    measures: Measures

    def spellings(self) -> list[tuple]:
        """(tokens, match lengths, whitespace, uncounted template) of each spelling the corpus may hold."""
        out = [(self.ids, self.plain, self.blank, self.uncounted)]
        if self.spaced is not None:
            shift = len(self.spaced) - len(self.ids)
            head = _first_word_tokens(self.ids, self.spaced)
            out.append((self.spaced, self.spaced_m, _spaced_mask(self.blank, head, shift),
                        None if self.uncounted is None else _spaced_mask(self.uncounted, head, shift)))
        return out

    def corpus_span(self, start: int, end: int) -> tuple[np.ndarray, int]:
        """Tokens [start, end) as the corpus holds them, and how many characters they add before the item's text
        (1: the space of the first word's running-text spelling)."""
        if start == 0 and self.spaced is not None and end and self.plain[end - 1] < end:
            return self.spaced[: end + len(self.spaced) - len(self.ids)], 1
        return self.ids[start:end], 0


def _readable(bench, batch: list, params: ContaminationParams, problems: list[str] | None) -> list:
    """The batch's records that can be checked; what cannot (malformed, surely too long) goes to `problems`."""
    records = []
    for record in batch:
        if isinstance(record, Problem):  # a record the reader could not read: file:line and why
            problem = str(record)
        elif len(record.text) > 16 * params.max_item_tokens:  # never tokenize a text that is surely too long
            problem = _too_long(bench, record, f"{len(record.text):,} characters", params)
        else:
            records.append(record)
            continue
        if problems is not None:
            problems.append(problem)
    return records


def _tokenized(tokenizer, texts: list[str], normalized: bool,
               offsets: bool = True) -> tuple[list[str], list, list[np.ndarray]]:
    """(the texts as matched, where each of their characters came from or None (when `offsets`), their tokens)."""
    origins: list = [None] * len(texts)
    if normalized and not offsets:
        texts = [normalize(t) for t in texts]
    elif normalized and texts:
        texts, origins = (list(x) for x in zip(*map(normalize_with_offsets, texts)))
    return texts, origins, [np.asarray(s, dtype=np.int64) for s in tokenizer.encode_batch(list(texts))]


def _check_batch(index, ways: list[_Way], bench, batch, params: ContaminationParams, problems: list[str],
                 evidence: dict) -> list[ItemResult]:
    records = _readable(bench, batch, params, problems)
    spelled = [_tokenized(index.tokenizer, [r.text for r in records], way.normalized) for way in ways]
    keep = []
    for i, record in enumerate(records):
        size = max(len(ids[i]) for _, _, ids in spelled)
        if size > params.max_item_tokens:
            problems.append(_too_long(bench, record, f"{size:,} tokens", params))
        else:
            keep.append(i)
    matched = [_match(index, way, [records[i] for i in keep], *([part[i] for i in keep] for part in spelling), params)
               for way, spelling in zip(ways, spelled)]
    results = [_item_result(index, *_worse(per_way, params), params, evidence) for per_way in zip(*matched)]
    for way, column in zip(ways, matched):
        way.flagged.add([(f"{r.benchmark}:{r.index}", item.spellings()) for r, item in zip(results, column)
                         if r.verdict in ("partial", "dirty")])
    return results


def _match(index, way: _Way, records: list, texts: list[str], origins: list, ids: list[np.ndarray],
           params: ContaminationParams) -> list[_Matched]:
    """Each item matched one way: a match may start with its first word in either spelling."""
    tokenizer = index.tokenizer
    spaced = tokenizer.word_starts(texts, ids)
    lengths = way.engine.match_lengths_many(ids + [s for s in spaced if s is not None])
    whitespace = _whitespace_tokens(tokenizer)
    more = iter(lengths[len(ids) :])
    out = []
    for record, origin, seq, other, plain in zip(records, origins, ids, spaced, lengths):
        other_m = None if other is None else next(more)
        m = plain if other is None else _first_word_lengths(seq, other, plain, other_m)
        blank = np.zeros(len(seq), bool) if params.count_whitespace else whitespace[seq]
        template = _template_tokens(seq, blank, params.n, way.templates)
        uncounted = None if params.count_templates or template[~blank].all() else template
        out.append(_Matched(way, record, seq, origin, plain, m, other, other_m, blank, template, uncounted,
                            measure(m, params.n, params.min_match, blank, uncounted)))
    return out


def _first_word_tokens(plain: np.ndarray, spaced: np.ndarray) -> int:
    """Tokens of `plain` before the tail it shares with `spaced` (its first word, as tokenized alone)."""
    size = min(len(plain), len(spaced))
    differ = plain[len(plain) - size :][::-1] != spaced[len(spaced) - size :][::-1]
    return len(plain) - (int(np.argmax(differ)) if differ.any() else size)


def _spaced_mask(mask: np.ndarray, head: int, shift: int) -> np.ndarray:
    """A per-token mask of the plain spelling carried to the spaced one: its first word is in the mask when every
    token of the plain first word is."""
    return np.concatenate([np.full(head + shift, bool(mask[:head].all())), mask[head:]])


def _first_word_lengths(plain: np.ndarray, spaced: np.ndarray, plain_m: np.ndarray,
                        spaced_m: np.ndarray) -> np.ndarray:
    """Match lengths of `plain` where a match may also start with the first word spelled as in running text
    (`spaced`, e.g. " A" for "A"): a match of the spaced spelling holding its first word whole counts from the
    item's first token; one starting inside that word counts from the first token after it (the rest occurs in
    both spellings)."""
    head = _first_word_tokens(plain, spaced)
    if not head:
        return plain_m
    ends = np.arange(head - 1, len(plain))
    spaced_ends = ends + len(spaced) - len(plain)
    whole = spaced_ends - np.asarray(spaced_m)[spaced_ends] + 1 == 0
    m = np.array(plain_m, dtype=np.int64)
    m[ends[whole]] = np.maximum(m[ends[whole]], ends[whole] + 1)
    return m


def _worse(matched: Sequence[_Matched], params: ContaminationParams) -> tuple[_Matched, str]:
    """The way whose verdict of the item is worse (ties: higher coverage, then exact), and which ways found that
    verdict with a match of >= L tokens: "exact", "normalized", "both" or ""."""
    def rank(item: _Matched) -> tuple[int, float]:
        measures = item.measures
        return (VERDICTS.index(verdict(measures.coverage, params)) if measures.ngrams else -1, measures.coverage)

    chosen = max(matched, key=rank)  # the first of equals: exact
    found = [item.way.name for item in matched if item.measures.covered and rank(item)[0] == rank(chosen)[0]]
    return chosen, "both" if len(found) == len(WAYS) else found[0] if found else ""


# -- template text: n-grams several items of one file share ----------------------------------------------------

#: an n-gram of a file's items is template text when at least this many items of the file hold it. Two: text two
#: items share is not either item's own (a passage several questions quote, the sentence a subject's every question
#: opens with), and its being in the corpus says nothing of the other parts of each. An item that is template text
#: whole (a duplicate) is measured whole.
TEMPLATE_ITEMS = 2
_HASH_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_powers_cache = {"up": np.ones(1, np.uint64), "down": np.ones(1, np.uint64)}


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """B**j and B**-j modulo 2**64, j < size (grown by doubling, kept)."""
    up = _powers_cache["up"]
    if len(up) < size:
        length = max(size, 2 * len(up))
        up = np.concatenate([[np.uint64(1)], np.cumprod(np.full(length - 1, _HASH_BASE, dtype=np.uint64))])
        inverse = pow(_HASH_BASE, -1, 1 << 64)
        down = np.concatenate([[np.uint64(1)], np.cumprod(np.full(length - 1, inverse, dtype=np.uint64))])
        _powers_cache.update(up=up.astype(np.uint64), down=down.astype(np.uint64))
    return _powers_cache["up"], _powers_cache["down"]


def _span_hashes(seq: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit polynomial hash of each span seq[a:b], the same wherever the span is."""
    up, down = _powers(len(seq) + 1)
    prefix = np.zeros(len(seq) + 1, dtype=np.uint64)
    np.cumsum((seq.astype(np.uint64) + np.uint64(1)) * up[: len(seq)], out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * down[starts]


def _item_grams(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of each n-gram of counting tokens (one of the whole item when it has fewer)."""
    n = min(n, len(words))
    return _gram_starts(words, n), words[n - 1 :] + 1


def _template_grams(tokenizer, bench, normalized: bool, params: ContaminationParams) -> np.ndarray:
    """The hashes of the n-grams at least TEMPLATE_ITEMS items of the file hold, sorted: one streaming pass over the
    file, holding 16 bytes per distinct n-gram (the file is bounded by the check's budget)."""
    whitespace = _whitespace_tokens(tokenizer)
    seen, counts = np.zeros(0, np.uint64), np.zeros(0, np.int64)  # distinct n-grams so far, items holding each
    pending: list[np.ndarray] = []
    held = 0

    def fold() -> None:
        nonlocal seen, counts, pending, held
        grams, at = np.unique(np.concatenate([seen, *pending]), return_inverse=True)
        weights = np.concatenate([counts, np.ones(held, np.int64)])
        seen, counts, pending, held = grams, np.bincount(at.reshape(-1), weights, len(grams)).astype(np.int64), [], 0

    for batch in _batches(bench.records(), _BATCH, _BATCH_CHARS):
        records = _readable(bench, batch, params, None)
        for seq in _tokenized(tokenizer, [r.text for r in records], normalized, offsets=False)[2]:
            blank = np.zeros(len(seq), bool) if params.count_whitespace else whitespace[seq]
            words = np.nonzero(~blank)[0]
            if len(words) and len(seq) <= params.max_item_tokens:
                pending.append(np.unique(_span_hashes(seq, *_item_grams(words, params.n))))  # once per item
                held += len(pending[-1])
        if held > max(len(seen), 1 << 20):  # folded as often as the table doubles: n log n in all
            fold()
    fold()
    return seen[counts >= TEMPLATE_ITEMS]


def _template_tokens(seq: np.ndarray, blank: np.ndarray, n: int, templates: np.ndarray) -> np.ndarray:
    """Per token: is it inside an n-gram of the item that is template text?"""
    words = np.nonzero(~blank)[0]
    if not len(templates) or not len(words):
        return np.zeros(len(seq), bool)
    starts, ends = _item_grams(words, n)
    hashes = _span_hashes(seq, starts, ends)
    at = np.minimum(np.searchsorted(templates, hashes), len(templates) - 1)
    shared = templates[at] == hashes
    edges = np.zeros(len(seq) + 1, np.int64)
    np.add.at(edges, starts[shared], 1)
    np.add.at(edges, ends[shared], -1)
    return np.cumsum(edges[:-1]) > 0


def _too_long(bench, record, size: str, params: ContaminationParams) -> str:
    where = f"{bench.file}:{record.line}" if record.line else f"{bench.file}: record {record.index}"
    return f"{where}: item has {size}; the limit is {params.max_item_tokens:,} tokens"


def _whitespace_tokens(tokenizer) -> np.ndarray:
    """Per token id: is the token only whitespace? (Built once per tokenizer.)"""
    table = tokenizer.__dict__.get("_whitespace")
    if table is None:
        table = np.array([not tokenizer.token_bytes(i).strip() for i in range(tokenizer.max_id + 1)], dtype=bool)
        tokenizer.__dict__["_whitespace"] = table
    return table


def _item_result(index, item: _Matched, matched_by: str, params: ContaminationParams,
                 evidence_of: dict) -> ItemResult:
    """`evidence_of`: what `_evidence` found per longest match already seen in this check (items that share their
    longest match, as thousands of copies of one short item do, read its occurrences once)."""
    record, seq, measures, engine = item.record, item.ids, item.measures, item.way.engine
    base = dict(benchmark=record.benchmark, index=record.index, id=record.id, text=record.text, tokens=len(seq),
                score=record.score)
    if not measures.ngrams:  # no text, or whitespace only
        return _empty(record, tokens=len(seq))
    chars = index.tokenizer.char_offsets(seq)

    def in_text(a: int, b: int) -> tuple[int, int]:
        """Token span -> characters of the item's own text."""
        start, end = int(chars[a]), int(chars[b])
        return (start, end) if item.origin is None else original_span(item.origin, start, end)

    start, end = measures.longest_start, measures.longest_start + measures.longest
    span, lead = item.corpus_span(start, end)
    evidence, documents, approx, count = (), 0, False, 0
    if len(span):
        key = (item.way.name, span.tobytes(), bool(measures.covered))
        if key not in evidence_of:
            # a match of >= L counting tokens: its documents are the evidence
            found = _evidence(index, engine, span, params, lead) if measures.covered else (0, False, ())
            evidence_of[key] = (engine.count(span), *found)
        count, documents, approx, evidence = evidence_of[key]
    return ItemResult(
        **base,
        overlap=measures.overlap,
        ngrams=measures.ngrams,
        ngrams_found=measures.ngrams_found,
        longest_match=measures.longest,
        longest_span=in_text(start, end),
        longest_count=count,
        coverage=measures.coverage,
        verdict=verdict(measures.coverage, params),
        spans=tuple(in_text(a, b) for a, b in measures.covered),
        evidence=evidence,
        evidence_documents=documents,
        evidence_approx=approx,
        matched_by=matched_by,
        template_spans=tuple(in_text(a, b) for a, b in _runs(item.template)),
    )


def _evidence(index, engine, span: np.ndarray, params: ContaminationParams,
              lead: int = 0) -> tuple[int, bool, tuple[Evidence, ...]]:
    """(documents holding `span`, whether that is a lower bound, the first few with the span in context); in
    normalised mode the context is the documents' normalised text. `lead`: characters the span holds before the
    item's text (the space of a first word spelled as in running text), left out of the marked span."""
    found = engine.find_cnf([[span]], params.max_span_occurrences)
    shown = []
    for doc in found.documents[: params.evidence_documents].tolist():
        tokens = engine.document_tokens(doc)
        at = engine.locate(doc, [span], limit=1, tokens=tokens)[0]
        chars = None
        if engine is index.engine:
            offsets = index.tokenizer.char_offsets(tokens[: at[1]])
            chars = (int(offsets[at[0]]) + lead, int(offsets[at[1]]))
        shown.append(Evidence(doc, index.documents.id(doc), index.documents.file(doc), index.documents.row(doc),
                              index.snippet(tokens, at, index.settings.context_tokens), chars))
    return len(found.documents), found.approx, tuple(shown)


def _summary(bench, every: list[ItemResult], problems: list[str]) -> BenchmarkSummary:
    results = [r for r in every if r.verdict != "empty"]
    empty = len(every) - len(results)
    coverage = np.array([r.coverage for r in results], dtype=np.float64)
    histogram = np.histogram(coverage, bins=10, range=(0.0, 1.0))[0] if len(coverage) else np.zeros(10, int)
    by_verdict = {v: sum(1 for r in results if r.verdict == v) for v in VERDICTS}
    return BenchmarkSummary(
        name=bench.name,
        file=bench.file,
        preset=bench.preset,
        fields=tuple(bench.fields),
        items=len(results),
        empty=empty,
        skipped=len(problems),
        any_hit=sum(1 for r in results if r.ngrams_found),
        mean_overlap=float(np.mean([r.overlap for r in results])) if results else 0.0,
        mean_coverage=float(coverage.mean()) if len(coverage) else 0.0,
        coverage_histogram=tuple(int(c) for c in histogram),
        problems=tuple(problems[:1000]),
        templated=sum(1 for r in results if r.template_spans),
        **by_verdict,
    )


# -- does contamination inflate scores? ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreGroup(_Result):
    verdict: str
    items: int
    mean: float | None


@dataclass(frozen=True, slots=True)
class ScoreSplit(_Result):
    """Mean score on clean / partial / dirty items, and the difference (contaminated - clean) with a bootstrap
    95 % interval: an interval above 0 says the contaminated items score higher than chance explains."""

    groups: tuple[ScoreGroup, ...]
    #: mean score of partial and dirty items minus that of clean items (None when either side has no scores)
    difference: float | None
    low: float | None
    high: float | None
    resamples: int
    seed: int


def score_split(items: Sequence[ItemResult], scores: dict | None = None, *, resamples: int = 2000,
                seed: int = 0) -> ScoreSplit:
    """Scores from `scores` ({(benchmark, index) or (benchmark, id): score}) or each item's own `score`."""
    by_verdict: dict[str, list[float]] = {v: [] for v in VERDICTS}
    for item in items:
        score = item.score
        if scores is not None:
            score = scores.get((item.benchmark, item.id), scores.get((item.benchmark, item.index)))
        if score is not None and item.verdict in by_verdict:
            by_verdict[item.verdict].append(float(score))
    groups = tuple(ScoreGroup(v, len(s), float(np.mean(s)) if s else None) for v, s in by_verdict.items())
    clean, contaminated = by_verdict["clean"], by_verdict["partial"] + by_verdict["dirty"]
    if not clean or not contaminated:
        return ScoreSplit(groups, None, None, None, resamples, seed)
    a, b = np.asarray(contaminated), np.asarray(clean)
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(a, (resamples, len(a))).mean(axis=1) - rng.choice(b, (resamples, len(b))).mean(axis=1))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return ScoreSplit(groups, float(a.mean() - b.mean()), float(low), float(high), resamples, seed)


# -- reports on disk ------------------------------------------------------------------------------------------------

REPORT_FORMATS = (".json", ".jsonl", ".csv", ".parquet")


def item_rows(report: dict, text_chars: int | None = None) -> list[dict]:
    """One flat row per item of a report's dict form (`as_dict`, or a saved .json): what the JSONL, CSV and Parquet
    reports and the app's item table hold; texts cut to `text_chars` when given."""
    rows = []
    for item in report["items"]:
        a, b = item["longest_span"]
        text = item["text"]
        rows.append({
            "item": f"{item['benchmark']}:{item['index']}",
            "benchmark": item["benchmark"],
            "index": item["index"],
            "id": item["id"],
            "verdict": item["verdict"],
            "coverage": item["coverage"],
            "overlap": item["overlap"],
            "ngrams": item["ngrams"],
            "ngrams_found": item["ngrams_found"],
            "longest_match": item["longest_match"],
            "longest_text": text[a:b] if text_chars is None else text[a : min(b, a + text_chars)],
            "longest_count": item["longest_count"],
            "evidence_documents": item["evidence_documents"],
            "evidence": ",".join(str(e["doc"]) for e in item["evidence"]),
            "tokens": item["tokens"],
            "score": item.get("score"),
            "text": text if text_chars is None else text[:text_chars],
        })
    return rows


def save_report(report: ContaminationReport | dict, path: str | Path) -> Path:
    """The whole report (or its `as_dict()` form) as JSON (what `decontaminate` and the app read back), or its items
    as JSONL, CSV or Parquet, by the file's extension; written beside and renamed, so a reader never sees half a
    report."""
    import pyarrow as pa

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise InvalidQuery(f"report {path}: the name must end in one of {', '.join(REPORT_FORMATS)}")
    data = report if isinstance(report, dict) else report.as_dict()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if suffix == ".json":
            with open(tmp, "w", encoding="utf-8") as f:
                _dump_json(data, f)
        elif suffix == ".jsonl":
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in item_rows(data)))
        else:
            table = pa.Table.from_pylist(item_rows(data))
            if suffix == ".csv":
                import pyarrow.csv as csv

                csv.write_csv(table, tmp)
            else:
                import pyarrow.parquet as pq

                pq.write_table(table, tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidQuery(f"cannot write report {path}: {exc.strerror or exc}") from None
    return path


def _dump_json(data: dict, f) -> None:
    """`json.dump(data, f)`, its lists encoded an element at a time by the C encoder: as fast as `json.dumps`
    (json.dump encodes in Python, 5x slower), yet never holding the interpreter for the whole report, so a shared
    server's other requests run meanwhile."""
    f.write("{")
    for i, (key, value) in enumerate(data.items()):
        f.write((", " if i else "") + json.dumps(key) + ": ")
        if isinstance(value, (list, tuple)):
            f.write("[")
            for j, element in enumerate(value):
                f.write((", " if j else "") + json.dumps(element, ensure_ascii=False))
            f.write("]")
        else:
            f.write(json.dumps(value, ensure_ascii=False))
    f.write("}")


def load_report(path: str | Path) -> dict:
    """A JSON report as saved by `save_report` (plain dicts), checked to be one."""
    path = Path(path)
    try:
        report = json.loads(read_text(path, MAX_JSON_BYTES, "report"))
    except InvalidQuery as exc:  # unreadable, not UTF-8 (a .parquet report), or over the bound
        raise InvalidQuery(f"{exc}: give the .json report") from None
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise InvalidQuery(f"report {path} cannot be read as JSON: give the .json report") from None
    if not isinstance(report, dict) or not {"build", "documents", "params", "benchmarks"} <= set(report):
        raise InvalidQuery(f"{path} is not a contamination report saved as .json by `inspector contam --out`")
    return report


def check_text(index, text: str, params: ContaminationParams | None = None) -> ItemResult:
    """One pasted text (a test item, a model's output) checked as a benchmark item: its spans that occur in the
    corpus, its verdict and the documents holding its longest match."""
    from .benchmarks import BenchmarkItem

    item = BenchmarkItem(benchmark="text", index=0, line=None, id=None, text=text)
    one = _OneText(item)
    return check_contamination(index, [one], params).items[0] if text.strip() else _empty(item)


@dataclass(frozen=True)
class _OneText:
    """A benchmark of one in-memory item (for `check_text`)."""

    item: object
    name: str = "text"
    path: str = "<text>"
    file: str = "<text>"
    preset: str | None = None
    fields: tuple[str, ...] = ()

    def records(self):
        return iter([self.item])


def _empty(item, tokens: int = 0) -> ItemResult:
    """The result of an item with no text but whitespace: counted, not scored."""
    return ItemResult(benchmark=item.benchmark, index=item.index, id=item.id, text=item.text, tokens=tokens,
                      overlap=None, ngrams=0, ngrams_found=0, longest_match=0, longest_span=(0, 0), longest_count=0,
                      coverage=None, verdict="empty", spans=(), evidence=(), evidence_documents=0,
                      evidence_approx=False, score=item.score)


# -- the bulletin: reports kept beside the index -----------------------------------------------------------------

BULLETIN = "reports"


@dataclass(frozen=True, slots=True)
class SavedReport(_Result):
    path: str
    created: str
    mode: str
    build: str
    benchmarks: tuple[str, ...]
    items: int
    dirty: int


def keep_report(index, report: ContaminationReport | dict) -> Path:
    """Save a report (or its `as_dict()` form) as JSON in the index folder's `reports/`, so the corpus's checks are
    listed later."""
    data = report if isinstance(report, dict) else report.as_dict()
    folder = Path(index.path) / BULLETIN
    folder.mkdir(exist_ok=True)
    stamp = data["created"].replace(":", "").replace("-", "").replace("+0000", "Z")
    names = "-".join(b["name"] for b in data["benchmarks"])[:80]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in names) or "report"
    path, number = folder / f"{stamp}-{data['mode']}-{safe}.json", 1
    while path.exists():  # two checks in the same second keep both
        number += 1
        path = folder / f"{stamp}-{data['mode']}-{safe}-{number}.json"
    save_report(data, path)
    summary = SavedReport(str(path), data["created"], data["mode"], data["build"],
                          tuple(b["name"] for b in data["benchmarks"]), sum(b["items"] for b in data["benchmarks"]),
                          sum(b["dirty"] for b in data["benchmarks"]))
    _summary_path(path).write_text(json.dumps(summary.as_dict()), encoding="utf-8")
    return path


def _summary_path(report: Path) -> Path:
    """The kept report's summary beside it: the bulletin lists reports without parsing each whole."""
    return report.with_name(report.name + ".summary")


def kept_reports(index) -> list[SavedReport]:
    """The reports kept beside this index, newest first (unreadable ones are left out)."""
    out = []
    for path in sorted((Path(index.path) / BULLETIN).glob("*.json"), reverse=True):
        try:
            summary = _summary_path(path)
            if summary.is_file():
                data = json.loads(read_text(summary, 1 << 20, "report summary"))
                out.append(SavedReport(**{**data, "path": str(path), "benchmarks": tuple(data["benchmarks"])}))
                continue
            data = json.loads(read_text(path, MAX_JSON_BYTES, "report"))  # kept before summaries were
            benchmarks = data["benchmarks"]
            out.append(SavedReport(str(path), data["created"], data["mode"], data["build"],
                                   tuple(b["name"] for b in benchmarks), sum(b["items"] for b in benchmarks),
                                   sum(b["dirty"] for b in benchmarks)))
        except (InvalidQuery, ValueError, RecursionError, KeyError, TypeError):
            continue
    return out
