"""The linear VAE as a System: Adam on the objective of :mod:`mcjax.systems.vae.objective`,
measured by :func:`mcjax.systems.vae.model.measure` every ``log_every`` steps.

Keys: ``init`` splits the run's key into the data set's, the initial weights' and the run's own;
step ``t`` draws its batch and its ``z`` with ``fold_in(key, t)``, so a run is the same whether
advanced in one call or in chunks. A non-finite loss or update freezes the run and flags it.

References:
  Kingma & Welling 2014 (the VAE); Lucas et al. 2019 (the linear VAE and its collapse);
  Kingma & Ba 2015 (Adam, ``optax.scale_by_adam``).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mcjax.core.system import System
from mcjax.systems.vae.config import VAEConfig, VAEHParams
from mcjax.systems.vae.model import VAEParams, decoder_variance, init_params, make_data, measure
from mcjax.systems.vae.objective import kl_weight, loss

__all__ = ["VAEState", "make_system", "train_step"]

_SAMPLE_KEY = 2**31 - 1  # fold_in index of the evaluation samples' key (never a step)


class VAEState(NamedTuple):
    """A run (a pytree; stacked over runs in a sweep).

    Attributes:
      params: :class:`~mcjax.systems.vae.model.VAEParams`.
      opt: Adam's state.
      data: ``[n, d]`` the run's data set.
      key: the run's key; step ``t`` draws with ``fold_in(key, t)``.
      step: steps done (int32).
      hp: the run's ``VAEHParams`` (``evaluate`` measures with its ``sigma2`` and ``delta``).
      diverged, diverged_step: a non-finite loss or parameter froze the run.
    """

    params: VAEParams
    opt: Any
    data: jax.Array
    key: jax.Array
    step: jax.Array
    hp: VAEHParams
    diverged: jax.Array
    diverged_step: jax.Array


def _batch(config: VAEConfig, data: jax.Array, key: jax.Array) -> jax.Array:
    if config.batch == 0 or config.batch == config.n_data:
        return data
    idx = jax.random.choice(key, config.n_data, (config.batch,), replace=False)
    return data[idx]


def train_step(config: VAEConfig, hp: VAEHParams, state: VAEState) -> VAEState:
    """One Adam step (``optax.scale_by_adam`` then ``-lr_t``, ``VAEHParams.lr_decay``); frozen
    once diverged."""
    kb, kz = jax.random.split(jax.random.fold_in(state.key, state.step))
    x = _batch(config, state.data, kb)
    value, grads = jax.value_and_grad(lambda p: loss(config, hp, p, x, kz, state.step))(state.params)
    if not config.learn_sigma:
        grads = grads._replace(log_sigma2=jnp.zeros_like(grads.log_sigma2))
    updates, opt = optax.scale_by_adam().update(grads, state.opt, state.params)
    done = jnp.minimum(state.step.astype(jnp.float32) / config.steps, 1.0)
    lr = hp.lr * (1.0 - hp.lr_decay * done)
    params = jax.tree.map(lambda p, u: p - lr * u, state.params, updates)
    finite = jnp.isfinite(value) & jnp.all(jnp.stack(
        [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]))
    ok = finite & ~state.diverged
    newly_bad = ~finite & ~state.diverged
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)
    return state._replace(params=keep(params, state.params), opt=keep(opt, state.opt),
                          step=state.step + 1, diverged=state.diverged | newly_bad,
                          diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))


def make_system(config: VAEConfig) -> System:
    """The linear VAE of ``config`` as a :class:`~mcjax.core.system.System`.

    Example:
      >>> cfg = VAEConfig(steps=200, log_every=100)
      >>> system = make_system(cfg)
      >>> hp = make_vae_hparams(cfg, beta=0.5)
      >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
      >>> hist["kl_dims"].shape
      (2, 4)
    """

    def init(hp: VAEHParams, key: jax.Array) -> VAEState:
        kd, kp, kr = jax.random.split(key, 3)
        params = init_params(config, hp, kp)
        return VAEState(params=params, opt=optax.scale_by_adam().init(params),
                        data=make_data(config, kd), key=kr, step=jnp.zeros((), jnp.int32), hp=hp,
                        diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32))

    def stats_of(hp: VAEHParams, state: VAEState) -> dict:
        return dict(measure(config, hp, state.params, state.data),
                    kl_weight=kl_weight(hp, state.step))

    def evaluate(state: VAEState):
        p, hp = state.params, state.hp
        kz, ke = jax.random.split(jax.random.fold_in(state.key, _SAMPLE_KEY))
        z = jax.random.normal(kz, (config.eval_samples, config.latents))
        noise = jax.random.normal(ke, (config.eval_samples, config.dim))
        sigma = jnp.sqrt(decoder_variance(config, hp, p))
        return stats_of(hp, state), z @ p.W.T + p.mu[None, :] + sigma * noise

    def advance(hp: VAEHParams, state: VAEState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: train_step(config, hp, s), state)
            return state, dict(stats_of(hp, state), step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
