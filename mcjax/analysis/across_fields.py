"""One collapse, three fields: neutral drift measured the same way in every system.

Neutral Wright-Fisher reproduction, roulette selection on equal fitness and multinomial resampling
of equally weighted particles are the same random operation (N draws with replacement, equal
probabilities). Started from the same counts ``n_k`` of K types in a population of N, all three
must give

- the heterozygosity decay ``E H_t = H_0 (1 - 1/N)^t`` (``H = 1 - sum_k p_k^2``), and
- the distribution of the fixation time T (the first generation with one type left):
  ``P(T <= t) = sum_k P(type k fixed by t)``, each term the two-type chain ``k`` against the rest
  (the K events are disjoint), exact from the (N+1)-state Wright-Fisher transition matrix.

:func:`closed_forms` gives both, :func:`compare` the measured against them per system.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from mcjax._validation import ConfigError
from mcjax.systems.wright_fisher import theory as wf_theory

__all__ = ["ClosedForms", "closed_forms", "Comparison", "compare", "fixation_cdf"]


class ClosedForms(NamedTuple):
    """Neutral drift from counts ``n_k``: ``heterozygosity [T+1]`` (t = 0..T) and
    ``fixation_cdf [T+1]`` (P(T_fix <= t)), ``mean_fixation`` (sum_t P(T_fix > t), truncated at T)."""

    heterozygosity: np.ndarray
    fixation_cdf: np.ndarray
    mean_fixation: float


def fixation_cdf(n: int, counts: Sequence[int], t_max: int) -> np.ndarray:
    """``P(T <= t)`` for t = 0..t_max: the first time one of the types holds all ``n``."""
    counts = [int(c) for c in counts]
    if sum(counts) != n or min(counts) < 0:
        raise ConfigError(f"counts {counts} must be >= 0 and sum to the population {n}")
    p = wf_theory.transition_matrix(n, 0.0)
    state = np.zeros((len(counts), n + 1))
    state[np.arange(len(counts)), counts] = 1.0
    cdf = [state[:, n].sum()]
    for _ in range(t_max):
        state = state @ p
        cdf.append(state[:, n].sum())
    return np.minimum(np.asarray(cdf), 1.0)


def closed_forms(n: int, counts: Sequence[int], t_max: int) -> ClosedForms:
    """The exact neutral-drift curves of a population of ``n`` started at ``counts``."""
    p0 = np.asarray(counts, np.float64) / n
    h0 = 1.0 - float(np.sum(p0 * p0))
    h = wf_theory.heterozygosity_decay(h0, n, np.arange(t_max + 1))
    cdf = fixation_cdf(n, counts, t_max)
    return ClosedForms(np.asarray(h, np.float64), cdf, float(np.sum(1.0 - cdf[:-1])))


class Comparison(NamedTuple):
    """One system against the closed forms (``runs`` seeds).

    Attributes:
      h_max_z: the largest |mean H_t - E H_t| / SE over the logged t at which at least half the
        runs still hold two types or more.
      h_at: ``{t: (measured mean, SE, exact)}`` at a few t.
      ks: the Kolmogorov distance between the measured fixation-time distribution and the exact
        one (runs not fixed by the end count as fixed later); ``ks_crit``: its 5 % critical value
        ``1.358 / sqrt(runs)``.
      fixed: share of runs fixed by the last generation; ``mean_fixation``: the measured mean of
        ``min(T, t_max)``, ``mean_fixation_se`` its SE, against ``ClosedForms.mean_fixation``.
    """

    runs: int
    h_max_z: float
    h_at: dict
    ks: float
    ks_crit: float
    fixed: float
    mean_fixation: float
    mean_fixation_se: float


def compare(steps: np.ndarray, h: np.ndarray, fix_gen: np.ndarray, exact: ClosedForms,
            at: Sequence[int] = (10, 20, 40)) -> Comparison:
    """Measured ``h [runs, len(steps)]`` (heterozygosity at generations ``steps``) and ``fix_gen
    [runs]`` (first generation with one type left, -1 if never) against ``exact``.

    Why only while half the runs are unfixed: once most runs have fixed, H_t is a column of
    mostly zeros whose sample SE understates the error of its mean (a few unfixed runs decide it).
    """
    steps, h = np.asarray(steps), np.asarray(h, np.float64)
    fix_gen = np.asarray(fix_gen)
    runs, t_max = h.shape[0], len(exact.fixation_cdf) - 1
    mean, se = h.mean(0), h.std(0, ddof=1) / np.sqrt(runs)
    want = exact.heterozygosity[steps]
    unfixed = ((fix_gen[:, None] < 0) | (fix_gen[:, None] > steps[None, :])).mean(0)
    ok = unfixed >= 0.5
    z = np.abs(mean - want)[ok] / np.maximum(se[ok], 1e-12)
    h_at = {int(t): (float(mean[i]), float(se[i]), float(want[i]))
            for t in at for i in np.flatnonzero(steps == t)}
    t_fix = np.where(fix_gen < 0, t_max + 1, fix_gen)
    ecdf = (t_fix[None, :] <= np.arange(t_max + 1)[:, None]).mean(1)
    capped = np.minimum(t_fix, t_max)
    return Comparison(runs, float(z.max()) if z.size else 0.0, h_at,
                      float(np.abs(ecdf - exact.fixation_cdf).max()), 1.358 / np.sqrt(runs),
                      float((fix_gen >= 0).mean()), float(capped.mean()),
                      float(capped.std(ddof=1) / np.sqrt(runs)))
