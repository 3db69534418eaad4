"""Tasks and their label schemes: which documents a task asks about (each item's identity as the task was made),
how they are labelled (keep/drop or an ordinal scale), what annotators are shown, and reading tasks back.
"""
from __future__ import annotations

import json
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from index.errors import InvalidQuery

from ..results import Result
from .store import check_name, iso, labels_path, name_list, now, store_for

MAX_ITEMS = 100_000
MAX_GUIDELINE = 20_000


@dataclass(frozen=True, slots=True)
class Scheme(Result):
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
class Task(Result):
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
    check_name("task", name)
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
    created = now()
    with store_for(index, create=True).transaction() as cur:
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
        name=name, created=iso(created), build=build,
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
    hidden = {*task.hidden, index.manifest.id_column}
    return {k: v for k, v in metadata.items() if k not in hidden}


def tasks(index) -> tuple[Task, ...]:
    """Every task at this index folder, oldest first (none when there are no labels yet)."""
    if not labels_path(index).exists():
        return ()
    with store_for(index).cursor() as cur:
        rows = cur.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY created, name").fetchall()
    return tuple(_task_from_row(r) for r in rows)


def get_task(index, task: str | Task) -> Task:
    if isinstance(task, Task):
        return task
    check_name("task", task)
    if not labels_path(index).exists():
        raise InvalidQuery(f"no task named {task!r} at {index.path}: it has no tasks yet (`inspector task create`)")
    with store_for(index).cursor() as cur:
        row = cur.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE name = ?", [task]).fetchone()
        if row is None:
            names = [r[0] for r in cur.execute("SELECT name FROM tasks ORDER BY created, name LIMIT 21").fetchall()]
    if row is None:
        there = name_list(names)
        raise InvalidQuery(f"no task named {task!r} at {index.path}; its tasks: {there}")
    return _task_from_row(row)
