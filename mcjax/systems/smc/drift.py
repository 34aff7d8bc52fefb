"""Neutral drift of a particle system: equally weighted particles resampled generation after
generation, each particle labelled by the type (mode) of its ancestor at generation 0.

With multinomial resampling this is a Wright-Fisher generation and a GA's roulette selection on
equal fitness; the low-variance schemes of :mod:`mcjax.systems.smc.resampling` keep every
particle and never drift.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import ConfigError, check_positive_int
from mcjax.systems.smc.resampling import SCHEMES, resample

__all__ = ["neutral_drift"]


def _one_run(labels: jax.Array, key: jax.Array, generations: int, k: int, scheme: str):
    n = labels.shape[0]
    weights = jnp.ones(n, jnp.float32)

    def step(carry, _):
        labels, fixed_at, t, key = carry
        key, key_t = jax.random.split(key)
        labels = labels[resample(scheme, key_t, weights)]
        p = jnp.bincount(labels, length=k) / n
        h = 1.0 - jnp.sum(p * p)
        fixed_at = jnp.where((fixed_at < 0) & (jnp.max(p) == 1.0), t, fixed_at)
        return (labels, fixed_at, t + 1, key), h

    (_, fixed_at, _, _), h = jax.lax.scan(step, (labels, jnp.int32(-1), jnp.int32(1), key), None,
                                          length=generations)
    return h, fixed_at


def neutral_drift(counts: Sequence[int], generations: int, seeds: int, scheme: str = "multinomial",
                  seed_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``seeds`` runs of ``generations`` resamplings of ``sum(counts)`` equally weighted particles,
    ``counts[k]`` of type k at generation 0, vmapped over runs (seed ``s`` is ``jax.random.key(s)``).

    Returns:
      ``steps [G]`` (1..G), ``heterozygosity [seeds, G]`` (``1 - sum_k p_k^2`` after each
      generation) and ``fixation [seeds]`` (the first generation with one type left, -1 if none).
    """
    counts = [int(c) for c in counts]
    if len(counts) < 2 or min(counts) < 0 or sum(counts) < 2:
        raise ConfigError(f"counts {counts} must be >= 0, at least 2 types, 2 particles or more")
    check_positive_int("generations", generations)
    check_positive_int("seeds", seeds)
    if scheme not in SCHEMES:
        resample(scheme, jax.random.key(0), jnp.ones(2))  # the one-line error naming the schemes
    labels = jnp.repeat(jnp.arange(len(counts)), np.asarray(counts), total_repeat_length=sum(counts))
    keys = jax.vmap(jax.random.key)(jnp.arange(seed_offset, seed_offset + seeds))
    run = jax.jit(jax.vmap(lambda key: _one_run(labels, key, generations, len(counts), scheme)))
    h, fixed = run(keys)
    return np.arange(1, generations + 1), np.asarray(h), np.asarray(fixed)
