"""The one-dimensional multimodal landscapes of the CEC 2013 niching suite on ``[0, 1]``, with their
peaks (positions, heights) and basins (which peak each point belongs to).

* ``equal``: "Equal Maxima" (CEC 2013 F2), ``f(x) = sin^6(5 pi x)``: five peaks of height 1 at
  ``x = 0.1, 0.3, 0.5, 0.7, 0.9``, basins ``[0.2 k, 0.2 (k + 1))`` between the zeros.
* ``uneven``: "Uneven Decreasing Maxima" (CEC 2013 F3),
  ``f(x) = exp(-2 ln 2 ((x - 0.08) / 0.854)^2) sin^6(5 pi (x^0.75 - 0.05))``: five peaks near
  ``x = (0.15 + 0.2 k)^(4/3)`` of decreasing heights (1.000, 0.949, 0.771, 0.504, 0.252); the
  basins are split at the zeros ``x = (0.05 + 0.2 k)^(4/3)``, ``k = 1..4``.

Peak positions and heights are found once in float64 NumPy (a dense grid refined by golden-section
search) and pinned as constants of the config; the fitness itself is float32 JAX.

References:
  Li, Engelbrecht & Epitropakis 2013, "Benchmark functions for CEC'2013 special session and
  competition on niching methods for multimodal function optimization", F2 and F3; Deb 1989
  (the functions' origin: M1 and M4 of Goldberg & Richardson 1987).
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import check_choice

__all__ = ["LANDSCAPES", "fitness", "peaks", "basin_edges", "peak_index"]

LANDSCAPES = ("equal", "uneven")
N_PEAKS = 5


def fitness(landscape: str, x, xp=jnp):
    """``f(x)`` of ``landscape`` for ``x`` in ``[0, 1]`` (any shape; ``xp`` = ``jnp`` or ``np``)."""
    check_choice("landscape", landscape, LANDSCAPES)
    if landscape == "equal":
        return xp.sin(5 * math.pi * x) ** 6
    envelope = xp.exp(-2 * math.log(2) * ((x - 0.08) / 0.854) ** 2)
    return envelope * xp.sin(5 * math.pi * (xp.maximum(x, 0.0) ** 0.75 - 0.05)) ** 6


def basin_edges(landscape: str) -> tuple[float, ...]:
    """The four inner basin boundaries (zeros of ``f`` between the peaks), increasing."""
    check_choice("landscape", landscape, LANDSCAPES)
    if landscape == "equal":
        return (0.2, 0.4, 0.6, 0.8)
    return tuple(float((0.05 + 0.2 * k) ** (4 / 3)) for k in range(1, N_PEAKS))


@functools.lru_cache(maxsize=None)
def peaks(landscape: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(positions, heights)`` of the five peaks, float64, by golden-section search in each basin."""
    edges = (0.0, *basin_edges(landscape), 1.0)
    f = lambda v: float(fitness(landscape, np.float64(v), np))
    g = (math.sqrt(5) - 1) / 2
    pos = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        grid = np.linspace(lo, hi, 2001)
        i = int(np.argmax(fitness(landscape, grid, np)))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, 2000)]
        for _ in range(80):
            c, d = b - g * (b - a), a + g * (b - a)
            a, b = (a, d) if f(c) > f(d) else (c, b)
        pos.append((a + b) / 2)
    if landscape == "equal":  # the analytic tops, so that individuals can sit on them exactly
        pos = [0.1 + 0.2 * k for k in range(N_PEAKS)]
    return tuple(float(p) for p in pos), tuple(f(p) for p in pos)


def peak_index(landscape: str, x: jax.Array) -> jax.Array:
    """``[...]`` int32: the peak whose basin holds each ``x``."""
    edges = jnp.asarray(basin_edges(landscape), x.dtype)
    return jnp.sum(x[..., None] >= edges.reshape((1,) * x.ndim + (-1,)), axis=-1).astype(jnp.int32)
