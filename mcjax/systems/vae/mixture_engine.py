"""The nonlinear VAE on a 2-D mixture as a System: MLP encoder ``q(z|x) = N(m(x), diag s^2(x))``,
a ``gaussian`` decoder ``N(mu(z), diag sigma^2(z))`` or a ``mixture`` decoder
``sum_c pi_c(z) N(mu_c(z), diag sigma_c^2(z))``, one reparameterised ``z`` per point, fresh
target samples every step, Adam with the remedies of :mod:`mcjax.systems.vae.objective`.

Measured every ``log_every`` steps on ``eval_samples`` target points (the same ones each time)
and as many decoded prior samples: the ELBO, the KL and its per-latent parts, active units
(``Cov_x(E_q z_j) > 0.01``, Burda et al. 2016), the mutual information by Hoffman & Johnson
2016's split ``I(x; z) = E_x KL(q(z|x) || p) - KL(q(z) || p)`` with the aggregate posterior
``q(z)`` the mixture of the points' posteriors (log-mean-exp over the points), and the mode
histogram of the decoded samples (``mcjax.metrics.mode_stats``): modes covered, Hill numbers
``D_0, D_1, D_2`` of the high-quality samples' modes, reverse KL to uniform, HQ share. A strong
decoder collapses the posterior (KL -> 0) and still covers every mode: posterior collapse is not
mode collapse.

References:
  Bowman et al. 2016; Chen et al. 2017, "Variational lossy autoencoder" (a decoder that can
  model the data alone makes the ELBO's optimum ignore z); Bishop 1994 (mixture density nets).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mcjax.core.system import System
from mcjax.metrics.modes import hill_numbers, mode_stats
from mcjax.systems.vae.mixture_config import MixVAEConfig, MixVAEHParams
from mcjax.systems.vae.objective import kl_weight

__all__ = ["MixVAEState", "make_system", "mlp", "init_mlp"]

_EVAL_KEY = 2**31 - 1


def init_mlp(key: jax.Array, sizes: list[int]) -> list:
    """``[(W, b), ...]`` with ``W ~ N(0, 1 / fan_in)``, ``b = 0``."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(k, (a, b)) / jnp.sqrt(a), jnp.zeros(b))
            for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def mlp(params: list, x: jax.Array) -> jax.Array:
    """tanh hidden layers, linear output; ``x [n, in] -> [n, out]``."""
    for W, b in params[:-1]:
        x = jnp.tanh(x @ W + b[None, :])
    W, b = params[-1]
    return x @ W + b[None, :]


class MixVAEState(NamedTuple):
    """``enc``/``dec`` MLP parameters, Adam's ``opt`` state, the run's ``key`` (step ``t`` draws
    with ``fold_in(key, t)``), ``step``, ``hp`` and the divergence flags."""

    enc: Any
    dec: Any
    opt: Any
    key: jax.Array
    step: jax.Array
    hp: MixVAEHParams
    diverged: jax.Array
    diverged_step: jax.Array


def _out_size(config: MixVAEConfig) -> int:
    return 4 if config.decoder == "gaussian" else 5 * config.components


def _init_nets(config: MixVAEConfig, key: jax.Array):
    ke, kd, kb = jax.random.split(key, 3)
    hidden = [config.width] * config.depth
    enc = init_mlp(ke, [2, *hidden, 2 * config.latents])
    dec = init_mlp(kd, [config.latents, *hidden, _out_size(config)])
    m = config.components
    if config.decoder == "mixture":  # spread the components' means so they can reach every mode
        W, b = dec[-1]
        dec[-1] = (W, b.at[m:3 * m].set(1.5 * jax.random.normal(kb, (2 * m,))))
    return enc, dec


def _decode(config: MixVAEConfig, dec, z: jax.Array):
    """``(log pi [n, M], mu [n, M, 2], log sigma [n, M, 2])`` (``M = 1`` for ``gaussian``)."""
    out = mlp(dec, z)
    m = 1 if config.decoder == "gaussian" else config.components
    logits = jnp.zeros((z.shape[0], 1)) if m == 1 else out[:, :m]
    rest = out[:, 0:4] if m == 1 else out[:, m:]
    mu = rest[:, :2 * m].reshape(z.shape[0], m, 2)
    log_sigma = jnp.clip(rest[:, 2 * m:].reshape(z.shape[0], m, 2), -7.0, 3.0)
    return jax.nn.log_softmax(logits, axis=-1), mu, log_sigma


def _log_lik(config: MixVAEConfig, dec, z: jax.Array, x: jax.Array) -> jax.Array:
    log_pi, mu, log_sigma = _decode(config, dec, z)
    r = (x[:, None, :] - mu) * jnp.exp(-log_sigma)
    per = jnp.sum(-0.5 * r**2 - log_sigma - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
    return jax.scipy.special.logsumexp(log_pi + per, axis=-1)


def _terms(config: MixVAEConfig, enc, dec, x: jax.Array, key: jax.Array):
    """``(log p(x_i|z_i) [n], KL_ij [n, k], m [n, k], logvar [n, k], z [n, k])``."""
    h = mlp(enc, x)
    m, logvar = h[:, :config.latents], jnp.clip(h[:, config.latents:], -12.0, 6.0)
    z = m + jnp.exp(0.5 * logvar) * jax.random.normal(key, m.shape)
    kl = 0.5 * (jnp.exp(logvar) + m**2 - 1.0 - logvar)
    return _log_lik(config, dec, z, x), kl, m, logvar, z


def _sample(config: MixVAEConfig, dec, key: jax.Array, n: int) -> jax.Array:
    """``[n, 2]`` decoded prior samples: ``z ~ N(0, I)``, a component, then its Gaussian."""
    kz, kc, ke = jax.random.split(key, 3)
    log_pi, mu, log_sigma = _decode(config, dec, jax.random.normal(kz, (n, config.latents)))
    c = jax.random.categorical(kc, log_pi, axis=-1)
    pick = lambda a: jnp.take_along_axis(a, c[:, None, None], axis=1)[:, 0]
    return pick(mu) + jnp.exp(pick(log_sigma)) * jax.random.normal(ke, (n, 2))


def _measure(config: MixVAEConfig, target, state: MixVAEState) -> dict:
    kx, kz, ks = jax.random.split(jax.random.fold_in(state.key, _EVAL_KEY), 3)
    x = target.sample(kx, config.eval_samples)
    ll, kl, m, logvar, z = _terms(config, state.enc, state.dec, x, kz)
    kl_dims = jnp.mean(kl, axis=0)
    mean_var = jnp.var(m, axis=0)
    # log q(z_i | x_j) for every pair: the aggregate posterior by log-mean-exp over the points
    diff = (z[:, None, :] - m[None, :, :]) ** 2 * jnp.exp(-logvar)[None, :, :]
    log_q = jnp.sum(-0.5 * diff - 0.5 * logvar[None, :, :] - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
    log_agg = jax.scipy.special.logsumexp(log_q, axis=1) - jnp.log(float(config.eval_samples))
    log_prior = jnp.sum(-0.5 * z**2 - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
    ms = mode_stats(_sample(config, state.dec, ks, config.eval_samples), target)
    d = hill_numbers(ms.mode_counts)
    return {"elbo": jnp.mean(ll) - jnp.sum(kl_dims), "kl": jnp.sum(kl_dims), "kl_dims": kl_dims,
            "mean_var": mean_var, "active": jnp.sum(mean_var > 0.01).astype(jnp.float32),
            "mi": jnp.sum(kl_dims) - jnp.mean(log_agg - log_prior),
            "modes": ms.modes_covered.astype(jnp.float32), "D0": d[0], "D1": d[1], "D2": d[2],
            "reverse_kl": ms.reverse_kl, "hq": ms.hq_fraction, "kl_weight": kl_weight(state.hp, state.step)}


def make_system(config: MixVAEConfig) -> System:
    """The VAE of ``config`` as a :class:`~mcjax.core.system.System`."""
    target = config.make_target()
    adam = optax.scale_by_adam()

    def init(hp: MixVAEHParams, key: jax.Array) -> MixVAEState:
        kn, kr = jax.random.split(key)
        enc, dec = _init_nets(config, kn)
        return MixVAEState(enc=enc, dec=dec, opt=adam.init((enc, dec)), key=kr,
                           step=jnp.zeros((), jnp.int32), hp=hp, diverged=jnp.zeros((), bool),
                           diverged_step=jnp.full((), -1, jnp.int32))

    def loss(hp, nets, x, key, step):
        ll, kl, *_ = _terms(config, nets[0], nets[1], x, key)
        return -jnp.mean(ll) + kl_weight(hp, step) * jnp.sum(jnp.maximum(jnp.mean(kl, axis=0), hp.free_bits))

    def train_step(hp: MixVAEHParams, s: MixVAEState) -> MixVAEState:
        kx, kz = jax.random.split(jax.random.fold_in(s.key, s.step))
        nets = (s.enc, s.dec)
        value, grads = jax.value_and_grad(lambda n: loss(hp, n, target.sample(kx, config.batch), kz, s.step))(nets)
        updates, opt = adam.update(grads, s.opt, nets)
        lr = hp.lr * (1.0 - hp.lr_decay * jnp.minimum(s.step.astype(jnp.float32) / config.steps, 1.0))
        new = jax.tree.map(lambda p, u: p - lr * u, nets, updates)
        finite = jnp.isfinite(value) & jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(new)]))
        ok = finite & ~s.diverged
        keep = lambda a, b: jax.tree.map(lambda u, v: jnp.where(ok, u, v), a, b)
        (enc, dec), opt = keep(new, nets), keep(opt, s.opt)
        bad = ~finite & ~s.diverged
        return s._replace(enc=enc, dec=dec, opt=opt, step=s.step + 1, diverged=s.diverged | bad,
                          diverged_step=jnp.where(bad, s.step, s.diverged_step))

    def advance(hp: MixVAEHParams, state: MixVAEState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: train_step(hp, s), state)
            return state, dict(_measure(config, target, state), step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    def evaluate(state: MixVAEState):
        ks = jax.random.fold_in(jax.random.fold_in(state.key, _EVAL_KEY), 1)
        return _measure(config, target, state), _sample(config, state.dec, ks, config.keep_samples)

    return System(init=init, advance=advance, evaluate=evaluate)
