"""The Tantivy full-text index: BM25 over document text, with metadata as fast fields for filters and counts.

Texts are indexed (with positions, for phrase queries) but not stored: a hit carries only its `doc` number and the
caller fetches the text back from the Parquet shard. Numeric metadata become fast numeric fields (range filters);
string metadata become raw fast fields (exact filters and counts). Field names are the column names when Tantivy
accepts them, else a sanitised form; the mapping is kept in the manifest.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import IndexCorrupt, InvalidQuery

RESERVED = {"text", "doc"}
_MAX_RAW = 256  # characters of a string value kept for filtering


def tantivy():
    import tantivy as module

    return module


@dataclass(frozen=True, slots=True)
class FieldSpec:
    column: str
    field: str
    kind: str  # "int", "float" or "str"


def field_specs(schema: pa.Schema) -> list[FieldSpec]:
    """Filterable metadata columns of a Parquet schema: numbers and strings (dates become strings)."""
    specs, used = [], set(RESERVED)
    for column in schema:
        t = column.type
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            kind = "int"
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            kind = "float"
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_temporal(t):
            kind = "str"
        else:
            continue
        field = re.sub(r"[^A-Za-z0-9_]", "_", column.name) or "column"
        while field in used or field[0].isdigit():
            field = "m_" + field
        used.add(field)
        specs.append(FieldSpec(column.name, field, kind))
    return specs


def _schema(specs: Sequence[FieldSpec], stem: bool):
    t = tantivy()
    builder = t.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem" if stem else "default", index_option="position")
    builder.add_unsigned_field("doc", stored=True, indexed=True, fast=True)
    for spec in specs:
        if spec.kind == "int":
            builder.add_integer_field(spec.field, indexed=True, fast=True)
        elif spec.kind == "float":
            builder.add_float_field(spec.field, indexed=True, fast=True)
        else:
            builder.add_text_field(spec.field, tokenizer_name="raw", fast=True, index_option="basic")
    return builder.build()


class FulltextWriter:
    """Adds documents in batches from the build's single pass over the corpus."""

    def __init__(self, folder: Path, specs: Sequence[FieldSpec], stem: bool):
        folder.mkdir(parents=True)
        self.specs = list(specs)
        self.schema = _schema(self.specs, stem)
        self.index = tantivy().Index(self.schema, str(folder))
        self.writer = self.index.writer(256_000_000, 2)

    def add(self, docs: Sequence[int], texts: Sequence[str], columns: dict[str, list]) -> None:
        t = tantivy()
        for i, (doc, text) in enumerate(zip(docs, texts)):
            values = {"text": text, "doc": doc}
            for spec in self.specs:
                column = columns.get(spec.column)
                value = None if column is None else column[i]
                if value is None:
                    continue
                if spec.kind == "int":
                    values[spec.field] = int(value)
                elif spec.kind == "float":
                    if value == value:  # NaN cannot be a range bound
                        values[spec.field] = float(value)
                else:
                    values[spec.field] = str(value)[:_MAX_RAW]
            self.writer.add_document(t.Document.from_dict(values, self.schema))

    def commit(self) -> None:
        self.writer.commit()
        self.writer.wait_merging_threads()


class Fulltext:
    """An opened Tantivy index; searches return doc numbers, scores and highlight ranges."""

    def __init__(self, folder: Path, specs: Sequence[FieldSpec], stem: bool):
        try:
            self.index = tantivy().Index.open(str(folder))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"full-text index {folder} is corrupt or incomplete ({exc}): rebuild it") from None
        self.schema = self.index.schema
        self.specs = {s.column: s for s in specs}
        self.stem = stem

    def parse(self, query: str, filters: Sequence[tuple[str, str, object]]):
        """A Tantivy query from user syntax (lenient) and filters; returns (query, what was ignored)."""
        t = tantivy()
        warnings: list[str] = []
        clauses = []
        if query.strip():
            try:
                parsed, errors = self.index.parse_query_lenient(query, ["text"])
            except BaseException as exc:  # noqa: BLE001 - a Rust panic surfaces as a BaseException
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise InvalidQuery(f"search query {query!r} could not be parsed ({exc})") from None
            warnings += [f"ignored: {e}" for e in errors]
            clauses.append((t.Occur.Must, parsed))
        for column, op, value in filters:
            clauses.append(self._filter(column, op, value))
        if not clauses:
            return t.Query.all_query(), warnings
        if all(occur == t.Occur.MustNot for occur, _ in clauses):
            clauses.append((t.Occur.Must, t.Query.all_query()))
        return t.Query.boolean_query(clauses), warnings

    def _filter(self, column: str, op: str, value):
        t = tantivy()
        spec = self.specs.get(column)
        if spec is None:
            raise InvalidQuery(f"no filterable column {column!r}; the columns are: {', '.join(sorted(self.specs)) or 'none'}")
        if op == "in":  # any of several values: a disjunction of equality filters
            values = list(value)
            if not values:
                return t.Occur.Must, t.Query.empty_query()
            parts = [self._filter(column, "=", v)[1] for v in values]
            return t.Occur.Must, t.Query.boolean_query([(t.Occur.Should, q) for q in parts])
        if spec.kind == "str":
            if op not in ("=", "!="):
                raise InvalidQuery(f"column {column!r} holds text: compare it with = or !=")
            query = t.Query.term_query(self.schema, spec.field, str(value))
        else:
            try:
                number = int(value) if spec.kind == "int" and float(value).is_integer() else float(value)
            except (TypeError, ValueError):
                raise InvalidQuery(f"column {column!r} holds numbers: {value!r} is not one") from None
            if spec.kind == "int" and isinstance(number, float):
                raise InvalidQuery(f"column {column!r} holds integers: {value!r} is not one")
            kind = t.FieldType.Integer if spec.kind == "int" else t.FieldType.Float
            lower = number if op in (">", ">=", "=", "!=") else None
            upper = number if op in ("<", "<=", "=", "!=") else None
            query = t.Query.range_query(
                self.schema, spec.field, kind, lower, upper, op != ">" or lower is None, op != "<" or upper is None
            )
        return (t.Occur.MustNot if op == "!=" else t.Occur.Must), query

    def search(self, query, limit: int, offset: int) -> tuple[int, list[tuple[int, float]]]:
        searcher = self.index.searcher()
        try:
            result = searcher.search(query, limit, count=True, offset=offset)
        except BaseException as exc:  # noqa: BLE001 - Rust panics
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise InvalidQuery(f"the search engine rejected the query ({exc})") from None
        hits = [(int(searcher.doc(address)["doc"][0]), float(score)) for score, address in result.hits]
        return int(result.count or 0), hits

    def highlight(self, query, text: str, max_chars: int) -> tuple[tuple[int, int], tuple[tuple[int, int], ...]]:
        """The best fragment of `text` for `query` and the matched terms in it, as character ranges of `text`."""
        t = tantivy()
        generator = t.SnippetGenerator.create(self.index.searcher(), query, self.schema, "text")
        generator.set_max_num_chars(max_chars)
        snippet = generator.snippet_from_doc(t.Document(text=text))
        data = np.frombuffer(text.encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
        # characters before each byte offset, counted once for the whole text (not per offset: that was quadratic)
        chars_before = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])

        def char(byte_offset: int) -> int:
            return int(chars_before[byte_offset])

        span = snippet.fragment_range()
        fragment = (char(span.start), char(span.end)) if span.end > span.start else (0, min(len(text), max_chars))
        base = span.start
        marks = tuple((char(base + h.start), char(base + h.end)) for h in snippet.highlighted())
        return fragment, marks

    def counts(self, column: str, query=None, size: int = 50) -> list[tuple[str, int]]:
        """Documents per value of a string column (among those matching `query`)."""
        spec = self.specs[column]
        t = tantivy()
        agg = {"values": {"terms": {"field": spec.field, "size": size}}}
        result = self.index.searcher().aggregate(query or t.Query.all_query(), agg)
        return [(b["key"], int(b["doc_count"])) for b in result["values"]["buckets"]]
