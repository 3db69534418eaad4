"""Renaming an annotator in a task (a name typed wrong, `daved` for `dave`), and merging two annotators' labels.

A label stays under the name it was given with, unless the lead renames that annotator in a task
(`rename_annotator`). A rename into a name that already has labels is a merge; an item both labelled keeps one
current label, chosen by the lead (`keep`: the newest, or the target's, the other set aside in the history), and the
merge is refused until one is chosen. Each rename is one transaction and is recorded (`renames`: who, from, to,
when, how many label events moved; `renamed_labels` lists the events).
"""
from __future__ import annotations

from dataclasses import dataclass

from index.errors import InvalidQuery

from ..results import Result
from .store import check_name, iso, labels_path, name_list, now, store_for
from .task import Task, get_task

KEEP_CHOICES = ("newest", "target")


@dataclass(frozen=True, slots=True)
class RenamePlan(Result):
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
class Rename(Result):
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
    check_name("annotator", source)
    check_name("annotator", target)
    if source == target:
        raise InvalidQuery(f"rename {source!r} to another name, not to itself")
    return task


def plan_rename(index, task: str | Task, source: str, target: str) -> RenamePlan:
    """What `rename_annotator` would do now; InvalidQuery when `source` has nothing in the task to rename."""
    task = _checked_rename(index, task, source, target)
    with store_for(index).cursor() as cur:
        plan = _plan(cur, task, source, target)
        if not plan.events:
            names = [r[0] for r in cur.execute(
                "SELECT DISTINCT annotator FROM labels WHERE task = ? ORDER BY 1 LIMIT 21", [task.name]).fetchall()]
    if not plan.events:
        there = name_list(names)
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
    check_name("lead", by)
    if keep is not None and keep not in KEEP_CHOICES:
        raise InvalidQuery(f"keep {str(keep)[:40]!r}: use one of {', '.join(KEEP_CHOICES)}")
    plan_rename(index, task, source, target)  # says what is wrong before anything is written
    at = now()
    with store_for(index).transaction() as cur:
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
    return Rename(seq, task.name, source, target, by, iso(at), plan.events, plan.merge, plan.both, kept)


def renames(index, task: str | Task | None = None) -> tuple[Rename, ...]:
    """Every rename and merge recorded (in `task`, or in any task), oldest first."""
    if task is None and not labels_path(index).exists():
        return ()
    name = None if task is None else get_task(index, task).name
    with store_for(index).cursor() as cur:
        rows = cur.execute(
            'SELECT seq, task, source, target, "by", "at", events, merge, conflicts, keep FROM renames '
            "WHERE ? IS NULL OR task = ? ORDER BY seq", [name, name]).fetchall()
    return tuple(Rename(seq, t, s, g, b, iso(at), e, m, c, k) for seq, t, s, g, b, at, e, m, c, k in rows)
