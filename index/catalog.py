"""The DuckDB catalog: one row per indexed document with its build facts and its metadata (never its text).

Table `documents`: doc, file, row, id, tokens, chars, shard, then every metadata column of the Parquet shards
(renamed `meta_<name>` where a name is taken). Column names in SQL come only from the table's own column list (an
allow-list); values are always bound parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from .errors import IndexCorrupt, InvalidQuery

FACTS = ("doc", "file", "row", "id", "tokens", "chars", "shard")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_catalog(
    path: Path, documents: pa.Table, sources: Sequence[str], text_column: str, id_column: str | None
) -> None:
    """Join the build's document facts with the shards' metadata columns (read once, text column skipped)."""
    import duckdb  # here, not at the top: 70 ms a command that never reads the catalog should not pay

    con = duckdb.connect(str(path))
    try:
        con.register("facts", documents)
        con.execute("CREATE TABLE files (file INTEGER, path VARCHAR)")
        con.executemany("INSERT INTO files VALUES (?, ?)", list(enumerate(sources)))
        if sources:
            meta = con.execute(
                "SELECT * FROM read_parquet(?, filename = true, file_row_number = true, union_by_name = true) LIMIT 0",
                [list(sources)],
            )
            names = [d[0] for d in meta.description]
        else:
            names = []
        skip = {text_column, id_column, "filename", "file_row_number"}
        columns = [n for n in names if n not in skip]
        renamed = ", ".join(
            f"p.{_quote(n)} AS {_quote('meta_' + n if n in FACTS else n)}" for n in columns
        )
        if sources:
            con.execute(
                f"""CREATE TABLE documents AS
                SELECT f.doc, f.file, f.row, f.id, f.tokens, f.chars, f.shard{', ' + renamed if renamed else ''}
                FROM facts f JOIN files USING (file)
                JOIN read_parquet(?, filename = true, file_row_number = true, union_by_name = true) p
                  ON p.filename = files.path AND p.file_row_number = f.row
                ORDER BY f.doc""",
                [list(sources)],
            )
        else:
            con.execute("CREATE TABLE documents AS SELECT * FROM facts")
        con.execute("CHECKPOINT")
    finally:
        con.close()


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

    def cursor(self):
        return self._con.cursor()

    def column(self, name: str) -> str:
        """The quoted identifier of an existing column; InvalidQuery listing the columns otherwise."""
        if name not in self.types:
            raise InvalidQuery(f"no column {name!r} in the catalog; the columns are: {', '.join(self.types)}")
        return _quote(name)

    def metadata_columns(self) -> list[str]:
        return [c for c in self.types if c not in FACTS]

    def numeric_columns(self) -> list[str]:
        numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT",
                   "UINTEGER", "USMALLINT", "UTINYINT")
        return [c for c in self.metadata_columns() if self.types[c].startswith(numeric)]

    def text_columns(self) -> list[str]:
        return [c for c in self.metadata_columns() if self.types[c] == "VARCHAR"]

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
