"""Does a measurement predict which run collapses? ROC AUC with bootstrap intervals (NumPy).

The question of issue 14, asked per feature: over the seeds of one setting, does an early
measurement rank the runs that will collapse above those that will not?
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["auc", "AucInterval", "bootstrap_auc"]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 = positive, e.g. collapsed).

    The Mann-Whitney form: ``AUC = P(s+ > s-) + P(s+ = s-) / 2`` over all positive-negative
    pairs, computed from average ranks (ties share their mean rank) as
    ``(R+ - n+ (n+ + 1) / 2) / (n+ n-)`` with ``R+`` the positives' rank sum (Hanley & McNeil 1982).

    Raises:
      ValueError: ``labels`` holds one class only (the AUC is undefined).
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes; got {n_pos} positive and {n_neg} negative")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i: j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class AucInterval(NamedTuple):
    """An AUC with its bootstrap percentile interval."""

    auc: float
    low: float
    high: float


def bootstrap_auc(scores: np.ndarray, labels: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                  seed: int = 0) -> AucInterval:
    """The AUC with a percentile bootstrap interval (Efron & Tibshirani 1993, Sec. 13.3).

    Runs are resampled with replacement ``n_boot`` times (``numpy.random.default_rng(seed)``);
    resamples that hold one class only are drawn again. The interval is the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles of the resampled AUCs.
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    point = auc(scores, labels)
    rng = np.random.default_rng(seed)
    values = []
    while len(values) < n_boot:
        idx = rng.integers(0, len(scores), len(scores))
        if labels[idx].all() or not labels[idx].any():
            continue
        values.append(auc(scores[idx], labels[idx]))
    low, high = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return AucInterval(point, float(low), float(high))
