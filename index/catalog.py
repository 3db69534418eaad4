"""The DuckDB catalog: one row per indexed document with its build facts and its metadata (never its text).

Table `documents`: doc, file, row, id, tokens, chars, shard, every metadata column of the Parquet shards
(renamed `meta_<name>` where a name is taken, ignoring case as DuckDB does), then the quality signals of
`inspector.quality` (unless built with --no-signals). Column names in SQL come only from the
table's own column list (an allow-list) and are always quoted; values are always bound parameters.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import IndexCorrupt, InspectorError, InvalidQuery
from .fulltext import filter_number
from .layout import DOCUMENT_SCHEMA, DUPLICATION_SIGNAL

#: the document table's columns the catalog holds (the text CRC is for reading texts back, not for statistics)
FACTS = tuple(name for name in DOCUMENT_SCHEMA.names if name != "text_crc")


#: DuckDB's integer and floating-point types (a DECIMAL(p, s) is a number too)
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                 "UHUGEINT")
FLOAT_TYPES = ("FLOAT", "DOUBLE")
_NUMBER_TYPES = {*INTEGER_TYPES, *FLOAT_TYPES}
_TIME_TYPES = ("DATE", "TIME", "INTERVAL")  # TIME covers TIMESTAMP, TIMESTAMP_NS, TIME WITH TIME ZONE, ...


def type_kind(duckdb_type: str) -> str:
    """number, text, boolean, time, nested (lists, arrays, structs, maps, unions), binary, none (the NULL type of
    a column without values) or other: what statistics and filters can do with a column of this DuckDB type."""
    if duckdb_type in _NUMBER_TYPES or re.fullmatch(r"DECIMAL\(\d+, ?\d+\)", duckdb_type):
        return "number"
    if duckdb_type == "VARCHAR":
        return "text"
    if duckdb_type == "BOOLEAN":
        return "boolean"
    if duckdb_type.endswith("]") or duckdb_type.startswith(("STRUCT(", "MAP(", "UNION(")):
        return "nested"
    if duckdb_type.startswith(_TIME_TYPES):
        return "time"
    if duckdb_type in ("BLOB", "BIT"):
        return "binary"
    if duckdb_type.strip('"') == "NULL":
        return "none"
    return "other"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_catalog(
    path: Path, documents: pa.Table, sources: Sequence[str], text_column: str, id_column: str | None,
    signals: pa.Table | None = None,
) -> None:
    """Join the build's document facts with the shards' metadata columns (read once, text column skipped).

    The metadata are read with pyarrow and handed to DuckDB as one Arrow table, so no column name of a Parquet
    file (`filename`, `select`, `a"b`, ...) ever meets a SQL parser or an option of `read_parquet`.
    `signals` (the heuristic quality signals, one row per document) come after the metadata (listed in table
    `signal_columns`); metadata of the same name is renamed `meta_<name>` like any other clash."""
    import duckdb  # here, not at the top: 70 ms a command that never reads the catalog should not pay

    meta = _metadata(documents, sources, {text_column, id_column})
    signals = signals if signals is not None else pa.table({})
    # DuckDB's names are case-insensitive; the duplication signal's name is kept for when it is added
    taken = {name.lower() for name in (*FACTS, *signals.column_names, DUPLICATION_SIGNAL)}
    names = []
    for name in meta.column_names:
        name = name or "meta_"  # DuckDB would call a nameless column v<N>
        while name.lower() in taken:
            name = "meta_" + name
        taken.add(name.lower())
        names.append(name)
    facts = documents.select(list(FACTS))
    table = pa.Table.from_arrays([*facts.columns, *meta.columns, *signals.columns],
                                 names=[*FACTS, *names, *signals.column_names])
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute("CREATE TABLE files (file INTEGER, path VARCHAR)")
            con.executemany("INSERT INTO files VALUES (?, ?)", list(enumerate(sources)))
            con.execute("CREATE TABLE signal_columns (name VARCHAR)")
            if signals.num_columns:
                con.executemany("INSERT INTO signal_columns VALUES (?)", [[n] for n in signals.column_names])
            con.register("facts", table)
            con.execute("CREATE TABLE documents AS SELECT * FROM facts ORDER BY doc")
            con.execute("CHECKPOINT")
        finally:
            con.close()
    except duckdb.Error as exc:  # a full disk surfaces as an IOException, or a TransactionException on the WAL
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InspectorError(
            f"build failed writing the catalog {path}: {reason}; the previous index, if any, is kept"
        ) from None


def set_signal_column(path: Path, name: str, values: np.ndarray) -> None:
    """Add (or replace) the quality signal column `name` of the catalog at `path` (a copy being published), one float
    per document in document order, and list it among the signals. A column of that name the corpus brought is
    refused (`build_catalog` renames those, so only a catalog from an older build has one)."""
    import duckdb

    try:
        _set_signal_column(duckdb.connect(str(path)), name, values)
    except duckdb.Error as exc:  # a full disk surfaces as an IOException
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InspectorError(f"adding {name} to the catalog failed: {reason}; the index is kept") from None


def _set_signal_column(con, name: str, values: np.ndarray) -> None:
    try:
        con.execute("CREATE TABLE IF NOT EXISTS signal_columns (name VARCHAR)")
        signals = {r[0].lower() for r in con.execute("SELECT name FROM signal_columns").fetchall()}
        columns = {r[0].lower(): r[0] for r in con.execute("DESCRIBE documents").fetchall()}
        if name.lower() in columns and name.lower() not in signals:
            raise InspectorError(f"the corpus has a column {columns[name.lower()]!r} of its own: rebuild the index "
                                 f"(a build renames it meta_{name}) before adding the signal {name}")
        con.register("signal", pa.table({"doc": np.arange(len(values), dtype=np.int64),
                                         "value": np.asarray(values, dtype=np.float64)}))
        con.execute(f"ALTER TABLE documents DROP COLUMN IF EXISTS {_quote(name)}")
        con.execute(f"ALTER TABLE documents ADD COLUMN {_quote(name)} DOUBLE")
        con.execute(f"UPDATE documents SET {_quote(name)} = signal.value FROM signal WHERE documents.doc = signal.doc")
        con.execute("DELETE FROM signal_columns WHERE lower(name) = lower(?)", [name])
        con.execute("INSERT INTO signal_columns VALUES (?)", [name])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _metadata(documents: pa.Table, sources: Sequence[str], skip: set) -> pa.Table:
    """Every column but the text and id of each document's row, in document order (documents are in file, row
    order); a column some files lack is null there."""
    file_of = documents.column("file").to_numpy()
    row_of = documents.column("row").to_numpy()
    parts = []
    for number, source in enumerate(sources):
        rows = row_of[file_of == number]
        columns = [n for n in pq.read_schema(source).names if n not in skip]
        if columns:
            parts.append(_for_duckdb(pq.read_table(source, columns=columns), source).take(rows))
        else:  # a table of no columns still needs its rows, for the files after it
            parts.append(pa.table({"rows": pa.nulls(len(rows))}).select([]))
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="permissive")


def _for_duckdb(table: pa.Table, source: str) -> pa.Table:
    """The table with each type DuckDB cannot take (half floats, 256-bit decimals, string views: also pyarrow's
    `take` refuses those), inside lists, structs and maps too, cast to the nearest one it can."""
    fields = [field.with_type(_duckdb_type(field.type)) for field in table.schema]
    if all(f.type == old.type for f, old in zip(fields, table.schema)):
        return table
    try:
        return table.cast(pa.schema(fields))
    except (pa.ArrowException, TypeError) as exc:
        changed = ", ".join(f"{old.name} ({old.type})" for f, old in zip(fields, table.schema) if f.type != old.type)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InspectorError(f"{source}: column(s) {changed} cannot go into the catalog ({reason})") from None


def _duckdb_type(t: pa.DataType) -> pa.DataType:
    """A type DuckDB takes for `t`: float16 -> float32, decimal256 -> decimal128 (past 38 digits float64), string
    and binary views -> large ones; dictionaries of those as plain values; anything else is itself."""
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_decimal256(t):
        return pa.decimal128(t.precision, t.scale) if t.precision <= 38 else pa.float64()
    if pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_binary_view(t):
        return pa.large_binary()
    if pa.types.is_dictionary(t):
        values = _duckdb_type(t.value_type)
        return t if values == t.value_type else values
    if pa.types.is_struct(t):
        fields = [f.with_type(_duckdb_type(f.type)) for f in t]
        return t if all(f.type == old.type for f, old in zip(fields, t)) else pa.struct(fields)
    if pa.types.is_map(t):
        key, item = _duckdb_type(t.key_type), _duckdb_type(t.item_type)
        if (key, item) == (t.key_type, t.item_type):
            return t
        return pa.map_(t.key_field.with_type(key), t.item_field.with_type(item))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or \
            pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        value = _duckdb_type(t.value_type)
        if value == t.value_type:
            return t
        field = t.value_field.with_type(value)
        if pa.types.is_fixed_size_list(t):
            return pa.list_(field, t.list_size)
        return pa.large_list(field) if pa.types.is_large_list(t) or pa.types.is_large_list_view(t) else pa.list_(field)
    return t


class Catalog:
    """Read-only access; each call takes its own cursor, so one Catalog serves many threads."""

    def __init__(self, path: Path):
        import duckdb

        try:
            self._con = duckdb.connect(str(path), read_only=True)
            described = self._con.execute("DESCRIBE documents").fetchall()
        except duckdb.Error as exc:
            raise IndexCorrupt(f"catalog {path} is corrupt or incomplete ({exc}): rebuild the index") from None
        self.types = {row[0]: row[1] for row in described}
        try:  # indexes built before the quality signals have no such table
            self.signals = [r[0] for r in self._con.execute("SELECT name FROM signal_columns").fetchall()]
        except duckdb.Error:
            self.signals = []

    def cursor(self):
        return self._con.cursor()

    def column(self, name: str) -> str:
        """The quoted identifier of an existing column; InvalidQuery listing the columns otherwise."""
        if name not in self.types:
            raise InvalidQuery(f"no column {name!r} in the catalog; the columns are: {', '.join(self.types)}")
        return _quote(name)

    def condition(self, column: str, op: str, value: str) -> tuple[str, list]:
        """One `where` condition as SQL over the documents table: the column checked against the catalog's own (and
        quoted), the value bound as a parameter of the column's kind. `!=` keeps documents without a value, as search
        does."""
        quoted = self.column(column)
        kind = self.types[column]
        if self.kind(column) in ("nested", "binary", "none", "other"):  # as search, which has no field for them
            raise InvalidQuery(
                f"column {column!r} holds {kind}: only numbers, text, true/false and dates can be filtered")
        if self.kind(column) == "number":
            number = filter_number(column, "int" if kind.startswith(INTEGER_TYPES) else "float", value)
            if op == "!=":
                return f"{quoted} IS DISTINCT FROM ?", [number]
            if kind.startswith(FLOAT_TYPES):  # DuckDB orders NaN above every number; search never matches it
                return f"({quoted} {op} ? AND NOT isnan({quoted}))", [number]
            return f"{quoted} {op} ?", [number]
        if kind == "BOOLEAN":
            text = value.strip().lower()
            number = {"true": 1, "false": 0}.get(text)
            if number is None:
                number = filter_number(column, "int", value)
            if op == "!=":
                return f"CAST({quoted} AS INTEGER) IS DISTINCT FROM ?", [number]
            return f"CAST({quoted} AS INTEGER) {op} ?", [number]
        if op not in ("=", "!="):
            raise InvalidQuery(f"column {column!r} holds text: compare it with = or !=")
        if op == "!=":
            return f"CAST({quoted} AS VARCHAR) IS DISTINCT FROM ?", [value]
        return f"CAST({quoted} AS VARCHAR) = ?", [value]

    def where(self, conditions) -> tuple[str, list]:
        """Every (column, op, value) condition (`condition`) joined by AND, as SQL and its parameters."""
        clauses, params = [], []
        for column, op, value in conditions:
            clause, bound = self.condition(column, op, value)
            clauses.append(clause)
            params.extend(bound)
        return " AND ".join(clauses) or "true", params

    def docs_where(self, conditions) -> np.ndarray:
        """The documents passing every condition, sorted doc numbers (int64)."""
        sql, params = self.where(conditions)
        return self.cursor().execute(f"SELECT doc FROM documents WHERE {sql} ORDER BY doc", params).fetchnumpy()[
            "doc"].astype(np.int64)

    def metadata_columns(self) -> list[str]:
        """The corpus's own columns (not the build's facts, not the quality signals)."""
        return [c for c in self.types if c not in FACTS and c not in self.signals]

    def signal_columns(self) -> list[str]:
        return [c for c in self.types if c in self.signals]

    def kind(self, column: str) -> str:
        """What the column holds, by its DuckDB type (see `type_kind`)."""
        return type_kind(self.types[column])

    def numeric_columns(self) -> list[str]:
        return [c for c in [*self.metadata_columns(), *self.signal_columns()] if self.kind(c) == "number"]

    def text_columns(self) -> list[str]:
        return [c for c in [*self.metadata_columns(), *self.signal_columns()] if self.types[c] == "VARCHAR"]

    def boolean_columns(self) -> list[str]:
        """The corpus's own true/false columns (the quality rules' flags are signals, not these)."""
        return [c for c in self.metadata_columns() if self.kind(c) == "boolean"]

    def skipped_columns(self) -> dict[str, str]:
        """The corpus's columns that have no statistics, each with why: nested, binary, dates and times, no values."""
        why = {"time": "dates and times, filtered by their text", "nested": "nested, not filterable",
               "binary": "binary, not filterable", "none": "no values", "other": "not filterable"}
        return {c: f"{self.types[c]}, {why[self.kind(c)]}" for c in self.metadata_columns() if self.kind(c) in why}

    def group_counts(self, column: str, limit: int = 100) -> list[tuple[object, int, int]]:
        """(value, documents, tokens) per value of `column`, most documents first."""
        col = self.column(column)
        rows = self.cursor().execute(
            f"SELECT {col}, count(*), sum(tokens) FROM documents GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", [limit]
        ).fetchall()
        return [(v, int(n), int(t or 0)) for v, n, t in rows]

    def distinct_count(self, column: str) -> int:
        return int(self.cursor().execute(f"SELECT count(DISTINCT {self.column(column)}) FROM documents").fetchone()[0])

    def values(self, column: str):
        """A column as a NumPy array in document order (nulls dropped)."""
        col = self.column(column)
        query = f"SELECT {col} FROM documents WHERE {col} IS NOT NULL ORDER BY doc"
        return self.cursor().execute(query).fetchnumpy()[column]

    def per_file(self) -> list[tuple[str, int, int]]:
        rows = self.cursor().execute(
            "SELECT files.path, count(*), sum(tokens) FROM documents JOIN files USING (file) GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return [(p, int(n), int(t or 0)) for p, n, t in rows]
