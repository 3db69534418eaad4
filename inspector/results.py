"""Answers as small frozen dataclasses; `as_dict` gives the JSON the CLI prints."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass

_ATOMS = (str, int, float, bool, type(None))


class Result:
    """What every answer shares: `as_dict`, the JSON the CLI prints."""

    def as_dict(self) -> dict:
        """What `dataclasses.asdict` gives, 5x faster: a report of 50,000 items took 4 s, so long that a shared
        server's other requests waited on it."""
        return _plain(self)


def _plain(value):
    if isinstance(value, _ATOMS):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)


@dataclass(frozen=True, slots=True)
class Variant(Result):
    """One token sequence a text query stands for, and how often it occurs."""

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class CountResult(Result):
    """`count` is the sum over `variants`: the token sequences the query stands for (two for a word-mode text
    that starts with a letter: ' word…' and 'word…'), each with its own ids, tokens and count."""

    query: str
    count: int
    approx: bool
    variants: tuple[Variant, ...]
    #: `count` per index shard
    per_shard: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NextToken(Result):
    id: int
    token: str
    count: int
    prob: float


@dataclass(frozen=True, slots=True)
class NtdResult(Result):
    prompt: str
    prompt_count: int
    approx: bool
    variants: tuple[Variant, ...]
    next_tokens: tuple[NextToken, ...]
    distinct: int
    #: occurrences of the prompt that end a document (no next token)
    document_ends: int


@dataclass(frozen=True, slots=True)
class InfgramNtdResult(Result):
    """The ∞-gram next-token distribution: `ntd` is conditioned on the prompt's longest suffix that is followed by
    a token in the corpus (the whole prompt when it is; nothing, the unigram distribution, when no suffix is)."""

    prompt: str
    #: tokens in the prompt, and in the suffix `ntd` is conditioned on (equal unless `backed_off`)
    prompt_tokens: int
    suffix_tokens: int
    backed_off: bool
    ntd: NtdResult


@dataclass(frozen=True, slots=True)
class ProbResult(Result):
    prompt: str
    next: str
    next_tokens: tuple[str, ...]
    prompt_count: int
    count: int
    prob: float | None
    variants: tuple[Variant, ...]
    #: the token ids of `next_tokens`
    next_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class InfgramToken(Result):
    id: int
    token: str
    #: longest n such that the n tokens ending here occur in the corpus (how far back the corpus "remembers")
    match_length: int
    #: length of the longest suffix of the preceding tokens that occurs: the ∞-gram's effective n is this + 1
    suffix_length: int
    prompt_count: int
    count: int
    prob: float


@dataclass(frozen=True, slots=True)
class InfgramResult(Result):
    text: str
    tokens: tuple[InfgramToken, ...]


@dataclass(frozen=True, slots=True)
class Snippet(Result):
    left: str
    match: str
    right: str


@dataclass(frozen=True, slots=True)
class Match(Result):
    """A match inside a document: token offsets and, for lossless tokenizers, character offsets in its text."""

    token_start: int
    token_end: int
    char_start: int
    char_end: int


@dataclass(frozen=True, slots=True)
class DocumentHit(Result):
    doc: int
    id: str | None
    file: str
    row: int
    snippet: Snippet
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class FindResult(Result):
    query: str
    clauses: tuple[tuple[Variant, ...], ...]
    count: int
    approx: bool
    offset: int
    documents: tuple[DocumentHit, ...]


@dataclass(frozen=True, slots=True)
class Document(Result):
    doc: int
    id: str | None
    file: str
    row: int
    tokens: int
    text: str
    metadata: dict


@dataclass(frozen=True, slots=True)
class ShardInfo(Result):
    name: str
    documents: int
    tokens: int


@dataclass(frozen=True, slots=True)
class IndexInfo(Result):
    path: str
    #: the build folder answering (a rebuild publishes a new one)
    build: str
    created: str
    tokenizer: str
    documents: int
    tokens: int
    empty_skipped: int
    files: tuple[str, ...]
    shards: tuple[ShardInfo, ...]
    bytes_on_disk: int
    bytes_per_token: float
    #: the n-gram index alone: token shards, suffix arrays, document table
    ngram_bytes_per_token: float
    text_column: str
    id_column: str | None
    #: source shards whose size or modification time changed after the build (documents read from them are checked)
    changed_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildReport(Result):
    path: str
    documents: int
    tokens: int
    empty_skipped: int
    shards: int
    seconds: float
    tokenize_seconds: float
    suffix_array_seconds: float
    fulltext_seconds: float
    text_bytes: int
    tokens_per_second: float
    #: worker processes (or Ray tasks at once) and parts the corpus was cut into
    workers: int = 1
    parts: int = 1
    signals_seconds: float = 0.0
    #: documents and tokens of the whole index after an `--append` (equal to the above for a build)
    index_documents: int = 0
    index_tokens: int = 0
    appended: bool = False
    #: shards an append's automatic compaction merged away (`inspector.compact`)
    compacted: int = 0
    #: metadata columns no filter can take, each as `name (type): why` (nested, binary, no values)
    skipped_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompactReport(Result):
    path: str
    shards_before: int
    shards_after: int
    #: shards merged away
    merged: int
    seconds: float


@dataclass(frozen=True, slots=True)
class DuplicationSignal(Result):
    """`q_dup_span_frac` added to an index's catalog (`inspector.duplication_signal`): for windows of `min_len`
    tokens in `min_docs`+ documents, over `documents` documents, `documents_with_repeats` of them above zero."""

    path: str
    column: str
    min_len: int
    min_docs: int
    documents: int
    documents_with_repeats: int
    #: the build it was published as
    build: str


@dataclass(frozen=True, slots=True)
class SearchHit(Result):
    doc: int
    score: float
    id: str | None
    file: str
    row: int
    metadata: dict
    #: the best fragment of the text, plain; `highlights` are character ranges in it
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    #: the same fragment escaped for HTML with the matched terms in <mark>: safe to render
    snippet_html: str


@dataclass(frozen=True, slots=True)
class SearchResult(Result):
    query: str
    filters: tuple[tuple[str, str, str], ...]
    total: int
    offset: int
    hits: tuple[SearchHit, ...]
    #: parts of the query that were ignored, in words a user can act on
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Distribution(Result):
    """Of the column's finite values (`count`); NaN and ±inf are left out, counted in `non_finite`."""

    column: str
    count: int
    min: float | None
    max: float | None
    mean: float | None
    quantiles: dict
    bin_edges: tuple[float, ...]
    bin_counts: tuple[int, ...]
    non_finite: int = 0


@dataclass(frozen=True, slots=True)
class GroupCount(Result):
    value: str | None
    documents: int
    tokens: int


@dataclass(frozen=True, slots=True)
class CorpusStats(Result):
    documents: int
    tokens: int
    per_file: tuple[GroupCount, ...]
    #: documents and tokens per value, for each text column with few distinct values (source, language, ...) and
    #: each true/false column
    facets: dict
    #: tokens and characters per document, and every numeric metadata column (quality scores, ...)
    distributions: dict
    #: metadata columns without statistics, each with why (nested, binary, dates and times, no values)
    skipped: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopNgram(Result):
    """One of the most frequent n-grams: its ids, its text, its count and the documents holding it."""

    ids: tuple[int, ...]
    text: str
    count: int
    documents: int


@dataclass(frozen=True, slots=True)
class TopNgrams(Result):
    """The most frequent n-grams of n tokens (`inspector.repeats.top_ngrams`), most frequent first, ties by ids;
    `total`: the n-gram occurrences in the corpus, the share's denominator."""

    n: int
    total: int
    ngrams: tuple[TopNgram, ...]


@dataclass(frozen=True, slots=True)
class MaximalRepeats(Result):
    """The most frequent maximal repeats of n[0] to n[1] tokens (`inspector.repeats.maximal_repeats`), most frequent
    first, ties by ids: n-grams no token before or after extends without losing an occurrence."""

    n: tuple[int, int]
    ngrams: tuple[TopNgram, ...]


@dataclass(frozen=True, slots=True)
class RepeatedSpan(Result):
    """A duplicated span: `ids_length` tokens standing, as a maximal covered span, in `count` places (`documents`:
    their document numbers, one per place); `text`: its first 200 characters."""

    ids_length: int
    count: int
    documents: tuple[int, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SourceRepeats(Result):
    """One source file's share of the duplicated spans: its documents and tokens, and those inside such spans."""

    file: str
    documents: int
    tokens: int
    documents_with_repeats: int
    tokens_in_repeats: int


@dataclass(frozen=True, slots=True)
class Repeats(Result):
    """The corpus's duplicated spans (`inspector.repeats.repeated_spans`): figures over the whole corpus, and the
    spans listed, largest count x length first."""

    min_len: int
    min_docs: int
    tokens: int
    tokens_in_repeats: int
    documents_with_repeats: int
    spans: tuple[RepeatedSpan, ...]
    #: the figures per source file holding documents, in corpus order (where a corpus's repeats come from)
    by_source: tuple[SourceRepeats, ...] = ()
