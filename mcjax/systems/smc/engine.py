"""Sequential Monte Carlo as a System: weight, maybe resample, move.

Two models (``SMCConfig.model``):

- **filter**: the bootstrap particle filter on ``x_t = a x_{t-1} + N(0, q)``,
  ``y_t = x_t + N(0, r)``, ``x_0 ~ N(0, 1)``. The run simulates its own data (``x_t, y_t`` from
  the run's key) and carries the Kalman filter beside the particles, so the log-likelihood error
  ``log Zhat_t - log Z_t`` is exact at every step. Step: resample if ``ESS < threshold N``,
  propagate, weight by ``N(y_t; x_t, r)``; ``log Zhat`` grows by ``log sum_i W_i g(y_t | x_i)``.
- **tempered**: from the prior ``N(0, prior_scale^2)`` to the mixture
  ``(1/K) sum_k N(mu_k, 1)``, ``mu_k = (k - (K-1)/2) sep``, through ``pi_beta ∝ prior^(1-beta)
  target^beta``. Step: next ``beta`` (linear, or by bisection so the incremental ESS is
  ``ess_target N``), reweight by ``(beta' - beta)(log target - log prior)``, resample if
  ``ESS < threshold N``, then ``moves`` random-walk Metropolis steps on ``pi_beta'``. Prior and
  target are both normalised, so ``log Z = 0`` and ``loglik_err`` is ``log Zhat`` itself
  (``E Zhat = 1``: the estimate is unbiased, Del Moral 2004).

Measured (:func:`particle_stats`): Hill numbers ``D_0, D_1, D_2`` of the weighted mode histogram
(tempered: each particle at its nearest mode) or of the weighted founder histogram (filter: which
of the N particles at step 0 each descends from, path degeneracy), ``ess_frac`` (``D_2`` of the
normalised weights over ``N``), ``reverse_kl`` of the mode histogram to the uniform mode weights,
``loglik_err`` and ``beta``.

Keys: step ``t`` draws with ``fold_in(key, t)``; a run is the same advanced in one call or in chunks.

References:
  Gordon, Salmond & Smith 1993 (bootstrap filter); Del Moral, Doucet & Jasra 2006 (SMC samplers);
  Jasra et al. 2011 (adaptive tempering); Gilks & Berzuini 2001 (resample-move); Kong, Liu &
  Wong 1994 (ESS).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.system import System
from mcjax.metrics.modes import hill_numbers, kl_to_uniform
from mcjax.systems.smc.config import SMCConfig, SMCHParams
from mcjax.systems.smc.resampling import resample

__all__ = ["SMCState", "make_system", "ess", "particle_stats", "mode_means", "log_target",
           "log_prior", "next_beta", "kalman_step"]

_LOG2PI = 1.8378770664093453


class SMCState(NamedTuple):
    """A run (a pytree; stacked over runs in a sweep).

    Attributes:
      x: ``[N]`` particles. logw: ``[N]`` normalised log weights. founder: ``[N]`` int32 index of
      each particle's ancestor at step 0. beta: temperature. loglik: ``log Zhat``. truth, y: the
      filter's hidden state and its last observation. kalman: ``(mean, var, log Z)``. sep: the modes' spacing (for
      :func:`particle_stats`). key, step. diverged, diverged_step: a step produced a non-finite
      particle, weight or likelihood; the run keeps its last finite state.
    """

    x: jax.Array
    logw: jax.Array
    founder: jax.Array
    beta: jax.Array
    loglik: jax.Array
    truth: jax.Array
    y: jax.Array
    kalman: jax.Array
    sep: jax.Array
    key: jax.Array
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def ess(logw: jax.Array) -> jax.Array:
    """``1 / sum_i W_i^2`` of normalised weights ``W = softmax(logw)`` (Kong, Liu & Wong 1994)."""
    w = jax.nn.softmax(logw)
    return 1.0 / jnp.sum(w * w)


def mode_means(k: int, sep: jax.Array) -> jax.Array:
    """``mu_k = (k - (K - 1) / 2) sep``: K centres spaced ``sep`` apart around 0."""
    return (jnp.arange(k, dtype=jnp.float32) - (k - 1) / 2.0) * sep


def _to_modes(x: jax.Array, k: int, sep: jax.Array) -> jax.Array:
    """``x[..., None] - mu_k``: ``[..., K]`` distances to the K mode centres."""
    return x[..., None] - mode_means(k, sep).reshape((1,) * x.ndim + (k,))


def log_target(x: jax.Array, k: int, sep: jax.Array) -> jax.Array:
    """The tempered target's log density ``log (1/K) sum_k N(x; mu_k, 1)``."""
    d = _to_modes(x, k, sep)
    return jax.nn.logsumexp(-0.5 * d * d, axis=-1) - jnp.log(jnp.float32(k)) - 0.5 * _LOG2PI


def log_prior(x: jax.Array, scale: jax.Array) -> jax.Array:
    """``log N(x; 0, scale^2)``."""
    return -0.5 * (x / scale) ** 2 - jnp.log(scale) - 0.5 * _LOG2PI


def next_beta(logw, dlog, beta, target_frac, iters: int = 30):
    """The ``beta' in (beta, 1]`` whose reweighting ``logw + (beta' - beta) dlog`` has conditional
    ESS ``(sum W_i u_i)^2 / sum W_i u_i^2 = target_frac`` (``u_i = exp((beta'-beta) dlog_i)``),
    by bisection; 1 when even ``beta' = 1`` stays above the target."""
    w = jax.nn.softmax(logw)

    def cess(b):
        lu = (b - beta) * dlog
        lu = lu - jnp.max(lu)
        u = jnp.exp(lu)
        return jnp.sum(w * u) ** 2 / jnp.sum(w * u * u)

    def body(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        ok = cess(mid) >= target_frac
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo, _ = jax.lax.fori_loop(0, iters, body, (beta, jnp.float32(1.0)))
    return jnp.where(cess(jnp.float32(1.0)) >= target_frac, 1.0, jnp.maximum(lo, beta))


def kalman_step(kalman, y, hp: SMCHParams):
    """One predict/update of the Kalman filter ``(mean, var, log Z)`` on observation ``y``."""
    m, p, logz = kalman[0], kalman[1], kalman[2]
    m, p = hp.a * m, hp.a * hp.a * p + hp.q
    s = p + hp.r
    logz = logz - 0.5 * (_LOG2PI + jnp.log(s) + (y - m) ** 2 / s)
    gain = p / s
    return jnp.stack([m + gain * (y - m), (1.0 - gain) * p, logz])


def _maybe_resample(config, hp, key, state: SMCState) -> SMCState:
    n = config.particles
    do = ess(state.logw) < hp.threshold * n
    idx = resample(config.scheme, key, jax.nn.softmax(state.logw))
    idx = jnp.where(do, idx, jnp.arange(n))
    logw = jnp.where(do, jnp.full((n,), -jnp.log(jnp.float32(n))), state.logw)
    return state._replace(x=state.x[idx], founder=state.founder[idx], logw=logw)


def _filter_step(config, hp, state: SMCState) -> SMCState:
    k = jax.random.fold_in(state.key, state.step)
    k_res, k_prop, k_x, k_y = jax.random.split(k, 4)
    truth = hp.a * state.truth + jnp.sqrt(hp.q) * jax.random.normal(k_x, ())
    y = truth + jnp.sqrt(hp.r) * jax.random.normal(k_y, ())
    state = _maybe_resample(config, hp, k_res, state)
    x = hp.a * state.x + jnp.sqrt(hp.q) * jax.random.normal(k_prop, state.x.shape)
    logg = -0.5 * (_LOG2PI + jnp.log(hp.r) + (y - x) ** 2 / hp.r)
    inc = jax.nn.logsumexp(state.logw + logg)
    logw = state.logw + logg - inc
    return state._replace(x=x, logw=logw, loglik=state.loglik + inc, truth=truth, y=y,
                          kalman=kalman_step(state.kalman, y, hp), step=state.step + 1)


def _rwm(config, hp, key, x, beta):
    def logpi(z):
        return (1.0 - beta) * log_prior(z, hp.prior_scale) + beta * log_target(z, config.modes, hp.sep)

    def body(i, x):
        kp, ku = jax.random.split(jax.random.fold_in(key, i))
        prop = x + hp.step_size * jax.random.normal(kp, x.shape)
        accept = jnp.log(jax.random.uniform(ku, x.shape)) < logpi(prop) - logpi(x)
        return jnp.where(accept, prop, x)

    return jax.lax.fori_loop(0, config.moves, body, x)


def _tempered_step(config, hp, state: SMCState) -> SMCState:
    k = jax.random.fold_in(state.key, state.step)
    k_res, k_move = jax.random.split(k)
    dlog = log_target(state.x, config.modes, hp.sep) - log_prior(state.x, hp.prior_scale)
    if config.adaptive:
        beta = next_beta(state.logw, dlog, state.beta, hp.ess_target)
    else:
        beta = jnp.minimum((state.step + 1).astype(jnp.float32) / config.steps, 1.0)
    logw = state.logw + (beta - state.beta) * dlog
    inc = jax.nn.logsumexp(logw)  # log of this step's ratio Z_beta' / Z_beta, estimated
    state = state._replace(logw=logw - inc, beta=beta, loglik=state.loglik + inc)
    state = _maybe_resample(config, hp, k_res, state)
    if config.moves:
        state = state._replace(x=_rwm(config, hp, k_move, state.x, beta))
    return state._replace(step=state.step + 1)


def particle_stats(config: SMCConfig, state: SMCState) -> dict[str, jax.Array]:
    """Diversity and accuracy of a run's particles (see the module docstring)."""
    w = jax.nn.softmax(state.logw)
    if config.model == "tempered":
        d = jnp.abs(_to_modes(state.x, config.modes, state.sep))
        bins, nb = jnp.argmin(d, axis=-1), config.modes
    else:
        bins, nb = state.founder, config.particles
    hist = jnp.zeros(nb, jnp.float32).at[bins].add(w)
    h = hill_numbers(hist)
    p = hist / jnp.sum(hist)
    rkl = kl_to_uniform(p)
    return {"D0": h[0], "D1": h[1], "D2": h[2], "ess_frac": ess(state.logw) / config.particles,
            "reverse_kl": rkl if config.model == "tempered" else jnp.float32(0.0),
            "loglik_err": state.loglik - state.kalman[2], "beta": state.beta,
            "mode_fracs": p if config.model == "tempered" else p[:1]}


def make_system(config: SMCConfig) -> System:
    """The SMC run of ``config`` as a :class:`~mcjax.core.system.System`.

    Example:
      >>> cfg = SMCConfig(model="filter", particles=64, steps=20, log_every=5)
      >>> system = make_system(cfg)
      >>> hp = make_smc_hparams(cfg)
      >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
      >>> hist["loglik_err"].shape
      (4,)
    """
    n = config.particles
    step_fn = _tempered_step if config.model == "tempered" else _filter_step

    def init(hp: SMCHParams, key: jax.Array) -> SMCState:
        k_x, k_truth, key = jax.random.split(key, 3)
        scale = hp.prior_scale if config.model == "tempered" else jnp.float32(1.0)
        return SMCState(
            x=scale * jax.random.normal(k_x, (n,)), logw=jnp.full((n,), -jnp.log(jnp.float32(n))),
            founder=jnp.arange(n, dtype=jnp.int32), beta=jnp.float32(0.0), loglik=jnp.float32(0.0),
            truth=jax.random.normal(k_truth, ()), y=jnp.float32(0.0),
            kalman=jnp.asarray([0.0, 1.0, 0.0], jnp.float32),
            sep=jnp.asarray(hp.sep, jnp.float32), key=key, step=jnp.zeros((), jnp.int32),
            diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32))

    def guarded_step(hp: SMCHParams, state: SMCState) -> SMCState:
        new = step_fn(config, hp, state)
        ok = (jnp.all(jnp.isfinite(new.x)) & jnp.all(jnp.isfinite(new.logw))
              & jnp.isfinite(new.loglik) & ~state.diverged)
        newly_bad = ~ok & ~state.diverged
        kept = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new._replace(key=None),
                            state._replace(key=None))
        return kept._replace(key=state.key, step=state.step + 1, diverged=state.diverged | newly_bad,
                             diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))

    def evaluate(state: SMCState):
        return particle_stats(config, state), state.x

    def advance(hp: SMCHParams, state: SMCState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: guarded_step(hp, s), state)
            return state, dict(particle_stats(config, state), step=state.step,
                               diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
