"""Selection, crossover and mutation on one island: pure functions of a key and arrays.

Each selection operator maps non-negative (shaped) fitnesses ``w [n]`` to the ``n`` indices of the
parents chosen; with ``sum w = 0`` every operator treats all individuals as equally fit.

* **Roulette** (fitness-proportional): ``n`` independent draws with ``P(i) = w_i / sum w``, so the
  counts are ``Multinomial(n, w / sum w)``: with equal fitnesses, exactly a neutral Wright-Fisher
  generation.
* **Stochastic universal sampling** (Baker 1987): one ``u ~ U[0, 1)`` and pointers
  ``(u + j) / n``, ``j = 0..n-1``, on the cumulative wheel: individual ``i`` is chosen
  ``floor(e_i)`` or ``ceil(e_i)`` times, ``e_i = n w_i / sum w`` (the particle filters'
  *systematic resampling*).
* **Tournament** (size ``k``): each parent is the fittest of ``k`` individuals drawn uniformly with
  replacement, ties to the lowest index; the individual of rank ``r`` (0 the fittest, distinct
  fitnesses) wins one slot with probability ``((n - r)^k - (n - r - 1)^k) / n^k``.

References:
  Holland 1975; Baker 1987, "Reducing bias and inefficiency in the selection algorithm" (SUS);
  Goldberg & Deb 1991, "A comparative analysis of selection schemes used in genetic algorithms"
  (tournament); Deb & Agrawal 1995 (blend / simulated crossovers).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["roulette", "sus", "tournament", "select", "crossover", "mutate", "reflect"]


def _wheel(w: jax.Array) -> jax.Array:
    """Cumulative wheel ``[n]`` ending at exactly 1 (uniform when ``sum w = 0``)."""
    w = jnp.where(jnp.sum(w) > 0, w, jnp.ones_like(w))
    cum = jnp.cumsum(w)
    return (cum / cum[-1]).at[-1].set(1.0)


def _spin(cum: jax.Array, pointers: jax.Array) -> jax.Array:
    """The slot each pointer in ``[0, 1)`` lands in: the first ``i`` with ``cum_i > pointer``."""
    return jnp.minimum(jnp.searchsorted(cum, pointers, side="right"), cum.shape[0] - 1)


def roulette(key: jax.Array, w: jax.Array) -> jax.Array:
    """``[n]`` parents, ``n`` independent fitness-proportional draws (Holland 1975)."""
    return _spin(_wheel(w), jax.random.uniform(key, w.shape))


def sus(key: jax.Array, w: jax.Array) -> jax.Array:
    """``[n]`` parents by stochastic universal sampling (Baker 1987), in wheel order."""
    n = w.shape[0]
    u = jax.random.uniform(key, ())
    return _spin(_wheel(w), (u + jnp.arange(n, dtype=w.dtype)) / n)


def tournament(key: jax.Array, w: jax.Array, k: int) -> jax.Array:
    """``[n]`` parents, each the fittest of ``k`` uniform draws with replacement."""
    n = w.shape[0]
    entrants = jax.random.randint(key, (n, k), 0, n)
    return jnp.take_along_axis(entrants, jnp.argmax(w[entrants], axis=1)[:, None], axis=1)[:, 0]


def select(kind: str, key: jax.Array, w: jax.Array, k: int = 2) -> jax.Array:
    """The parents ``[n]`` chosen by ``kind`` (``roulette``, ``sus`` or ``tournament``)."""
    if kind == "roulette":
        return roulette(key, w)
    if kind == "sus":
        return sus(key, w)
    return tournament(key, w, k)


def reflect(y: jax.Array) -> jax.Array:
    """``y`` folded into ``[0, 1]`` by reflection at both walls (period 2)."""
    z = jnp.mod(jnp.abs(y), 2.0)
    return jnp.where(z > 1.0, 2.0 - z, z)


def crossover(key: jax.Array, x: jax.Array, rate: jax.Array) -> jax.Array:
    """Blend crossover of the pairs ``(x_0, x_1), (x_2, x_3), ...`` (``n`` even; an odd last
    individual is left alone), each pair with probability ``rate``."""
    n = x.shape[0]
    m = n // 2
    pair = x[:2 * m].reshape(m, 2)
    u, v = jax.random.uniform(key, (2, m, 1))
    w = jnp.where(v < rate, u, 1.0)  # [m, 1]: child j = w x_j + (1 - w) x_other
    children = (w * pair + (1 - w) * pair[:, ::-1]).reshape(2 * m)
    return children if n == 2 * m else jnp.concatenate([children, x[2 * m:]])


def mutate(key: jax.Array, x: jax.Array, rate: jax.Array, scale: jax.Array) -> jax.Array:
    """Each ``x_i`` moves by ``N(0, scale^2)`` with probability ``rate``, reflected into ``[0, 1]``."""
    km, ks = jax.random.split(key)
    hit = jax.random.uniform(km, x.shape) < rate
    return jnp.where(hit, reflect(x + scale * jax.random.normal(ks, x.shape)), x)
