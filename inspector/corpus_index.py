"""An opened index folder: the Python API that the CLI and the app are thin faces over.

`CorpusIndex` is the text layer. It composes the parts of a build and turns text into token ids and answers back
into text: the id-level n-gram engine (`index.ngram_index.NgramIndex`), the documents (document table and Parquet
rows), the full-text index (Tantivy), the catalog (DuckDB) and the tokenizer. Semantics follow infini-gram (README,
"What the queries mean"): overlapping counts, count(prompt + next) / count(prompt), the ∞-gram backs off to the
longest suffix that occurs. Every answer is exact unless it says `approx`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from index import storage
from index.catalog import Catalog
from index.errors import InspectorError, InvalidQuery
from index.fulltext import Fulltext
from index.layout import CATALOG, DOCUMENTS, DUPLICATION_SIGNAL, FULLTEXT
from index.ngram_index import NgramIndex

from .documents import Documents
from .highlight import highlight_html
from .query import as_ids, check_ids, check_int, check_query_text, parse_cnf, parse_where, token_variants
from .results import (
    CorpusStats,
    CountResult,
    Distribution,
    Document,
    DocumentHit,
    FindResult,
    GroupCount,
    IndexInfo,
    InfgramNtdResult,
    InfgramResult,
    InfgramToken,
    Match,
    NextToken,
    NtdResult,
    ProbResult,
    SearchHit,
    SearchResult,
    ShardInfo,
    Snippet,
    Variant,
)
from .settings import DEFAULT, Settings
from .tokenizer import Tokenizer, load_tokenizer


class CorpusIndex:
    """Open with `open_index(path)`. It answers from the build that was live when it opened, through any number of
    rebuilds, until `close` (a rebuild publishes a new build beside it; see `index.storage`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        settings: Settings = DEFAULT,
        verify: bool | None = None,
        ray: str | bool | None = None,
        ray_actors: int | None = None,
    ):
        self.path = Path(path)
        self.settings = settings
        self._open = storage.OpenBuild(self.path, verify)
        self.build, self.manifest = self._open.folder, self._open.manifest
        try:
            self.engine = NgramIndex(self.build, self.manifest.shards, self.manifest.width,
                                     self.manifest.tokenizer.max_id)
            self.documents = Documents(self.build, self.manifest)
            if ray is not None and ray is not False:  # count/find fanned out to Ray actors (inspector.ray_engine)
                from .ray_engine import RayNgramIndex

                address = None if ray is True else ray
                self.engine = RayNgramIndex(self.engine, self.build, self.manifest, address, ray_actors)
        except BaseException:
            self.close()
            raise
        self.n_tokens = self.manifest.tokens
        self.n_documents = len(self.documents)
        #: the source files as manifest.json lists them (dicts: path, rows, size, mtime_ns, footer_crc, columns)
        self.sources = [s.to_json() for s in self.manifest.sources]
        #: source shards changed since the build (by size or time): say so; their documents' texts are checked on read
        self.changed_sources = self.documents.changed_sources()

    def close(self) -> None:
        """Let later builds remove this build's files (they stay while any process has the build open); release
        the Ray actors of an index opened with `ray=`."""
        release = getattr(getattr(self, "engine", None), "close", None)
        if release is not None:
            release()
        self._open.close()

    def __enter__(self) -> CorpusIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def verify(self) -> None:
        """Read every file of the build against its checksum; IndexCorrupt when one fails."""
        self._open.verify()

    def warm(self) -> None:
        """Load the compiled search (compiled once per machine) by a query: the app does this when it opens an
        index, so no user's first count waits for it. Not the ∞-gram pass: only contamination checks use it, which
        the app runs in its worker process, and its first use there builds typed lists (numba compiles them in
        every process, ~4 s holding the GIL) that in the server would stall every other page."""
        engine = getattr(self.engine, "local", self.engine)  # on Ray, the driver's own engine
        if engine.shards:
            engine.count_many(np.zeros((1, 1), dtype=np.int64))

    @cached_property
    def normalized_engine(self) -> NgramIndex:
        """The n-gram index of the documents' normalised text (`inspector.normalize`), same document numbers; only
        in builds made with `--normalized`."""
        spec = self.manifest.normalized
        if spec is None:
            raise InvalidQuery(
                f"index at {self.path} has no normalised n-gram index: rebuild it with `inspector build ... "
                "--normalized` to match normalised text"
            )
        return NgramIndex(self.build, spec.shards, self.manifest.width, self.manifest.tokenizer.max_id)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """Loaded on first use (the GPT-2 one takes ~0.3 s), and checked against the one that built the index."""
        return load_tokenizer(self.manifest.tokenizer.identity, self.build)

    # -- n-grams ------------------------------------------------------------------------------------------------

    def _variants(self, text: str | None, ids: Sequence[int] | None, boundary: str) -> tuple[tuple[int, ...], ...]:
        return token_variants(self.tokenizer, self.settings, text, ids, boundary)

    def _variant(self, ids: tuple[int, ...], count: int) -> Variant:
        return Variant(ids, tuple(self.tokenizer.token_text(i) for i in ids), count)

    @staticmethod
    def _label(text: str | None, ids: Sequence[int] | None) -> str:
        """How a query is echoed in its answer: the text, or the ids it was given as."""
        return (text or "") if ids is None else ",".join(map(str, ids))

    def count(
        self, query: str | None = None, *, ids: Sequence[int] | None = None, boundary: str = "word"
    ) -> CountResult:
        """Occurrences of the query (an empty query counts every token): the sum over the token sequences it stands
        for (its `variants`, each with its own count), with a per-shard breakdown."""
        per_shard = [0] * len(self.engine.shards)
        variants = []
        for seq in self._variants(query, ids, boundary):
            counts = [hi - lo for lo, hi in self.engine.find(seq).by_shard]
            per_shard = [a + b for a, b in zip(per_shard, counts)]
            variants.append(self._variant(seq, sum(counts)))
        return CountResult(
            query=self._label(query, ids),
            count=sum(per_shard),
            approx=False,
            variants=tuple(variants),
            per_shard=tuple(per_shard),
        )

    def count_many(self, ids, lengths=None) -> np.ndarray:
        """Counts of many token sequences in one vectorised pass: a (Q, n) array of ids in (row r is its first
        `lengths[r]` ids, all n by default), (Q,) int64 out. Needs no tokenizer."""
        return self.engine.count_many(ids, lengths)

    def ntd(
        self, prompt: str | None = None, *, ids: Sequence[int] | None = None, top: int | None = None,
        boundary: str = "word",
    ) -> NtdResult:
        """Every token that follows the prompt, with its count and probability count(prompt+t)/count(prompt).

        Exact at any prompt frequency: runs of equal next tokens are found by bisection, so unlike infini-gram there
        is no sampling cap; `approx` is always False. `top`: how many to list, most frequent first (0: all).
        """
        top = check_int("top", self.settings.ntd_top if top is None else top)
        totals: dict[int, int] = {}
        prompt_count = ends = 0
        variants = []
        for seq in self._variants(prompt, ids, boundary):
            found = self.engine.ntd(seq)
            variants.append(self._variant(seq, found.prompt_count))
            prompt_count, ends = prompt_count + found.prompt_count, ends + found.document_ends
            for token, c in zip(found.ids.tolist(), found.counts.tolist()):
                totals[token] = totals.get(token, 0) + c
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        if top > 0:
            ranked = ranked[:top]
        return NtdResult(
            prompt=self._label(prompt, ids),
            prompt_count=prompt_count,
            approx=False,
            variants=tuple(variants),
            next_tokens=tuple(NextToken(t, self.tokenizer.token_text(t), c, c / prompt_count) for t, c in ranked),
            distinct=len(totals),
            document_ends=ends,
        )

    def infgram_ntd(
        self, prompt: str | None = None, *, ids: Sequence[int] | None = None, top: int | None = None,
        boundary: str = "word",
    ) -> InfgramNtdResult:
        """The next-token distribution after the prompt's longest suffix that some token follows in the corpus
        (infini-gram's ∞-gram distribution): the plain `ntd` when the whole prompt is followed by a token, else its
        first token sequence shortened from the left until it is, down to the empty prompt (every token)."""
        whole = self.ntd(prompt, ids=ids, top=top, boundary=boundary)
        seq = self._variants(prompt, ids, boundary)[0]
        if whole.distinct or not seq:
            return InfgramNtdResult(whole.prompt, len(seq), len(seq), False, whole)
        k = min(int(self.engine.match_lengths(seq)[-1]), len(seq) - 1)  # the longest suffix that occurs at all
        while k:
            found = self.ntd(ids=seq[len(seq) - k :], top=top)
            if found.distinct:
                break
            k -= 1
        else:
            found = self.ntd(None, top=top)
        return InfgramNtdResult(whole.prompt, len(seq), k, True, found)

    def prob(
        self,
        prompt: str | None,
        next: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        next_ids: Sequence[int] | None = None,
        boundary: str = "word",
    ) -> ProbResult:
        """P(next | prompt) = count(prompt + next) / count(prompt); None when the prompt does not occur.

        `next` may be several tokens (then it is the chain-rule product). In word mode a next text that starts with
        a letter or digit gets its leading space, as it would have in running text.
        """
        if next_ids is not None:
            next_ids = as_ids(next_ids, "next_ids")
        else:
            if not next:
                raise InvalidQuery("prob needs a next token: give NEXT text or --next-ids")
            spaced = boundary == "word" and self.tokenizer.space_prefixed and next[:1].isalnum()
            next_ids = self.tokenizer.encode(" " + next if spaced else next)
        next_seq = tuple(int(i) for i in next_ids)
        check_ids(self.tokenizer, self.settings, next_seq)
        prompt_total = joint = 0
        variants = []
        for seq in self._variants(prompt, ids, boundary):
            c = self.engine.count(seq)
            prompt_total += c
            joint += self.engine.count(seq + next_seq)
            variants.append(self._variant(seq, c))
        return ProbResult(
            prompt=self._label(prompt, ids),
            next=self._label(next, None if next is not None else next_seq),
            next_tokens=tuple(self.tokenizer.token_text(i) for i in next_seq),
            prompt_count=prompt_total,
            count=joint,
            prob=joint / prompt_total if prompt_total else None,
            variants=tuple(variants),
            next_ids=next_seq,
        )

    def infgram(self, text: str | None = None, *, ids: Sequence[int] | None = None) -> InfgramResult:
        """For each token of a text: the longest n-gram ending there that occurs, and its ∞-gram probability (the
        n-gram one after the longest suffix of the preceding tokens that occurs)."""
        seq = list(as_ids(ids)) if ids is not None else self.tokenizer.encode(text or "")
        if len(seq) > self.settings.max_infgram_tokens:
            raise InvalidQuery(f"text has {len(seq)} tokens; the ∞-gram limit is {self.settings.max_infgram_tokens}")
        check_ids(self.tokenizer, self.settings, seq, limit=self.settings.max_infgram_tokens)
        lengths = self.engine.match_lengths(seq)
        out = []
        for i, token in enumerate(seq):
            suffix = int(lengths[i - 1]) if i else 0  # the longest suffix of seq[:i] that occurs
            prompt_count = self.engine.count(seq[i - suffix : i])
            joint = self.engine.count(seq[i - suffix : i + 1])
            out.append(
                InfgramToken(
                    id=token,
                    token=self.tokenizer.token_text(token),
                    match_length=int(lengths[i]),
                    suffix_length=suffix,
                    prompt_count=prompt_count,
                    count=joint,
                    prob=joint / prompt_count if prompt_count else 0.0,
                )
            )
        return InfgramResult(text=text if ids is None else self.tokenizer.decode(seq), tokens=tuple(out))

    # -- CNF document search -------------------------------------------------------------------------------------

    def _clauses(self, query: str, boundary: str, ids: Sequence[int] | None) -> list[list[tuple[int, ...]]]:
        """Per AND clause, every token sequence its OR terms stand for; with `ids`, that one sequence."""
        clauses = []
        for clause in [[None]] if ids is not None else parse_cnf(query, self.settings):
            seqs = []
            for term in clause:
                variants = self._variants(term, ids, boundary)
                if not any(variants):
                    raise InvalidQuery(f"empty term in {query!r}")
                seqs.extend(variants)
            clauses.append(seqs)
        return clauses

    def find(
        self,
        query: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        offset: int = 0,
        context: int | None = None,
        boundary: str = "word",
        order: str = "corpus",
        seed: int = 0,
    ) -> FindResult:
        """Documents containing every AND clause (any OR term of it), with snippets and matches: in corpus order, or
        with `order="random"` in the order of a permutation seeded by `seed` (the same seed, the same order).

        `ids` searches for that one token sequence instead of a text query.
        """
        limit = check_int("limit", self.settings.find_limit if limit is None else limit)
        context = check_int("context", self.settings.context_tokens if context is None else context)
        offset = check_int("offset", offset)
        clauses, found = self._find_cnf(query, ids, boundary)
        documents = _ordered(found.documents, order, seed)
        every_seq = [seq for seqs in clauses for seq in seqs]
        hits = []
        for doc in documents[offset : offset + limit].tolist():
            tokens = self.engine.document_tokens(doc)
            spans = self.engine.locate(doc, every_seq, limit=200, tokens=tokens)
            hits.append(
                DocumentHit(
                    doc=doc,
                    id=self.documents.id(doc),
                    file=self.documents.file(doc),
                    row=self.documents.row(doc),
                    snippet=self.snippet(tokens, spans[0], context),
                    matches=self._matches(tokens, spans),
                )
            )
        described = tuple(
            tuple(self._variant(seq, c) for seq, c in zip(seqs, counts)) for seqs, counts in zip(clauses, found.counts)
        )
        return FindResult(self._label(query, ids), described, len(found.documents), found.approx, offset, tuple(hits))

    def matching_documents(
        self,
        query: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        boundary: str = "word",
        order: str = "corpus",
        seed: int = 0,
    ) -> tuple[np.ndarray, bool]:
        """Every document number `find` would list, in its order, without snippets; and whether it is `approx`."""
        found = self._find_cnf(query, ids, boundary)[1]
        return _ordered(found.documents, order, seed), found.approx

    def _find_cnf(self, query: str | None, ids: Sequence[int] | None, boundary: str):
        clauses = self._clauses(query or "", boundary, ids)
        return clauses, self.engine.find_cnf(clauses, self.settings.max_clause_freq)

    def locate(
        self, doc: int, query: str, *, cnf: bool = True, boundary: str = "word", limit: int = 1000
    ) -> tuple[Match, ...]:
        """Where the query's n-grams (every term of a CNF query, or the whole text) occur inside document `doc`;
        at most `limit` matches."""
        terms = [t for clause in parse_cnf(query, self.settings) for t in clause] if cnf else [query]
        seqs = [seq for term in terms for seq in self._variants(term, None, boundary)]
        tokens = self.document_tokens(doc)
        return self._matches(tokens, self.engine.locate(doc, seqs, limit, tokens=tokens))

    def snippet(self, tokens: np.ndarray, match: tuple[int, int], context: int) -> Snippet:
        """Keyword in context, cut at whole characters: a byte-level token can hold part of a character, so the
        match grows to the whole characters it touches and a partial character at either outer edge is dropped."""
        a, b = match
        lo = max(0, a - context - 3)  # 3 tokens more each side complete any character (4 bytes at most)
        pieces = [self.tokenizer.token_bytes(int(t)) for t in tokens[lo : b + context + 3]]
        ends = np.cumsum([0] + [len(p) for p in pieces]).tolist()
        data = b"".join(pieces)
        start, stop = ends[a - lo], ends[b - lo]
        while start > 0 and _inside(data, start):
            start -= 1
        while _inside(data, stop):
            stop += 1
        first = min(start, ends[max(0, a - context) - lo])
        last = max(stop, ends[min(len(tokens), b + context) - lo])
        while first < start and _inside(data, first):
            first += 1
        while last > stop and _inside(data, last):
            last -= 1
        parts = ((first, start), (start, stop), (stop, last))
        return Snippet(*(data[i:j].decode("utf-8", errors="replace") for i, j in parts))

    def _matches(self, tokens: np.ndarray, spans: list[tuple[int, int]]) -> tuple[Match, ...]:
        if not spans:
            return ()
        # only as far as needed: documents can be huge
        chars = self.tokenizer.char_offsets(tokens[: max(b for _, b in spans)])
        return tuple(Match(a, b, int(chars[a]), int(chars[b])) for a, b in spans)

    # -- documents ----------------------------------------------------------------------------------------------

    def document(self, doc: int) -> Document:
        """The whole text and metadata of document `doc`, read back from its Parquet shard."""
        return self.documents.read(doc)

    def document_id(self, doc: int) -> str | None:
        return self.documents.id(doc)

    def document_tokens(self, doc: int) -> np.ndarray:
        return self.engine.document_tokens(doc)

    # -- full-text search (Tantivy BM25) -------------------------------------------------------------------------

    @cached_property
    def fulltext(self) -> Fulltext:
        spec = self.manifest.fulltext
        if spec is None:
            raise InspectorError(f"index at {self.path} was built with --no-fulltext: rebuild it without that flag")
        return Fulltext(self.build / FULLTEXT, list(spec.fields), spec.stem, spec.terms)

    def filter_columns(self) -> dict[str, str]:
        """Columns usable in `where` filters, with their kind (int, float or str; u64 columns say int): the metadata
        fields of the full-text index, then the catalog's numeric quality signals (`q_dup_span_frac`,
        `heuristic_score`, ...: filtered through the catalog, not sortable)."""
        fields = {c: "int" if s.kind == "uint" else s.kind for c, s in self.fulltext.specs.items()}
        return {**fields, **{c: "float" for c in self._signal_filters() if c not in fields}}

    def sort_columns(self) -> list[str]:
        """The numeric columns search can order by: the full-text index's numeric metadata fields."""
        return [c for c, s in self.fulltext.specs.items() if s.kind != "str"]

    def _signal_filters(self) -> list[str]:
        catalog = self.catalog
        return [c for c in catalog.signal_columns() if catalog.kind(c) == "number"]

    def search(
        self,
        query: str,
        *,
        where: str | None = None,
        filters: list[tuple[str, str, object]] | None = None,
        limit: int = 10,
        offset: int = 0,
        snippet_chars: int = 240,
        sort: str = "",
    ) -> SearchResult:
        """Ranked documents (BM25) for a query in Tantivy syntax, filtered by metadata.

        `where` is text (`quality >= 0.5 AND source = 'web'`), `filters` the same as (column, op, value) triples.
        `sort` orders by a numeric column instead of relevance ("quality", or "-quality" for the highest first; the
        hits' scores are then NaN).
        Bad syntax never raises: what was ignored comes back in `warnings`.
        """
        limits = self.settings
        limit, offset = check_int("limit", limit), check_int("offset", offset)
        snippet_chars = check_int("snippet_chars", snippet_chars, 1)
        if not 1 <= limit <= limits.max_search_limit:
            raise InvalidQuery(f"limit must be between 1 and {limits.max_search_limit:,}, not {limit:,}")
        if not 0 <= offset <= limits.max_search_offset:
            raise InvalidQuery(f"offset must be between 0 and {limits.max_search_offset:,}, not {offset:,}")
        check_query_text(query, limits, "search query")
        if where:
            check_query_text(where, limits, "filter")
        conditions = [*(parse_where(where) if where else []), *(filters or [])]
        engine = self.fulltext
        signals = set(self._signal_filters()) - set(engine.specs)
        parsed, warnings = engine.parse(query, [c for c in conditions if c[0] not in signals])
        if any(c[0] in signals for c in conditions):  # the catalog's documents passing them, as a filter on `doc`
            passing = self.catalog.docs_where([c for c in conditions if c[0] in signals])
            parsed = engine.within(parsed, passing, self.n_documents)
        total, found = engine.search(parsed, limit, offset, sort)
        hits = []
        for doc, score in found:
            document = self.document(doc)
            head = document.text[: limits.snippet_source_chars]
            fragment, marks = engine.highlight(parsed, query, head, snippet_chars)
            snippet = document.text[fragment[0] : fragment[1]]
            local = tuple((a - fragment[0], b - fragment[0]) for a, b in marks)
            hits.append(
                SearchHit(
                    doc=doc,
                    score=round(score, 4),
                    id=document.id,
                    file=document.file,
                    row=document.row,
                    metadata=document.metadata,
                    snippet=snippet,
                    highlights=local,
                    snippet_html=highlight_html(snippet, local),
                )
            )
        return SearchResult(
            query=query,
            filters=tuple((c, o, str(v)) for c, o, v in conditions),
            total=total,
            offset=offset,
            hits=tuple(hits),
            warnings=tuple(warnings),
        )

    def search_highlights(self, text: str, query: str) -> tuple[tuple[int, int], ...]:
        """Character ranges of what the search query matches anywhere in `text` (a document's, already read): its
        terms, and its phrases as one range each where their words stand together."""
        check_query_text(query, self.settings, "search query")
        parsed, _ = self.fulltext.parse(query, [])
        return tuple(self.fulltext.match_spans(parsed, query, text))

    # -- corpus statistics (DuckDB catalog) ---------------------------------------------------------------------

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.build / CATALOG)

    def stats(self, bins: int = 30, max_facet_values: int = 50) -> CorpusStats:
        """Documents and tokens per file, per value of each low-cardinality text column and of each true/false
        column; distributions of document length and of every numeric metadata column; the metadata columns left
        out (nested, binary, ...) and why."""
        catalog = self.catalog
        facets = {}
        for column in catalog.text_columns():
            if catalog.distinct_count(column) <= min(max_facet_values, max(1, self.n_documents - 1)):
                facets[column] = tuple(GroupCount(v, n, t) for v, n, t in catalog.group_counts(column))
        for column in catalog.boolean_columns():
            facets[column] = tuple(GroupCount(v, n, t) for v, n, t in catalog.group_counts(column))
        distributions = {
            column: _distribution(column, catalog.values(column), bins)
            for column in ["tokens", "chars", *catalog.numeric_columns()]
            # not every rule's value: the overall score and the duplication signal (Search's sliders use these)
            if column not in catalog.signal_columns() or column in ("heuristic_score", DUPLICATION_SIGNAL)
        }
        return CorpusStats(
            documents=self.n_documents,
            tokens=self.n_tokens,
            per_file=tuple(GroupCount(p, n, t) for p, n, t in catalog.per_file()),
            facets=facets,
            distributions=distributions,
            skipped=catalog.skipped_columns(),
        )

    # -- facts --------------------------------------------------------------------------------------------------

    def info(self) -> IndexInfo:
        m = self.manifest
        on_disk = sum(f.size for f in m.files.values())
        ngram = sum(f.size for name, f in m.files.items() if name.startswith(("shard-", DOCUMENTS)))
        return IndexInfo(
            path=str(self.path),
            build=self.build.name,
            created=m.created,
            tokenizer=m.tokenizer.kind,
            documents=self.n_documents,
            tokens=self.n_tokens,
            empty_skipped=m.empty_skipped,
            files=tuple(s.path for s in m.sources),
            shards=tuple(ShardInfo(s.name, s.documents, s.tokens) for s in m.shards),
            bytes_on_disk=on_disk,
            bytes_per_token=round(on_disk / self.n_tokens, 3) if self.n_tokens else 0.0,
            ngram_bytes_per_token=round(ngram / self.n_tokens, 3) if self.n_tokens else 0.0,
            text_column=m.text_column,
            id_column=m.id_column,
            changed_sources=self.changed_sources,
        )


ORDERS = ("corpus", "random")


def _ordered(documents: np.ndarray, order: str, seed: int) -> np.ndarray:
    """Matching document numbers in corpus order, or shuffled by `seed`: sorted by splitmix64(splitmix64(seed) ^ doc),
    a fixed formula (not a NumPy generator, whose streams may change between versions), so a URL gives the same order
    on any machine."""
    if order not in ORDERS:
        raise InvalidQuery(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    seed = check_int("seed", seed)
    if order == "corpus":
        return documents
    mixed = _splitmix64(np.asarray(documents, np.uint64) ^ _splitmix64(np.array([seed % 2**64], np.uint64))[0])
    return documents[np.argsort(mixed, kind="stable")]


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Steele, Lea & Flood's SplitMix64 finaliser, element-wise (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _inside(data: bytes, i: int) -> bool:
    """Whether byte offset i of UTF-8 `data` falls inside a character (a continuation byte starts there); the end
    counts as a boundary."""
    return i < len(data) and data[i] & 0xC0 == 0x80


def _distribution(column: str, values: np.ndarray, bins: int) -> Distribution:
    """Of the finite values (NaN and ±inf counted apart). Where max - min overflows (values near ±1.8e308) the bins
    and quantiles are taken of the halved values (exact, for any normal float) and doubled back."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    non_finite = int(len(values) - finite.sum())
    values = values[finite]
    if not len(values):
        return Distribution(column, 0, None, None, None, {}, (), (), non_finite)
    lo, hi = float(values.min()), float(values.max())
    with np.errstate(over="ignore"):
        scale = 1.0 if math.isfinite(hi - lo) else 2.0
    counts, edges = np.histogram(values / scale, bins=bins)
    quantiles = {str(q): float(np.quantile(values / scale, q)) * scale for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)}
    return Distribution(
        column=column,
        count=len(values),
        min=lo,
        max=hi,
        mean=_mean(values),
        quantiles=quantiles,
        bin_edges=tuple(float(e) * scale for e in edges),
        bin_counts=tuple(int(c) for c in counts),
        non_finite=non_finite,
    )


def _mean(values: np.ndarray) -> float:
    """The mean of finite doubles, right where they cancel (1e308, -1e308 and 0.5: NumPy's sum says 0) or their sum
    overflows: NumPy's pairwise sum where they do not cancel (its error is then within ~1e-11 of the mean), else
    math.fsum (exact) of the values scaled down by a power of two (exact too) so that no partial sum overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        total, mass = float(np.sum(values)), float(np.sum(np.abs(values)))
    if math.isfinite(mass) and mass <= 1000 * abs(total):
        return total / len(values)
    scale = 2.0 ** math.ceil(math.log2(len(values)))
    return math.fsum(values / scale) / len(values) * scale


def open_index(
    path: str | Path,
    *,
    settings: Settings = DEFAULT,
    verify: bool | None = None,
    ray: str | bool | None = None,
    ray_actors: int | None = None,
) -> CorpusIndex:
    """Open an index folder; raises IndexMissing, or IndexCorrupt when its checks fail ("rebuild it").

    `verify=True` reads every file against its checksum; the default checks sizes and modification times, and the
    checksum of any file whose time changed (see `index.storage`).
    `ray`: a Ray address ("auto", "HOST:PORT"; True: a local instance or RAY_ADDRESS) to answer count/find and their
    batch forms from `ray_actors` Ray actors (default: one per CPU of the cluster), each holding a contiguous group
    of this build's shards; with fewer shards than actors, a group's actors split a batch's rows
    (`inspector.ray_engine`; needs the `ray` extra).
    """
    return CorpusIndex(path, settings=settings, verify=verify, ray=ray, ray_actors=ray_actors)


def live_build_name(path: str | Path) -> str:
    """The name of the build an index folder serves now ('' when it has none): a cheap way to notice a rebuild."""
    return storage.current_name(Path(path)) or ""
