"""An empirical target: a finite data set, resampled with replacement, judged by a true target.

What a model trained on another model's samples sees (recursive training, Shumailov et al. 2024):
its "real" data are ``M`` points, e.g. the previous generation's generator output. The points are
drawn uniformly with replacement, so a mode missing from the data is missing from every batch.
A share ``alpha`` of each batch can instead come fresh from the true target (the real-data
remedy). Mode assignment, quality scores and mode centres are the true target's, so every mode
metric (:func:`mcjax.metrics.mode_stats`) measures a generator trained on it against the truth.

It is a pytree: ``data``, ``size`` and ``alpha`` are leaves, so a batch of empirical targets
with a leading lineage axis passes through ``jax.vmap``
(:func:`mcjax.systems.gan.recursive.retrain_on_own_samples`).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from mcjax._validation import ConfigError

__all__ = ["EmpiricalTarget", "empirical"]


@struct.dataclass
class EmpiricalTarget:
    r"""Uniform resampling of ``data[:size]``, each point replaced with probability ``alpha`` by a
    fresh draw of ``truth``; implements :class:`~mcjax.targets.Target`.

    One sample is :math:`x = b\, y + (1 - b)\, d_U`, :math:`b \sim \mathrm{Bernoulli}(\alpha)`,
    :math:`y \sim` ``truth``, :math:`U \sim \mathrm{Uniform}\{0, \dots, \mathrm{size} - 1\}`,
    independently per point. ``alpha = 1`` is exactly ``truth``.

    Attributes:
      data: ``[M_max, *event_shape]`` points; only the first ``size`` are drawn.
      size: int32 scalar ``M <= M_max`` (a leaf, so data sets of different sizes share one
        program when padded to ``M_max``).
      alpha: float32 scalar share of fresh true draws.
      truth: the true target (a pytree whose ``assign``, ``n_modes``, ``hq_threshold`` and
        ``means`` are used).
    """

    data: Any
    size: Any
    alpha: Any
    truth: Any

    @property
    def n_modes(self) -> int:
        return self.truth.n_modes

    @property
    def dim(self) -> int:
        return self.truth.dim

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.truth.event_shape

    @property
    def hq_threshold(self) -> float:
        return self.truth.hq_threshold

    @property
    def means(self):
        return self.truth.means

    @property
    def std(self):
        return self.truth.std

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` points: resampled data, each replaced by a true draw with probability ``alpha``."""
        k_idx, k_mix, k_true = jax.random.split(key, 3)
        data = jnp.asarray(self.data)
        idx = jax.random.randint(k_idx, (n,), 0, jnp.maximum(jnp.asarray(self.size), 1))
        fresh = jax.random.uniform(k_mix, (n,)) < jnp.asarray(self.alpha, jnp.float32)
        real = self.truth.sample(k_true, n).astype(data.dtype)
        mask = fresh.reshape((n,) + (1,) * (data.ndim - 1))
        return jnp.where(mask, real, data[idx])

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The true target's mode and quality score of each point."""
        return self.truth.assign(x)

    def describe(self) -> dict[str, Any]:
        d = dict(self.truth.describe())
        d.update(name=f"empirical({d.get('name', 'target')})", data_shape=list(np.shape(self.data)),
                 size=int(np.asarray(self.size)), alpha=float(np.asarray(self.alpha)))
        return d


def empirical(data: Any, truth: Any, alpha: float = 0.0, size: int | None = None) -> EmpiricalTarget:
    """An :class:`EmpiricalTarget` over ``data [M, *event_shape]`` (``size`` defaults to ``M``)."""
    m = int(np.shape(data)[0])
    size = m if size is None else size
    if not 0.0 <= float(alpha) <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
    if not 1 <= int(size) <= m:
        raise ConfigError(f"size must be in [1, {m}] (the data's rows), got {size!r}")
    if tuple(np.shape(data)[1:]) != tuple(truth.event_shape):
        raise ConfigError(f"data rows of shape {tuple(np.shape(data)[1:])} do not match the true "
                          f"target's event shape {tuple(truth.event_shape)}")
    return EmpiricalTarget(data=data, size=np.asarray(size, np.int32),
                           alpha=np.asarray(alpha, np.float32), truth=truth)
