"""Do few seeds rank two remedies the way many seeds do? Resampling seeds without replacement.

For two remedies with per-seed values ``a`` (``N_a`` seeds) and ``b`` (``N_b``), the full-sample
answer is ``sign(mean(a) - mean(b))``. An ``n``-seed study draws ``n`` seeds of each without
replacement; it disagrees when ``sign(mean(a_n) - mean(b_n))`` differs (a tie counts as a
disagreement with a strict ranking). For normal populations and draws with replacement the rate is
``Phi(-|delta| / sqrt(2 sigma^2 / n))``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["subsample_means", "disagreement_rates", "normal_disagreement"]


def subsample_means(x: np.ndarray, ns: np.ndarray, draws: int, rng: np.random.Generator,
                    replace: bool = False) -> np.ndarray:
    """``[draws, len(ns)]`` means of ``n`` values of ``x`` drawn at random (each row one draw).

    Without replacement, the first ``n`` entries of a uniform random permutation are a uniform
    ``n``-subset, so one permutation per draw serves every ``n`` through a cumulative sum.
    """
    x = np.asarray(x, np.float64)
    ns = np.asarray(ns)
    if ns.min() < 1 or (not replace and ns.max() > x.size):
        raise ValueError(f"n must be in 1..{x.size} without replacement, got {ns.tolist()}")
    if replace:
        idx = rng.integers(0, x.size, size=(draws, int(ns.max())))
    else:
        idx = np.argsort(rng.random((draws, x.size)), axis=1)
    sums = np.cumsum(x[idx], axis=1)
    return sums[:, ns - 1] / ns


def disagreement_rates(a, b, ns, draws: int = 10_000, seed: int = 0, replace: bool = False) -> np.ndarray:
    """Fraction of ``n``-seed draws (per ``n`` in ``ns``) whose ranking of ``a`` vs ``b`` differs
    from the full-sample one."""
    rng = np.random.default_rng(seed)
    full = np.sign(np.mean(a) - np.mean(b))
    d = subsample_means(a, ns, draws, rng, replace) - subsample_means(b, ns, draws, rng, replace)
    return np.mean(np.sign(d) != full, axis=0)


def normal_disagreement(delta: float, sigma: float, n) -> np.ndarray:
    """``Phi(-|delta| / sqrt(2 sigma^2 / n))``: two normal populations, ``n`` draws each."""
    z = -abs(delta) / np.sqrt(2 * sigma**2 / np.asarray(n, np.float64))
    return 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2))
