"""Distributions with known modes: the benchmarks on which mode collapse is counted.

Every constant (radius, spacing, standard deviation, high-quality threshold) is pinned here and
recorded in each results file through :meth:`Target.describe`.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from mcjax._validation import check_choice, check_positive, check_positive_int

__all__ = ["Target", "ring", "grid", "make_target", "TARGETS"]


@struct.dataclass
class Target:
    """A mixture of isotropic Gaussians with equal weights.

    Attributes:
      means: ``[K, D]`` mode centres.
      std: standard deviation of every mode (isotropic).
      name: short name (static).
      hq_threshold: a sample is *high quality* when its Mahalanobis distance to the nearest mode,
        ``||x - mu_k|| / std``, is below this (3 in VEEGAN/PacGAN for 2-D targets; static).
      params: the constructor arguments, as a tuple of ``(name, value)`` pairs (static).
    """

    means: jax.Array
    std: jax.Array
    name: str = struct.field(pytree_node=False, default="mixture")
    hq_threshold: float = struct.field(pytree_node=False, default=3.0)
    params: tuple = struct.field(pytree_node=False, default=())

    @property
    def n_modes(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """Draws ``n`` points: a uniformly chosen mode plus ``std`` times Gaussian noise. ``[n, D]``."""
        k_mode, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_mode, (n,), 0, self.n_modes)
        noise = jax.random.normal(k_noise, (n, self.dim), dtype=self.means.dtype)
        return self.means[idx] + self.std * noise

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Nearest mode of each point and its Mahalanobis distance to it.

        Args:
          x: ``[n, D]`` points.

        Returns:
          ``(index [n] int32, distance [n])`` where distance is ``||x - mu_k|| / std``.
        """
        d2 = jnp.sum((x[:, None, :] - self.means[None, :, :]) ** 2, axis=-1)
        idx = jnp.argmin(d2, axis=1)
        dmin = jnp.sqrt(jnp.take_along_axis(d2, idx[:, None], axis=1)[:, 0])
        return idx.astype(jnp.int32), dmin / self.std

    def describe(self) -> dict[str, Any]:
        """Plain-Python description pinned in results files."""
        return {
            "name": self.name,
            "n_modes": int(self.n_modes),
            "dim": int(self.dim),
            "std": float(self.std),
            "hq_threshold": float(self.hq_threshold),
            "params": dict(self.params),
        }


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Target:
    """``n_modes`` Gaussians evenly spaced on a circle: angle ``2 pi k / n_modes``, k = 0..n-1.

    All modes are distinct (the endpoint 2 pi is *not* included, unlike ``linspace(0, 2pi, 8)``).

    Example:
      >>> ring().means.shape
      (8, 2)
    """
    check_positive_int("n_modes", n_modes)
    check_positive("radius", radius)
    check_positive("std", std)
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Target(
        means=jnp.asarray(means, jnp.float32),
        std=jnp.asarray(std, jnp.float32),
        name="ring",
        hq_threshold=3.0,
        params=(("n_modes", n_modes), ("radius", float(radius)), ("std", float(std))),
    )


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Target:
    """``side x side`` Gaussians on a square lattice centred at the origin.

    With the defaults the means are ``{-4, -2, 0, 2, 4}^2`` (PacGAN/VEEGAN's 25-mode grid).
    """
    check_positive_int("side", side)
    check_positive("spacing", spacing)
    check_positive("std", std)
    ticks = spacing * (np.arange(side) - (side - 1) / 2.0)
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    means = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return Target(
        means=jnp.asarray(means, jnp.float32),
        std=jnp.asarray(std, jnp.float32),
        name="grid",
        hq_threshold=3.0,
        params=(("side", side), ("spacing", float(spacing)), ("std", float(std))),
    )


TARGETS = {"ring": ring, "grid": grid}


def make_target(name: str, **kwargs: Any) -> Target:
    """Builds a target by name (``ring`` or ``grid``); unknown names raise ``ValueError``."""
    check_choice("target", name, TARGETS)
    return TARGETS[name](**kwargs)

