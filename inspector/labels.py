"""Annotation tasks and their labels: a DuckDB file beside the index, outside every build, so rebuilds keep it.

    DIR/labels.duckdb      tasks, their items (each document's stable identity) and every label event ever given

**Identity.** An item names its document by (source file, row, id, CRC-32 of its text) as well as by its number in
the build the task was made on. `resolve(index, task)` finds each item in the build `index` answers from: the same
file and row with the same text CRC (`ok`, even when the document's number changed); else the same id with that CRC,
or, without ids, the same text (CRC and token count) in the same file (`moved`); else it is `changed` (a document
with its id, or without ids at its file and row, now holds other text) or `vanished`. Changed and vanished items are
flagged and never labelled or offered again: a label always describes the text it was given for.

**Durability.** Every label is one committed transaction (DuckDB writes and syncs its write-ahead log on commit),
given before `add_label` returns: a process killed at any point loses no label it acknowledged. History is kept by
inserting: a relabel is a new row, the current label is the latest one per (task, item, round, annotator).

**Concurrency.** DuckDB lets one process at a time open a database file for writing. Within a process (the app and
its many annotator threads) one connection is shared, each operation on its own cursor, writes serialised by a lock
so that concurrent transactions never conflict. The connection is closed after about a second without use, so
another process (the CLI, a notebook) can open the file in between; a process that finds it held retries for up to
30 s (`WAIT_SECONDS`) and then fails with one line naming the file. Labelling from two busy processes at once is
therefore possible but slow: label through one app.

**Renames.** A label stays under the name it was given with, unless the lead renames that annotator in a task
(`rename_annotator`: a name typed wrong, `daved` for `dave`). A rename into a name that already has labels is a
merge; an item both labelled keeps one current label, chosen by the lead (`keep`: the newest, or the target's, the
other set aside in the history), and the merge is refused until one is chosen. Each rename is one transaction and is
recorded (`renames`: who, from, to, when, how many label events moved; `renamed_labels` lists the events).
"""
from __future__ import annotations

import atexit
import json
import math
import operator
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from index.errors import IndexMissing, InspectorError, InvalidQuery

from .agreement import ScoreAgreement, cohen_kappa, krippendorff_alpha, majority, score_agreement
from .results import _Result

STORE = "labels.duckdb"
WAIT_SECONDS = 30.0
IDLE_SECONDS = 1.0
MAX_ITEMS = 100_000
MAX_NOTE = 2_000
MAX_GUIDELINE = 20_000
STATUSES = ("ok", "moved", "changed", "vanished")
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


# -- results ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scheme(_Result):
    """How items are labelled: `keep_drop` (values 0 = drop, 1 = keep) or `ordinal` (integers lo..hi)."""

    kind: str
    values: tuple[int, ...]
    names: tuple[str, ...]

    @property
    def ordinal(self) -> bool:
        return self.kind == "ordinal"

    @property
    def spec(self) -> str:
        return "keep-drop" if self.kind == "keep_drop" else f"ordinal:{self.values[0]}-{self.values[-1]}"

    def name(self, value: int | None) -> str | None:
        return None if value is None else self.names[self.values.index(value)]

    def value(self, given) -> int:
        """A label as given (a name such as `keep`, or a number on the scale) as the integer stored."""
        number = given
        if isinstance(given, str):
            text = given.strip().lower()
            if text in self.names:
                return self.values[self.names.index(text)]
            try:
                number = int(text)
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, int) or number not in self.values:
            raise InvalidQuery(f"label {str(given)[:40]!r} is not on this task's scale: {', '.join(self.names)}")
        return number


def parse_scheme(spec: str) -> Scheme:
    """`keep-drop`, or `ordinal:LO-HI` (e.g. ordinal:0-5; at most 101 values)."""
    text = str(spec).strip().lower()
    if text in ("keep-drop", "keep_drop", "keepdrop"):
        return Scheme("keep_drop", (0, 1), ("drop", "keep"))
    found = re.fullmatch(r"ordinal:(-?\d{1,4})-(-?\d{1,4})", text)
    if found:
        lo, hi = int(found[1]), int(found[2])
        if lo < hi and hi - lo <= 100:
            values = tuple(range(lo, hi + 1))
            return Scheme("ordinal", values, tuple(map(str, values)))
    raise InvalidQuery(f"label scheme {str(spec)[:40]!r}: use keep-drop or ordinal:LO-HI (e.g. ordinal:0-5)")


@dataclass(frozen=True, slots=True)
class Task(_Result):
    name: str
    #: UTC, ISO 8601
    created: str
    #: the build the task was made on (its items' `doc` numbers are that build's)
    build: str
    scheme: Scheme
    #: shown to annotators
    guideline: str
    items: int
    #: how the documents were chosen (the sampling arguments), as given
    sample: dict
    #: what `score` is (a metadata column such as `quality`), when the sample had scores
    score_name: str | None
    #: a second round over the items the first round disagreed on
    second_pass: bool
    #: annotators do not see the score (on Annotate and the pages it links to), but one item at a time on request
    hide_score: bool = True
    #: metadata columns annotators do not see either (e.g. `source`)
    hidden_columns: tuple[str, ...] = ()

    @property
    def hidden(self) -> tuple[str, ...]:
        """The metadata columns hidden from annotators: `hidden_columns`, and the score's column when the score is."""
        extra = (self.score_name,) if self.hide_score and self.score_name not in (None, *self.hidden_columns) else ()
        return self.hidden_columns + extra

    @property
    def blind(self) -> bool:
        """Annotators see no score or column that could hint at it, nor the document's id or source file (an id
        such as `cc-0042` names its source): they see the item's number in the task."""
        return self.hide_score or bool(self.hidden_columns)


@dataclass(frozen=True, slots=True)
class Item(_Result):
    """One document of a task, found again in the build `resolve` was given."""

    task: str
    position: int
    #: the document's number in the build resolved against; None when it changed or vanished
    doc: int | None
    #: ok, moved (same text found elsewhere), changed (its text is not the one in the task) or vanished
    status: str
    file: str
    row: int
    id: str | None
    text_crc: int
    tokens: int
    score: float | None
    #: the document number in the task's own build
    task_doc: int
    #: for a changed item: the document that now holds its id (or its file and row)
    changed_doc: int | None = None


@dataclass(frozen=True, slots=True)
class Label(_Result):
    """One label event: kind `label`, `skip` (no value), or `set_aside` (a label a merge did not keep: history)."""

    seq: int
    task: str
    position: int
    round: int
    annotator: str
    kind: str
    value: int | None
    #: the value's name on the scale (keep, drop, 3, ...)
    label: str | None
    note: str | None
    #: UTC, ISO 8601
    at: str
    #: the build and document number the label was given in, and the document's identity
    build: str
    doc: int
    file: str
    row: int
    id: str | None
    text_crc: int


@dataclass(frozen=True, slots=True)
class Progress(_Result):
    task: str
    annotator: str
    round: int
    #: items this annotator can label in this round (the second round: the first round's disagreements)
    items: int
    labelled: int
    skipped: int
    remaining: int
    #: items of the task that changed or vanished in this build (never offered)
    unavailable: int


@dataclass(frozen=True, slots=True)
class Disagreement(_Result):
    position: int
    doc: int | None
    status: str
    id: str | None
    score: float | None
    #: annotator -> label name (the first round)
    labels: dict
    #: the first round's majority (None: a tie)
    majority: str | None
    #: the second round's majority, when it has labels
    adjudicated: str | None
    #: annotator -> label name (the second round)
    second: dict

    @property
    def adjudication(self) -> str:
        """What the second round decided, as shown: its majority, `tie`, or `not yet` (no second-round label)."""
        return "not yet" if not self.second else self.adjudicated or "tie"


@dataclass(frozen=True, slots=True)
class LabelStats(_Result):
    task: str
    scheme: str
    items: int
    #: items with at least one (first-round) label
    labelled_items: int
    annotators: tuple[str, ...]
    #: current first-round labels, replaced labels kept in history, skips
    labels: int
    relabels: int
    skips: int
    #: items per identity status in the build resolved against (ok, moved, changed, vanished)
    identity: dict
    #: Cohen's κ (exactly two annotators; quadratic weights on an ordinal scale) over the items both labelled
    kappa: float | None
    kappa_items: int
    kappa_weights: str | None
    #: Krippendorff's α over every annotator (nominal for keep/drop, ordinal for a scale)
    alpha: float | None
    alpha_level: str
    #: annotator -> {label name: count}
    distributions: dict
    #: label name -> items with that final majority; "tie": items without one
    majorities: dict
    disagreements: tuple[Disagreement, ...]
    #: the score against the final majority label (None: the task has no scores)
    score: ScoreAgreement | None


@dataclass(frozen=True, slots=True)
class ExportReport(_Result):
    path: str
    format: str
    rows: int
    columns: tuple[str, ...] = field(default=())


# -- the store -------------------------------------------------------------------------------------------------------

def labels_path(index_or_folder) -> Path:
    """`<index folder>/labels.duckdb`: beside CURRENT, outside every build folder."""
    folder = getattr(index_or_folder, "path", index_or_folder)
    return Path(folder) / STORE


class _Store:
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
            try:
                self.con.close()
            except Exception:  # closing checkpoints; a failure leaves the write-ahead log, replayed on next open
                pass
            self.con = None
        self.stale = False

    def close(self) -> None:
        with self.write_lock, self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if not self.users:
                self._close()


_STORES: dict[Path, _Store] = {}
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


def _store(index, *, create: bool = False) -> _Store:
    path = labels_path(index)
    if not create and not path.exists():
        raise IndexMissing(f"no labels at {path.parent}: create a task first (`inspector task create`)")
    key = path.resolve()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = _Store(key)
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
        try:
            store.close()
        except Exception:
            pass


# -- tasks -----------------------------------------------------------------------------------------------------------

def _check_name(kind: str, name) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidQuery(
            f"{kind} name {str(name)[:40]!r}: use 1-64 letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return name


def check_annotator(name) -> str:
    """An annotator's name as the store accepts it (1-64 letters, digits and . _ @ + -), or InvalidQuery saying so:
    for a caller (the app) that checks a name before it has a task to label."""
    return _check_name("annotator", name)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds") + "Z"


def _sample_parts(docs, scores) -> tuple[list, list | None, dict]:
    """Documents, scores and sampling arguments from a list of document numbers, an `inspector.sampling.Sample`
    (its `documents`, each with `doc` and `score`; the rest is kept as the sampling arguments), its JSON as a dict,
    or any object with `docs` (and `scores`)."""
    args: dict = {}
    if not isinstance(docs, (list, tuple, dict)) and hasattr(docs, "as_dict"):  # inspector.sampling.Sample
        data = docs.as_dict()
        docs = data if isinstance(data, dict) else []
    if not isinstance(docs, (list, tuple, dict)) and hasattr(docs, "docs"):
        obj = docs
        if scores is None:
            scores = getattr(obj, "scores", None)
        docs = obj.docs
    elif isinstance(docs, dict):
        data = docs
        rows = data.get("docs", data.get("documents", data.get("items")))
        args = {k: v for k, v in data.items() if k not in ("docs", "scores", "documents", "items")}
        if scores is None:
            scores = data.get("scores")
        docs = rows if rows is not None else []
    docs = list(docs)
    if docs and isinstance(docs[0], dict):
        rows = docs
        docs = [r.get("doc") for r in rows]
        if scores is None and any("score" in r for r in rows):
            scores = [r.get("score") for r in rows]
    if scores is not None:
        scores = list(scores)
    return docs, scores, args


def create_task(
    index,
    name: str,
    docs,
    scores: Sequence[float | None] | None = None,
    *,
    scheme: str | Scheme = "keep-drop",
    guideline: str = "",
    sample_args: dict | None = None,
    second_pass: bool = False,
    score_name: str | None = None,
    hide_score: bool = True,
    hidden_columns: Sequence[str] = (),
) -> Task:
    """A new task over documents `docs` of `index` (numbers in its build, in the order annotators see them), with
    each document's score when given; `docs` may also be a sample (see `_sample_parts`). `hide_score` and
    `hidden_columns` (metadata columns of the index) keep what could anchor a label from annotators (`Task.blind`)."""
    _check_name("task", name)
    hidden_columns = _check_hidden(index, hidden_columns)
    scheme = scheme if isinstance(scheme, Scheme) else parse_scheme(scheme)
    docs, scores, args = _sample_parts(docs, scores)
    args = {**args, **(sample_args or {})}
    if score_name is None:
        score_name = args.get("score") or args.get("score_column") or args.get("column")
        score_name = score_name if isinstance(score_name, str) else None
    if not docs:
        raise InvalidQuery("a task needs at least one document")
    if len(docs) > MAX_ITEMS:
        raise InvalidQuery(f"a task holds at most {MAX_ITEMS:,} documents, not {len(docs):,}")
    if scores is not None and len(scores) != len(docs):
        raise InvalidQuery(f"{len(scores):,} scores for {len(docs):,} documents: give one score per document")
    if not isinstance(guideline, str) or len(guideline) > MAX_GUIDELINE:
        raise InvalidQuery(f"the guideline is text of at most {MAX_GUIDELINE:,} characters")
    numbers = []
    for doc in docs:
        try:
            if isinstance(doc, bool):
                raise TypeError
            number = int(doc.strip()) if isinstance(doc, str) else operator.index(doc)
        except (TypeError, ValueError):
            raise InvalidQuery(f"document {str(doc)[:40]!r} is not a document number") from None
        numbers.append(index.documents.check(number))
    if len(set(numbers)) != len(numbers):
        repeated = next(d for d, c in Counter(numbers).items() if c > 1)
        raise InvalidQuery(f"document {repeated} is in the sample twice")
    clean_scores = None
    if scores is not None:
        clean_scores = []
        for s in scores:
            try:
                value = None if s is None else float(s)
            except (TypeError, ValueError):
                raise InvalidQuery(f"score {str(s)[:40]!r} is not a number") from None
            clean_scores.append(None if value is None or math.isnan(value) else value)
    documents = index.documents
    rows = [
        (name, position, doc, documents.file(doc), documents.row(doc), documents.id(doc), documents.text_crc(doc),
         documents.tokens(doc), clean_scores[position] if clean_scores else None)
        for position, doc in enumerate(numbers)
    ]
    try:
        sample_json = json.dumps(args, default=str)
    except (TypeError, ValueError):
        raise InvalidQuery("the sampling arguments are not JSON") from None
    created = _now()
    with _store(index, create=True).transaction() as cur:
        if cur.execute("SELECT 1 FROM tasks WHERE name = ?", [name]).fetchone():
            raise InvalidQuery(f"a task named {name!r} exists at {index.path}: choose another name")
        cur.execute(
            f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [name, created, index.build.name, json.dumps(scheme.as_dict()), guideline, sample_json, score_name,
             bool(second_pass), len(rows), bool(hide_score), json.dumps(hidden_columns)],
        )
        cur.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return get_task(index, name)


def _check_hidden(index, columns) -> tuple[str, ...]:
    """Columns to hide from annotators: metadata columns of the index (a name that is not one is an error, not
    silently nothing hidden)."""
    if isinstance(columns, str) or len(columns := list(columns)) > 100:
        raise InvalidQuery("hidden_columns is a list of at most 100 metadata column names")
    if not columns:
        return ()
    known = [*index.catalog.metadata_columns(), *index.catalog.signal_columns()]
    for column in columns:
        if column not in known:
            raise InvalidQuery(f"cannot hide column {str(column)[:64]!r}: it is not a metadata column of this index; "
                               f"its columns: {', '.join(known)[:500]}")
    return tuple(dict.fromkeys(columns))


def _task_from_row(row) -> Task:
    name, created, build, scheme, guideline, sample, score_name, second_pass, items, hide_score, hidden = row
    s = json.loads(scheme)
    return Task(
        name=name, created=_iso(created), build=build,
        scheme=Scheme(s["kind"], tuple(s["values"]), tuple(s["names"])), guideline=guideline, items=items,
        sample=json.loads(sample), score_name=score_name, second_pass=bool(second_pass),
        hide_score=hide_score is not False, hidden_columns=tuple(json.loads(hidden)) if hidden else (),
    )


_TASK_COLUMNS = ("name, created, build, scheme, guideline, sample, score_name, second_pass, items, hide_score, "
                 "hidden_columns")


def annotator_metadata(index, task: Task, metadata: dict, *, reveal: bool = False) -> dict:
    """A document's metadata as an annotator of `task` may see it: without the hidden columns, and without the id
    column when the task is blind (an id can name its source); everything when `reveal` (one item, on request)."""
    if reveal or not task.blind:
        return dict(metadata)
    hidden = {*task.hidden, index.manifest.get("id_column")}
    return {k: v for k, v in metadata.items() if k not in hidden}


def tasks(index) -> tuple[Task, ...]:
    """Every task at this index folder, oldest first (none when there are no labels yet)."""
    if not labels_path(index).exists():
        return ()
    with _store(index).cursor() as cur:
        rows = cur.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY created, name").fetchall()
    return tuple(_task_from_row(r) for r in rows)


def get_task(index, task: str | Task) -> Task:
    if isinstance(task, Task):
        return task
    _check_name("task", task)
    if not labels_path(index).exists():
        raise InvalidQuery(f"no task named {task!r} at {index.path}: it has no tasks yet (`inspector task create`)")
    with _store(index).cursor() as cur:
        row = cur.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE name = ?", [task]).fetchone()
        if row is None:
            names = [r[0] for r in cur.execute("SELECT name FROM tasks ORDER BY created, name LIMIT 21").fetchall()]
    if row is None:
        there = ", ".join(names[:20]) + (", and more" if len(names) > 20 else "") if names else "none yet"
        raise InvalidQuery(f"no task named {task!r} at {index.path}; its tasks: {there}")
    return _task_from_row(row)


# -- identity --------------------------------------------------------------------------------------------------------

_RESOLVED: dict[tuple, tuple[Item, ...]] = {}
_RESOLVED_LOCK = threading.Lock()


def resolve(index, task: str | Task) -> tuple[Item, ...]:
    """The task's items, in order, found again in the build `index` answers from (see the module's doc)."""
    task = get_task(index, task)
    key = (str(index.build), task.name, task.created)
    with _RESOLVED_LOCK:
        if key in _RESOLVED:
            return _RESOLVED[key]
    with _store(index).cursor() as cur:
        rows = cur.execute(
            'SELECT position, doc, file, "row", id, text_crc, tokens, score FROM items WHERE task = ? '
            "ORDER BY position",
            [task.name],
        ).fetchall()
    documents = index.documents
    found: dict[int, tuple[int | None, str, int | None]] = {}
    pending = []
    for position, doc, file, row, id_, crc, tokens, score in rows:
        at = documents.find_row(file, row)
        if at is not None and documents.text_crc(at) == crc:
            found[position] = (at, "ok", None)
        else:
            pending.append((position, file, row, id_, crc, tokens, at))
    by_id = documents.docs_with_ids(p[3] for p in pending)
    for position, file, row, id_, crc, tokens, at in pending:
        if id_ is not None:
            same_id = by_id.get(id_, [])
            same_text = [d for d in same_id if documents.text_crc(d) == crc]
            if same_text:
                found[position] = (same_text[0], "moved", None)
            elif same_id:
                found[position] = (None, "changed", same_id[0])
            else:
                found[position] = (None, "vanished", None)
            continue
        same_text = documents.docs_with_text(file, crc, tokens)
        if same_text:
            found[position] = (same_text[0], "moved", None)
        elif at is not None:
            found[position] = (None, "changed", at)
        else:
            found[position] = (None, "vanished", None)
    items = tuple(
        Item(task.name, position, found[position][0], found[position][1], file, row, id_, crc, tokens, score, doc,
             found[position][2])
        for position, doc, file, row, id_, crc, tokens, score in rows
    )
    with _RESOLVED_LOCK:
        if len(_RESOLVED) > 64:
            _RESOLVED.clear()
        _RESOLVED[key] = items
    return items


def _item_of(index, task: Task, doc: int) -> Item:
    doc = index.documents.check(doc)
    for item in resolve(index, task):
        if item.doc == doc:
            return item
    raise InvalidQuery(
        f"document {doc} is not in task {task.name!r} (or its text is not the one the task was made with)"
    )


# -- labelling -------------------------------------------------------------------------------------------------------

def _check_round(task: Task, round: int) -> int:
    if round not in (1, 2) or isinstance(round, bool):
        raise InvalidQuery(f"round {round!r}: 1, or 2 for the second pass over disagreements")
    if round == 2 and not task.second_pass:
        raise InvalidQuery(f"task {task.name!r} has no second pass: create it with second_pass=True")
    return round


def _record(index, task, doc, annotator, kind, value, note, round) -> Label:
    task = get_task(index, task)
    _check_name("annotator", annotator)
    round = _check_round(task, round)
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise InvalidQuery(f"a note is text of at most {MAX_NOTE:,} characters")
    stored = task.scheme.value(value) if kind == "label" else None
    item = _item_of(index, task, doc)
    d = index.documents  # the document as labelled: where it is in this build (its text is the item's)
    where = (item.doc, d.file(item.doc), d.row(item.doc), d.id(item.doc), d.text_crc(item.doc))
    at = _now()
    with _store(index).transaction() as cur:
        seq = cur.execute("SELECT nextval('label_seq')").fetchone()[0]
        cur.execute(
            "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, task.name, item.position, round, annotator, kind, stored, note, at, index.build.name, *where],
        )
    return Label(seq, task.name, item.position, round, annotator, kind, stored, task.scheme.name(stored), note,
                 _iso(at), index.build.name, *where)


def add_label(index, task: str | Task, doc: int, annotator: str, value, *, note: str | None = None,
              round: int = 1) -> Label:
    """Label document `doc` (its number in `index`'s build) of `task`: committed before this returns. Labelling
    again replaces the current label and keeps the old one in the history."""
    return _record(index, task, doc, annotator, "label", value, note, round)


def skip(index, task: str | Task, doc: int, annotator: str, *, note: str | None = None, round: int = 1) -> Label:
    """Pass over `doc` for now: a skip event, not a label; `next_item` offers it again once nothing else is left
    when asked to (`include_skipped`)."""
    return _record(index, task, doc, annotator, "skip", None, note, round)


_LABEL_COLUMNS = 'seq, task, position, round, annotator, kind, value, note, "at", build, doc, file, "row", id, text_crc'


def _events(index, task: Task) -> list[tuple]:
    with _store(index).cursor() as cur:
        return cur.execute(
            f"SELECT {_LABEL_COLUMNS} FROM labels WHERE task = ? ORDER BY seq", [task.name]
        ).fetchall()


def _label(task: Task, row) -> Label:
    seq, name, position, round, annotator, kind, value, note, at, build, doc, file, r, id_, crc = row
    return Label(seq, name, position, round, annotator, kind, value, task.scheme.name(value), note, _iso(at), build,
                 doc, file, r, id_, crc)


def current_labels(index, task: str | Task, *, history: bool = False) -> tuple[Label, ...]:
    """The current labels of a task (the latest per item, round and annotator), or with `history` every event ever
    recorded (relabels and skips too), in the order given."""
    task = get_task(index, task)
    events = [_label(task, r) for r in _events(index, task)]
    if history:
        return tuple(events)
    return tuple(_current(events).values())


def _current(events: Sequence[Label]) -> dict[tuple[int, int, str], Label]:
    """(position, round, annotator) -> the latest label event (skips do not replace a label)."""
    current: dict[tuple[int, int, str], Label] = {}
    for event in events:
        if event.kind == "label":
            current[(event.position, event.round, event.annotator)] = event
    return current


def _disagreeing(current: dict, positions) -> set[int]:
    by_item: dict[int, set] = defaultdict(set)
    for (position, round, _), label in current.items():
        if round == 1:
            by_item[position].add(label.value)
    return {p for p in positions if len(by_item.get(p, ())) > 1}


def _round_items(index, task: Task, round: int) -> tuple[list[Item], dict, list[Label]]:
    items = resolve(index, task)
    events = [_label(task, r) for r in _events(index, task)]
    current = _current(events)
    usable = [i for i in items if i.doc is not None]
    if round == 2:
        disagree = _disagreeing(current, {i.position for i in usable})
        usable = [i for i in usable if i.position in disagree]
    return usable, current, events


def next_item(index, task: str | Task, annotator: str, *, round: int = 1, include_skipped: bool = False) -> Item | None:
    """The first item (in the task's order) this annotator has neither labelled nor skipped in this round; with
    `include_skipped`, then the first one skipped and still unlabelled. None when done. Changed and vanished items
    are never offered. Round 2 offers the items the first round disagreed on."""
    task = get_task(index, task)
    _check_name("annotator", annotator)
    round = _check_round(task, round)
    return _next(*_round_items(index, task, round), annotator, round, include_skipped)


def _next(usable, current, events, annotator: str, round: int, include_skipped: bool = False) -> Item | None:
    skipped = {e.position for e in events if e.kind == "skip" and e.annotator == annotator and e.round == round}
    todo = [i for i in usable if (i.position, round, annotator) not in current]
    for item in todo:
        if item.position not in skipped:
            return item
    if include_skipped and todo:
        return todo[0]
    return None


def progress(index, task: str | Task, annotator: str, *, round: int = 1) -> Progress:
    task = get_task(index, task)
    _check_name("annotator", annotator)
    round = _check_round(task, round)
    return _progress(index, task, *_round_items(index, task, round), annotator, round)


def _progress(index, task: Task, usable, current, events, annotator: str, round: int) -> Progress:
    positions = {i.position for i in usable}
    labelled = {p for (p, r, a) in current if r == round and a == annotator and p in positions}
    skipped = {e.position for e in events if e.kind == "skip" and e.annotator == annotator and e.round == round
               and e.position in positions} - labelled
    unavailable = sum(1 for i in resolve(index, task) if i.doc is None)
    return Progress(task.name, annotator, round, len(usable), len(labelled), len(skipped),
                    len(usable) - len(labelled) - len(skipped), unavailable)


def annotator_view(index, task: Task, annotator: str, *, round: int = 1) -> tuple[Progress, tuple[Item, ...],
                                                                                   Item | None]:
    """`progress`, the items offered in this round (in order) and `next_item`, from one read of the labels: what
    the Annotate page draws after each label, read once."""
    _check_name("annotator", annotator)
    round = _check_round(task, round)
    usable, current, events = _round_items(index, task, round)
    return (_progress(index, task, usable, current, events, annotator, round), tuple(usable),
            _next(usable, current, events, annotator, round))


def labelled_docs(index, task: str | Task | None = None) -> tuple[int, ...]:
    """Documents of `index`'s build with at least one label (in `task`, or in any task), sorted: what a new sample
    can leave out (`inspector.sampling.sample(..., exclude_docs=...)`). A `task` that is not there is an error."""
    if task is None and not labels_path(index).exists():
        return ()
    chosen = [get_task(index, task)] if task is not None else list(tasks(index))
    docs = set()
    for t in chosen:
        with _store(index).cursor() as cur:
            positions = {r[0] for r in cur.execute(
                "SELECT DISTINCT position FROM labels WHERE task = ? AND kind = 'label'", [t.name]).fetchall()}
        docs.update(i.doc for i in resolve(index, t) if i.position in positions and i.doc is not None)
    return tuple(sorted(docs))


# -- annotators: rename and merge ------------------------------------------------------------------------------------

KEEP_CHOICES = ("newest", "target")


@dataclass(frozen=True, slots=True)
class RenamePlan(_Result):
    """What renaming `source` to `target` in a task would do, before it is done (the lead confirms it)."""

    task: str
    source: str
    target: str
    #: the source's label events that would move (labels, relabels kept in history, skips; both rounds)
    events: int
    #: the source's and the target's current labels (per item and round)
    labels: int
    target_labels: int
    #: the target has labels in this task already: a merge
    merge: bool
    #: items (per round) both have a current label on, and how many of those labels differ
    both: int
    differ: int


@dataclass(frozen=True, slots=True)
class Rename(_Result):
    """One rename or merge of an annotator's labels in a task, as recorded."""

    seq: int
    task: str
    source: str
    target: str
    #: who renamed (the lead's name)
    by: str
    #: UTC, ISO 8601
    at: str
    #: label events moved to the target (labels, relabels kept in history, skips; both rounds)
    events: int
    merge: bool
    #: items (per round) both had labelled; `keep` says which label stayed current there (None: there were none)
    conflicts: int
    keep: str | None


def _plan(cur, task: Task, source: str, target: str) -> RenamePlan:
    events = dict(cur.execute(
        "SELECT annotator, count(*) FROM labels WHERE task = ? AND annotator IN (?, ?) GROUP BY annotator",
        [task.name, source, target]).fetchall())
    latest: dict[str, dict] = {source: {}, target: {}}
    for position, round, annotator, value in cur.execute(
            "SELECT position, round, annotator, arg_max(value, seq) FROM labels WHERE task = ? AND kind = 'label' "
            "AND annotator IN (?, ?) GROUP BY position, round, annotator", [task.name, source, target]).fetchall():
        latest[annotator][(position, round)] = value
    both = latest[source].keys() & latest[target].keys()
    return RenamePlan(task.name, source, target, events.get(source, 0), len(latest[source]), len(latest[target]),
                      target in events, len(both), sum(latest[source][k] != latest[target][k] for k in both))


def _checked_rename(index, task, source, target) -> Task:
    task = get_task(index, task)
    _check_name("annotator", source)
    _check_name("annotator", target)
    if source == target:
        raise InvalidQuery(f"rename {source!r} to another name, not to itself")
    return task


def plan_rename(index, task: str | Task, source: str, target: str) -> RenamePlan:
    """What `rename_annotator` would do now; InvalidQuery when `source` has nothing in the task to rename."""
    task = _checked_rename(index, task, source, target)
    with _store(index).cursor() as cur:
        plan = _plan(cur, task, source, target)
        if not plan.events:
            names = [r[0] for r in cur.execute(
                "SELECT DISTINCT annotator FROM labels WHERE task = ? ORDER BY 1 LIMIT 21", [task.name]).fetchall()]
    if not plan.events:
        there = ", ".join(names[:20]) + (", and more" if len(names) > 20 else "") if names else "none yet"
        raise InvalidQuery(f"{source!r} has no labels in task {task.name!r}; its annotators: {there}")
    return plan


def rename_annotator(index, task: str | Task, source: str, target: str, *, by: str,
                     keep: str | None = None) -> Rename:
    """Move every label event of `source` in `task` to `target`, in one transaction, recorded with `by` (the lead)
    and the time. When `target` already labelled an item `source` labelled too (in the same round), one label must
    stay current: `keep="newest"` (the later of the two; the other becomes history) or `keep="target"` (the
    source's labels there are set aside, kept in the history as kind `set_aside`); without `keep` such a merge is
    refused and nothing changes."""
    task = _checked_rename(index, task, source, target)
    _check_name("lead", by)
    if keep is not None and keep not in KEEP_CHOICES:
        raise InvalidQuery(f"keep {str(keep)[:40]!r}: use one of {', '.join(KEEP_CHOICES)}")
    plan_rename(index, task, source, target)  # says what is wrong before anything is written
    at = _now()
    with _store(index).transaction() as cur:
        plan = _plan(cur, task, source, target)  # again, inside the transaction: what is moved is what was counted
        if not plan.events:
            raise InvalidQuery(f"{source!r} has no labels in task {task.name!r} (renamed meanwhile?)")
        if plan.both and keep is None:
            raise InvalidQuery(
                f"{target!r} and {source!r} both labelled {plan.both:,} item(s) of task {task.name!r} ({plan.differ:,} "
                "differently): choose the label that stays, the newest or the target's (keep=newest|target)")
        if plan.both and keep == "target":
            cur.execute(
                "UPDATE labels SET kind = 'set_aside' WHERE task = ? AND annotator = ? AND kind = 'label' AND EXISTS "
                "(SELECT 1 FROM labels t WHERE t.task = labels.task AND t.annotator = ? AND t.kind = 'label' "
                "AND t.position = labels.position AND t.round = labels.round)", [task.name, source, target])
        seq = cur.execute("SELECT nextval('rename_seq')").fetchone()[0]
        cur.execute("INSERT INTO renamed_labels SELECT ?, seq FROM labels WHERE task = ? AND annotator = ?",
                    [seq, task.name, source])
        cur.execute("UPDATE labels SET annotator = ? WHERE task = ? AND annotator = ?", [target, task.name, source])
        kept = keep if plan.both else None
        cur.execute("INSERT INTO renames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [seq, task.name, source, target, by, at, plan.events, plan.merge, plan.both, kept])
    return Rename(seq, task.name, source, target, by, _iso(at), plan.events, plan.merge, plan.both, kept)


def renames(index, task: str | Task | None = None) -> tuple[Rename, ...]:
    """Every rename and merge recorded (in `task`, or in any task), oldest first."""
    if task is None and not labels_path(index).exists():
        return ()
    name = None if task is None else get_task(index, task).name
    with _store(index).cursor() as cur:
        rows = cur.execute(
            'SELECT seq, task, source, target, "by", "at", events, merge, conflicts, keep FROM renames '
            "WHERE ? IS NULL OR task = ? ORDER BY seq", [name, name]).fetchall()
    return tuple(Rename(seq, t, s, g, b, _iso(at), e, m, c, k) for seq, t, s, g, b, at, e, m, c, k in rows)


# -- analysis and export ---------------------------------------------------------------------------------------------

def _positive_from(task: Task, positive_from: int | None) -> int:
    values = task.scheme.values
    if not task.scheme.ordinal:
        if positive_from is not None:
            raise InvalidQuery(f"positive_from is for an ordinal scale: task {task.name!r} labels keep or drop (keep "
                               "is positive)")
        return 1
    if positive_from is None:
        return math.ceil((values[0] + values[-1]) / 2)
    if positive_from not in values:
        raise InvalidQuery(f"positive_from {positive_from!r} is not on the scale {values[0]}-{values[-1]}")
    return positive_from


def label_stats(index, task: str | Task, *, positive_from: int | None = None, bins: int = 5) -> LabelStats:
    """Agreement, distributions, disagreements and the score against the labels (definitions in
    `inspector.agreement`). Only first-round labels count toward κ, α and the distributions; an item's final
    majority is its second-round majority when it has one."""
    task = get_task(index, task)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 100:
        raise InvalidQuery(f"bins must be between 1 and 100, not {bins!r}")
    threshold = _positive_from(task, positive_from)
    scheme = task.scheme
    items = resolve(index, task)
    events = [_label(task, r) for r in _events(index, task)]
    current = _current(events)
    first: dict[int, dict[str, int]] = defaultdict(dict)
    second: dict[int, dict[str, int]] = defaultdict(dict)
    for (position, round, annotator), label in current.items():
        (first if round == 1 else second)[position][annotator] = label.value
    annotators = tuple(sorted({a for labels_ in first.values() for a in labels_}))
    positions = [i.position for i in items]
    matrix = [[first[p].get(a, math.nan) for p in positions] for a in annotators]
    alpha = krippendorff_alpha(matrix, scale=scheme.values, ordinal=scheme.ordinal) if annotators else None
    kappa, kappa_items = None, 0
    if len(annotators) == 2:
        a, b = annotators
        both = [p for p in positions if a in first[p] and b in first[p]]
        kappa_items = len(both)
        kappa = cohen_kappa([first[p][a] for p in both], [first[p][b] for p in both], scale=scheme.values,
                            ordinal=scheme.ordinal)
    distributions = {
        a: {name: sum(1 for p in positions if first[p].get(a) == v) for v, name in zip(scheme.values, scheme.names)}
        for a in annotators
    }
    finals, disagreements = {}, []
    for item in items:
        given = first.get(item.position, {})
        if not given:
            continue
        first_majority = majority(list(given.values()))
        adjudicated = majority(list(second[item.position].values())) if second.get(item.position) else None
        finals[item.position] = adjudicated if second.get(item.position) else first_majority
        if len(set(given.values())) > 1:
            disagreements.append(Disagreement(
                item.position, item.doc, item.status, item.id, item.score,
                {a: scheme.name(v) for a, v in sorted(given.items())}, scheme.name(first_majority),
                scheme.name(adjudicated), {a: scheme.name(v) for a, v in sorted(second.get(item.position, {}).items())},
            ))
    majorities = {name: sum(1 for v in finals.values() if v == value) for value, name in
                  zip(scheme.values, scheme.names)}
    majorities["tie"] = sum(1 for v in finals.values() if v is None)
    score = None
    all_scores = [i.score for i in items if i.score is not None]
    if all_scores:
        pairs = [(i.score, finals[i.position] >= threshold) for i in items
                 if i.score is not None and finals.get(i.position) is not None]
        score = score_agreement(
            [s for s, _ in pairs], [y for _, y in pairs], all_scores=all_scores, bins=bins,
            positive_label="keep" if not scheme.ordinal else f">= {threshold}",
        )
    label_events = [e for e in events if e.kind == "label" and e.round == 1]
    current_first = sum(1 for k in current if k[1] == 1)
    return LabelStats(
        task=task.name, scheme=scheme.spec, items=len(items), labelled_items=len(finals), annotators=annotators,
        labels=current_first, relabels=len(label_events) - current_first,
        skips=sum(1 for e in events if e.kind == "skip"),
        identity={s: sum(1 for i in items if i.status == s) for s in STATUSES},
        kappa=kappa, kappa_items=kappa_items,
        kappa_weights=None if len(annotators) != 2 else "quadratic" if scheme.ordinal else "none",
        alpha=alpha, alpha_level="ordinal" if scheme.ordinal else "nominal",
        distributions=distributions, majorities=majorities, disagreements=tuple(disagreements), score=score,
    )


EXPORT_FORMATS = ("csv", "parquet", "jsonl")


def label_table(index, task: str | Task):
    """One row per item: where it is now (`doc`, `status`), its identity, score, each annotator's current label
    (`label:NAME`; second round `label2:NAME`), the final `majority` (None: a tie or no labels), `disagreement`
    (first-round labels differ) and `adjudicated` (a second round decided it). A pyarrow Table."""
    import pyarrow as pa

    task = get_task(index, task)
    scheme = task.scheme
    items = resolve(index, task)
    current = _current([_label(task, r) for r in _events(index, task)])
    first: dict[int, dict[str, int]] = defaultdict(dict)
    second: dict[int, dict[str, int]] = defaultdict(dict)
    for (position, round, annotator), label in current.items():
        (first if round == 1 else second)[position][annotator] = label.value
    annotators = sorted({a for d in first.values() for a in d})
    adjudicators = sorted({a for d in second.values() for a in d})
    label_type = pa.int64() if scheme.ordinal else pa.string()

    def shown(value):
        return None if value is None else value if scheme.ordinal else scheme.name(value)

    columns: dict[str, tuple[list, object]] = {
        "task": ([i.task for i in items], pa.string()),
        "position": ([i.position for i in items], pa.int64()),
        "doc": ([i.doc for i in items], pa.int64()),
        "status": ([i.status for i in items], pa.string()),
        "id": ([i.id for i in items], pa.string()),
        "file": ([i.file for i in items], pa.string()),
        "row": ([i.row for i in items], pa.int64()),
        "text_crc": ([i.text_crc for i in items], pa.int64()),
        "tokens": ([i.tokens for i in items], pa.int64()),
        "task_doc": ([i.task_doc for i in items], pa.int64()),
        "score": ([i.score for i in items], pa.float64()),
    }
    for a in annotators:
        columns[f"label:{a}"] = ([shown(first[i.position].get(a)) for i in items], label_type)
    for a in adjudicators:
        columns[f"label2:{a}"] = ([shown(second[i.position].get(a)) for i in items], label_type)
    finals, disagree, adjudicated, counts = [], [], [], []
    for i in items:
        given, again = first.get(i.position, {}), second.get(i.position, {})
        final = majority(list(again.values())) if again else majority(list(given.values()))
        finals.append(shown(final))
        disagree.append(len(set(given.values())) > 1)
        adjudicated.append(bool(again))
        counts.append(len(given))
    columns["labels"] = (counts, pa.int64())
    columns["majority"] = (finals, label_type)
    columns["disagreement"] = (disagree, pa.bool_())
    columns["adjudicated"] = (adjudicated, pa.bool_())
    return pa.table({name: pa.array(values, kind) for name, (values, kind) in columns.items()})


def export_labels(index, task: str | Task, out: str | Path, *, format: str | None = None) -> ExportReport:
    """Write `label_table` to `out` as csv, parquet or jsonl (by `format`, else by the file's suffix)."""
    out = Path(out)
    fmt = (format or out.suffix.lstrip(".")).lower()
    if fmt not in EXPORT_FORMATS:
        raise InvalidQuery(f"export format {fmt or out.name!r}: use one of {', '.join(EXPORT_FORMATS)}")
    table = label_table(index, task)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        elif fmt == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for row in table.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InspectorError(f"cannot write {out}: {exc.strerror or exc}") from None
    return ExportReport(str(out), fmt, table.num_rows, tuple(table.column_names))
