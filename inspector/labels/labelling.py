"""Labelling: recording a label or a skip (one committed transaction each) and reading the labels back, current or
with their history; the pieces the annotator's queue, the statistics and the export read labels through.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from index.errors import InvalidQuery

from ..results import Result
from .identity import Item, resolve
from .store import check_name, iso, labels_path, now, store_for
from .task import Task, get_task, tasks

MAX_NOTE = 2_000


@dataclass(frozen=True, slots=True)
class Label(Result):
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


def _item_of(index, task: Task, doc: int) -> Item:
    doc = index.documents.check(doc)
    for item in resolve(index, task):
        if item.doc == doc:
            return item
    raise InvalidQuery(
        f"document {doc} is not in task {task.name!r} (or its text is not the one the task was made with)"
    )


def check_round(task: Task, round: int) -> int:
    """`round` as given (1, or 2 when the task has a second pass), or InvalidQuery saying why not."""
    if round not in (1, 2) or isinstance(round, bool):
        raise InvalidQuery(f"round {round!r}: 1, or 2 for the second pass over disagreements")
    if round == 2 and not task.second_pass:
        raise InvalidQuery(f"task {task.name!r} has no second pass: create it with second_pass=True")
    return round


def _record(index, task, doc, annotator, kind, value, note, round) -> Label:
    task = get_task(index, task)
    check_name("annotator", annotator)
    round = check_round(task, round)
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise InvalidQuery(f"a note is text of at most {MAX_NOTE:,} characters")
    stored = task.scheme.value(value) if kind == "label" else None
    item = _item_of(index, task, doc)
    d = index.documents  # the document as labelled: where it is in this build (its text is the item's)
    where = (item.doc, d.file(item.doc), d.row(item.doc), d.id(item.doc), d.text_crc(item.doc))
    at = now()
    with store_for(index).transaction() as cur:
        seq = cur.execute("SELECT nextval('label_seq')").fetchone()[0]
        cur.execute(
            "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, task.name, item.position, round, annotator, kind, stored, note, at, index.build.name, *where],
        )
    return Label(seq, task.name, item.position, round, annotator, kind, stored, task.scheme.name(stored), note,
                 iso(at), index.build.name, *where)


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


def label_events(index, task: Task) -> list[Label]:
    """Every label event of `task` ever recorded (labels, relabels, skips, labels a merge set aside), in the order
    given."""
    with store_for(index).cursor() as cur:
        rows = cur.execute(
            f"SELECT {_LABEL_COLUMNS} FROM labels WHERE task = ? ORDER BY seq", [task.name]
        ).fetchall()
    return [_label(task, r) for r in rows]


def _label(task: Task, row) -> Label:
    seq, name, position, round, annotator, kind, value, note, at, build, doc, file, r, id_, crc = row
    return Label(seq, name, position, round, annotator, kind, value, task.scheme.name(value), note, iso(at), build,
                 doc, file, r, id_, crc)


def current_labels(index, task: str | Task, *, history: bool = False) -> tuple[Label, ...]:
    """The current labels of a task (the latest per item, round and annotator), or with `history` every event ever
    recorded (relabels and skips too), in the order given."""
    task = get_task(index, task)
    events = label_events(index, task)
    if history:
        return tuple(events)
    return tuple(latest_labels(events).values())


def latest_labels(events: Sequence[Label]) -> dict[tuple[int, int, str], Label]:
    """(position, round, annotator) -> the latest label event (skips do not replace a label)."""
    current: dict[tuple[int, int, str], Label] = {}
    for event in events:
        if event.kind == "label":
            current[(event.position, event.round, event.annotator)] = event
    return current


def values_by_round(current: dict[tuple[int, int, str], Label]) -> tuple[dict, dict]:
    """From `latest_labels`: item position -> {annotator: value}, for the first round and for the second."""
    first: dict[int, dict[str, int]] = defaultdict(dict)
    second: dict[int, dict[str, int]] = defaultdict(dict)
    for (position, round, annotator), label in current.items():
        (first if round == 1 else second)[position][annotator] = label.value
    return first, second


def labelled_docs(index, task: str | Task | None = None) -> tuple[int, ...]:
    """Documents of `index`'s build with at least one label (in `task`, or in any task), sorted: what a new sample
    can leave out (`inspector.sampling.sample(..., exclude_docs=...)`). A `task` that is not there is an error."""
    if task is None and not labels_path(index).exists():
        return ()
    chosen = [get_task(index, task)] if task is not None else list(tasks(index))
    docs = set()
    for t in chosen:
        with store_for(index).cursor() as cur:
            positions = {r[0] for r in cur.execute(
                "SELECT DISTINCT position FROM labels WHERE task = ? AND kind = 'label'", [t.name]).fetchall()}
        docs.update(i.doc for i in resolve(index, t) if i.position in positions and i.doc is not None)
    return tuple(sorted(docs))
