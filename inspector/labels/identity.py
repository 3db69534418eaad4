"""Finding a task's items again in the build the index answers from, so a label always describes the text it was
given for, through every rebuild.

An item names its document by (source file, row, id, CRC-32 of its text) as well as by its number in the build the
task was made on. `resolve(index, task)` finds each item in the build `index` answers from: the same file and row
with the same text CRC (`ok`, even when the document's number changed); else the same id with that CRC, or, without
ids, the same text (CRC and token count) in the same file (`moved`); else it is `changed` (a document with its id, or
without ids at its file and row, now holds other text) or `vanished`. Changed and vanished items are flagged and
never labelled or offered again.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from ..results import Result
from .store import store_for
from .task import Task, get_task

STATUSES = ("ok", "moved", "changed", "vanished")


@dataclass(frozen=True, slots=True)
class Item(Result):
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


_RESOLVED: dict[tuple, tuple[Item, ...]] = {}
_RESOLVED_LOCK = threading.Lock()


def resolve(index, task: str | Task) -> tuple[Item, ...]:
    """The task's items, in order, found again in the build `index` answers from (see the module's doc)."""
    task = get_task(index, task)
    key = (str(index.build), task.name, task.created)
    with _RESOLVED_LOCK:
        if key in _RESOLVED:
            return _RESOLVED[key]
    with store_for(index).cursor() as cur:
        rows = cur.execute(
            'SELECT position, doc, file, "row", id, text_crc, tokens, score FROM items WHERE task = ? '
            "ORDER BY position",
            [task.name],
        ).fetchall()
    documents = index.documents
    found: dict[int, tuple[int | None, str, int | None]] = {}
    pending = []
    for position, _doc, file, row, id_, crc, tokens, _score in rows:
        at = documents.find_row(file, row)
        if at is not None and documents.text_crc(at) == crc:
            found[position] = (at, "ok", None)
        else:
            pending.append((position, file, row, id_, crc, tokens, at))
    by_id = documents.docs_with_ids(p[3] for p in pending)
    for position, file, _row, id_, crc, tokens, at in pending:
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
