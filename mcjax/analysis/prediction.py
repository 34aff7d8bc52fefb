"""Does a measurement predict which run collapses? ROC AUC with bootstrap intervals (NumPy).

The question of issue 14, asked per feature: over the seeds of one setting, does an early
measurement rank the runs that will collapse above those that will not?
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["auc", "average_ranks", "AucInterval", "bootstrap_auc", "permutation_pvalue", "holm",
           "auc_standard_error", "detectable_auc", "Logistic", "fit_logistic", "predict_logistic", "AucGain",
           "paired_auc_gain"]


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of ``scores``, ties sharing their mean rank."""
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    top = np.cumsum(counts)  # the highest rank of each distinct value
    return (top - 0.5 * (counts - 1))[inverse.reshape(-1)]


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
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"AUC needs finite scores; got {int(np.sum(~np.isfinite(scores)))} non-finite")
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes; got {n_pos} positive and {n_neg} negative")
    ranks = average_ranks(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class AucInterval(NamedTuple):
    """An AUC with its bootstrap percentile interval."""

    auc: float
    low: float
    high: float


def _resamples(labels: np.ndarray, n_boot: int, seed: int):
    """``n_boot`` bootstrap index arrays over the runs (``numpy.random.default_rng(seed)``), each
    holding both classes (a resample of one class only is drawn again)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        idx = rng.integers(0, len(labels), len(labels))
        if labels[idx].all() or not labels[idx].any():
            continue
        done += 1
        yield idx


def bootstrap_auc(scores: np.ndarray, labels: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                  seed: int = 0) -> AucInterval:
    """The AUC with a percentile bootstrap interval (Efron & Tibshirani 1993, Sec. 13.3).

    Runs are resampled with replacement ``n_boot`` times (``numpy.random.default_rng(seed)``);
    resamples that hold one class only are drawn again. The interval is the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles of the resampled AUCs.
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    point = auc(scores, labels)
    values = [auc(scores[idx], labels[idx]) for idx in _resamples(labels, n_boot, seed)]
    low, high = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return AucInterval(point, float(low), float(high))


def permutation_pvalue(scores: np.ndarray, labels: np.ndarray, n_perm: int = 2000,
                       seed: int = 0) -> float:
    """Two-sided permutation p-value of ``H0: AUC = 0.5`` (scores independent of labels).

    Labels are permuted ``n_perm`` times (``numpy.random.default_rng(seed)``); the p-value is
    ``(1 + #{|AUC_perm - 0.5| >= |AUC - 0.5|}) / (1 + n_perm)`` (Phipson & Smyth 2010), never 0.
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    observed = abs(auc(scores, labels) - 0.5)
    ranks, n_pos = average_ranks(scores), int(labels.sum())
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(labels) for _ in range(n_perm)])  # [n_perm, n]
    values = (perms @ ranks - n_pos * (n_pos + 1) / 2.0) / (n_pos * (len(labels) - n_pos))
    hits = int(np.sum(np.abs(values - 0.5) >= observed - 1e-12))  # ties with the observed count
    return float((1 + hits) / (1 + n_perm))


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: controls the family-wise error rate over all
    ``m`` comparisons. The ``i``-th smallest ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1)
    p_(j))``; reject where the adjusted value is below the level."""
    p = np.asarray(pvalues, np.float64)
    m = p.size
    order = np.argsort(p, kind="mergesort")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def auc_standard_error(value: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC ``value`` from ``n_pos`` positives and ``n_neg`` negatives
    (Hanley & McNeil 1982, Eq. 2, with ``Q1 = A / (2 - A)``, ``Q2 = 2 A^2 / (1 + A)``). At
    ``A = 0.5`` it is the exact null ``sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``."""
    a = float(value)
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return float(np.sqrt(var))


def detectable_auc(n_pos: int, n_neg: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest AUC above 0.5 that a two-sided level-``alpha`` test on ``n_pos`` + ``n_neg``
    runs detects with probability ``power`` (normal approximation: ``A - 0.5 >= z_{1 - alpha/2}
    SE(0.5) + z_power SE(A)``, SEs of :func:`auc_standard_error`); found by bisection."""
    from statistics import NormalDist

    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    se0 = auc_standard_error(0.5, n_pos, n_neg)
    gap = lambda a: a - 0.5 - z_a * se0 - z_b * auc_standard_error(a, n_pos, n_neg)
    lo, hi = 0.5, 1.0 - 1e-12
    if gap(hi) < 0:
        return 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
    return float(hi)


class Logistic(NamedTuple):
    """A fitted L2-regularised logistic regression on standardised features (see :func:`fit_logistic`)."""

    mean: np.ndarray  # [F] feature means of the training set
    scale: np.ndarray  # [F] feature standard deviations of the training set (1 where constant)
    coef: np.ndarray  # [F] on standardised features
    intercept: float


def _columns(x: np.ndarray) -> np.ndarray:
    """Features as ``[n, F]`` float64; one feature ``[n]`` becomes ``[n, 1]``."""
    x = np.asarray(x, np.float64)
    return x[:, None] if x.ndim == 1 else x


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 100) -> Logistic:
    """Maximises ``sum_i log p(y_i | x_i) - l2/2 ||w||^2`` (intercept not penalised) by Newton's
    method, on features standardised with the training set's mean and standard deviation.
    Equals scikit-learn's ``LogisticRegression(C=1/l2)`` on the standardised features."""
    x, y = _columns(x), np.asarray(y, np.float64)
    mean, scale = x.mean(0), x.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    a = np.hstack([np.ones((len(y), 1)), (x - mean) / scale])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (y - p) - penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-10 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return Logistic(mean, scale, w[1:], float(w[0]))


def predict_logistic(model: Logistic, x: np.ndarray) -> np.ndarray:
    """The fitted model's log-odds ``[n]`` of ``x [n, F]`` (a score for :func:`auc`)."""
    x = _columns(x)
    return ((x - model.mean) / model.scale) @ model.coef + model.intercept


class AucGain(NamedTuple):
    """Held-out AUC of two scores on the same runs, and their paired bootstrap difference."""

    base: float
    full: float
    gain: float  # full - base
    low: float
    high: float
    p_value: float  # two-sided, from the bootstrap distribution of the gain


def paired_auc_gain(base: np.ndarray, full: np.ndarray, labels: np.ndarray, n_boot: int = 2000,
                    level: float = 0.95, seed: int = 0) -> AucGain:
    """``AUC(full) - AUC(base)`` on the same runs with a paired percentile bootstrap interval: each
    resample of runs scores both. The p-value is twice the smaller bootstrap tail beyond 0,
    ``(1 + #) / (1 + n_boot)``-corrected."""
    base, full = np.asarray(base, np.float64), np.asarray(full, np.float64)
    labels = np.asarray(labels).astype(bool)
    a0, a1 = auc(base, labels), auc(full, labels)
    gains = np.asarray([auc(full[idx], labels[idx]) - auc(base[idx], labels[idx])
                        for idx in _resamples(labels, n_boot, seed)])
    low, high = np.quantile(gains, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    tail = min(np.sum(gains <= 0), np.sum(gains >= 0))
    return AucGain(a0, a1, a1 - a0, float(low), float(high),
                   float(min(1.0, 2 * (1 + tail) / (1 + n_boot))))
