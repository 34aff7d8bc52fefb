"""Closed forms of decoding a topic model, checked against the decoders in the tests.

* Independent samples cover ``E[D_0] = sum_k [1 - (1 - pi_k)^B]`` topics (each topic is missed
  by all ``B`` draws with probability ``(1 - pi_k)^B``).
* Beam search with ``B`` at least the number of prefixes is exact: its outputs are the top-``B``
  sequences by ``log p`` (:func:`exact_top`). With uniform chains (``concentration = 0``) every
  sequence of topic ``k`` has ``log p = log pi_k - (L - 1) log V``, so for ``B <= V^(L-1)`` the
  top-``B`` all have topic 1: beam search collapses onto the most probable topic.
* Diverse beam search with ``G = B`` (one beam per group): at the first position group 1 takes
  topic 1 and group 2 maximises ``log pi_k - lambda [k = 1]``, so it leaves topic 1 exactly when
  ``lambda > log(pi_1 / pi_2)`` (:func:`diverse_threshold`).
* Gumbel-top-``B`` of ``log pi`` (stochastic beam search's first step) draws ``B`` distinct topics
  with the Plackett-Luce law, ``P(i_1, ..., i_B) = prod_j pi_{i_j} / (1 - sum_{l<j} pi_{i_l})``
  (:func:`plackett_luce_inclusion` sums it by enumeration).

References:
  Kool, van Hoof & Welling 2019, Sec. 3 (Gumbel-top-k); Vijayakumar et al. 2018, Sec. 4 (diverse
  beam search); Plackett 1975, Luce 1959.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["expected_topics_covered", "diverse_threshold", "plackett_luce_inclusion", "exact_top",
           "zipf_probs"]


def zipf_probs(topics: int, zipf: float) -> np.ndarray:
    """``pi_k ∝ (k + 1)^(-zipf)`` in float64 (the model's topic prior)."""
    w = np.arange(1, topics + 1, dtype=np.float64) ** -float(zipf)
    return w / w.sum()


def expected_topics_covered(pi: np.ndarray, width: int) -> float:
    """``sum_k [1 - (1 - pi_k)^B]``: the expected topics among ``B`` independent draws."""
    pi = np.asarray(pi, np.float64)
    return float(np.sum(1.0 - (1.0 - pi) ** width))


def diverse_threshold(pi: np.ndarray) -> float:
    """``log(pi_1 / pi_2)``: the penalty above which diverse beam search's second group (``G = B``)
    leaves the most probable topic at the first position."""
    s = np.sort(np.asarray(pi, np.float64))[::-1]
    return float(np.log(s[0] / s[1]))


def plackett_luce_inclusion(p: np.ndarray, width: int) -> np.ndarray:
    """``[K]`` probabilities that item ``k`` is among ``B = width`` items drawn without replacement
    with probabilities proportional to ``p`` (Plackett-Luce), by enumerating ordered ``B``-tuples."""
    p = np.asarray(p, np.float64) / np.sum(p)
    incl = np.zeros_like(p)
    for order in itertools.permutations(range(len(p)), width):
        prob, left = 1.0, 1.0
        for i in order:
            prob *= p[i] / left
            left -= p[i]
        incl[list(order)] += prob
    return incl


def exact_top(logp: np.ndarray, width: int) -> np.ndarray:
    """Indices of the ``width`` largest ``logp`` (an enumeration's ``log p(x)``), largest first."""
    return np.argsort(-np.asarray(logp), kind="stable")[:width]
