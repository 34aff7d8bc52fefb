"""Critic-input transforms: what the critic sees of a batch (packing, instance noise).

Each is a pure function built from the config; the engine applies the noise to every batch the
critic sees in training and packing to every critic input.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from mcjax.systems.gan import objectives

__all__ = ["instance_noise", "packing"]


def instance_noise(total_steps: int, enabled: bool = True) -> Callable:
    """``(x, key, hp, step) -> x + s(step) eps``: Gaussian noise of std ``s(step) = hp.noise_std
    * max(0, 1 - step / total_steps)``, annealed linearly to 0 (Sonderby et al. 2017); the identity
    when not ``enabled``."""

    def apply(x: jax.Array, key: jax.Array, hp: Any, step: jax.Array) -> jax.Array:
        if not enabled:
            return x
        std = hp.noise_std * jnp.maximum(0.0, 1.0 - step.astype(jnp.float32) / total_steps)
        return x + std * jax.random.normal(key, x.shape, x.dtype)

    return apply


def packing(m: int) -> Callable:
    """``x [m B, D] -> [B, m D]``: PacGAN packing of degree ``m`` (Lin et al. 2018,
    ``mcjax.systems.gan.objectives.pack``); the identity for ``m = 1``."""
    return lambda x: objectives.pack(x, m)
