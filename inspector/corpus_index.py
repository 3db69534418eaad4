"""An opened index folder: the Python API that the CLI and the app are thin faces over."""
from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from index import storage
from index.catalog import Catalog
from index.errors import IndexCorrupt, InspectorError, InvalidQuery
from index.fulltext import FieldSpec, Fulltext
from index.suffix_array import Shard

from .corpus import RowReader
from .highlight import highlight_html
from .ngram import NgramQueries
from .query import parse_cnf, parse_where
from .results import (
    CorpusStats,
    Distribution,
    Document,
    DocumentHit,
    FindResult,
    GroupCount,
    IndexInfo,
    Match,
    SearchHit,
    SearchResult,
    ShardInfo,
)
from .settings import DEFAULT, Settings
from .tokenizer import Tokenizer, load_tokenizer


class CorpusIndex(NgramQueries):
    """Open with `open_index(path)`; every query method is exact unless its answer says `approx`."""

    def __init__(self, path: str | Path, *, settings: Settings = DEFAULT, verify: bool | None = None):
        self.path = Path(path)
        self.settings = settings
        self.build = storage.live_build(self.path)
        self.manifest = storage.read_manifest(self.build, verify=verify, verify_bytes=settings.verify_bytes)
        width = self.manifest["width"]
        n_symbols = self.manifest["tokenizer"]["max_id"] + 1
        self.shards = [
            Shard(self.build / s["name"], width, s["tokens"], n_symbols) for s in self.manifest["shards"]
        ]
        self.shard_doc_lo = [s["doc_lo"] for s in self.manifest["shards"]]
        self.n_tokens = int(self.manifest["tokens"])
        self.n_documents = int(self.manifest["documents"])
        try:
            table = feather.read_table(pa.memory_map(str(self.build / "documents.arrow")), memory_map=True)
        except (pa.ArrowException, OSError) as exc:
            raise IndexCorrupt(f"index at {self.path} is corrupt or incomplete ({exc}): rebuild it") from None
        if table.num_rows != self.n_documents:
            raise IndexCorrupt(f"index at {self.path} is corrupt or incomplete (document table): rebuild it")
        self._doc_file, self._doc_row, self._doc_tokens, self._doc_shard = (
            _mapped(table.column(name)) for name in ("file", "row", "tokens", "shard")
        )
        self._doc_id = table.column("id")
        self.sources = self.manifest["sources"]
        self._rows = RowReader(self.sources)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """Loaded on first use (the GPT-2 one takes ~0.3 s), and checked against the one that built the index."""
        return load_tokenizer(self.manifest["tokenizer"], self.build)

    # -- documents ----------------------------------------------------------------------------------------------

    def _check_doc(self, doc: int) -> int:
        doc = int(doc)
        if not 0 <= doc < self.n_documents:
            raise InvalidQuery(f"document {doc} does not exist: this index has documents 0..{self.n_documents - 1}")
        return doc

    def _locate(self, doc: int) -> tuple[int, int]:
        shard = int(self._doc_shard[doc])
        return shard, doc - self.shard_doc_lo[shard]

    def document_id(self, doc: int) -> str | None:
        return self._doc_id[self._check_doc(doc)].as_py()

    def document(self, doc: int) -> Document:
        """The whole text and metadata of document `doc`, read back from its Parquet shard."""
        doc = self._check_doc(doc)
        file_index, row = int(self._doc_file[doc]), int(self._doc_row[doc])
        record = self._rows.read(file_index, row)
        text = record.pop(self.manifest["text_column"])
        return Document(
            doc=doc,
            id=self._doc_id[doc].as_py(),
            file=self.sources[file_index]["path"],
            row=row,
            tokens=int(self._doc_tokens[doc]),
            text=text,
            metadata={k: _plain(v) for k, v in record.items()},
        )

    def document_tokens(self, doc: int) -> np.ndarray:
        shard, local = self._locate(self._check_doc(doc))
        return self.shards[shard].document_tokens(local)

    # -- CNF search ---------------------------------------------------------------------------------------------

    def find(
        self,
        query: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        offset: int = 0,
        context: int | None = None,
        boundary: str = "word",
    ) -> FindResult:
        """Documents containing every AND clause (any OR term of it), in corpus order, with snippets and matches.

        `ids` searches for that one token sequence instead of a text query.
        """
        limit = self.settings.find_limit if limit is None else limit
        context = self.settings.context_tokens if context is None else context
        if limit < 0 or offset < 0 or context < 0:
            raise InvalidQuery("limit, offset and context must not be negative")
        clauses, docs, spans, approx = self._match_documents(query or "", boundary, ids)
        hits = []
        for doc in docs[offset : offset + limit].tolist():
            shard, local = self._locate(doc)
            matches, tokens = self._hit_matches(shard, local, spans)
            file_index = int(self._doc_file[doc])
            hits.append(
                DocumentHit(
                    doc=doc,
                    id=self._doc_id[doc].as_py(),
                    file=self.sources[file_index]["path"],
                    row=int(self._doc_row[doc]),
                    snippet=self._snippet(tokens, matches[0], context),
                    matches=self._matches(tokens, matches),
                )
            )
        return FindResult(self._label(query, ids), clauses, len(docs), approx, offset, tuple(hits))

    def locate(
        self, doc: int, query: str, *, cnf: bool = True, boundary: str = "word", limit: int = 1000
    ) -> tuple[Match, ...]:
        """Where the query's n-grams (every term of a CNF query, or the whole text) occur inside document `doc`.

        Candidates are the positions of each sequence's first token, narrowed token by token, so a very long
        document costs one pass per query token; at most `limit` matches come back.
        """
        tokens = self.document_tokens(doc)
        terms = [t for clause in parse_cnf(query, self.settings) for t in clause] if cnf else [query]
        spans: set[tuple[int, int]] = set()
        for term in terms:
            for seq in self._variants(term, None, boundary):
                n = len(seq)
                if not n or n > len(tokens):
                    continue
                starts = np.nonzero(tokens[: len(tokens) - n + 1] == seq[0])[0]
                for j in range(1, n):
                    starts = starts[tokens[starts + j] == seq[j]]
                spans.update((int(a), int(a) + n) for a in starts[:limit])
        return self._matches(tokens, sorted(spans)[:limit])

    # -- full-text search (Tantivy BM25) -------------------------------------------------------------------------

    @cached_property
    def fulltext(self) -> Fulltext:
        spec = self.manifest.get("fulltext")
        if not spec:
            raise InspectorError(f"index at {self.path} was built with --no-fulltext: rebuild it without that flag")
        return Fulltext(self.build / "fulltext", [FieldSpec(**f) for f in spec["fields"]], spec["stem"])

    def filter_columns(self) -> dict[str, str]:
        """Columns usable in `where` filters, with their kind (int, float or str)."""
        return {c: s.kind for c, s in self.fulltext.specs.items()}

    def search(
        self,
        query: str,
        *,
        where: str | None = None,
        filters: list[tuple[str, str, object]] | None = None,
        limit: int = 10,
        offset: int = 0,
        snippet_chars: int = 240,
    ) -> SearchResult:
        """Ranked documents (BM25) for a query in Tantivy syntax, filtered by metadata.

        `where` is text (`quality >= 0.5 AND source = 'web'`), `filters` the same as (column, op, value) triples.
        Bad syntax never raises: what was ignored comes back in `warnings`.
        """
        if limit < 0 or offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        conditions = [*(parse_where(where) if where else []), *(filters or [])]
        engine = self.fulltext
        parsed, warnings = engine.parse(query, conditions)
        total, found = engine.search(parsed, limit, offset)
        hits = []
        for doc, score in found:
            document = self.document(doc)
            fragment, marks = engine.highlight(parsed, document.text, snippet_chars)
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
        """Character ranges of the search query's matched terms anywhere in `text` (a document's, already read)."""
        parsed, _ = self.fulltext.parse(query, [])
        _, marks = self.fulltext.highlight(parsed, text, max(1, len(text)))
        return marks

    # -- corpus statistics (DuckDB catalog) ---------------------------------------------------------------------

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.build / "catalog.duckdb")

    def stats(self, bins: int = 30, max_facet_values: int = 50) -> CorpusStats:
        """Documents and tokens per file and per value of each low-cardinality text column; distributions of
        document length and of every numeric metadata column."""
        catalog = self.catalog
        facets = {}
        for column in catalog.text_columns():
            if catalog.distinct_count(column) <= min(max_facet_values, max(1, self.n_documents - 1)):
                facets[column] = tuple(GroupCount(v, n, t) for v, n, t in catalog.group_counts(column))
        distributions = {
            column: _distribution(column, catalog.values(column), bins)
            for column in ["tokens", "chars", *catalog.numeric_columns()]
        }
        return CorpusStats(
            documents=self.n_documents,
            tokens=self.n_tokens,
            per_file=tuple(GroupCount(p, n, t) for p, n, t in catalog.per_file()),
            facets=facets,
            distributions=distributions,
        )

    # -- facts --------------------------------------------------------------------------------------------------

    def info(self) -> IndexInfo:
        m = self.manifest
        on_disk = sum(f["size"] for f in m["files"].values())
        ngram = sum(f["size"] for name, f in m["files"].items() if name.startswith(("shard-", "documents.arrow")))
        return IndexInfo(
            path=str(self.path),
            created=m["created"],
            tokenizer=m["tokenizer"]["kind"],
            documents=self.n_documents,
            tokens=self.n_tokens,
            empty_skipped=m["empty_skipped"],
            files=tuple(s["path"] for s in self.sources),
            shards=tuple(ShardInfo(s["name"], s["documents"], s["tokens"]) for s in m["shards"]),
            bytes_on_disk=on_disk,
            bytes_per_token=round(on_disk / self.n_tokens, 3) if self.n_tokens else 0.0,
            ngram_bytes_per_token=round(ngram / self.n_tokens, 3) if self.n_tokens else 0.0,
            text_column=m["text_column"],
            id_column=m["id_column"],
        )


def _mapped(column: pa.ChunkedArray) -> np.ndarray:
    """A column as NumPy without a copy when it is one chunk (the build writes it so): it stays memory-mapped."""
    return column.chunk(0).to_numpy(zero_copy_only=True) if column.num_chunks == 1 else column.to_numpy()


def _distribution(column: str, values: np.ndarray, bins: int) -> Distribution:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return Distribution(column, 0, None, None, None, {}, (), ())
    counts, edges = np.histogram(values, bins=bins)
    quantiles = {str(q): float(np.quantile(values, q)) for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)}
    return Distribution(
        column=column,
        count=len(values),
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
        quantiles=quantiles,
        bin_edges=tuple(float(e) for e in edges),
        bin_counts=tuple(int(c) for c in counts),
    )


def _plain(value):
    """Metadata values as JSON-friendly Python values (dates and decimals as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def open_index(path: str | Path, *, settings: Settings = DEFAULT, verify: bool | None = None) -> CorpusIndex:
    """Open an index folder; raises IndexMissing, or IndexCorrupt when its checks fail ("rebuild it")."""
    return CorpusIndex(path, settings=settings, verify=verify)
