"""Closed forms of the SMC system, in NumPy (the tests check the engine against them)."""
from __future__ import annotations

import numpy as np

__all__ = ["bootstrap_ess_fraction", "ar1_loglik"]


def bootstrap_ess_fraction(y, s2: float, r: float):
    """The large-N ESS/N of one bootstrap step: particles ``x ~ N(0, s2)`` weighted by
    ``w(x) = N(y; x, r)``, ``ESS/N -> (E w)^2 / E w^2``.

    ``E w = N(y; 0, r + s2)`` and, since ``N(y; x, r)^2 = N(y; x, r/2) / sqrt(4 pi r)``,
    ``E w^2 = N(y; 0, r/2 + s2) / sqrt(4 pi r)``; together
    ``sqrt(r (r + 2 s2)) / (r + s2) * exp(-y^2 s2 / ((r + s2) (r + 2 s2)))``.
    """
    y = np.asarray(y, np.float64)
    return (np.sqrt(r * (r + 2 * s2)) / (r + s2)
            * np.exp(-y * y * s2 / ((r + s2) * (r + 2 * s2))))


def ar1_loglik(y, a: float, q: float, r: float, var0: float = 1.0) -> float:
    """``log p(y_1..y_T)`` of ``x_0 ~ N(0, var0)``, ``x_t = a x_{t-1} + N(0, q)``,
    ``y_t = x_t + N(0, r)``: the joint Gaussian density with
    ``Cov(x_s, x_t) = a^|t-s| Var x_min(s,t)`` (no Kalman recursion; a reference for it)."""
    y = np.asarray(y, np.float64)
    t = len(y)
    var = np.empty(t)
    v = var0
    for i in range(t):
        v = a * a * v + q
        var[i] = v
    idx = np.arange(t)
    lo = np.minimum.outer(idx, idx)
    cov = (a ** np.abs(np.subtract.outer(idx, idx))) * var[lo] + r * np.eye(t)
    sign, logdet = np.linalg.slogdet(cov)
    return float(-0.5 * (t * np.log(2 * np.pi) + logdet + y @ np.linalg.solve(cov, y)))
