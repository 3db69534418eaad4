"""Does contamination inflate scores? Mean scores of clean, partial and dirty items, and the difference."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..results import Result
from .measures import VERDICTS
from .report import ItemResult


@dataclass(frozen=True, slots=True)
class ScoreGroup(Result):
    verdict: str
    items: int
    mean: float | None


@dataclass(frozen=True, slots=True)
class ScoreSplit(Result):
    """Mean score on clean / partial / dirty items, and the difference (contaminated - clean) with a bootstrap
    95 % interval: an interval above 0 says the contaminated items score higher than chance explains."""

    groups: tuple[ScoreGroup, ...]
    #: mean score of partial and dirty items minus that of clean items (None when either side has no scores)
    difference: float | None
    low: float | None
    high: float | None
    resamples: int
    seed: int


def score_split(items: Sequence[ItemResult], scores: dict | None = None, *, resamples: int = 2000,
                seed: int = 0) -> ScoreSplit:
    """Scores from `scores` ({(benchmark, index) or (benchmark, id): score}) or each item's own `score`."""
    by_verdict: dict[str, list[float]] = {v: [] for v in VERDICTS}
    for item in items:
        score = item.score
        if scores is not None:
            score = scores.get((item.benchmark, item.id), scores.get((item.benchmark, item.index)))
        if score is not None and item.verdict in by_verdict:
            by_verdict[item.verdict].append(float(score))
    groups = tuple(ScoreGroup(v, len(s), float(np.mean(s)) if s else None) for v, s in by_verdict.items())
    clean, contaminated = by_verdict["clean"], by_verdict["partial"] + by_verdict["dirty"]
    if not clean or not contaminated:
        return ScoreSplit(groups, None, None, None, resamples, seed)
    a, b = np.asarray(contaminated), np.asarray(clean)
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(a, (resamples, len(a))).mean(axis=1) - rng.choice(b, (resamples, len(b))).mean(axis=1))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return ScoreSplit(groups, float(a.mean() - b.mean()), float(low), float(high), resamples, seed)
