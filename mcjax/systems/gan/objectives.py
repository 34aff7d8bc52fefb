"""Remedy terms that change the objective: pure functions of batches and critic functions.

Each is referenced by the remedy that uses it (``mcjax.systems.gan.remedies``) and wired in by the training
program (``mcjax.systems.gan.engine``); each is tested against its published definition.
"""
from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln

__all__ = [
    "pack",
    "r1_penalty",
    "kl_entropy",
    "mode_seeking_term",
    "feature_matching_loss",
]


def pack(x: jax.Array, m: int) -> jax.Array:
    """PacGAN packing (Lin et al. 2018, Sec. 3): ``[m B, D] -> [B, m D]``, concatenating ``m``
    consecutive samples into one critic input (sample ``i * m + j`` goes to slot ``j`` of row ``i``).
    Images ``[m B, H, W, C] -> [B, H, W, m C]`` are concatenated along channels, as PacGAN's
    Stacked MNIST critic takes them (sample ``i * m + j`` in channels ``j C .. (j + 1) C - 1``)."""
    if m == 1:
        return x
    if x.ndim == 2:
        n, d = x.shape
        return x.reshape(n // m, m * d)
    n, h, w, c = x.shape
    return x.reshape(n // m, m, h, w, c).transpose(0, 2, 3, 1, 4).reshape(n // m, h, w, m * c)


def r1_penalty(critic_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """Zero-centred gradient penalty ``E_x ||grad_x D(x)||^2`` without its ``gamma / 2``.

    On real data this is R1, on generated data R2 (Mescheder et al. 2018, Eq. 9 and 10).
    """
    grads = jax.grad(lambda v: jnp.sum(critic_fn(v)))(x)
    return jnp.mean(jnp.sum(grads**2, axis=tuple(range(1, grads.ndim))))


def kl_entropy(x: jax.Array, k: int = 3) -> jax.Array:
    """Kozachenko-Leonenko k-nearest-neighbour estimate of the differential entropy of ``x [n, d]``.

    ``H = psi(n) - psi(k) + log V_d + (d / n) sum_i log eps_i``, with ``eps_i`` the distance from
    ``x_i`` to its ``k``-th nearest neighbour (itself excluded) and ``V_d = pi^{d/2} / Gamma(d/2 + 1)``
    the volume of the unit ball (Kozachenko & Leonenko 1987; Kraskov et al. 2004, Eq. 20 with the
    Euclidean norm). In nats; differentiable in ``x``. Images ``[n, H, W, C]`` are flattened.
    """
    x = x.reshape(x.shape[0], -1)
    n, d = x.shape
    d2 = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    d2 = d2 + jnp.diag(jnp.full((n,), jnp.inf, x.dtype))
    neg_topk, _ = jax.lax.top_k(-d2, k)
    eps = jnp.sqrt(jnp.maximum(-neg_topk[:, k - 1], 1e-20))
    log_vd = 0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1.0)
    return digamma(float(n)) - digamma(float(k)) + log_vd + d * jnp.mean(jnp.log(eps))


def mode_seeking_term(x1: jax.Array, x2: jax.Array, z1: jax.Array, z2: jax.Array) -> jax.Array:
    """MSGAN's mode-seeking loss (Mao et al. 2019, Eq. 3 and their code): ``1 / (ratio + 1e-5)``
    with ``ratio = mean |G(z1) - G(z2)| / mean |z1 - z2|``; minimising it pushes ``G`` apart on
    distinct latents."""
    ratio = jnp.mean(jnp.abs(x1 - x2)) / jnp.mean(jnp.abs(z1 - z2))
    return 1.0 / (ratio + 1e-5)


def feature_matching_loss(f_real: jax.Array, f_fake: jax.Array) -> jax.Array:
    """Feature matching (Salimans et al. 2016, Sec. 3.1): ``||E f(x) - E f(G(z))||_2^2`` on the
    critic's last hidden features."""
    return jnp.sum((jnp.mean(f_real, axis=0) - jnp.mean(f_fake, axis=0)) ** 2)
