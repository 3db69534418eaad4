"""The Tantivy full-text index: BM25 over document text, with metadata as fast fields for filters and counts.

Texts are indexed (with positions, for phrase queries) but not stored: a hit carries only its `doc` number and the
caller fetches the text back from the Parquet shard. Numeric metadata become fast numeric fields (range filters);
string metadata become raw fast fields (exact filters and counts). Field names are the column names when Tantivy
accepts them, else a sanitised form; the mapping is kept in the manifest.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import IndexCorrupt, InspectorError, InvalidQuery

RESERVED = {"text", "text_cjk", "doc"}
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


def field_kind(t: pa.DataType) -> tuple[str | None, str]:
    """How a metadata column of Arrow type `t` is filtered: (kind, "") or (None, why it cannot be). A dictionary is
    its values; dates and times are filtered by their text."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_unsigned_integer(t):  # u64 values past 2**63 do not fit Tantivy's i64 fields
        return "uint", ""
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "int", ""
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float", ""
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
            or pa.types.is_temporal(t)):
        return "str", ""
    if pa.types.is_nested(t):
        return None, "nested"
    if pa.types.is_null(t):
        return None, "no values"
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return None, "binary"
    return None, "a type without filters"


def skipped_fields(schema: pa.Schema) -> list[str]:
    """The metadata columns no filter can take, each as `name (type): why` (nested, binary, ...): the build
    reports them."""
    return [f"{c.name} ({c.type}): {why}" for c in schema for kind, why in [field_kind(c.type)] if kind is None]


def field_specs(schema: pa.Schema) -> list[FieldSpec]:
    """Filterable metadata columns of a Parquet schema: numbers and strings (dates become strings)."""
    specs, used = [], set(RESERVED)
    for column in schema:
        kind, _ = field_kind(column.type)
        if kind is None:
            continue
        field = re.sub(r"[^A-Za-z0-9_]", "_", column.name) or "column"
        while field in used or field[0].isdigit():
            field = "m_" + field
        used.add(field)
        specs.append(FieldSpec(column.name, field, kind))
    return specs


#: how text is cut into terms (`inspector build --fulltext-tokenizer`). "words": runs of letters and digits
#: (Tantivy's `default`). "cjk": the same, except that every Chinese, Japanese or Korean character is a term of its
#: own, so a CJK word inside unsegmented text is found as a phrase of its characters (positions are kept). Tantivy's
#: regex tokenizer that does it is about 4x slower than its simple one, so only a document holding a CJK character
#: goes to the `text_cjk` field that uses it; the rest go to `text` as with "words", and a query asks both fields.
#: An index whose manifest does not name its tokenizer (built before the choice) is "words".
TOKENIZERS = ("cjk", "words")
DEFAULT_TOKENIZER = "cjk"
CJK_FIELD = "text_cjk"
_CJK = r"[[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\x{30FC}]&&[\p{Alphabetic}\p{N}]]"  # ー is in no one script
_CJK_TERMS = rf"{_CJK}|[[\p{{Alphabetic}}\p{{N}}]--{_CJK}]+"  # Tantivy's simple tokenizer, CJK characters apart
#: the Unicode blocks of those scripts, a superset (a document sent to `text_cjk` needlessly gets the same terms)
_CJK_BLOCKS = ((0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x3000, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
               (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x16FE0, 0x16FFF), (0x1AFF0, 0x1B16F),
               (0x20000, 0x3FFFF))


def _cjk_units() -> np.ndarray:
    """Per UTF-16 code unit, whether it is in a CJK block (a high surrogate: whether any of its 1,024 are)."""
    table = np.zeros(0x10000, dtype=bool)
    for low, high in _CJK_BLOCKS:
        if high < 0x10000:
            table[low : high + 1] = True
        else:
            table[0xD800 + ((low - 0x10000) >> 10) : 0xD800 + ((high - 0x10000) >> 10) + 1] = True
    return table


_CJK_UNITS = _cjk_units()


def has_cjk(text: str, chunk: int = 1 << 20) -> bool:
    """Whether `text` holds a character of a CJK block: a table look-up per UTF-16 unit, a million characters at a
    time (300 MB/s on non-ASCII English; a regex of the blocks: 70 MB/s)."""
    if text.isascii():
        return False
    for start in range(0, len(text), chunk):
        units = np.frombuffer(text[start : start + chunk].encode("utf-16-le", "surrogatepass"), dtype="<u2")
        if _CJK_UNITS[units].any():
            return True
    return False


def check_tokenizer(tokenizer: str) -> str:
    if tokenizer not in TOKENIZERS:
        raise InspectorError(f"the full-text tokenizer must be one of {', '.join(TOKENIZERS)}, not {tokenizer!r}")
    return tokenizer


def text_analyzer(tokenizer: str, stem: bool):
    """How a text (or a query) is cut into terms, for Tantivy to register and for us to mark a query's matches."""
    t = tantivy()
    cut = t.Tokenizer.simple() if tokenizer == "words" else t.Tokenizer.regex(_CJK_TERMS)
    builder = t.TextAnalyzerBuilder(cut).filter(t.Filter.remove_long(40)).filter(t.Filter.lowercase())
    return (builder.filter(t.Filter.stemmer("english")) if stem else builder).build()


def _cjk_analyzer_name(stem: bool) -> str:
    return "cjk_stem" if stem else "cjk"


def _register(index, tokenizer: str, stem: bool) -> None:
    if tokenizer == "cjk":
        index.register_tokenizer(_cjk_analyzer_name(stem), text_analyzer("cjk", stem))


def _schema(specs: Sequence[FieldSpec], stem: bool, tokenizer: str):
    t = tantivy()
    builder = t.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem" if stem else "default",
                           index_option="position")
    if tokenizer == "cjk":
        builder.add_text_field(CJK_FIELD, stored=False, tokenizer_name=_cjk_analyzer_name(stem),
                               index_option="position")
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


def filter_number(column: str, kind: str, value) -> int | float:
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

    def __init__(self, folder: Path, specs: Sequence[FieldSpec], stem: bool, threads: int = 2,
                 tokenizer: str = DEFAULT_TOKENIZER):
        folder.mkdir(parents=True)
        self.folder = folder
        self.specs = list(specs)
        self.schema = _schema(self.specs, stem, check_tokenizer(tokenizer))
        self.cjk = tokenizer == "cjk"
        with self._writing():
            self.index = tantivy().Index(self.schema, str(folder))
            _register(self.index, tokenizer, stem)
            self.writer = self.index.writer(128_000_000 * threads, threads)

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
            values = {CJK_FIELD if self.cjk and has_cjk(text) else "text": text, "doc": doc}
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


def join_indexes(parts: Sequence[Path], out: Path, link: Sequence[bool] = ()) -> None:
    """One Tantivy index in `out` holding the segments of `parts` (indexes of one schema, as build parts write
    them), in that order: each part's segment files are moved (or hard-linked where `link[i]`, for parts that belong
    to a live build) and one meta.json lists them all. Segments are immutable and BM25 statistics are summed over
    segments at search time, so the result answers exactly as one writer's index of the same documents."""
    out.mkdir(parents=True)
    metas = [json.loads((part / "meta.json").read_text()) for part in parts]
    segments = []
    for i, (part, meta) in enumerate(zip(parts, metas)):
        if meta["schema"] != metas[0]["schema"]:
            raise InspectorError(f"full-text index {part} has another schema than {parts[0]}: rebuild the index")
        for segment in meta["segments"]:
            if segment.get("deletes"):
                raise InspectorError(f"full-text index {part} has deleted documents: rebuild the index")
            for file in sorted(part.glob(segment["segment_id"].replace("-", "") + ".*")):
                (os.link if i < len(link) and link[i] else os.rename)(file, out / file.name)
            segments.append(segment)
    joined = {**metas[0], "segments": segments, "opstamp": max((m["opstamp"] for m in metas), default=0)}
    (out / "meta.json").write_text(json.dumps(joined))
    (out / ".managed.json").write_text(json.dumps(sorted(f.name for f in out.iterdir())))


class Fulltext:
    """An opened Tantivy index; searches return doc numbers, scores and highlight ranges."""

    def __init__(self, folder: Path, specs: Sequence[FieldSpec], stem: bool, tokenizer: str = "words"):
        if tokenizer not in TOKENIZERS:
            raise IndexCorrupt(f"full-text index {folder}: its manifest names an unknown tokenizer {tokenizer!r} "
                               f"(known: {', '.join(TOKENIZERS)}): rebuild it")
        try:
            self.index = tantivy().Index.open(str(folder))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"full-text index {folder} is corrupt or incomplete ({exc}): rebuild it") from None
        _register(self.index, tokenizer, stem)
        self.schema = self.index.schema
        self.specs = {s.column: s for s in specs}
        self.stem = stem
        self.tokenizer = tokenizer
        self.text_fields = ["text", CJK_FIELD] if tokenizer == "cjk" else ["text"]

    def parse(self, query: str, filters: Sequence[tuple[str, str, object]]):
        """A Tantivy query from user syntax (lenient) and filters; returns (query, what was ignored).

        A query with a metadata field:value clause joins its parts with AND unless it says OR (`source:web kernel` is
        web documents holding kernel, not either); without one, words are joined by OR (BM25 ranks those with more
        first).
        """
        t = tantivy()
        warnings: list[str] = []
        clauses = []
        if query.strip():
            check_operators(query)
            conjunction = has_field_clause(query, {s.field for s in self.specs.values()})
            try:  # asked of each text field alone (a text is in one), so AND and phrases intersect one field's
                # postings: asked of both at once, each term is a union of two, and AND queries were 2-3x slower
                parsed = [self.index.parse_query_lenient(query, [field], conjunction_by_default=conjunction)
                          for field in self.text_fields]
            except BaseException as exc:  # noqa: BLE001 - a Rust panic surfaces as a BaseException
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise InvalidQuery(f"search query {query!r} could not be parsed ({exc})") from None
            warnings += [f"ignored: {e}" for e in parsed[0][1]]
            either = [(t.Occur.Should, q) for q, _ in parsed]
            clauses.append((t.Occur.Must, parsed[0][0] if len(parsed) == 1 else t.Query.boolean_query(either)))
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
            columns = ", ".join(sorted(self.specs)) or "none"
            raise InvalidQuery(f"no filterable column {column!r}; the columns are: {columns}")
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
            number = filter_number(column, spec.kind, value)
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

    def within(self, query, docs: np.ndarray, documents: int):
        """`query` restricted to the documents `docs` (sorted doc numbers of `documents`): a term set over the `doc`
        field, of them or of the others, whichever is smaller."""
        t = tantivy()
        if 2 * len(docs) <= documents:
            return t.Query.boolean_query([(t.Occur.Must, query),
                                          (t.Occur.Must, t.Query.term_set_query(self.schema, "doc", docs.tolist()))])
        others = np.setdiff1d(np.arange(documents, dtype=np.int64), docs, assume_unique=True)
        return t.Query.boolean_query([(t.Occur.Must, query),
                                      (t.Occur.MustNot, t.Query.term_set_query(self.schema, "doc", others.tolist()))])

    def search(self, query, limit: int, offset: int, sort: str = "") -> tuple[int, list[tuple[int, float]]]:
        """(matching documents, [(doc, BM25 score)]); with `sort` ("column" ascending, "-column" descending, a
        numeric column) in that column's order, each score NaN (there is none)."""
        searcher = self.index.searcher()
        order = {}
        if sort:
            spec = self.specs.get(sort.removeprefix("-"))
            if spec is None or spec.kind == "str":
                numeric = sorted(c for c, s in self.specs.items() if s.kind != "str")
                raise InvalidQuery(f"cannot sort by {sort.removeprefix('-')!r}: sort by a numeric column "
                                   f"({', '.join(numeric) or 'none'}), with - before it for the highest first")
            t = tantivy()
            order = {"order_by_field": spec.field, "order": t.Order.Desc if sort.startswith("-") else t.Order.Asc}
        try:
            result = searcher.search(query, limit, count=True, offset=offset, **order)
        except BaseException as exc:  # noqa: BLE001 - Rust panics
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise InvalidQuery(f"the search engine rejected the query ({exc})") from None
        hits = [(int(searcher.doc(address)["doc"][0]), math.nan if sort else float(score))
                for score, address in result.hits]
        if not sort:  # equal scores in document order, not in the order of segments (which differs by build)
            hits.sort(key=lambda hit: (-hit[1], hit[0]))
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

    @cached_property
    def analyzer(self):
        """The text field's analysis: a query's words become the index's terms."""
        return text_analyzer(self.tokenizer, self.stem)

    def marked_items(self, query: str) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
        """What a match of the query looks like in a text: its single terms, and its phrases as term sequences (a
        "quoted phrase", or a word the analysis splits, such as kernel-module). Excluded parts (-x, NOT x) and other
        fields' clauses mark nothing."""
        terms: set[str] = set()
        phrases: list[tuple[str, ...]] = []
        negated, pending_not = [False], False
        for part in _parts(query):
            if part["open"]:
                negated.append(negated[-1] or pending_not or part["open"].startswith("-"))
            elif part["close"]:
                if len(negated) > 1:
                    negated.pop()
            elif _operator(part) == "NOT":
                pending_not = True
                continue
            elif not _operator(part) and (part["phrase"] is not None or part["word"]):
                skip = (negated[-1] or pending_not or part["sign"] == "-"
                        or part["field"] not in (None, "text", CJK_FIELD))
                words = () if skip else tuple(self.analyzer.analyze(part["phrase"] or part["word"] or ""))
                if len(words) == 1 or (part["slop"] and int(part["slop"])):  # a sloppy phrase: its words
                    terms.update(words)
                elif words:
                    phrases.append(words)
            pending_not = False
        return frozenset(terms), tuple(phrases)

    def term_spans(self, query, text: str) -> list[tuple[int, int]]:
        """Every occurrence in `text` of any term of `query` (phrase words too, wherever they stand), as character
        ranges in text order: Tantivy's snippet generator over the whole text."""
        t = tantivy()
        encoded = text.encode("utf-8", errors="surrogatepass")
        field = CJK_FIELD if self.tokenizer == "cjk" and has_cjk(text) else "text"  # the field the text went to
        generator = t.SnippetGenerator.create(self.index.searcher(), query, self.schema, field)
        generator.set_max_num_chars(max(1, len(encoded)))
        snippet = generator.snippet_from_doc(t.Document(**{field: text}))
        span = snippet.fragment_range()
        data = np.frombuffer(encoded, dtype=np.uint8)
        # characters before each byte offset, counted once for the whole text (not per offset: that was quadratic)
        chars_before = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])
        return [(int(chars_before[span.start + h.start]), int(chars_before[span.start + h.end]))
                for h in snippet.highlighted()]

    def match_spans(self, query, query_text: str, text: str) -> list[tuple[int, int]]:
        """Where `text` matches what the query asks for: each single term, and each phrase as one range over its
        consecutive words (its words elsewhere, apart, are not marked)."""
        terms, phrases = self.marked_items(query_text)
        if not terms and not phrases:
            return []
        found = self.term_spans(query, text)
        seen: dict[str, str] = {}
        words = [seen.get(w) or seen.setdefault(w, "".join(self.analyzer.analyze(w)[:1]))
                 for w in (text[a:b] for a, b in found)]
        spans = []
        for i, (a, b) in enumerate(found):
            if words[i] in terms:
                spans.append((a, b))
            for phrase in phrases:
                j = i + len(phrase)
                if tuple(words[i:j]) == phrase and all(
                    not _WORD_CHAR.search(text, found[k][1], found[k + 1][0]) for k in range(i, j - 1)
                ):
                    spans.append((a, found[j - 1][1]))
        return sorted(spans)

    def highlight(self, query, query_text: str, text: str, max_chars: int):
        """The fragment of `text` (at most `max_chars` characters) holding the most matches, and the matches in
        it, as character ranges of `text`."""
        spans = self.match_spans(query, query_text, text)
        fragment = best_fragment(spans, len(text), max_chars)
        return fragment, tuple((a, b) for a, b in spans if fragment[0] <= a and b <= fragment[1])

    def counts(self, column: str, query=None, size: int = 50) -> list[tuple[str, int]]:
        """Documents per value of a string column (among those matching `query`)."""
        spec = self.specs[column]
        t = tantivy()
        agg = {"values": {"terms": {"field": spec.field, "size": size}}}
        result = self.index.searcher().aggregate(query or t.Query.all_query(), agg)
        return [(b["key"], int(b["doc_count"])) for b in result["values"]["buckets"]]


# A part of Tantivy's query syntax, as far as marking and checking need it: ( ) groups, [-+]field:"phrase"~slop,
# field:[range], words (a trailing ^boost dropped), and a quote left alone
_PART = re.compile(
    r"""\s*(?:(?P<open>[-+]?\()|(?P<close>\))|(?P<sign>[-+]?)(?:(?P<field>[^\s():"\[{^]+):)?"""
    r"""(?:"(?P<phrase>[^"]*)"(?:~(?P<slop>[0-9]+))?|(?P<range>[\[{][^\]}]*[\]}])|(?P<word>[^\s()"^]+))"""
    r"""(?:\^[0-9.]+)?|(?P<stray>"))"""
)
_WORD_CHAR = re.compile(r"[^\W_]")  # what Tantivy's simple tokenizer keeps in a word: letters and digits


def _parts(query: str):
    pos = 0
    while (part := _PART.match(query, pos)) is not None and part.end() > pos:
        yield part
        pos = part.end()


def _operator(part) -> str | None:
    word = part["word"]
    return word if word in ("AND", "OR", "NOT") and not part["sign"] and part["field"] is None else None


def has_field_clause(query: str, fields: set[str]) -> bool:
    """Whether the query names one of these metadata fields (`source:web`): a clause meant as a filter on the rest."""
    return any(part["field"] in fields for part in _parts(query))


def check_operators(query: str) -> None:
    """AND / OR need a term on each side, NOT one after it: Tantivy would take a dangling one as the word "and"
    (matching nearly everything) or drop it; say so instead."""
    previous = None
    for part in _parts(query):
        operator, column = _operator(part), part.start(part.lastgroup or 0) + 1
        if operator in ("AND", "OR") and previous in (None, "AND", "OR", "NOT", "("):
            where = "at the start" if previous is None else f"after {previous}"
            raise InvalidQuery(f"the search query has {operator} {where} (column {column}): put a term before it")
        if part["close"] and previous in ("AND", "OR", "NOT"):
            raise InvalidQuery(f"the search query has {previous} before ')' (column {column}): put a term after it")
        previous = operator or ("(" if part["open"] else "term")
    if previous in ("AND", "OR", "NOT"):
        raise InvalidQuery(
            f"the search query ends with {previous}: put a term after it (or quote it, \"{previous.lower()}\", "
            "to search for the word)"
        )


def best_fragment(spans: Sequence[tuple[int, int]], length: int, max_chars: int) -> tuple[int, int]:
    """The `max_chars` window of a `length`-character text holding the most of the (sorted) spans, opening a little
    before its first one; the start of the text when there are none."""
    if not spans:
        return 0, min(length, max_chars)
    lead = min(max_chars // 6, 40)
    best, best_count, last = 0, 0, 0
    for i, (a, _) in enumerate(spans):
        end = max(0, a - lead) + max_chars
        last = max(last, i)
        while last + 1 < len(spans) and spans[last + 1][1] <= end:
            last += 1
        if last - i + 1 > best_count:
            best, best_count = i, last - i + 1
    start = max(0, min(spans[best][0] - lead, length - max_chars))
    return start, min(length, start + max_chars)
