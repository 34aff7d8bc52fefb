"""A model trained on its own samples, generation after generation, as a System.

The model is a 1-D mixture of ``K`` Gaussians (weights ``w``, means ``m``, variances ``v``);
generation 0's is the true mixture of :class:`~mcjax.systems.recursive.config.RecursiveConfig`.
One generation:

1. **Sample.** ``M`` points (``RecursiveHParams.samples``): the first ``round(alpha M)`` from the
   true mixture (the real data mixed back in), the rest from the current model; each point
   keeps the component it was drawn from. ``capacity`` points are drawn and those past ``M``
   get weight 0, so ``M`` is traced.
2. **Fit** (``RecursiveConfig.fit``). ``em``: ``em_iters`` EM iterations from the current model,
   responsibilities ``r_ij ~ w_j N(x_i; m_j, v_j)``, then ``w_j = N_j / M``, ``m_j = sum_i r_ij
   x_i / N_j``, ``v_j = sum_i r_ij (x_i - m_j)^2 / N_j + var_floor`` (``N_j = sum_i r_ij``; a
   component with ``N_j = 0`` keeps its mean and variance, at weight 0, and never takes a point
   again: warm-started EM cannot bring a lost mode back, and real points of a lost mode widen
   the neighbouring components instead). An M-step leaves the mixture's mean and variance equal
   to the sample's (maximum-likelihood) mean and variance, up to ``var_floor``. ``weights``: ``w_k = (points drawn from component k) / M`` with means and
   variances kept: ``M w ~ Multinomial(M, (1 - a) w + a w_true)``, ``a = round(alpha M) / M``,
   Wright-Fisher drift with ``N = M``. ``gaussian``: one Gaussian (component 0, weight 1) with
   the sample's mean and maximum-likelihood variance ``(1/M) sum (x_i - xbar)^2``.

Measured (:func:`model_stats`) on the mass of each true mode, ``q_k``: the weight of the
components that fit mode ``k`` (mean within 3 true standard deviations of ``mu_k``, standard
deviation at most 3 true ones; with ``fit = "weights"`` exactly ``w_k``, and one Gaussian spread
over the modes fits none). Modes with ``q_k >= min_mass`` are alive: the Hill numbers ``D_0, D_1,
D_2`` of the alive ``q``, ``modes_lost = K - D_0``, the share ``sum_k q_k`` of the model that fits
a mode, the reverse KL ``sum_k p_k log(p_k / w_true_k)`` of ``p = q / sum q``, the fitted
weights' heterozygosity ``H = 1 - sum_j w_j^2`` (Wright-Fisher's) and the model's variance.

Keys: ``init`` keeps the run's key; generation ``t`` draws with ``fold_in(key, t)``, so a run is
the same whether advanced in one call or in chunks.

References:
  Shumailov et al. 2024, "AI models collapse when trained on recursively generated data",
  Nature 631 (the Gaussian recursion, ``E sigma_g^2 = sigma_0^2 ((M - 1) / M)^g``, and the
  mixture fitted by EM); Dempster, Laird & Rubin 1977 (EM); Ewens 2004, Sec. 1.4 (the drift of
  multinomial resampling); Hill 1973.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from mcjax.core.system import System
from mcjax.metrics.modes import hill_numbers
from mcjax.systems.recursive.config import RecursiveConfig, RecursiveHParams

__all__ = ["RecursiveState", "make_system", "draw", "fit_em", "fit_weights", "fit_gaussian",
           "mode_mass", "model_stats", "true_model"]

_SAMPLE_KEY = 2**31 - 1  # fold_in index of the evaluation samples' key (never a generation)


class Mixture(NamedTuple):
    """A 1-D Gaussian mixture: ``weights``, ``means``, ``variances``, each ``[K]`` float32."""

    weights: jax.Array
    means: jax.Array
    variances: jax.Array


class RecursiveState(NamedTuple):
    """A run (a pytree; stacked over runs in a sweep).

    Attributes:
      model: the current :class:`Mixture`.
      key: the run's key; generation ``t`` samples with ``fold_in(key, t)``.
      step: generations done (int32).
      first_loss_step: the first generation after which a true mode was lost, -1 before (int32).
      diverged, diverged_step: a non-finite fit froze the run.
    """

    model: Mixture
    key: jax.Array
    step: jax.Array
    first_loss_step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def true_model(config: RecursiveConfig) -> Mixture:
    """The true mixture (generation 0's model)."""
    k = config.modes
    return Mixture(jnp.asarray(config.true_weights(), jnp.float32),
                   jnp.asarray(config.true_means(), jnp.float32),
                   jnp.full((k,), config.std**2, jnp.float32))


def _sample(key: jax.Array, model: Mixture, n: int) -> tuple[jax.Array, jax.Array]:
    """``n`` points of ``model`` and the component each came from: ``([n], [n] int32)``."""
    kz, kx = jax.random.split(key)
    z = jax.random.categorical(kz, jnp.log(model.weights), shape=(n,))
    x = model.means[z] + jnp.sqrt(model.variances[z]) * jax.random.normal(kx, (n,))
    return x, z


def draw(config: RecursiveConfig, hp: RecursiveHParams, model: Mixture,
         key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One generation's data (step 1 of the module docstring).

    Returns:
      ``x [capacity]``, ``z [capacity]`` (the component of each point: the model's, or the true
      mode for a real point) and ``c [capacity]`` (1 for the first ``M`` points, 0 past them).
    """
    km, kr = jax.random.split(key)
    x, z = _sample(km, model, config.capacity)
    xr, zr = _sample(kr, true_model(config), config.capacity)
    i = jnp.arange(config.capacity, dtype=jnp.float32)
    real = i < jnp.round(hp.alpha * hp.samples)
    return jnp.where(real, xr, x), jnp.where(real, zr, z), (i < hp.samples).astype(jnp.float32)


def fit_weights(model: Mixture, z: jax.Array, c: jax.Array) -> Mixture:
    """Weights refit as the share of the (weighted) points each component drew; means and
    variances kept."""
    counts = jnp.sum(c[:, None] * jax.nn.one_hot(z, model.weights.shape[0], dtype=jnp.float32), axis=0)
    return model._replace(weights=counts / jnp.sum(c))


def fit_gaussian(model: Mixture, x: jax.Array, c: jax.Array) -> Mixture:
    """One Gaussian by maximum likelihood: mean ``sum c x / M``, variance ``sum c (x - mean)^2 /
    M``, stored as component 0 with weight 1 (the others copy it at weight 0)."""
    m = jnp.sum(c)
    mean = jnp.sum(c * x) / m
    var = jnp.sum(c * (x - mean) ** 2) / m
    k = model.weights.shape[0]
    return Mixture((jnp.arange(k) == 0).astype(jnp.float32), jnp.full((k,), mean), jnp.full((k,), var))


def _em_step(model: Mixture, x: jax.Array, c: jax.Array, var_floor: float) -> Mixture:
    """One EM iteration on points ``x`` weighted by ``c`` (see the module docstring)."""
    w, m, v = model
    logp = (jnp.log(w)[None, :] - 0.5 * jnp.log(2 * jnp.pi * v)[None, :]
            - 0.5 * (x[:, None] - m[None, :]) ** 2 / v[None, :])
    r = jnp.exp(logp - logsumexp(logp, axis=1, keepdims=True)) * c[:, None]
    n = jnp.sum(r, axis=0)
    some = n > 0
    safe = jnp.where(some, n, 1.0)
    mean = jnp.where(some, jnp.sum(r * x[:, None], axis=0) / safe, m)
    var = jnp.sum(r * (x[:, None] - mean[None, :]) ** 2, axis=0) / safe
    return Mixture(n / jnp.sum(c), mean, jnp.where(some, var + var_floor, v))


def fit_em(config: RecursiveConfig, model: Mixture, x: jax.Array, c: jax.Array) -> Mixture:
    """``em_iters`` EM iterations of a ``K``-component mixture started from ``model``."""
    return jax.lax.fori_loop(0, config.em_iters,
                             lambda i, mix: _em_step(mix, x, c, config.var_floor), model)


def mode_mass(config: RecursiveConfig, model: Mixture) -> jax.Array:
    """``[K]``: the weight of the components that fit each true mode. Component ``j`` fits the
    true mode ``k`` nearest its mean when its mean is within 3 true standard deviations of
    ``mu_k`` and its standard deviation at most 3 true ones (the high-quality rule of the GAN
    metrics applied to components): a broad component spread over several modes fits none."""
    mu = jnp.asarray(config.true_means(), jnp.float32)
    dist = jnp.abs(model.means[:, None] - mu[None, :])  # [components, modes]
    nearest = jax.nn.one_hot(jnp.argmin(dist, axis=1), config.modes, dtype=jnp.float32)
    fits = (jnp.min(dist, axis=1) <= 3 * config.std) & (model.variances <= 9 * config.std**2)
    return jnp.where(fits, model.weights, 0.0) @ nearest


def model_stats(config: RecursiveConfig, model: Mixture) -> dict[str, jax.Array]:
    """Diversity of ``model`` against the true mixture (see the module docstring).

    Returns:
      ``D0``, ``D1``, ``D2`` (Hill numbers of the alive mode masses), ``modes_lost``,
      ``fitted`` (the weight of components that fit a mode: 1 at generation 0), ``reverse_kl``
      (nats, of the mode masses normalised; a model fitting no mode counts as all on mode 0, as
      the GAN metrics count a generator with no high-quality sample), ``heterozygosity`` (of the
      fitted weights), ``variance`` (the model's), ``mass [K]`` and ``weights [K]``.
    """
    q = mode_mass(config, model)
    alive = jnp.where(q >= config.min_mass, q, 0.0)
    d = hill_numbers(alive)
    total = jnp.sum(alive)
    p = jnp.where(total > 0, alive / jnp.where(total > 0, total, 1.0),
                  (jnp.arange(config.modes) == 0).astype(jnp.float32))
    w_true = jnp.asarray(config.true_weights(), jnp.float32)
    kl = jnp.sum(jnp.where(p > 0, p * (jnp.log(jnp.where(p > 0, p, 1.0)) - jnp.log(w_true)), 0.0))
    w, m, v = model
    mean = jnp.sum(w * m)
    return {"D0": d[0], "D1": d[1], "D2": d[2], "modes_lost": config.modes - d[0],
            "fitted": jnp.sum(q), "reverse_kl": jnp.maximum(kl, 0.0),
            "heterozygosity": 1.0 - jnp.sum(w * w),
            "variance": jnp.sum(w * (v + (m - mean) ** 2)), "mass": q, "weights": w}


def _fit(config: RecursiveConfig, model: Mixture, x, z, c) -> Mixture:
    if config.fit == "weights":
        return fit_weights(model, z, c)
    if config.fit == "gaussian":
        return fit_gaussian(model, x, c)
    return fit_em(config, model, x, c)


def make_system(config: RecursiveConfig) -> System:
    """The recursion of ``config`` as a :class:`~mcjax.core.system.System`.

    Example:
      >>> cfg = RecursiveConfig(fit="gaussian", capacity=50, steps=20, log_every=10)
      >>> system = make_system(cfg)
      >>> hp = make_recursive_hparams(cfg, samples=20)
      >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
      >>> hist["variance"].shape
      (2,)
    """

    def init(hp: RecursiveHParams, key: jax.Array) -> RecursiveState:
        return RecursiveState(model=true_model(config), key=key, step=jnp.zeros((), jnp.int32),
                              first_loss_step=jnp.full((), -1, jnp.int32),
                              diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32))

    def generation(hp: RecursiveHParams, state: RecursiveState) -> RecursiveState:
        x, z, c = draw(config, hp, state.model, jax.random.fold_in(state.key, state.step))
        model = _fit(config, state.model, x, z, c)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in model]))
        ok = finite & ~state.diverged
        newly_bad = ~finite & ~state.diverged
        model = jax.tree.map(lambda a, b: jnp.where(ok, a, b), model, state.model)
        step = state.step + 1
        lost = jnp.any(mode_mass(config, model) < config.min_mass)
        return state._replace(
            model=model, step=step,
            first_loss_step=jnp.where(lost & (state.first_loss_step < 0), step, state.first_loss_step),
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))

    def evaluate(state: RecursiveState):
        stats = model_stats(config, state.model)
        stats["first_loss_gen"] = state.first_loss_step
        x, _ = _sample(jax.random.fold_in(state.key, _SAMPLE_KEY), state.model, config.eval_samples)
        return stats, x[:, None]

    def advance(hp: RecursiveHParams, state: RecursiveState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: generation(hp, s), state)
            return state, dict(model_stats(config, state.model), step=state.step,
                               diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
