"""The label store: one DuckDB file beside the index (DIR/labels.duckdb), outside every build, so rebuilds keep it.
Its schema, the one connection per process, and the names and timestamps it accepts; every other labels module
reads and writes through it.

**Durability.** Every label is one committed transaction (DuckDB writes and syncs its write-ahead log on commit),
given before `add_label` returns: a process killed at any point loses no label it acknowledged. History is kept by
inserting: a relabel is a new row, the current label is the latest one per (task, item, round, annotator).

**Concurrency.** DuckDB lets one process at a time open a database file for writing. Within a process (the app and
its many annotator threads) one connection is shared, each operation on its own cursor, writes serialised by a lock
so that concurrent transactions never conflict. The connection is closed after about a second without use, so
another process (the CLI, a notebook) can open the file in between; a process that finds it held retries for up to
30 s (`WAIT_SECONDS`) and then fails with one line naming the file. Labelling from two busy processes at once is
therefore possible but slow: label through one app.
"""
from __future__ import annotations

import atexit
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from index.errors import IndexMissing, InspectorError, InvalidQuery

STORE = "labels.duckdb"
WAIT_SECONDS = 30.0
IDLE_SECONDS = 1.0
_NAME = re.compile(r"[\w][\w.@+-]{0,63}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    name VARCHAR PRIMARY KEY, created TIMESTAMP NOT NULL, build VARCHAR NOT NULL, scheme VARCHAR NOT NULL,
    guideline VARCHAR NOT NULL, sample VARCHAR NOT NULL, score_name VARCHAR, second_pass BOOLEAN NOT NULL,
    items INTEGER NOT NULL
);
-- added later: a task from before them hides its score (the old default) and no other column
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS hide_score BOOLEAN;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS hidden_columns VARCHAR;
CREATE TABLE IF NOT EXISTS items (
    task VARCHAR NOT NULL, position INTEGER NOT NULL, doc BIGINT NOT NULL, file VARCHAR NOT NULL, "row" BIGINT NOT NULL,
    id VARCHAR, text_crc BIGINT NOT NULL, tokens BIGINT NOT NULL, score DOUBLE
);
CREATE SEQUENCE IF NOT EXISTS label_seq;
CREATE TABLE IF NOT EXISTS labels (
    seq BIGINT NOT NULL, task VARCHAR NOT NULL, position INTEGER NOT NULL, round INTEGER NOT NULL,
    annotator VARCHAR NOT NULL, kind VARCHAR NOT NULL, value INTEGER, note VARCHAR, "at" TIMESTAMP NOT NULL,
    build VARCHAR NOT NULL, doc BIGINT NOT NULL, file VARCHAR NOT NULL, "row" BIGINT NOT NULL, id VARCHAR,
    text_crc BIGINT NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS rename_seq;
CREATE TABLE IF NOT EXISTS renames (
    seq BIGINT NOT NULL, task VARCHAR NOT NULL, source VARCHAR NOT NULL, target VARCHAR NOT NULL, "by" VARCHAR NOT NULL,
    "at" TIMESTAMP NOT NULL, events BIGINT NOT NULL, merge BOOLEAN NOT NULL, conflicts BIGINT NOT NULL, keep VARCHAR
);
CREATE TABLE IF NOT EXISTS renamed_labels (rename BIGINT NOT NULL, seq BIGINT NOT NULL);
"""


def labels_path(index_or_folder) -> Path:
    """`<index folder>/labels.duckdb`: beside CURRENT, outside every build folder."""
    folder = getattr(index_or_folder, "path", index_or_folder)
    return Path(folder) / STORE


class LabelStore:
    """One shared connection per process and file, opened on use and closed when idle (see the module's doc)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.con = None
        self.users = 0
        self.last = 0.0
        self.timer: threading.Timer | None = None
        #: a write failed: reopen before the next operation
        self.stale = False

    @contextmanager
    def cursor(self) -> Iterator:
        with self.lock:
            if self.con is None:
                self.con = _connect(self.path)
            self.users += 1
            try:
                cur = self.con.cursor()
            except BaseException:
                self.users -= 1
                raise
        try:
            yield cur
        finally:
            cur.close()
            with self.lock:
                self.users -= 1
                self.last = time.monotonic()
                if self.users == 0 and self.stale:
                    self._close()
                elif self.users == 0 and self.timer is None:
                    self._schedule(IDLE_SECONDS)

    @contextmanager
    def transaction(self) -> Iterator:
        """A write: serialised within the process, committed before it returns. A failed write (disk full) is one
        InspectorError, and the connection is opened afresh for the next operation."""
        import duckdb

        with self.write_lock, self.cursor() as cur:
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                self.stale = True
                raise InspectorError(f"could not save to {self.path}: {_reason(exc)}") from None

    def _schedule(self, delay: float) -> None:
        self.timer = threading.Timer(delay, self._close_if_idle)
        self.timer.daemon = True
        self.timer.start()

    def _close_if_idle(self) -> None:
        with self.lock:
            self.timer = None
            if self.con is None or self.users:
                return
            idle = time.monotonic() - self.last
            if idle < IDLE_SECONDS:
                self._schedule(IDLE_SECONDS - idle)
                return
            self._close()

    def _close(self) -> None:
        if self.con is not None:
            with suppress(Exception):  # closing checkpoints; a failure leaves the write-ahead log, replayed later
                self.con.close()
            self.con = None
        self.stale = False

    def close(self) -> None:
        with self.write_lock, self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if not self.users:
                self._close()


_STORES: dict[Path, LabelStore] = {}
_STORES_LOCK = threading.Lock()


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _connect(path: Path):
    import duckdb

    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            held = "lock" in str(exc).lower()
            if not held or time.monotonic() > deadline:
                why = "another process holds it (the app, or another command)" if held else _reason(exc)
                raise InspectorError(f"cannot open the labels at {path}: {why}; try again") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        except duckdb.Error as exc:
            raise InspectorError(f"the labels at {path} are unreadable ({_reason(exc)}): move the file away") from None
    try:
        con.execute(_SCHEMA)
    except duckdb.Error as exc:
        con.close()
        raise InspectorError(f"the labels at {path} are unreadable ({_reason(exc)}): move the file away") from None
    return con


def store_for(index, *, create: bool = False) -> LabelStore:
    """This process's store of `index`'s labels (its `cursor()` reads, its `transaction()` writes); IndexMissing
    when there are no labels yet, unless `create`."""
    path = labels_path(index)
    if not create and not path.exists():
        raise IndexMissing(f"no labels at {path.parent}: create a task first (`inspector task create`)")
    key = path.resolve()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = LabelStore(key)
        return store


def close_store(index_or_folder) -> None:
    """Close this process's connection to the labels now (it also closes by itself when idle)."""
    key = labels_path(index_or_folder).resolve()
    with _STORES_LOCK:
        store = _STORES.get(key)
    if store is not None:
        store.close()


@atexit.register
def _close_all() -> None:
    with _STORES_LOCK:
        stores = list(_STORES.values())
    for store in stores:
        with suppress(Exception):
            store.close()


def check_name(kind: str, name) -> str:
    """A task's, annotator's or lead's name as the store accepts it, or InvalidQuery saying what is allowed."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidQuery(
            f"{kind} name {str(name)[:40]!r}: use 1-64 letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return name


def check_annotator(name) -> str:
    """An annotator's name as the store accepts it (1-64 letters, digits and . _ @ + -), or InvalidQuery saying so:
    for a caller (the app) that checks a name before it has a task to label."""
    return check_name("annotator", name)


def name_list(names: list[str]) -> str:
    """Names for an error message that says which there are (from a query with LIMIT 21): the first 20."""
    return ", ".join(names[:20]) + (", and more" if len(names) > 20 else "") if names else "none yet"


def now() -> datetime:
    """The time a row is stored with: UTC, without a time zone (DuckDB's TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(at: datetime) -> str:
    """A stored time as the results show it: UTC, ISO 8601."""
    return at.isoformat(timespec="microseconds") + "Z"
