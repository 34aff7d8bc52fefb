"""Diversity against fidelity: a remedy's weight swept inside one compiled program, read as a curve.

A remedy that pushes the generator apart (an entropy bonus, MSGAN's mode-seeking term) trades
fidelity (the high-quality share ``HQ``) for diversity (modes covered, reverse KL of the mode
histogram). Sweeping its weight ``w_0 = 0 < w_1 < ... < w_{W-1}`` over ``N`` seeds gives, per
weight, the distribution over seeds of each metric; the curve joins their centres in weight order.

Per weight and metric, over the non-diverged seeds (:func:`seed_summary`): median, quartiles
``Q1, Q3`` (linear interpolation, NumPy's default), mean and its standard error
``s / sqrt(n)`` (``s`` with ``n - 1`` degrees of freedom).

The knee of a curve (:func:`knee`) is the Kneedle point (Satopaa et al. 2011): with both axes
rescaled to ``[0, 1]`` over the curve's points, the point farthest from the chord joining the
first and the last point. The exchange rate of weight ``w`` (:func:`exchange_rates`) is the modes
gained per HQ percentage point lost against ``w = 0``: ``(m_w - m_0) / (100 (h_0 - h_w))``.

References:
  Satopaa, Albrecht, Irwin, Raghavan. Finding a "Kneedle" in a haystack: detecting knee points in
  system behavior. ICDCS Workshops 2011.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from mcjax._validation import ConfigError

__all__ = ["Summary", "TradeoffPoint", "seed_summary", "weight_sweep", "tradeoff_points", "knee",
           "exchange_rates", "METRICS"]

METRICS = ("modes_covered", "hq_fraction", "reverse_kl")


class Summary(NamedTuple):
    """One metric over seeds: ``n`` values, median, quartiles, mean, standard error, min, max."""

    n: int
    median: float
    q1: float
    q3: float
    mean: float
    se: float
    min: float
    max: float


class TradeoffPoint(NamedTuple):
    """One weight of a swept remedy.

    Attributes:
      remedy: the remedy's name, e.g. ``entropy``.
      weight: the weight's value.
      diverged: runs that hit a non-finite value (left out of ``stats``).
      seeds: runs in all.
      stats: ``metric -> Summary`` over the non-diverged seeds, for each of :data:`METRICS`.
    """

    remedy: str
    weight: float
    diverged: int
    seeds: int
    stats: dict


def seed_summary(values: Sequence[float]) -> Summary:
    """Median, quartiles, mean +- standard error, min and max of ``values`` (NaN when empty; the
    standard error is 0 for one value)."""
    x = np.asarray(values, np.float64).ravel()
    if x.size == 0:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan, nan)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0
    return Summary(int(x.size), float(med), float(q1), float(q3), float(x.mean()), se,
                   float(x.min()), float(x.max()))


def weight_sweep(remedy: str, weights: Sequence[float], **spec_fields):
    """The :class:`~mcjax.RunSpec` that sweeps ``remedy``'s ``weight`` over ``weights`` inside one
    compiled program (``mcjax sweep --remedy REMEDY --sweep weight=W1,W2,...``).

    Raises:
      ConfigError: fewer than two weights, a negative one, or a remedy whose weight is static or
        absent (raised by ``RunSpec.experiments``, before anything is compiled).
    """
    from mcjax.systems.gan.spec import RunSpec

    weights = [float(w) for w in weights]
    if len(weights) < 2:
        raise ConfigError(f"a trade-off curve needs at least 2 weights, got {weights}")
    if min(weights) < 0:
        raise ConfigError(f"weights must be >= 0, got {weights}")
    spec = RunSpec(remedy=(remedy,), sweep=("weight=" + ",".join(repr(w) for w in weights),),
                   **spec_fields)
    spec.experiments()  # validate now: bad remedy, static weight, bad values
    return spec


def tradeoff_points(group, weight_key: str | None = None) -> list[TradeoffPoint]:
    """Per setting of a weight sweep's group, the summaries over seeds of :data:`METRICS` at the
    last step, in weight order.

    Args:
      group: a :class:`~mcjax.GroupResult` whose settings vary one hyperparameter.
      weight_key: that hyperparameter's ``HParams`` field (default: the only one that varies).
    """
    hp = {k: np.asarray(v, np.float64) for k, v in group.hparams.items()}
    if weight_key is None:
        varying = [k for k, v in hp.items() if np.unique(v).size > 1]
        if len(varying) != 1:
            raise ConfigError(f"{group.label}: expected one swept hyperparameter, got {varying}")
        weight_key = varying[0]
    if weight_key not in hp:
        raise ConfigError(f"weight_key {weight_key!r} is not a hyperparameter; allowed: {sorted(hp)}")
    remedy = group.label.split(":")[0]
    points = []
    for s in np.argsort(hp[weight_key], kind="stable"):
        ok = ~np.asarray(group.diverged[s], bool)
        stats = {m: seed_summary(np.asarray(group.final(m)[s], np.float64)[ok]) for m in METRICS}
        points.append(TradeoffPoint(remedy, float(hp[weight_key][s]), int((~ok).sum()),
                                    int(ok.size), stats))
    return points


def knee(x: Sequence[float], y: Sequence[float]) -> int:
    """Index of the Kneedle point of the curve ``(x_i, y_i)`` (in curve order): with each axis
    rescaled to ``[0, 1]`` over the points, the one farthest from the chord between the first and
    the last. A curve of fewer than 3 points, or with the ends equal, has no knee: returns 0."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 3:
        return 0

    def unit(a):
        span = np.ptp(a)
        return (a - a.min()) / span if span > 0 else np.zeros_like(a)

    p = np.stack([unit(x), unit(y)], axis=1)
    chord = p[-1] - p[0]
    norm = np.hypot(*chord)
    if norm == 0:
        return 0
    d = np.abs(chord[0] * (p[:, 1] - p[0, 1]) - chord[1] * (p[:, 0] - p[0, 0])) / norm
    return int(np.argmax(d))


def exchange_rates(points: Sequence[TradeoffPoint], centre: str = "median") -> list[float]:
    """Modes gained per HQ percentage point lost against the first point (weight 0), per point:
    ``(m_w - m_0) / (100 (h_0 - h_w))``; NaN where HQ did not fall (nothing was paid)."""
    m0 = getattr(points[0].stats["modes_covered"], centre)
    h0 = getattr(points[0].stats["hq_fraction"], centre)
    rates = []
    for p in points:
        dm = getattr(p.stats["modes_covered"], centre) - m0
        dh = 100 * (h0 - getattr(p.stats["hq_fraction"], centre))
        rates.append(dm / dh if dh > 0 else math.nan)
    return rates
