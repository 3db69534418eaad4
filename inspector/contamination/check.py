"""The check: every item of every benchmark file matched against the corpus, measured (`measures`), its evidence
read, and the decontamination list gathered (`flagged`), in batches whose work and memory are bounded.

Three refinements, each for copies the plain rule misses or over-reports: items are matched as exact tokens and as
normalised text (re-cased and re-wrapped copies), each reported by the way with the worse verdict (`match_mode`,
`_worse`); an item's first word is matched in both spellings, alone and as inside running text (`A` / ` A`), as a
query's is (`_first_word_lengths`); and text several items of the file share (templates) is reported apart and, by
default, not counted (`_template_grams`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from index.errors import InvalidQuery

from ..benchmarks import BenchmarkError, Problem
from ..normalize import normalize, normalize_with_offsets, original_span
from .flagged import DecontaminationList, flagged_documents
from .measures import VERDICTS, ContaminationParams, Measures, gram_starts, measure, runs, verdict
from .report import BenchmarkSummary, ContaminationReport, Evidence, ItemResult

Progress = Callable[[str, int, int], None]


def match_mode(index, params: ContaminationParams) -> str:
    """What a check runs: "exact", "normalized" or "both" (`params.match`, "auto" resolved on this index); a way the
    index cannot match is InvalidQuery, naming the build option that makes it."""
    normalized = index.manifest.normalized is not None
    if params.match == "auto":
        return "both" if normalized else "exact"
    if params.match != "exact" and not normalized:
        raise InvalidQuery(f"index at {index.path} has no normalised n-gram index, which match={params.match!r} "
                           "needs: rebuild it with `inspector build ... --normalized`")
    return params.match


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


_BATCH = 8192  # items per engine pass: long passes keep match_lengths_many's segments long
_BATCH_CHARS = 4_000_000  # and characters: about a second of the search threads, shared with the app's other users


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
        tokenizer=index.manifest.tokenizer.kind,
        mode=mode,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        params=params,
        benchmarks=tuple(summaries),
        items=tuple(items),
        documents=flagged_documents(flagged.get("exact"), flagged.get("normalized"), index.documents),
        documents_approx=any(way.flagged.approx for way in ways),
    )


WAYS = ("exact", "normalized")  # in this order: a tie between the two ways' verdicts reports the exact one


class _Way:
    """One way of comparing items: its engine, its decontamination list, and the current file's template n-grams."""

    def __init__(self, name: str, engine, params: ContaminationParams):
        self.name, self.engine, self.normalized = name, engine, name == "normalized"
        self.flagged = DecontaminationList(engine, params)
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
    return gram_starts(words, n), words[n - 1 :] + 1


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
        return ItemResult.empty(record, tokens=len(seq))
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
        template_spans=tuple(in_text(a, b) for a, b in runs(item.template)),
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


def check_text(index, text: str, params: ContaminationParams | None = None) -> ItemResult:
    """One pasted text (a test item, a model's output) checked as a benchmark item: its spans that occur in the
    corpus, its verdict and the documents holding its longest match."""
    from ..benchmarks import BenchmarkItem

    item = BenchmarkItem(benchmark="text", index=0, line=None, id=None, text=text)
    one = _OneText(item)
    return check_contamination(index, [one], params).items[0] if text.strip() else ItemResult.empty(item)


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
