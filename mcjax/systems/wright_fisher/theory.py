"""Closed forms and exact Markov-chain results of the haploid Wright-Fisher model, in NumPy.

The references that :mod:`mcjax.systems.wright_fisher.engine` is measured against (tests,
``experiments/wright_fisher_closed_forms.py``). ``N`` is the (deme's) number of haploid
individuals, ``s`` the selection coefficient of allele 0 (fitness ``1 + s``).

References:
  Ewens 2004, "Mathematical Population Genetics I", Sec. 1.4 and 3.5; Kimura 1962, "On the
  probability of fixation of mutant genes in a population", Genetics 47; Wright 1931, "Evolution in
  Mendelian populations", Genetics 16 (island model); Hartl & Clark 2007, Ch. 3 (overdominance).
"""
from __future__ import annotations

import numpy as np

__all__ = ["heterozygosity_decay", "transition_matrix", "fixation_probability", "fixed_by",
           "kimura_fixation", "sweep_odds", "overdominance_equilibrium",
           "frequency_dependence_equilibrium", "mutation_drift_homozygosity", "island_heterozygosity"]


def heterozygosity_decay(h0: float, n: int, t) -> np.ndarray:
    """``E H_t = H_0 (1 - 1/N)^t``, neutral drift, any number of alleles (exact)."""
    return h0 * (1.0 - 1.0 / n) ** np.asarray(t, np.float64)


def transition_matrix(n: int, s: float) -> np.ndarray:
    """``[N+1, N+1]``: copies of allele 0 go ``i -> Bin(N, i (1+s) / (i (1+s) + N - i))``."""
    from scipy.stats import binom

    i = np.arange(n + 1)
    p = i * (1 + s) / (i * (1 + s) + n - i)
    return binom.pmf(i[None, :], n, p[:, None])


def fixation_probability(n: int, s: float, copies: int = 1) -> float:
    """Probability that ``copies`` of allele 0 eventually fix: absorption at ``N`` of the chain
    (solved exactly from the transient block of :func:`transition_matrix`)."""
    P = transition_matrix(n, s)
    inner = np.arange(1, n)
    u = np.linalg.solve(np.eye(n - 1) - P[np.ix_(inner, inner)], P[inner, n])
    return float(u[copies - 1])


def fixed_by(n: int, s: float, t: int, copies: int = 1) -> float:
    """Probability that ``copies`` of allele 0 have fixed by generation ``t`` (``P^t``, exact)."""
    return float(np.linalg.matrix_power(transition_matrix(n, s), t)[copies, n])


def kimura_fixation(n: int, s: float) -> float:
    """Kimura's diffusion approximation for one new mutant, haploid:
    ``(1 - e^(-2 s)) / (1 - e^(-2 N s))`` (the diploid form has ``4 N s``)."""
    return float(np.expm1(-2 * s) / np.expm1(-2 * n * s))


def sweep_odds(p0: float, s: float, t) -> np.ndarray:
    """Deterministic selective sweep: ``odds_t = odds_0 (1 + s)^t``."""
    return p0 / (1 - p0) * (1 + s) ** np.asarray(t, np.float64)


def overdominance_equilibrium(s: float, t: float) -> float:
    """Genotype fitnesses ``1 - s, 1, 1 - t``: the stable frequency of allele 0, ``t / (s + t)``."""
    return t / (s + t)


def frequency_dependence_equilibrium(s: float, c: float) -> float:
    """Fitnesses ``(1 + s) e^(-c p)`` and ``e^(-c (1 - p))``: equal at
    ``p* = 1/2 + log(1 + s) / (2 c)`` (clipped to [0, 1])."""
    return float(np.clip(0.5 + np.log1p(s) / (2 * c), 0.0, 1.0))


def mutation_drift_homozygosity(n: int, k: int, mu: float, t: int, f0: float = 1.0) -> np.ndarray:
    """``E sum_i p_i^2`` after generations ``1..t`` of symmetric ``K``-allele mutation, then drift:
    with ``lambda = 1 - mu K / (K - 1)``, exactly ``F' = 1/N + (1 - 1/N)(lambda^2 F +
    (1 - lambda^2)/K)``. Its fixed point ``F* = [1/N + (1 - 1/N)(1 - lambda^2)/K] /
    [1 - (1 - 1/N) lambda^2]`` is, for ``K -> infinity`` and small ``mu``, about
    ``1 / (1 + 2 N mu)``: the haploid form of the diploid ``1 / (1 + 4 N mu)``."""
    lam2 = (1 - mu * k / (k - 1)) ** 2
    out, f = [], f0
    for _ in range(t):
        f = 1 / n + (1 - 1 / n) * (lam2 * f + (1 - lam2) / k)
        out.append(f)
    return np.asarray(out)


def island_heterozygosity(demes: int, n_deme: int, m: float, t: int, g0: float) -> np.ndarray:
    """``[t, 2]``: expected pooled and mean within-deme heterozygosity after generations ``1..t`` of
    island migration (``p_d <- (1 - m) p_d + m pbar``) then drift in each deme. ``G_de = E p_d .
    p_e`` obeys exactly ``G' = M G M^T`` (``M = (1 - m) I + m J / D``), then ``G'_dd <- 1/n +
    (1 - 1/n) G'_dd``; every deme starts with homozygosity ``g0`` and the same frequencies."""
    M = (1 - m) * np.eye(demes) + m / demes
    G = np.full((demes, demes), g0)
    out = []
    for _ in range(t):
        G = M @ G @ M.T
        G[np.diag_indices(demes)] = 1 / n_deme + (1 - 1 / n_deme) * np.diag(G)
        out.append((1 - G.mean(), 1 - np.diag(G).mean()))
    return np.asarray(out)
