"""The linear VAE: its parameters, data set, ELBO terms and measurements (pure functions).

Decoder ``p(x|z) = N(W z + mu, sigma^2 I_d)``, prior ``N(0, I_k)``, encoder
``q(z|x) = N(V (x - mu), diag(s^2))`` with ``s^2`` shared by all ``x`` (optimal for a linear
decoder). For a batch ``x_i``, ``m_i = V (x_i - mu)``:

  ``E_q log p(x_i|z) = -d/2 ln(2 pi sigma^2) - (||x_i - mu - W m_i||^2 + sum_j s_j^2 ||W_:j||^2)
  / (2 sigma^2)`` (``analytic``; ``sample`` draws ``z = m_i + s eps`` instead),

  ``KL_ij = 1/2 (s_j^2 + m_ij^2 - 1 - ln s_j^2)``.

Measured on the whole data set (:func:`measure`): the ELBO (``beta = 1``, no remedy), its
reconstruction and KL parts, the per-dimension ``KL_j = mean_i KL_ij``, ``Cov_x(E_q z_j)`` (the
variance over the data of ``m_ij``), active units ``#{j : Cov_x(E_q z_j) > 0.01}`` (Burda et
al. 2016), the mutual information ``I(x; z) = 1/2 ln det(Cov(m) + diag(s^2)) - 1/2 sum_j ln
s_j^2`` (exact for Gaussian ``x``, whose aggregate posterior ``q(z)`` is Gaussian; Hoffman &
Johnson 2016's ``E_x KL - KL(q(z) || p(z))``), and the Hill numbers ``D_0, D_1, D_2`` of the
KL shares of the active units, ``p_j = KL_j [active_j] / sum_i KL_i [active_i]`` (``D_0`` is the
number of active units, ``D_1`` and ``D_2`` how evenly the information spreads over them).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.xla_linalg import orthonormal_columns, spd_logdet
from mcjax.metrics.modes import hill_numbers
from mcjax.systems.vae.config import VAEConfig, VAEHParams

__all__ = ["VAEParams", "make_data", "init_params", "delta_cap", "posterior_variance",
           "decoder_variance", "elbo_terms", "measure", "ACTIVE_THRESHOLD"]

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active when Cov_x(E_q z_j) > 0.01


class VAEParams(NamedTuple):
    """``W [d, k]``, ``mu [d]``, ``V [k, d]``, ``s_raw [k]`` (posterior variances, see
    :func:`posterior_variance`) and ``log_sigma2`` (used with ``learn_sigma``)."""

    W: jax.Array
    mu: jax.Array
    V: jax.Array
    s_raw: jax.Array
    log_sigma2: jax.Array


def make_data(config: VAEConfig, key: jax.Array) -> jax.Array:
    """``[n, d]`` Gaussian points with mean exactly 0 and covariance exactly
    ``diag(eigenvalues)`` (``1/n`` normalisation): centred normal draws, orthonormalised
    (Gram-Schmidt in XLA ops: LAPACK's QR hangs vmapped sweeps on the CPU;
    ``mcjax.core.xla_linalg``), scaled by ``sqrt(n lambda)``."""
    n = config.n_data
    z = jax.random.normal(key, (n, config.dim))
    q = orthonormal_columns(z - jnp.mean(z, axis=0, keepdims=True))
    scale = jnp.sqrt(n * jnp.asarray(config.eigenvalues, jnp.float32))
    return q * scale[None, :]


def init_params(config: VAEConfig, hp: VAEHParams, key: jax.Array) -> VAEParams:
    """Weights ``N(0, init_scale^2)``, ``mu = 0``, ``s_raw = 0`` (``s^2 = 1``, or the cap ``c``
    for the delta-VAE), ``sigma^2 = hp.sigma2``."""
    kw, kv = jax.random.split(key)
    d, k = config.dim, config.latents
    return VAEParams(W=hp.init_scale * jax.random.normal(kw, (d, k)), mu=jnp.zeros(d),
                     V=hp.init_scale * jax.random.normal(kv, (k, d)), s_raw=jnp.zeros(k),
                     log_sigma2=jnp.log(hp.sigma2))


def delta_cap(delta: jax.Array, iterations: int = 60) -> jax.Array:
    """``c``, the root ``<= 1`` of ``1/2 (c - 1 - ln c) = delta``: Newton on ``u = ln c`` for the
    convex, decreasing ``e^u - 1 - u - 2 delta``, from ``u = -(1 + 2 delta)`` (left of the root,
    so the iterates rise to it monotonically; kept ``<= 0`` against rounding). ``delta = 0``
    gives 1."""
    def step(_, u):
        g = jnp.expm1(u) - u - 2.0 * delta
        slope = jnp.expm1(u)
        return jnp.minimum(jnp.where(slope < 0, u - g / jnp.where(slope < 0, slope, -1.0), u), 0.0)

    u = jax.lax.fori_loop(0, iterations, step, -(1.0 + 2.0 * delta))
    return jnp.where(delta > 0, jnp.exp(u), 1.0)


def posterior_variance(config: VAEConfig, hp: VAEHParams, s_raw: jax.Array) -> jax.Array:
    """``[k]``: ``s^2 = exp(s_raw)``, or ``c(delta) exp(min(s_raw, 0))`` for the delta-VAE (the
    cap is reached at a finite ``s_raw``, where a sigmoid would need ``+inf``)."""
    if config.delta_vae:
        return delta_cap(hp.delta) * jnp.exp(jnp.minimum(s_raw, 0.0))
    return jnp.exp(s_raw)


def decoder_variance(config: VAEConfig, hp: VAEHParams, params: VAEParams) -> jax.Array:
    """``sigma^2``: learned (``exp(log_sigma2)``) or ``hp.sigma2``."""
    return jnp.exp(params.log_sigma2) if config.learn_sigma else hp.sigma2


def elbo_terms(config: VAEConfig, hp: VAEHParams, params: VAEParams, x: jax.Array,
               key: jax.Array | None = None, estimator: str | None = None):
    """``(E_q log p(x_i|z) [n], KL_ij [n, k], m [n, k])`` of a batch ``x [n, d]`` (module docstring).

    ``estimator`` (default ``config.estimator``) ``"sample"`` needs ``key``.
    """
    estimator = estimator or config.estimator
    s2 = posterior_variance(config, hp, params.s_raw)
    sigma2 = decoder_variance(config, hp, params)
    xc = x - params.mu[None, :]
    m = xc @ params.V.T
    if estimator == "sample":
        z = m + jnp.sqrt(s2)[None, :] * jax.random.normal(key, m.shape)
        resid = jnp.sum((xc - z @ params.W.T) ** 2, axis=-1)
    else:
        spread = jnp.sum(s2[None, :] * params.W**2)
        resid = jnp.sum((xc - m @ params.W.T) ** 2, axis=-1) + spread
    recon = -0.5 * config.dim * jnp.log(2.0 * jnp.pi * sigma2) - resid / (2.0 * sigma2)
    kl = 0.5 * (s2[None, :] + m**2 - 1.0 - jnp.log(s2)[None, :])
    return recon, kl, m


def measure(config: VAEConfig, hp: VAEHParams, params: VAEParams, data: jax.Array) -> dict:
    """The measurements of the module docstring on the whole data set ``[n, d]``.

    Returns:
      ``elbo``, ``recon``, ``kl`` (nats per point), ``kl_dims [k]``, ``mean_var [k]``
      (``Cov_x(E_q z_j)``), ``post_var [k]`` (``s_j^2``), ``active``, ``D0``, ``D1``, ``D2``,
      ``mi`` and ``sigma2``.
    """
    recon, kl, m = elbo_terms(config, hp, params, data, estimator="analytic")
    kl_dims = jnp.mean(kl, axis=0)
    mc = m - jnp.mean(m, axis=0, keepdims=True)
    cov = mc.T @ mc / data.shape[0]
    mean_var = jnp.diagonal(cov)
    s2 = posterior_variance(config, hp, params.s_raw)
    is_active = mean_var > ACTIVE_THRESHOLD
    d = hill_numbers(jnp.where(is_active, jnp.maximum(kl_dims, 0.0), 0.0))
    logdet = spd_logdet(cov + jnp.diag(s2))  # not LAPACK's slogdet: see make_data
    return {
        "elbo": jnp.mean(recon) - jnp.sum(kl_dims), "recon": jnp.mean(recon),
        "kl": jnp.sum(kl_dims), "kl_dims": kl_dims, "mean_var": mean_var, "post_var": s2,
        "active": jnp.sum(is_active).astype(jnp.float32), "D0": d[0], "D1": d[1], "D2": d[2],
        "mi": 0.5 * logdet - 0.5 * jnp.sum(jnp.log(s2)),
        "sigma2": decoder_variance(config, hp, params),
    }
