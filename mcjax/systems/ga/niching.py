"""The niching operators: the forces that keep a genetic algorithm's population on many peaks.

* **Fitness sharing** (Goldberg & Richardson 1987): selection sees ``f_i / m_i``, the niche count
  ``m_i = sum_j sh(d_ij)`` with the triangular sharing function ``sh(d) = 1 - (d / sigma)^alpha``
  for ``d < sigma`` (0 beyond). With each niche a point mass on its peak, shared fitnesses are
  equal when ``n_k ∝ f_k``: the ideal free distribution.
* **Clearing** (Petrowski 1996): in order of decreasing fitness, each individual not yet cleared
  is a niche's *dominant*; of the others within ``radius`` of it (and not yet cleared) the
  ``capacity - 1`` fittest keep their fitness, the rest get 0. Selection then sees the cleared
  fitness.
* **Deterministic crowding** (Mahfoud 1995): no selection operator; parents are paired at random,
  each pair makes two children (crossover, mutation), and each child meets the parent closer to it
  (``d(p1, c1) + d(p2, c2) <= d(p1, c2) + d(p2, c1)``: ``c1`` vs ``p1``), replacing it if fitter.
* **Island model** (ring): every ``T`` generations each island's ``migrants`` best copies replace
  the next island's worst (Whitley, Rana & Heckendorn 1999; Cantu-Paz 2000).

References:
  Goldberg & Richardson 1987, "Genetic algorithms with sharing for multimodal function
  optimization", ICGA; Petrowski 1996, "A clearing procedure as a niching method for genetic
  algorithms", ICEC; Mahfoud 1995, "Niching methods for genetic algorithms", PhD thesis, UIUC,
  Ch. 4; Cantu-Paz 2000, "Efficient and accurate parallel genetic algorithms".
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from mcjax.systems.ga.operators import crossover, mutate

__all__ = ["niche_counts", "shared_fitness", "cleared_fitness", "crowding", "migrate"]


def niche_counts(x: jax.Array, sigma: jax.Array, alpha: jax.Array) -> jax.Array:
    """``[n]``: ``m_i = sum_j sh(|x_i - x_j|)`` (``sh(0) = 1``: an individual counts itself)."""
    d = jnp.abs(x[:, None] - x[None, :])
    sh = jnp.where(d < sigma, 1.0 - (d / sigma) ** alpha, 0.0)
    return jnp.sum(sh, axis=1)


def shared_fitness(f: jax.Array, x: jax.Array, sigma: jax.Array, alpha: jax.Array) -> jax.Array:
    """``f_i / m_i`` (Goldberg & Richardson 1987)."""
    return f / niche_counts(x, sigma, alpha)


def cleared_fitness(f: jax.Array, x: jax.Array, radius: jax.Array, capacity: jax.Array) -> jax.Array:
    """``[n]`` fitness after Petrowski's clearing (``capacity`` rounded, at least 1)."""
    n = f.shape[0]
    order = jnp.argsort(-f)
    fs, xs = f[order], x[order]
    d = jnp.abs(xs[:, None] - xs[None, :])
    kappa = jnp.maximum(jnp.round(capacity), 1.0)
    later = jnp.arange(n)[None, :] > jnp.arange(n)[:, None]

    def body(i, c):
        near = later[i] & (c > 0) & (d[i] < radius)
        rank = jnp.cumsum(near.astype(jnp.float32))  # 1 for the fittest neighbour
        clear = near & (rank >= kappa) & (c[i] > 0)
        return jnp.where(clear, 0.0, c)

    cleared = jax.lax.fori_loop(0, n, body, fs)
    return jnp.zeros_like(f).at[order].set(cleared)


def crowding(key: jax.Array, x: jax.Array, fit: Callable, rate: jax.Array, scale: jax.Array,
             pc: jax.Array) -> jax.Array:
    """One generation of deterministic crowding on ``x [n]`` (``n`` even), in a shuffled order."""
    kp, kc, km = jax.random.split(key, 3)
    p = jax.random.permutation(kp, x)
    c = mutate(km, crossover(kc, p, pc), rate, scale)
    p1, p2, c1, c2 = p[0::2], p[1::2], c[0::2], c[1::2]
    straight = jnp.abs(p1 - c1) + jnp.abs(p2 - c2) <= jnp.abs(p1 - c2) + jnp.abs(p2 - c1)
    a, b = jnp.where(straight, c1, c2), jnp.where(straight, c2, c1)  # a meets p1, b meets p2
    s1 = jnp.where(fit(a) > fit(p1), a, p1)
    s2 = jnp.where(fit(b) > fit(p2), b, p2)
    return jnp.stack([s1, s2], axis=1).reshape(x.shape)


def migrate(x: jax.Array, f: jax.Array, migrants: int) -> jax.Array:
    """``x [M, n]`` after ring migration: island ``i``'s ``migrants`` fittest replace island
    ``i + 1``'s ``migrants`` least fit (fitness ``f [M, n]``)."""
    order = jnp.argsort(-f, axis=1)
    best = jnp.take_along_axis(x, order[:, :migrants], axis=1)
    incoming = jnp.roll(best, 1, axis=0)
    worst = order[:, -migrants:]
    rows = jnp.arange(x.shape[0])[:, None]
    return x.at[rows, worst].set(incoming)
