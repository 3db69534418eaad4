"""Statistics of a task's labels: agreement (κ, α), distributions, majorities, the disagreements and their
adjudication in a second round, and the task's score against the labels (the formulas are `inspector.agreement`'s).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from index.errors import InvalidQuery

from ..agreement import (
    ScoreAgreement,
    cohen_kappa,
    krippendorff_alpha,
    majority,
    score_agreement,
)
from ..results import Result
from .identity import STATUSES, resolve
from .labelling import label_events, latest_labels, values_by_round
from .task import Task, get_task


@dataclass(frozen=True, slots=True)
class Disagreement(Result):
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
class LabelStats(Result):
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
    events = label_events(index, task)
    current = latest_labels(events)
    first, second = values_by_round(current)
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
    first_events = [e for e in events if e.kind == "label" and e.round == 1]
    current_first = sum(1 for k in current if k[1] == 1)
    return LabelStats(
        task=task.name, scheme=scheme.spec, items=len(items), labelled_items=len(finals), annotators=annotators,
        labels=current_first, relabels=len(first_events) - current_first,
        skips=sum(1 for e in events if e.kind == "skip"),
        identity={s: sum(1 for i in items if i.status == s) for s in STATUSES},
        kappa=kappa, kappa_items=kappa_items,
        kappa_weights=None if len(annotators) != 2 else "quadratic" if scheme.ordinal else "none",
        alpha=alpha, alpha_level="ordinal" if scheme.ordinal else "nominal",
        distributions=distributions, majorities=majorities, disagreements=tuple(disagreements), score=score,
    )
