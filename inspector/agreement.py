"""Agreement statistics for annotation tasks: pure functions over label values (integers), computed with
well-kept libraries (scikit-learn, `krippendorff`), never by hand.

Definitions (the README's "Annotation and agreement" says the same):

- **Cohen's κ**, exactly two annotators, over the items both labelled:
  `sklearn.metrics.cohen_kappa_score(a, b, labels=scale, weights=None)` for keep/drop, `weights="quadratic"` for an
  ordinal scale (a 5 against a 0 costs more than a 3 against a 2, as in essay scoring). `labels=` is the whole scale
  so weights follow the values' distances even when some values were never given.
- **Krippendorff's α**, any number of annotators (missing labels allowed):
  `krippendorff.alpha(reliability_data, level_of_measurement="nominal" | "ordinal", value_domain=scale)` with one
  row per annotator and NaN where an annotator gave no label.
- **Majority** of an item's labels: the value given more often than any other; a tie has no majority (None) and the
  item goes to adjudication.
- **Score against labels** (`score_agreement`): an item is positive when its majority is `keep` (keep/drop) or at
  least `positive_from` (ordinal; default the upper half of the scale, 3 on 0–5 as FineWeb-Edu uses). Per score bin
  (quantiles of all the task's scores): items and share positive. ROC-AUC: `sklearn.metrics.roc_auc_score`. Best
  threshold: among `sklearn.metrics.roc_curve`'s thresholds, the one where "score >= t" agrees with the most
  majority labels (accuracy); on a tie, the highest such t (the strictest filter that agrees as well).
"""
from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .results import Result


def cohen_kappa(a: Sequence[int], b: Sequence[int], *, scale: Sequence[int], ordinal: bool) -> float | None:
    """Cohen's κ between two annotators' labels of the same items (quadratic weights on an ordinal scale); None
    when it is undefined (fewer than two items, or chance agreement is already perfect)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa needs two label lists of the same items")
    if len(a) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined (one value in common) is NaN, and None below: nothing to warn
        kappa = cohen_kappa_score(list(a), list(b), labels=list(scale), weights="quadratic" if ordinal else None)
    kappa = float(kappa)
    return None if math.isnan(kappa) else kappa


def krippendorff_alpha(matrix, *, scale: Sequence[int], ordinal: bool) -> float | None:
    """Krippendorff's α of a (annotators, items) matrix of label values, NaN where an annotator gave none; None when
    it is undefined (no item labelled twice, or a single value given in all)."""
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2:
        return None
    pairable = np.sum(~np.isnan(data), axis=0) >= 2
    if not pairable.any() or len(np.unique(data[:, pairable][~np.isnan(data[:, pairable])])) < 2:
        return None
    import krippendorff

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = krippendorff.alpha(
                reliability_data=data,
                level_of_measurement="ordinal" if ordinal else "nominal",
                value_domain=[float(v) for v in scale],
            )
    except (ValueError, ZeroDivisionError):
        return None
    alpha = float(alpha)
    return None if math.isnan(alpha) else alpha


def majority(values: Sequence[int]) -> int | None:
    """The value given more often than any other; None for no labels or a tie."""
    ranked = Counter(values).most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


@dataclass(frozen=True, slots=True)
class ScoreBin(Result):
    """Items whose score lies in [lo, hi) (the last bin includes hi), and the share labelled positive."""

    lo: float
    hi: float
    items: int
    positive: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class ScoreAgreement(Result):
    #: what counts as positive: "keep", or ">= 3"
    positive: str
    #: items with a score and a majority label
    items: int
    positives: int
    bins: tuple[ScoreBin, ...]
    #: ROC-AUC of the score against the majority label; None unless both classes occur
    roc_auc: float | None
    #: the threshold t for which "score >= t" agrees with the most majority labels (None: none beats "drop all")
    best_threshold: float | None
    best_accuracy: float | None


def score_agreement(
    scores: Sequence[float], positive: Sequence[bool], *, all_scores: Sequence[float], bins: int = 5,
    positive_label: str = "keep",
) -> ScoreAgreement:
    """How a quality score agrees with the annotators: `scores[i]` and `positive[i]` for each item with both; bin
    edges are quantiles of `all_scores` (every item of the task that has a score)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    edges = np.unique(np.quantile(np.asarray(all_scores, dtype=float), np.linspace(0, 1, bins + 1))) if len(
        all_scores) else np.zeros(0)
    out_bins = []
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    for k in range(len(edges) - 1):
        lo, hi = float(edges[k]), float(edges[k + 1])
        last = k == len(edges) - 2
        inside = (s >= lo) & ((s <= hi) if last else (s < hi))
        n, pos = int(inside.sum()), int(y[inside].sum())
        out_bins.append(ScoreBin(lo, hi, n, pos, pos / n if n else None))
    auc = threshold = accuracy = None
    if len(s) and y.any() and not y.all():
        from sklearn.metrics import roc_auc_score, roc_curve

        auc = float(roc_auc_score(y, s))
        fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
        p, n = int(y.sum()), int((~y).sum())
        acc = (tpr * p + (1 - fpr) * n) / (p + n)
        best = int(np.argmax(acc))  # thresholds decrease: the first best is the highest
        accuracy = float(acc[best])
        threshold = float(thresholds[best]) if np.isfinite(thresholds[best]) else None
    elif len(s):
        accuracy = 1.0
        threshold = float(s.min()) if y.all() else None
    return ScoreAgreement(
        positive=positive_label, items=len(s), positives=int(y.sum()), bins=tuple(out_bins), roc_auc=auc,
        best_threshold=threshold, best_accuracy=accuracy,
    )
