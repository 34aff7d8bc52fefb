"""Gaussian mixtures with known modes: the benchmarks on which mode collapse is counted.

Every constant (radius, spacing, standard deviation, high-quality threshold) is pinned here and
recorded in each results file through :meth:`GaussianMixture.describe`. The constants are NumPy
``float32`` arrays, so building a target never starts a JAX backend; ``sample`` and ``assign``
convert them with ``jnp.asarray`` when they run.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from mcjax._validation import ConfigError, check_positive, check_positive_int

__all__ = ["GaussianMixture", "LineSegments", "ring", "grid", "high_dim", "lines", "lines_hq_fraction",
           "MIXTURES"]


@struct.dataclass
class GaussianMixture:
    r"""A mixture of isotropic Gaussians with equal weights; implements :class:`~mcjax.targets.Target`.

    The density is :math:`p(x) = \frac{1}{K} \sum_k \mathcal{N}(x; \mu_k, \sigma^2 B B^\top)`, with
    :math:`B = I_D` when ``basis`` is ``None``. Mode assignment is the nearest mean and the quality
    score the Mahalanobis distance to it, :math:`s(x) = \min_k \|x - \mu_k\| / \sigma`.

    Attributes:
      means: ``[K, D]`` NumPy ``float32`` mode centres :math:`\mu_k`.
      std: NumPy ``float32`` scalar :math:`\sigma` of every mode (isotropic, or isotropic inside
        ``basis``).
      basis: ``[D, d]`` NumPy ``float32`` orthonormal columns :math:`B` spanning the subspace the
        noise lives in, or ``None`` for noise in all ``D`` dimensions.
      name: short name (static).
      hq_threshold: a sample is *high quality* when :math:`s(x)` is below this (3 in VEEGAN/PacGAN
        for 2-D targets; static).
      params: the constructor arguments, as a tuple of ``(name, value)`` pairs (static).
    """

    means: np.ndarray
    std: np.ndarray
    basis: np.ndarray | None = None
    name: str = struct.field(pytree_node=False, default="mixture")
    hq_threshold: float = struct.field(pytree_node=False, default=3.0)
    params: tuple = struct.field(pytree_node=False, default=())

    @property
    def n_modes(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        r"""Draws ``n`` points :math:`x = \mu_k + \sigma B z`, ``k`` uniform, :math:`z \sim \mathcal{N}(0, I)`.

        Returns:
          ``[n, D]`` samples.
        """
        means = jnp.asarray(self.means)
        k_mode, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_mode, (n,), 0, self.n_modes)
        if self.basis is None:
            noise = jax.random.normal(k_noise, (n, self.dim), dtype=means.dtype)
        else:
            basis = jnp.asarray(self.basis)
            noise = jax.random.normal(k_noise, (n, basis.shape[1]), means.dtype) @ basis.T
        return means[idx] + jnp.asarray(self.std) * noise

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        r"""Nearest mode of each point and its Mahalanobis distance to it.

        Args:
          x: ``[n, D]`` points.

        Returns:
          ``(index [n] int32, distance [n])``: :math:`\arg\min_k \|x - \mu_k\|` and
          :math:`\min_k \|x - \mu_k\| / \sigma`.
        """
        means = jnp.asarray(self.means)
        if self.dim <= 8:  # exact differences: cheap in low dimension
            d2 = jnp.sum((x[:, None, :] - means[None, :, :]) ** 2, axis=-1)
        else:  # ||x||^2 - 2 x.m + ||m||^2: a matmul instead of an [n, K, D] tensor
            d2 = (jnp.sum(x**2, axis=1)[:, None] - 2.0 * x @ means.T
                  + jnp.sum(means**2, axis=1)[None, :])
        idx = jnp.argmin(d2, axis=1)
        dmin = jnp.sqrt(jnp.maximum(jnp.take_along_axis(d2, idx[:, None], axis=1)[:, 0], 0.0))
        return idx.astype(jnp.int32), dmin / jnp.asarray(self.std)

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


def _mixture(name: str, means: np.ndarray, std: float, hq_threshold: float, params: tuple,
             basis: np.ndarray | None = None) -> GaussianMixture:
    """A ``GaussianMixture`` with its constants cast to NumPy ``float32`` (no JAX array made)."""
    return GaussianMixture(
        means=np.asarray(means, np.float32),
        std=np.asarray(std, np.float32),
        basis=None if basis is None else np.asarray(basis, np.float32),
        name=name,
        hq_threshold=hq_threshold,
        params=params,
    )


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    r"""``n_modes`` Gaussians evenly spaced on a circle: :math:`\mu_k = r (\cos\theta_k, \sin\theta_k)`,
    :math:`\theta_k = 2 \pi k / K`, ``k = 0 .. K - 1``.

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
    return _mixture("ring", means, std, 3.0,
                    (("n_modes", n_modes), ("radius", float(radius)), ("std", float(std))))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side x side`` Gaussians on a square lattice centred at the origin.

    With the defaults the means are ``{-4, -2, 0, 2, 4}^2`` (PacGAN/VEEGAN's 25-mode grid).
    """
    check_positive_int("side", side)
    check_positive("spacing", spacing)
    check_positive("std", std)
    ticks = spacing * (np.arange(side) - (side - 1) / 2.0)
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    means = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return _mixture("grid", means, std, 3.0,
                    (("side", side), ("spacing", float(spacing)), ("std", float(std))))


def high_dim(n_modes: int = 10, dim: int = 1200, intrinsic_dim: int = 10, radius: float = 2.0,
             std: float = 0.05, seed: int = 0) -> GaussianMixture:
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
    return _mixture("high_dim", means, std, 10.0,
                    (("n_modes", n_modes), ("dim", dim), ("intrinsic_dim", intrinsic_dim),
                     ("radius", float(radius)), ("std", float(std)), ("seed", seed)),
                    basis=basis)


@struct.dataclass
class LineSegments:
    r"""Parallel line segments blurred by isotropic Gaussian noise, one mode per segment; implements
    :class:`~mcjax.targets.Target`.

    Segment ``k`` is :math:`S_k = \{(x_k, y) : |y| \le L / 2\}`, vertical (parallel to the
    :math:`y` axis) at :math:`x_k`. A sample picks ``k`` uniformly, a point :math:`u \sim U[-L/2, L/2]`
    along it and adds :math:`\sigma \varepsilon`, :math:`\varepsilon \sim \mathcal{N}(0, I_2)`:
    :math:`x = (x_k, u) + \sigma \varepsilon`. The density is the uniform measure on the segments
    convolved with :math:`\mathcal{N}(0, \sigma^2 I_2)`.

    Mode assignment is the nearest segment and the quality score the distance to it in standard
    deviations, :math:`s(x) = \min_k \operatorname{dist}(x, S_k) / \sigma`, with
    :math:`\operatorname{dist}(x, S_k)^2 = (x_1 - x_k)^2 + \max(|x_2| - L/2, 0)^2`; a sample is high
    quality when :math:`s(x) < 3`, the mixtures' rule. Since every segment spans the same
    :math:`y` range, the nearest segment is the one of nearest :math:`x_k`.

    High-quality share of real samples, exact: with :math:`Q` the standard normal tail,
    :math:`G(a) = \int_a^\infty Q(t)\,dt = \varphi(a) - a Q(a)`, and :math:`n` the noise across
    the segment, the chance of overshooting one end by more than :math:`a \sigma` is
    :math:`\tfrac{\sigma}{L}(G(a) - G(a + L/\sigma))`, so
    :math:`P(s < 3) = E_{n \sim \mathcal{N}(0,1)}\big[1\{|n| < 3\}\,(1 - \tfrac{2\sigma}{L}
    (G(a_n) - G(a_n + L/\sigma)))\big]`, :math:`a_n = \sqrt{9 - n^2}`
    (:func:`lines_hq_fraction`): 0.9973 less an end effect of order :math:`\sigma / L`. A sample is never assigned to a segment farther than the nearest one, so
    modes are told apart when the spacing is well above :math:`6\sigma`.

    Attributes:
      xs: ``[K]`` NumPy ``float32`` abscissae :math:`x_k` of the segments.
      length: NumPy ``float32`` scalar :math:`L`.
      std: NumPy ``float32`` scalar :math:`\sigma`.
      name: short name (static).
      hq_threshold: static; 3 standard deviations.
      params: the constructor arguments as ``(name, value)`` pairs (static).
    """

    xs: np.ndarray
    length: np.ndarray
    std: np.ndarray
    name: str = struct.field(pytree_node=False, default="lines")
    hq_threshold: float = struct.field(pytree_node=False, default=3.0)
    params: tuple = struct.field(pytree_node=False, default=())

    @property
    def n_modes(self) -> int:
        return self.xs.shape[0]

    @property
    def dim(self) -> int:
        return 2

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def means(self) -> np.ndarray:
        """``[K, 2]`` segment midpoints :math:`(x_k, 0)`: each mode's centre, for figures and the
        collapse log."""
        xs = np.asarray(self.xs)
        return np.stack([xs, np.zeros_like(xs)], axis=1)

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        r"""Draws ``n`` points :math:`(x_k, u) + \sigma \varepsilon` (see the class docstring).

        Returns:
          ``[n, 2]`` samples.
        """
        xs = jnp.asarray(self.xs)
        k_mode, k_along, k_noise = jax.random.split(key, 3)
        idx = jax.random.randint(k_mode, (n,), 0, self.n_modes)
        half = 0.5 * jnp.asarray(self.length)
        u = jax.random.uniform(k_along, (n,), xs.dtype, -half, half)
        noise = jax.random.normal(k_noise, (n, 2), xs.dtype)
        return jnp.stack([xs[idx], u], axis=1) + jnp.asarray(self.std) * noise

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        r"""Nearest segment of each point and its distance to it in standard deviations.

        Args:
          x: ``[n, 2]`` points.

        Returns:
          ``(index [n] int32, score [n])``: :math:`\arg\min_k \operatorname{dist}(x, S_k)` and
          :math:`\min_k \operatorname{dist}(x, S_k) / \sigma`.
        """
        xs = jnp.asarray(self.xs)
        dx2 = (x[:, :1] - xs[None, :]) ** 2
        over = jnp.maximum(jnp.abs(x[:, 1]) - 0.5 * jnp.asarray(self.length), 0.0)
        idx = jnp.argmin(dx2, axis=1)
        d2 = jnp.take_along_axis(dx2, idx[:, None], axis=1)[:, 0] + over**2
        return idx.astype(jnp.int32), jnp.sqrt(d2) / jnp.asarray(self.std)

    def describe(self) -> dict[str, Any]:
        """Plain-Python description pinned in results files."""
        return {
            "name": self.name,
            "n_modes": int(self.n_modes),
            "dim": 2,
            "std": float(self.std),
            "length": float(self.length),
            "hq_threshold": float(self.hq_threshold),
            "params": dict(self.params),
        }


def lines(n_lines: int = 4, spacing: float = 1.0, length: float = 2.0,
          std: float = 0.02) -> LineSegments:
    """``n_lines`` parallel vertical segments of length ``length``, ``spacing`` apart, centred at
    the origin: :math:`x_k = s (k - (K - 1) / 2)`, :math:`y \\in [-L/2, L/2]`.

    The target of the vanishing-gradient study (issue 17): a generator stuck on one segment and
    the segment it misses at distance :math:`d`. With the defaults the abscissae are
    ``-1.5, -0.5, 0.5, 1.5``.

    Raises:
      ConfigError: a non-positive count, spacing, length or std, or ``spacing <= 6 std`` (the
        3-sigma bands of neighbouring segments would overlap).

    Example:
      >>> lines().n_modes, lines(n_lines=2, spacing=3.0).means.tolist()
      (4, [[-1.5, 0.0], [1.5, 0.0]])
    """
    check_positive_int("n_lines", n_lines)
    for what, v in (("spacing", spacing), ("length", length), ("std", std)):
        check_positive(what, v)
    if spacing <= 6.0 * std:
        raise ConfigError(f"lines: spacing must exceed 6 std = {6.0 * std:g} (3-sigma bands of "
                          f"neighbouring segments would overlap), got spacing={spacing!r}")
    xs = spacing * (np.arange(n_lines) - (n_lines - 1) / 2.0)
    return LineSegments(
        xs=np.asarray(xs, np.float32), length=np.asarray(length, np.float32),
        std=np.asarray(std, np.float32), name="lines", hq_threshold=3.0,
        params=(("n_lines", n_lines), ("spacing", float(spacing)), ("length", float(length)),
                ("std", float(std))))


def lines_hq_fraction(length: float, std: float, threshold: float = 3.0, n_grid: int = 20001
                      ) -> float:
    r"""Expected high-quality share of real ``lines`` samples (class docstring of
    :class:`LineSegments`), by the trapezoid rule over :math:`n \in [-\tau, \tau]`:
    :math:`E[1\{|n| < \tau\}(1 - \tfrac{2\sigma}{L}(G(a_n) - G(a_n + L/\sigma)))]`,
    :math:`a_n = \sqrt{\tau^2 - n^2}`.

    Example:
      >>> round(lines_hq_fraction(1.0, 1e-6), 4)  # no end effect: P(|n| < 3)
      0.9973
    """
    from math import erfc, pi, sqrt

    def overshoot(a):  # G(a) = phi(a) - a Q(a)
        return np.exp(-0.5 * a**2) / sqrt(2 * pi) - a * 0.5 * np.vectorize(erfc)(a / sqrt(2))

    n = np.linspace(-threshold, threshold, n_grid)
    a = np.sqrt(np.maximum(threshold**2 - n**2, 0.0))
    g = overshoot(a) - overshoot(a + length / std)
    f = (1.0 - 2.0 * std / length * g) * np.exp(-0.5 * n**2) / sqrt(2 * pi)
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(n)))


MIXTURES = {"ring": ring, "grid": grid, "high_dim": high_dim}


def __getattr__(name: str) -> Any:
    """``TARGETS`` and ``make_target`` moved to :mod:`mcjax.targets.registry` (which lists the image
    targets too); the old import path still finds them."""
    if name in ("TARGETS", "make_target"):
        from mcjax.targets import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
