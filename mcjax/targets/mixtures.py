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

from mcjax._validation import ConfigError, check_choice, check_positive, check_positive_int

__all__ = ["Target", "ring", "grid", "high_dim", "make_target", "TARGETS"]


@struct.dataclass
class Target:
    """A mixture of isotropic Gaussians with equal weights.

    Attributes:
      means: ``[K, D]`` mode centres.
      std: standard deviation of every mode (isotropic, or isotropic inside ``basis``).
      basis: ``[D, d]`` orthonormal columns spanning the subspace the noise lives in, or ``None``
        for noise in all ``D`` dimensions.
      name: short name (static).
      hq_threshold: a sample is *high quality* when its Mahalanobis distance to the nearest mode,
        ``||x - mu_k|| / std``, is below this (3 in VEEGAN/PacGAN for 2-D targets; static).
      params: the constructor arguments, as a tuple of ``(name, value)`` pairs (static).
    """

    means: jax.Array
    std: jax.Array
    basis: jax.Array | None = None
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
        if self.basis is None:
            noise = jax.random.normal(k_noise, (n, self.dim), dtype=self.means.dtype)
        else:
            noise = jax.random.normal(k_noise, (n, self.basis.shape[1]), self.means.dtype) @ self.basis.T
        return self.means[idx] + self.std * noise

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Nearest mode of each point and its Mahalanobis distance to it.

        Args:
          x: ``[n, D]`` points.

        Returns:
          ``(index [n] int32, distance [n])`` where distance is ``||x - mu_k|| / std``.
        """
        if self.dim <= 8:  # exact differences: cheap in low dimension
            d2 = jnp.sum((x[:, None, :] - self.means[None, :, :]) ** 2, axis=-1)
        else:  # ||x||^2 - 2 x.m + ||m||^2: a matmul instead of an [n, K, D] tensor
            d2 = (jnp.sum(x**2, axis=1)[:, None] - 2.0 * x @ self.means.T
                  + jnp.sum(self.means**2, axis=1)[None, :])
        idx = jnp.argmin(d2, axis=1)
        dmin = jnp.sqrt(jnp.maximum(jnp.take_along_axis(d2, idx[:, None], axis=1)[:, 0], 0.0))
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


def high_dim(n_modes: int = 10, dim: int = 1200, intrinsic_dim: int = 10, radius: float = 2.0,
             std: float = 0.05, seed: int = 0) -> Target:
    """``n_modes`` Gaussians on a random ``intrinsic_dim``-dimensional subspace of ``R^dim``.

    A VEEGAN-style high-dimensional mixture (Srivastava et al. 2017, Table 1, "1200D synthetic":
    10 modes in 1200 dimensions, a sample is high quality within 10 standard deviations). Our
    construction, pinned here: the means are ``radius`` times the first ``n_modes`` unit vectors of
    the subspace (pairwise distance ``radius * sqrt(2)``); the subspace is spanned by the
    orthonormal columns of the QR factor of a standard Gaussian ``[dim, intrinsic_dim]`` matrix drawn
    with ``numpy.random.default_rng(seed)``; the noise is isotropic *inside* the subspace, so a true
    sample lies at about ``sqrt(intrinsic_dim)`` standard deviations from its mean, and a generated
    point's distance off the subspace counts against it.
    """
    for name, v in (("n_modes", n_modes), ("dim", dim), ("intrinsic_dim", intrinsic_dim)):
        check_positive_int(name, v)
    check_positive("radius", radius)
    check_positive("std", std)
    if not n_modes <= intrinsic_dim <= dim:
        raise ConfigError(
            f"need n_modes <= intrinsic_dim <= dim, got {n_modes}, {intrinsic_dim}, {dim}")
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, intrinsic_dim)))
    means = radius * basis[:, :n_modes].T
    return Target(
        means=jnp.asarray(means, jnp.float32),
        std=jnp.asarray(std, jnp.float32),
        basis=jnp.asarray(basis, jnp.float32),
        name="high_dim",
        hq_threshold=10.0,
        params=(("n_modes", n_modes), ("dim", dim), ("intrinsic_dim", intrinsic_dim),
                ("radius", float(radius)), ("std", float(std)), ("seed", seed)),
    )


TARGETS = {"ring": ring, "grid": grid, "high_dim": high_dim}


def make_target(name: str, **kwargs: Any) -> Target:
    """Builds a target by name (a key of ``TARGETS``); unknown names raise ``ConfigError``."""
    check_choice("target", name, TARGETS)
    return TARGETS[name](**kwargs)

