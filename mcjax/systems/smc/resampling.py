"""Resampling N weighted particles to N equally weighted ones: the four standard schemes.

Each ``scheme(key, weights) -> indices [N]`` draws ancestor indices with ``E[#copies of i] =
N w_i`` (weights normalised here). They differ in variance: *multinomial* draws the N indices
independently (Gordon, Salmond & Smith 1993; a Wright-Fisher generation, roulette-wheel
selection); *stratified* draws one uniform in each of N equal strata (Kitagawa 1996);
*systematic* uses one uniform for all N evenly spaced pointers (Carpenter, Clifford & Fearnhead
1999; the genetic algorithm's stochastic universal sampling, Baker 1987); *residual* keeps
``floor(N w_i)`` copies and draws the remainder multinomially (Liu & Chen 1998; remainder
stochastic sampling in GAs). With equal weights the last three keep every particle; multinomial
keeps ``N (1 - (1 - 1/N)^N)`` distinct ones in expectation.

Pure functions of a key and a weight vector; ``jax.vmap`` them over runs.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mcjax._validation import check_choice

__all__ = ["multinomial", "systematic", "stratified", "residual", "SCHEMES", "resample"]


def _normalise(weights: jax.Array) -> jax.Array:
    w = jnp.asarray(weights, jnp.float32)
    return w / jnp.sum(w)


def _from_pointers(w: jax.Array, u: jax.Array) -> jax.Array:
    """Index of the particle whose cumulative-weight interval holds each pointer ``u`` in [0, 1)."""
    cdf = jnp.cumsum(w)
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), w.shape[0] - 1)


def multinomial(key: jax.Array, weights: jax.Array) -> jax.Array:
    """N independent draws, ``P(i) = w_i``, by inverting the CDF at N uniforms (``O(N log N)``;
    ``jax.random.categorical`` with ``shape=(N,)`` draws ``N x N`` Gumbels)."""
    w = _normalise(weights)
    return _from_pointers(w, jax.random.uniform(key, w.shape))


def stratified(key: jax.Array, weights: jax.Array) -> jax.Array:
    """One uniform pointer in each stratum ``[j/N, (j+1)/N)``."""
    w = _normalise(weights)
    n = w.shape[0]
    return _from_pointers(w, (jnp.arange(n) + jax.random.uniform(key, (n,))) / n)


def systematic(key: jax.Array, weights: jax.Array) -> jax.Array:
    """N evenly spaced pointers ``(j + u)/N`` with one uniform ``u``: each particle gets
    ``floor(N w_i)`` or ``ceil(N w_i)`` copies."""
    w = _normalise(weights)
    n = w.shape[0]
    return _from_pointers(w, (jnp.arange(n) + jax.random.uniform(key, ())) / n)


def residual(key: jax.Array, weights: jax.Array) -> jax.Array:
    """``floor(N w_i)`` copies of each particle, the other ``R = N - sum floor(N w_i)`` drawn
    multinomially with probabilities proportional to ``N w_i - floor(N w_i)``."""
    w = _normalise(weights)
    n = w.shape[0]
    kept = jnp.floor(n * w)
    rest = n * w - kept
    r = n - jnp.sum(kept).astype(jnp.int32)
    draws = _from_pointers(rest / jnp.maximum(jnp.sum(rest), 1e-30), jax.random.uniform(key, (n,)))
    extra = jnp.zeros(n, jnp.int32).at[draws].add((jnp.arange(n) < r).astype(jnp.int32))
    copies = kept.astype(jnp.int32) + extra
    return jnp.repeat(jnp.arange(n), copies, total_repeat_length=n)


SCHEMES = {"multinomial": multinomial, "systematic": systematic, "stratified": stratified,
           "residual": residual}


def resample(scheme: str, key: jax.Array, weights: jax.Array) -> jax.Array:
    """Ancestor indices by ``scheme`` (one of :data:`SCHEMES`)."""
    check_choice("resampling scheme", scheme, SCHEMES)
    return SCHEMES[scheme](key, weights)
