"""Closed forms of recursive training, in NumPy: the references that
:mod:`mcjax.systems.recursive.engine` is measured against (tests,
``experiments/generation_collapse.py``).

``M`` is the sample size of a generation, ``alpha`` the share of real data, ``K`` the modes.

References:
  Shumailov et al. 2024, Nature 631, "AI models collapse when trained on recursively generated
  data" (the single-Gaussian recursion); Ewens 2004, "Mathematical Population Genetics I",
  Sec. 1.4 (neutral multinomial drift: :func:`mcjax.systems.wright_fisher.theory.heterozygosity_decay`).
"""
from __future__ import annotations

import numpy as np

from mcjax.systems.wright_fisher.theory import heterozygosity_decay

__all__ = ["variance_decay", "mixture_variance", "real_mix_homozygosity", "heterozygosity_decay",
           "real_count"]


def variance_decay(var0: float, m: int, g) -> np.ndarray:
    """``E sigma_g^2 = sigma_0^2 ((M - 1) / M)^g``: the maximum-likelihood variance after ``g``
    generations, each fitted to ``M`` samples of the previous fit (exact for any distribution of
    generation 0's samples with variance ``sigma_0^2``: ``E[(1/M) sum (x_i - xbar)^2] = (M - 1) /
    M Var x`` every generation, and the expectations chain)."""
    return var0 * ((m - 1.0) / m) ** np.asarray(g, np.float64)


def mixture_variance(weights, means, variances) -> float:
    """Variance of a 1-D mixture: ``sum_k w_k (v_k + (m_k - mbar)^2)``, ``mbar = sum_k w_k m_k``."""
    w, m, v = (np.asarray(a, np.float64) for a in (weights, means, variances))
    w = w / w.sum()
    mean = np.sum(w * m)
    return float(np.sum(w * (v + (m - mean) ** 2)))


def real_count(m: int, alpha: float) -> int:
    """Real points in a generation of ``M``: ``round(alpha M)`` (float32 rounding, as the
    engine)."""
    return int(np.round(np.float32(alpha) * np.float32(m)))


def real_mix_homozygosity(m: int, alpha: float, true_weights, t: int, f0: float) -> np.ndarray:
    """``E sum_k w_k^2`` after generations ``1..t`` of weights-only refitting with real data mixed in.

    ``M w' = X + Y``, ``X ~ Multinomial(n_1, w)`` from the model, ``Y ~ Multinomial(n_2, u)``
    from the true weights ``u`` (``n_2 = round(alpha M)``, ``n_1 = M - n_2``). With ``E sum X_k^2 =
    n_1 + n_1 (n_1 - 1) F``, ``E sum Y_k^2 = n_2 + n_2 (n_2 - 1) sum u^2`` and ``E sum X_k Y_k =
    n_1 n_2 sum w_k u_k``, where ``E w_t = u`` at every ``t`` when ``w_0 = u``, exactly::

        F' = [M + n_1 (n_1 - 1) F + (n_2 (n_2 - 1) + 2 n_1 n_2) sum u^2] / M^2.

    ``alpha = 0`` gives ``F' = 1/M + (1 - 1/M) F``: Wright-Fisher's ``E H_t = H_0 (1 - 1/M)^t``.
    For ``alpha > 0`` it tends to a fixed point below 1 instead of to 1 (fixation).
    """
    u = np.asarray(true_weights, np.float64)
    s = float(np.sum((u / u.sum()) ** 2))
    n2 = real_count(m, alpha)
    n1 = m - n2
    out, f = [], f0
    for _ in range(t):
        f = (m + n1 * (n1 - 1) * f + (n2 * (n2 - 1) + 2 * n1 * n2) * s) / m**2
        out.append(f)
    return np.asarray(out)
