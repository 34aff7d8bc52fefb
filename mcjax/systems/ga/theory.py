"""Closed forms that :mod:`mcjax.systems.ga` is measured against, in NumPy.

References:
  Ewens 2004, "Mathematical Population Genetics I", Sec. 1.4 (neutral fixation equals the starting
  share; ``E H_t = H_0 (1 - 1/N)^t``); Goldberg & Richardson 1987 (sharing equilibrium
  ``n_k ∝ f_k``); Baker 1987 (SUS: every count is the floor or the ceiling of its expectation);
  Goldberg & Deb 1991 (tournament selection's rank probabilities); Hill 1973.
"""
from __future__ import annotations

import numpy as np

from mcjax.systems.wright_fisher.theory import heterozygosity_decay

__all__ = ["peak_shares", "heterozygosity_decay", "sharing_equilibrium", "sus_bounds",
           "tournament_rank_probabilities"]


def peak_shares(n: int, p0: float, k: int = 5) -> np.ndarray:
    """``[k]`` starting shares of ``init = "peaks"``: ``round(n p0)`` on peak 0, the rest cycled over
    peaks ``1..k-1``. Under neutral roulette drift these are also the fixation probabilities."""
    n0 = int(np.clip(np.round(n * p0), 0, n))
    counts = np.zeros(k)
    counts[0] = n0
    for j in range(n - n0):
        counts[1 + j % (k - 1)] += 1
    return counts / n


def sharing_equilibrium(heights) -> np.ndarray:
    """Fitness sharing's stable niche shares, ``n_k / N = f_k / sum f`` (equal shared fitness)."""
    h = np.asarray(heights, np.float64)
    return h / h.sum()


def sus_bounds(w) -> tuple[np.ndarray, np.ndarray]:
    """``(floor(e), ceil(e))``, ``e_i = n w_i / sum w``: SUS's only possible counts."""
    w = np.asarray(w, np.float64)
    e = len(w) * w / w.sum()
    return np.floor(e), np.ceil(e)


def tournament_rank_probabilities(n: int, k: int) -> np.ndarray:
    """``[n]``: probability that the individual of rank ``r`` (0 the fittest, distinct fitnesses)
    wins a size-``k`` tournament drawn with replacement, ``((n - r)^k - (n - r - 1)^k) / n^k``."""
    r = np.arange(n, dtype=np.float64)
    return ((n - r) ** k - (n - r - 1) ** k) / float(n) ** k
