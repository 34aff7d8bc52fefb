"""The training objective of the linear VAE with its remedies, all traced (one program runs any
mix of them):

  ``loss_t = -mean_i E_q log p(x_i|z) + beta_t sum_j max(KL_j, lambda_fb)``,
  ``KL_j = mean_i KL_ij`` over the batch,

  ``beta_t = beta min(1, t / warmup) min(1, (t mod cycle) / (ratio cycle))``

(a factor is 1 when its ``warmup`` or ``cycle`` is 0). ``beta < 1`` is the beta-VAE remedy,
``warmup`` KL annealing (Bowman et al. 2016), ``cycle``/``ratio`` cyclical annealing (Fu et al.
2019), ``lambda_fb`` free bits (Kingma et al. 2016, per latent dimension, averaged over the
batch); the delta-VAE is the capped posterior variance of
:func:`mcjax.systems.vae.model.posterior_variance`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mcjax.systems.vae.config import VAEConfig, VAEHParams
from mcjax.systems.vae.model import VAEParams, elbo_terms

__all__ = ["kl_weight", "loss"]


def kl_weight(hp: VAEHParams, step: jax.Array) -> jax.Array:
    """``beta_t`` of the module docstring at step ``t`` (steps done before this update)."""
    t = jnp.asarray(step, jnp.float32)
    warm = jnp.where(hp.warmup > 0, jnp.minimum(1.0, t / jnp.where(hp.warmup > 0, hp.warmup, 1.0)), 1.0)
    cycle = jnp.where(hp.cycle > 0, hp.cycle, 1.0)
    rise = jnp.minimum(1.0, jnp.mod(t, cycle) / (hp.ratio * cycle))
    return hp.beta * warm * jnp.where(hp.cycle > 0, rise, 1.0)


def loss(config: VAEConfig, hp: VAEHParams, params: VAEParams, x: jax.Array, key: jax.Array,
         step: jax.Array) -> jax.Array:
    """``loss_t`` of the module docstring on the batch ``x [n, d]`` (nats per point)."""
    recon, kl, _ = elbo_terms(config, hp, params, x, key)
    kl_dims = jnp.mean(kl, axis=0)
    return -jnp.mean(recon) + kl_weight(hp, step) * jnp.sum(jnp.maximum(kl_dims, hp.free_bits))
