"""Adversarial losses as pure functions of critic outputs, and critic penalties.

Every loss is a pair ``(critic_loss(d_real, d_fake), generator_loss(d_fake))`` of scalars that
the corresponding player *minimises*; ``d_real`` and ``d_fake`` are the critic's raw outputs
(logits for the probabilistic losses) on a real and a generated batch, shape ``[B]``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Loss",
    "LOSSES",
    "minimax_critic",
    "minimax_generator",
    "non_saturating_generator",
    "wasserstein_critic",
    "wasserstein_generator",
    "hinge_critic",
    "least_squares_critic",
    "least_squares_generator",
    "gradient_penalty",
    "clip_weights",
]


class Loss(NamedTuple):
    """A loss pair: ``critic(d_real, d_fake)`` and ``generator(d_fake)``, both minimised."""

    critic: Callable[[jax.Array, jax.Array], jax.Array]
    generator: Callable[[jax.Array], jax.Array]


def minimax_critic(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
    """GAN critic loss (Goodfellow et al. 2014, Eq. 1) with ``D = sigmoid(d)``.

    ``-E log D(x) - E log(1 - D(G(z))) = E softplus(-d_real) + E softplus(d_fake)``.
    """
    return jnp.mean(jax.nn.softplus(-d_real)) + jnp.mean(jax.nn.softplus(d_fake))


def minimax_generator(d_fake: jax.Array) -> jax.Array:
    """Saturating generator loss (Goodfellow et al. 2014, Eq. 1): ``E log(1 - D(G(z))) = -E softplus(d_fake)``."""
    return -jnp.mean(jax.nn.softplus(d_fake))


def non_saturating_generator(d_fake: jax.Array) -> jax.Array:
    """Non-saturating generator loss (Goodfellow et al. 2014, Sec. 3): ``-E log D(G(z)) = E softplus(-d_fake)``."""
    return jnp.mean(jax.nn.softplus(-d_fake))


def wasserstein_critic(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
    """WGAN critic loss (Arjovsky et al. 2017, Alg. 1): ``E d_fake - E d_real``.

    Needs a Lipschitz constraint: weight clipping (:func:`clip_weights`) or :func:`gradient_penalty`.
    """
    return jnp.mean(d_fake) - jnp.mean(d_real)


def wasserstein_generator(d_fake: jax.Array) -> jax.Array:
    """WGAN generator loss (Arjovsky et al. 2017, Alg. 1), also the hinge GAN's: ``-E d_fake``."""
    return -jnp.mean(d_fake)


def hinge_critic(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
    """Hinge critic loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16): ``E relu(1 - d_real) + E relu(1 + d_fake)``."""
    return jnp.mean(jax.nn.relu(1.0 - d_real)) + jnp.mean(jax.nn.relu(1.0 + d_fake))


def least_squares_critic(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
    """LSGAN critic loss (Mao et al. 2017, Eq. 2 with a=0, b=1): ``1/2 E (d_real - 1)^2 + 1/2 E d_fake^2``."""
    return 0.5 * jnp.mean((d_real - 1.0) ** 2) + 0.5 * jnp.mean(d_fake**2)


def least_squares_generator(d_fake: jax.Array) -> jax.Array:
    """LSGAN generator loss (Mao et al. 2017, Eq. 2 with c=1): ``1/2 E (d_fake - 1)^2``."""
    return 0.5 * jnp.mean((d_fake - 1.0) ** 2)


LOSSES: dict[str, Loss] = {
    "minimax": Loss(minimax_critic, minimax_generator),
    "non-saturating": Loss(minimax_critic, non_saturating_generator),
    "wasserstein": Loss(wasserstein_critic, wasserstein_generator),
    "hinge": Loss(hinge_critic, wasserstein_generator),
    "least-squares": Loss(least_squares_critic, least_squares_generator),
}


def gradient_penalty(
    critic_fn: Callable[[jax.Array], jax.Array], real: jax.Array, fake: jax.Array, key: jax.Array
) -> jax.Array:
    """WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3), without its weight.

    ``E_xhat (||grad_x D(xhat)||_2 - 1)^2`` with ``xhat = eps x_real + (1 - eps) x_fake``,
    ``eps ~ U[0, 1]`` per sample.

    Args:
      critic_fn: maps a batch ``[B, D]`` (or images ``[B, H, W, C]``) to scores ``[B]``.
      real: ``[B, D]`` real batch (or images).
      fake: ``[B, D]`` generated batch (or images).
      key: randomness for ``eps``.
    """
    eps = jax.random.uniform(key, (real.shape[0], 1), dtype=real.dtype)
    eps = eps.reshape((real.shape[0],) + (1,) * (real.ndim - 1))  # images: one eps per image
    xhat = eps * real + (1.0 - eps) * fake
    grads = jax.grad(lambda x: jnp.sum(critic_fn(x)))(xhat)
    norms = jnp.sqrt(jnp.sum(grads**2, axis=tuple(range(1, grads.ndim))) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


def clip_weights(params, clip_value: jax.Array):
    """WGAN weight clipping (Arjovsky et al. 2017, Alg. 1): every parameter into ``[-c, c]``."""
    return jax.tree.map(lambda p: jnp.clip(p, -clip_value, clip_value), params)
