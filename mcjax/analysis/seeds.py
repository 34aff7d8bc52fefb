"""How many seeds a comparison needs: resampling small-seed rankings from a many-seed run.

A paper compares remedies A and B by the mean of a metric over a few seeds. Given ``N`` seeds of
each (say 128), the ``N``-seed answer is ``sign(mean(A) - mean(B))``; an ``n``-seed study draws
``n`` of the ``N`` seeds of each remedy (without replacement, independently for A and B) and
ranks by the ``n``-seed means. Its *disagreement rate* is the probability that its sign differs
from the ``N``-seed one (an exact tie of the ``n``-seed means counts as disagreement when the
``N``-seed answer is not itself a tie).

For two normal populations with means ``m_A - m_B = delta`` and common sd ``sigma``, sampled with
replacement, ``mean_n(A) - mean_n(B) ~ N(delta, 2 sigma^2 / n)`` and the disagreement rate is

    P(disagree) = Phi(-|delta| / sqrt(2 sigma^2 / n))

(``tests/test_seed_ranking.py`` checks the resampler against it, and against exact enumeration of
all subsets on a tiny case). Without replacement from ``N`` seeds the variance of each mean
shrinks by ``(N - n) / (N - 1)``, to 0 at ``n = N``.

Is the ``N``-seed answer itself real? :func:`permutation_test` gives the two-sided p-value of the
difference of means under exchangeable labels (Good 2005, *Permutation, Parametric, and Bootstrap
Tests of Hypotheses*, Ch. 3).

Vectorised: one random ordering per draw and remedy serves every ``n`` at once (its first ``n``
entries are a uniform sample of ``n`` seeds without replacement), so all prefix means are one
``cumsum``.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from mcjax._validation import ConfigError

__all__ = ["prefix_means", "disagreement_rates", "permutation_test", "seeds_needed",
           "PairAnswer", "compare_pair", "normal_disagreement"]


def _check_values(name: str, values) -> np.ndarray:
    x = np.asarray(values, np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ConfigError(f"{name} must be a 1-D array of at least 2 seeds, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"{name} holds non-finite values; drop diverged seeds first")
    return x


def prefix_means(values, max_n: int, draws: int, rng: np.random.Generator, *,
                 replace: bool = False) -> np.ndarray:
    """Means of the first ``n = 1..max_n`` seeds of ``draws`` random orderings of ``values``.

    Args:
      values: ``[N]`` one number per seed.
      max_n: largest sample size (``<= N`` without replacement).
      draws: number of random samples.
      rng: NumPy generator.
      replace: sample seeds with replacement (the closed form's setting) instead of without.

    Returns:
      ``[draws, max_n]``: column ``n - 1`` holds ``draws`` independent ``n``-seed means.
    """
    x = _check_values("values", values)
    if replace:
        idx = rng.integers(0, x.size, size=(draws, max_n))
    else:
        if max_n > x.size:
            raise ConfigError(f"max_n {max_n} exceeds the {x.size} seeds (without replacement)")
        keys = rng.random((draws, x.size), dtype=np.float32)
        idx = np.argpartition(keys, max_n - 1, axis=1)[:, :max_n] if max_n < x.size else \
            np.argsort(keys, axis=1)
        idx = np.take_along_axis(idx, np.argsort(np.take_along_axis(keys, idx, 1), axis=1), 1)
    return np.cumsum(x[idx], axis=1) / np.arange(1, max_n + 1)


def disagreement_rates(a, b, ns: Sequence[int], *, draws: int = 10_000, seed: int = 0,
                       replace: bool = False) -> np.ndarray:
    """The share of ``n``-seed comparisons whose ranking differs from all seeds', for each ``n``.

    Args:
      a, b: ``[N_a]``, ``[N_b]`` the metric per seed of each remedy.
      ns: sample sizes (seeds per remedy).
      draws: random draws per ``n``.
      seed: NumPy seed (A and B get independent streams).
      replace: sample with replacement.

    Returns:
      ``[len(ns)]`` disagreement rates.
    """
    a, b = _check_values("a", a), _check_values("b", b)
    ns = [int(n) for n in ns]
    if not ns or min(ns) < 1:
        raise ConfigError(f"ns must be positive sample sizes, got {ns}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ConfigError(f"draws must be a positive integer, got {draws!r}")
    full = np.sign(a.mean() - b.mean())
    rng_a, rng_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    ma = prefix_means(a, max(ns), draws, rng_a, replace=replace)
    mb = prefix_means(b, max(ns), draws, rng_b, replace=replace)
    cols = np.asarray(ns) - 1
    return np.mean(np.sign(ma[:, cols] - mb[:, cols]) != full, axis=0)


def permutation_test(a, b, *, permutations: int = 10_000, seed: int = 0) -> float:
    """Two-sided permutation p-value of ``mean(a) - mean(b)`` (labels shuffled; ``(k + 1) / (P + 1)``).

    Returns:
      p in ``(0, 1]``; 1 for an exact tie of identical samples.
    """
    a, b = _check_values("a", a), _check_values("b", b)
    both = np.concatenate([a, b])
    observed = abs(a.mean() - b.mean())
    rng = np.random.default_rng(seed)
    keys = rng.random((permutations, both.size))
    perm = both[np.argsort(keys, axis=1)]
    diff = np.abs(perm[:, : a.size].mean(1) - perm[:, a.size:].mean(1))
    # a difference as large as the observed one, allowing for summation rounding
    hits = np.sum(diff >= observed - 1e-12 * max(1.0, observed))
    return float((hits + 1) / (permutations + 1))


def seeds_needed(rates: np.ndarray, ns: Sequence[int], level: float = 0.95) -> int | None:
    """The smallest ``n`` from which on the agreement ``1 - rate`` stays ``>= level``; ``None``: never."""
    ok = (1 - np.asarray(rates)) >= level
    for i, n in enumerate(ns):
        if ok[i:].all():
            return int(n)
    return None


class PairAnswer(NamedTuple):
    """One pair's comparison.

    Attributes:
      mean_a, mean_b: the all-seed means.
      p_value: permutation p-value of their difference.
      rates: disagreement rate per ``ns``.
      ns: the sample sizes.
      needed: smallest ``n`` with >= 95 % agreement from there on (``None``: not within ``ns``).
    """

    mean_a: float
    mean_b: float
    p_value: float
    rates: np.ndarray
    ns: tuple
    needed: int | None

    def rate_at(self, n: int) -> float:
        return float(self.rates[list(self.ns).index(n)])


def compare_pair(a, b, ns: Sequence[int], *, draws: int = 10_000, permutations: int = 10_000,
                 seed: int = 0, level: float = 0.95) -> PairAnswer:
    """The all-seed answer for ``(a, b)``, its permutation p-value and the ``n``-seed disagreement."""
    rates = disagreement_rates(a, b, ns, draws=draws, seed=seed)
    return PairAnswer(float(np.mean(a)), float(np.mean(b)),
                      permutation_test(a, b, permutations=permutations, seed=seed + 1),
                      rates, tuple(int(n) for n in ns), seeds_needed(rates, ns, level))


def normal_disagreement(delta: float, sigma: float, n: int) -> float:
    """``Phi(-|delta| / sqrt(2 sigma^2 / n))``: two normal populations, ``n`` seeds each."""
    return 0.5 * math.erfc(abs(delta) / math.sqrt(2 * sigma**2 / n) / math.sqrt(2))
