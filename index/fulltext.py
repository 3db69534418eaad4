"""The Tantivy full-text index: BM25 over document text, with metadata as fast fields for filters and counts.

Texts are indexed (with positions, for phrase queries) but not stored: a hit carries only its `doc` number and the
caller fetches the text back from the Parquet shard. Numeric metadata become fast numeric fields (range filters);
string metadata become raw fast fields (exact filters and counts). Field names are the column names when Tantivy
accepts them, else a sanitised form; the mapping is kept in the manifest.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import IndexCorrupt, InspectorError, InvalidQuery

RESERVED = {"text", "doc"}
_INT_RANGE = {"int": (-(2**63), 2**63 - 1), "uint": (0, 2**64 - 1)}
_MAX_RAW = 256  # characters of a string value kept for filtering


def tantivy():
    import tantivy as module

    return module


@dataclass(frozen=True, slots=True)
class FieldSpec:
    column: str
    field: str
    kind: str  # "int" (i64), "uint" (u64), "float" or "str"


def field_specs(schema: pa.Schema) -> list[FieldSpec]:
    """Filterable metadata columns of a Parquet schema: numbers and strings (dates become strings)."""
    specs, used = [], set(RESERVED)
    for column in schema:
        t = column.type
        if pa.types.is_unsigned_integer(t):  # u64 values past 2**63 do not fit Tantivy's i64 fields
            kind = "uint"
        elif pa.types.is_integer(t) or pa.types.is_boolean(t):
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
        elif spec.kind == "uint":
            builder.add_unsigned_field(spec.field, indexed=True, fast=True)
        elif spec.kind == "float":
            builder.add_float_field(spec.field, indexed=True, fast=True)
        else:
            builder.add_text_field(spec.field, tokenizer_name="raw", fast=True, index_option="basic")
    return builder.build()


def _number(column: str, kind: str, value) -> int | float:
    """A filter value as the column's kind of number: integers exactly (any size, never through a float)."""
    text = str(value).strip()
    try:
        if kind != "float":
            try:
                return int(text)
            except ValueError:
                number = float(text)
                if not number.is_integer():
                    raise InvalidQuery(f"column {column!r} holds integers: {value!r} is not one") from None
                return int(number)
        number = float(text)
    except (ValueError, OverflowError):
        raise InvalidQuery(f"column {column!r} holds numbers: {value!r} is not one") from None
    if math.isnan(number):
        raise InvalidQuery(f"column {column!r}: NaN cannot be compared; give a number")
    return number


class FulltextWriter:
    """Adds documents in batches from the build's single pass over the corpus."""

    def __init__(self, folder: Path, specs: Sequence[FieldSpec], stem: bool):
        folder.mkdir(parents=True)
        self.folder = folder
        self.specs = list(specs)
        self.schema = _schema(self.specs, stem)
        with self._writing():
            self.index = tantivy().Index(self.schema, str(folder))
            self.writer = self.index.writer(256_000_000, 2)

    @contextmanager
    def _writing(self):
        """Tantivy reports a failed write (disk full, file too large) as a ValueError: one line naming the index."""
        try:
            yield
        except ValueError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InspectorError(
                f"build failed writing the full-text index {self.folder}: {reason}; the previous index, if any, is kept"
            ) from None

    def add(self, docs: Sequence[int], texts: Sequence[str], columns: dict[str, list]) -> None:
        t = tantivy()
        for i, (doc, text) in enumerate(zip(docs, texts)):
            values = {"text": text, "doc": doc}
            for spec in self.specs:
                column = columns.get(spec.column)
                value = None if column is None else column[i]
                if value is None:
                    continue
                if spec.kind in ("int", "uint"):
                    values[spec.field] = int(value)
                elif spec.kind == "float":
                    if value == value:  # NaN cannot be a range bound
                        values[spec.field] = float(value)
                else:
                    values[spec.field] = str(value)[:_MAX_RAW]
            with self._writing():
                self.writer.add_document(t.Document.from_dict(values, self.schema))

    def commit(self) -> None:
        with self._writing():
            self.writer.commit()
            self.writer.wait_merging_threads()

    def abort(self) -> None:
        """Drop what was added and stop Tantivy's threads, so a failed build's folder can be removed at once (its
        writer threads would otherwise go on writing into it)."""
        try:
            self.writer.rollback()
            self.writer.wait_merging_threads()
        except (ValueError, RuntimeError):
            pass


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
            number = _number(column, spec.kind, value)
            lower = number if op in (">", ">=", "=", "!=") else None
            upper = number if op in ("<", "<=", "=", "!=") else None
            low_in, high_in = op != ">" or lower is None, op != "<" or upper is None
            least, most = _INT_RANGE.get(spec.kind, (None, None))
            if least is not None and ((lower is not None and lower > most) or (upper is not None and upper < least)):
                query = t.Query.empty_query()  # no value the column can hold satisfies it
            else:
                if least is not None and lower is not None and lower < least:  # a bound past the type's range
                    lower, low_in = least, True
                if most is not None and upper is not None and upper > most:
                    upper, high_in = most, True
                kind = {"int": t.FieldType.Integer, "uint": t.FieldType.Unsigned}.get(spec.kind, t.FieldType.Float)
                query = t.Query.range_query(self.schema, spec.field, kind, lower, upper, low_in, high_in)
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

    def matching_docs(self, query, limit: int) -> np.ndarray:
        """Every document `query` matches, as sorted doc numbers (int64); InvalidQuery when more than `limit` match.

        Counted first, then read in one pass ordered by the `doc` fast field (no stored document is fetched)."""
        t = tantivy()
        searcher = self.index.searcher()
        try:
            total = int(searcher.search(query, 1, count=True).count or 0)
            if total > limit:
                raise InvalidQuery(
                    f"the full-text query matches {total:,} documents; the limit is {limit:,}: narrow the query"
                )
            if not total:
                return np.zeros(0, np.int64)
            result = searcher.search(query, total, count=False, order_by_field="doc", order=t.Order.Asc)
        except InvalidQuery:
            raise
        except BaseException as exc:  # noqa: BLE001 - Rust panics
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise InvalidQuery(f"the search engine rejected the query ({exc})") from None
        return np.array([int(doc) for doc, _ in result.hits], dtype=np.int64)

    def highlight(self, query, text: str, max_chars: int) -> tuple[tuple[int, int], tuple[tuple[int, int], ...]]:
        """The best fragment of `text` for `query` and the matched terms in it, as character ranges of `text`."""
        t = tantivy()
        encoded = text.encode("utf-8", errors="surrogatepass")
        generator = t.SnippetGenerator.create(self.index.searcher(), query, self.schema, "text")
        # Tantivy counts a fragment's length in bytes, not characters: ask for the bytes max_chars characters take
        # here (all of them for the whole text, else this text's average), and cut the fragment to max_chars below
        whole = max_chars >= len(text)
        generator.set_max_num_chars(len(encoded) if whole else max(1, max_chars * len(encoded) // max(1, len(text))))
        snippet = generator.snippet_from_doc(t.Document(text=text))
        data = np.frombuffer(encoded, dtype=np.uint8)
        # characters before each byte offset, counted once for the whole text (not per offset: that was quadratic)
        chars_before = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])

        def char(byte_offset: int) -> int:
            return int(chars_before[byte_offset])

        span = snippet.fragment_range()
        fragment = (char(span.start), char(span.end)) if span.end > span.start else (0, min(len(text), max_chars))
        base = span.start
        fragment = (fragment[0], min(fragment[1], fragment[0] + max_chars))
        marks = tuple((char(base + h.start), char(base + h.end)) for h in snippet.highlighted())
        return fragment, tuple((a, b) for a, b in marks if b <= fragment[1])

    def counts(self, column: str, query=None, size: int = 50) -> list[tuple[str, int]]:
        """Documents per value of a string column (among those matching `query`)."""
        spec = self.specs[column]
        t = tantivy()
        agg = {"values": {"terms": {"field": spec.field, "size": size}}}
        result = self.index.searcher().aggregate(query or t.Query.all_query(), agg)
        return [(b["key"], int(b["doc_count"])) for b in result["values"]["buckets"]]
