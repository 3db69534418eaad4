"""The annotator's queue: which item an annotator labels next in a round, and how far they are (the second round
offers the items the first round disagreed on).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..results import Result
from .identity import Item, resolve
from .labelling import Label, check_round, label_events, latest_labels
from .store import check_name
from .task import Task, get_task


@dataclass(frozen=True, slots=True)
class Progress(Result):
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


def _disagreeing(current: dict, positions) -> set[int]:
    by_item: dict[int, set] = defaultdict(set)
    for (position, round, _), label in current.items():
        if round == 1:
            by_item[position].add(label.value)
    return {p for p in positions if len(by_item.get(p, ())) > 1}


def _round_items(index, task: Task, round: int) -> tuple[list[Item], dict, list[Label]]:
    items = resolve(index, task)
    events = label_events(index, task)
    current = latest_labels(events)
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
    check_name("annotator", annotator)
    round = check_round(task, round)
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
    check_name("annotator", annotator)
    round = check_round(task, round)
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
    check_name("annotator", annotator)
    round = check_round(task, round)
    usable, current, events = _round_items(index, task, round)
    return (_progress(index, task, usable, current, events, annotator, round), tuple(usable),
            _next(usable, current, events, annotator, round))
