"""The training engine: ``make_train(config) -> train(hparams, key) -> (state, history)``.

Pure and jittable. ``train`` is a ``lax.scan`` over logging intervals, each a ``lax.scan`` over
``log_every`` generator steps; mode metrics are computed inside the scan. ``jax.vmap`` it over runs.

Randomness: ``key`` (a typed key, ``jax.random.key(seed)``) is split once into generator-init,
critic-init, training and evaluation keys; step ``t`` uses ``fold_in(train_key, t)``, so a run is
reproducible from ``(config, hparams, seed)`` and cutting it into chunks changes nothing.

Divergence: when a step yields a non-finite loss or parameter, the run keeps its last finite state
for the rest of training and ``state.diverged`` is set; other runs in a vmapped sweep are untouched.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mcjax import losses, nets
from mcjax.config import Config, HParams
from mcjax.metrics import mode_stats

__all__ = ["TrainState", "Trainer", "make_trainer", "make_train", "make_optimizer", "generate"]


class TrainState(NamedTuple):
    """Everything a run carries from one step to the next (a pytree; stacked over runs in a sweep)."""

    g_params: Any
    d_params: Any
    g_opt: Any
    d_opt: Any
    step: jax.Array  # generator steps done, int32
    train_key: jax.Array
    eval_key: jax.Array
    diverged: jax.Array  # bool
    diverged_step: jax.Array  # int32: first step that produced a non-finite value, -1 if none


class Trainer(NamedTuple):
    """The pure pieces of a training program.

    Attributes:
      init: ``(hparams, key) -> TrainState``.
      advance: ``(hparams, state, n_logs) -> (state, history)``: ``n_logs * log_every`` more steps
        (``n_logs`` static), history arrays of leading size ``n_logs``.
      train: ``(hparams, key) -> (state, history)``, the whole run: ``advance(init(...), steps // log_every)``.
      generate: ``(g_params, z) -> samples``.
      evaluate: ``(state) -> (stats dict, samples)`` on ``eval_samples`` points from the eval key.
      critic_loss: ``(d_params, g_params, hparams, key) -> scalar``, the critic's training loss on
        one batch (penalties included), minimised by the critic.
      generator_loss: ``(g_params, d_params, key) -> scalar``, the generator's training loss on one
        batch, minimised by the generator. With the same key, both see the same batch.
    """

    init: Callable
    advance: Callable
    train: Callable
    generate: Callable
    evaluate: Callable
    critic_loss: Callable
    generator_loss: Callable


def make_optimizer(kind: str, lr: jax.Array, hp: HParams) -> optax.GradientTransformation:
    """Optimizer of ``kind`` with traced learning rate and betas (see ``Config.optimizer``)."""
    if kind == "adam":
        return optax.adam(lr, b1=hp.beta1, b2=hp.beta2)
    if kind == "rmsprop":
        return optax.rmsprop(lr, decay=hp.beta2)
    if kind == "sgd":
        return optax.sgd(lr, momentum=hp.beta1)
    raise ValueError(f"unknown optimizer {kind!r}")


def _all_finite(tree) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def make_trainer(config: Config) -> Trainer:
    """Builds the pure training program for ``config`` (see module docstring)."""
    target = config.make_target()
    gen = nets.generator(config.width, config.depth, target.dim, config.activation)
    crit = nets.critic(config.width, config.depth, config.activation)
    loss = losses.LOSSES[config.loss]
    B, L = config.batch_size, config.latent_dim

    def generate(g_params, z):
        return gen.apply(g_params, z)

    def critic_fn(d_params):
        return lambda x: crit.apply(d_params, x)[:, 0]

    def optimizers(hp: HParams):
        return (
            make_optimizer(config.optimizer, hp.lr_g, hp),
            make_optimizer(config.optimizer, hp.lr_d, hp),
        )

    def init(hp: HParams, key: jax.Array) -> TrainState:
        k_g, k_d, k_train, k_eval = jax.random.split(key, 4)
        g_params = gen.init(k_g, jnp.zeros((1, L), jnp.float32))
        d_params = crit.init(k_d, jnp.zeros((1, target.dim), jnp.float32))
        g_tx, d_tx = optimizers(hp)
        return TrainState(
            g_params=g_params,
            d_params=d_params,
            g_opt=g_tx.init(g_params),
            d_opt=d_tx.init(d_params),
            step=jnp.zeros((), jnp.int32),
            train_key=k_train,
            eval_key=k_eval,
            diverged=jnp.zeros((), bool),
            diverged_step=jnp.full((), -1, jnp.int32),
        )

    def critic_loss(d_params, g_params, hp, key):
        k_real, k_z, k_pen = jax.random.split(key, 3)
        real = target.sample(k_real, B)
        fake = generate(g_params, jax.random.normal(k_z, (B, L)))
        D = critic_fn(d_params)
        value = loss.critic(D(real), D(fake))
        if config.penalty == "gp":
            value = value + hp.gp_weight * losses.gradient_penalty(D, real, fake, k_pen)
        return value

    def generator_loss(g_params, d_params, key):
        fake = generate(g_params, jax.random.normal(key, (B, L)))
        return loss.generator(critic_fn(d_params)(fake))

    def step(hp: HParams, state: TrainState):
        g_tx, d_tx = optimizers(hp)
        k_step = jax.random.fold_in(state.train_key, state.step)
        k_critic, k_gen = jax.random.split(k_step)

        def critic_update(carry, i):
            d_params, d_opt = carry
            k = jax.random.fold_in(k_critic, i)
            value, grads = jax.value_and_grad(critic_loss)(d_params, state.g_params, hp, k)
            updates, d_opt = d_tx.update(grads, d_opt, d_params)
            d_params = optax.apply_updates(d_params, updates)
            if config.clip:
                d_params = losses.clip_weights(d_params, hp.clip_value)
            return (d_params, d_opt), value

        (d_params, d_opt), d_values = jax.lax.scan(
            critic_update, (state.d_params, state.d_opt), jnp.arange(config.n_critic)
        )
        g_value, g_grads = jax.value_and_grad(generator_loss)(state.g_params, d_params, k_gen)
        g_updates, g_opt = g_tx.update(g_grads, state.g_opt, state.g_params)
        g_params = optax.apply_updates(state.g_params, g_updates)

        d_value = jnp.mean(d_values)
        ok = _all_finite((g_params, d_params, d_values, g_value)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        keep = lambda n, o: jax.tree.map(lambda a, b: jnp.where(ok, a, b), n, o)
        kept = state._replace(
            g_params=keep(g_params, state.g_params),
            d_params=keep(d_params, state.d_params),
            g_opt=keep(g_opt, state.g_opt),
            d_opt=keep(d_opt, state.d_opt),
            step=state.step + 1,
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step),
        )
        return kept, (d_value, g_value)

    def evaluate(state: TrainState):
        # The same latent points at every evaluation, so occupancy curves track the generator,
        # not resampling noise: a deliberate reuse of eval_key, hence the clone.
        z = jax.random.normal(jax.random.clone(state.eval_key), (config.eval_samples, L))
        samples = generate(state.g_params, z)
        stats = mode_stats(samples, target)._asdict()
        return stats, samples

    def advance(hp: HParams, state: TrainState, n_logs: int):
        def interval(state, _):
            state, (d_values, g_values) = jax.lax.scan(
                lambda s, _: step(hp, s), state, None, length=config.log_every
            )
            stats, _ = evaluate(state)
            record = dict(
                stats,
                step=state.step,
                d_loss=jnp.mean(d_values),
                g_loss=jnp.mean(g_values),
                diverged=state.diverged,
            )
            return state, record

        return jax.lax.scan(interval, state, None, length=n_logs)

    def train(hp: HParams, key: jax.Array):
        return advance(hp, init(hp, key), config.n_logs)

    return Trainer(init=init, advance=advance, train=train, generate=generate, evaluate=evaluate,
                   critic_loss=critic_loss, generator_loss=generator_loss)


def make_train(config: Config) -> Callable:
    """``train(hparams, key) -> (final_state, history)`` for ``config``; pure, jit/vmap it.

    Example:
      >>> cfg = Config(steps=200, log_every=100)
      >>> state, hist = jax.jit(make_train(cfg))(make_hparams(), jax.random.key(0))
      >>> hist["modes_covered"].shape
      (2,)
    """
    return make_trainer(config).train


def generate(config: Config, g_params, key: jax.Array, n: int) -> jax.Array:
    """``n`` samples of the generator ``g_params`` built for ``config``."""
    target = config.make_target()
    gen = nets.generator(config.width, config.depth, target.dim, config.activation)
    return gen.apply(g_params, jax.random.normal(key, (n, config.latent_dim)))
