"""The GAN engine: ``make_trainer(config)`` composes networks, losses and the parts the config
selects (update rule, loss terms, critic-input transforms, wrappers) into pure functions;
``make_system(config)`` is the GAN as a :class:`~mcjax.core.system.System`.

Pure and jittable. ``train`` is a ``lax.scan`` over logging intervals, each a ``lax.scan`` over
``log_every`` generator steps; mode metrics are computed inside the scan. ``jax.vmap`` it over runs.

Randomness: ``key`` (a typed key, ``jax.random.key(seed)``) is split once into generator-init,
critic-init, training, evaluation and part-init keys; step ``t`` uses ``fold_in(train_key, t)``, so
a run is reproducible from ``(config, hparams, seed)`` and cutting it into chunks changes nothing.

Divergence: when a step yields a non-finite loss or parameter, the run keeps its last finite state
for the rest of training and ``state.diverged`` is set; other runs in a vmapped sweep are untouched.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mcjax.systems.gan import losses, nets
from mcjax.systems.gan.config import Config, HParams
from mcjax.core.system import System
from mcjax.core.trees import tree_norm
from mcjax.metrics import mode_stats
from mcjax.systems.gan import rules, terms, transforms, wrappers
from mcjax.systems.gan.architectures import in_batches, make_players
from mcjax.systems.gan.optimizers import make_optimizer
from mcjax.systems.gan.parts import selected

__all__ = ["TrainState", "Trainer", "Game", "make_trainer", "make_train", "make_system", "make_game"]


class TrainState(NamedTuple):
    """Everything a run carries from one step to the next (a pytree; stacked over runs in a sweep).

    ``rule`` is the update rule's own state (``()`` when it has none); ``wrappers`` holds one
    state per wrapper the config selects, in ``mcjax.systems.gan.wrappers.WRAPPERS`` order.
    """

    g_params: Any
    d_params: Any
    g_opt: Any
    d_opt: Any
    step: jax.Array  # generator steps done, int32
    train_key: jax.Array
    eval_key: jax.Array
    diverged: jax.Array  # bool
    diverged_step: jax.Array  # int32: first step that produced a non-finite value, -1 if none
    rule: Any = ()
    wrappers: tuple = ()


class Game(NamedTuple):
    """The two players' losses and updates on one batch: what update rules are built from.

    ``wrappers`` arguments are the wrapper states (``TrainState.wrappers``; ``()``: the critic
    applied with its raw parameters).

    Attributes:
      critic_loss: ``(d_params, g_params, hparams, key, step=0, wrappers=(), fake=None) -> scalar``:
        the critic's training loss on one batch, terms included; it depends on ``g_params``
        through the generated batch (no stop-gradient), as the game Jacobian needs; ``fake``: the
        batch ``generate(g_params, critic_z(key))`` when already known.
      generator_loss: ``(g_params, d_params, hparams, key, step=0, wrappers=(), d_opt=None) ->
        scalar``: the generator's training loss on one batch (unrolled through the critic's
        updates when ``Config.unroll``, which needs ``d_opt``).
      generator_head: ``(x, z, d_params, hparams, k_real, k_noise, step, wrappers) -> scalar``: the
        generator's loss as a function of its generated batch ``x = generate(g_params, z)``.
      critic_update: ``(d_params, d_opt, g_params, hparams, key, step, wrappers, d_tx, fake=None)
        -> (d_params, d_opt, loss)``: one critic step, constraint included.
      xi: ``(params, hparams, key, step=0, wrappers=(), d_opt=None) -> xi``: the simultaneous
        gradient of both players at ``params = (g_params, d_params)`` on one batch.
      critic_z: ``(key) -> z``: the latent batch ``critic_loss(..., key)`` generates from.
      generate: ``(g_params, z) -> samples``.
      optimizers: ``(hparams) -> (g_tx, d_tx)``.
      constrain: ``(d_params, hparams) -> d_params``: the critic's constraint (weight clipping).
      critic_logits: ``(d_params, wrappers=()) -> (x [n, D] -> logits [n / m])``: the (wrapped)
        critic on points, packed by ``m = Config.pack``.
    """

    critic_loss: Callable
    generator_loss: Callable
    generator_head: Callable
    critic_update: Callable
    xi: Callable
    critic_z: Callable
    generate: Callable
    optimizers: Callable
    constrain: Callable
    critic_logits: Callable


class Trainer(NamedTuple):
    """The pure pieces of a training program.

    Attributes:
      init: ``(hparams, key) -> TrainState``.
      advance: ``(hparams, state, n_logs) -> (state, history)``: ``n_logs * log_every`` more steps
        (``n_logs`` static), history arrays of leading size ``n_logs``.
      train: ``(hparams, key) -> (state, history)``, the whole run.
      generate: ``(g_params, z) -> samples``.
      evaluate: ``(state) -> (stats dict, samples)`` on ``eval_samples`` points from the eval key
        (wrappers add theirs, e.g. the averaged generator's stats prefixed ``ema_``).
      final_evaluate: ``evaluate`` plus the feature metrics of ``Config.feature_metrics`` (what
        the System evaluates once, after training).
      critic_loss, generator_loss, xi: the :class:`Game`'s.
      dynamics: ``(hparams, state) -> dict``: rotation index, top and bottom Hessian eigenvalues
        of each player's loss, ``||xi||`` (logged every ``log_every`` steps with
        ``Config.log_dynamics``).
      critic_logits: the :class:`Game`'s: ``(d_params, wrappers=()) -> (x -> logits)``.
    """

    init: Callable
    advance: Callable
    train: Callable
    generate: Callable
    evaluate: Callable
    final_evaluate: Callable
    critic_loss: Callable
    generator_loss: Callable
    xi: Callable
    dynamics: Callable
    critic_logits: Callable


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _critic_view(parts: tuple, d_params: Any, states: tuple) -> Any:
    """The parameters the critic is applied with, through every wrapper's ``critic_params``."""
    if states and len(states) != len(parts):
        raise ValueError(f"{len(states)} wrapper states for {len(parts)} wrappers")
    for w, s in zip(parts, states):
        d_params = w.critic_params(d_params, s)
    return d_params


def make_game(cfg: Config, target: Any, gen: Any, crit: Any, wrapper_parts: tuple,
              batch_statistics: bool = False) -> Game:
    """The players' losses and updates for ``cfg`` (see :class:`Game`), with the loss terms and
    critic-input transforms the config selects."""
    loss = losses.LOSSES[cfg.loss]
    B, L, M = cfg.batch_size, cfg.latent_dim, cfg.pack
    chosen = selected(terms.TERMS, cfg)
    critic_terms = tuple(t for t in chosen if t.player == "critic")
    generator_terms = tuple(t for t in chosen if t.player == "generator")
    noise = transforms.instance_noise(cfg.steps, cfg.instance_noise)
    pack = transforms.packing(M)
    minibatch_critic = cfg.mbd_kernels or cfg.mbstd  # its output of a row depends on the batch

    def generate(g_params, z):
        if batch_statistics:  # each batch of the training size normalised on its own, as in training
            return in_batches(lambda zz: gen.apply(g_params, zz), z, B * M)
        return gen.apply(g_params, z)

    def optimizers(hp: HParams):
        g_tx = make_optimizer(cfg.optimizer, hp.lr_g, hp)
        d_tx = make_optimizer(cfg.optimizer, hp.lr_d, hp, differentiable=cfg.unroll > 0)
        return g_tx, d_tx

    def constrain(d_params, hp):
        return losses.clip_weights(d_params, hp.clip_value) if cfg.clip else d_params

    def critic_on(d_params, states):
        """``x [B*m, D] -> (logits [B], features)`` of the (wrapped) critic on packed input."""
        d_params = _critic_view(wrapper_parts, d_params, states)
        return lambda packed: crit.apply(d_params, packed)

    def critic_logits(d_params, wrappers=()):
        D = critic_on(d_params, wrappers)
        return lambda x: D(pack(x))[0]

    def critic_z(key):
        return jax.random.normal(jax.random.split(key, 5)[1], (B * M, L))

    def critic_loss(d_params, g_params, hp, key, step=jnp.zeros((), jnp.int32), wrappers=(),
                    fake=None):
        k_real, k_z, k_pen, k_n1, k_n2 = jax.random.split(key, 5)
        real = noise(target.sample(k_real, B * M), k_n1, hp, step)
        if fake is None:
            fake = generate(g_params, jax.random.normal(k_z, (B * M, L)))
        fake = noise(fake, k_n2, hp, step)
        real, fake = pack(real), pack(fake)
        D = critic_on(d_params, wrappers)
        logits = lambda x: D(x)[0]
        if minibatch_critic:  # each batch on its own
            value = loss.critic(logits(real), logits(fake))
        else:  # row-wise critic: one forward pass over both batches (fewer, larger matmuls)
            both = logits(jnp.concatenate([real, fake]))
            value = loss.critic(both[: real.shape[0]], both[real.shape[0]:])
        return terms.add_terms(value, critic_terms, hp, terms.CriticBatch(logits, real, fake, k_pen))

    def critic_update(d_params, d_opt, g_params, hp, key, step, wrappers, d_tx, fake=None):
        value, grads = jax.value_and_grad(critic_loss)(d_params, g_params, hp, key, step, wrappers,
                                                       fake)
        updates, d_opt = d_tx.update(grads, d_opt, d_params)
        return constrain(optax.apply_updates(d_params, updates), hp), d_opt, value

    def generator_head(x, z, d_params, hp, k_real, k_noise, step, wrappers):
        D = critic_on(d_params, wrappers)
        logits, f_fake = D(pack(noise(x, k_noise, hp, step)))
        real_features = lambda: D(pack(target.sample(k_real, B * M)))[1]
        batch = terms.GeneratorBatch(x, z, logits, f_fake, real_features)
        return terms.add_terms(loss.generator(logits), generator_terms, hp, batch)

    def generator_loss(g_params, d_params, hp, key, step=jnp.zeros((), jnp.int32), wrappers=(),
                       d_opt=None):
        k_z, k_real, k_noise, k_unroll = jax.random.split(key, 4)
        if cfg.unroll:  # Metz et al. 2017: the surrogate loss f_K, through K critic updates
            _, d_tx = optimizers(hp)

            def body(carry, i):
                d, o = carry
                d, o, _ = critic_update(d, o, g_params, hp, jax.random.fold_in(k_unroll, i), step,
                                        wrappers, d_tx)
                return (d, o), None

            (d_params, _), _ = jax.lax.scan(body, (d_params, d_opt), jnp.arange(cfg.unroll))
        z = jax.random.normal(k_z, (B * M, L))
        return generator_head(generate(g_params, z), z, d_params, hp, k_real, k_noise, step, wrappers)

    def xi(params, hp, key, step=jnp.zeros((), jnp.int32), wrappers=(), d_opt=None):
        g_params, d_params = params
        k_g, k_d = jax.random.split(key)
        return (
            jax.grad(generator_loss)(g_params, d_params, hp, k_g, step, wrappers, d_opt),
            jax.grad(critic_loss)(d_params, g_params, hp, k_d, step, wrappers),
        )

    return Game(critic_loss=critic_loss, generator_loss=generator_loss,
                generator_head=generator_head, critic_update=critic_update, xi=xi,
                critic_z=critic_z, generate=generate, optimizers=optimizers, constrain=constrain,
                critic_logits=critic_logits)


def _dynamics_fn(cfg: Config, game: Game) -> Callable:
    """``(hparams, state) -> dict``: rotation index, top and bottom Hessian eigenvalue of each
    player's loss and ``||xi||`` at ``state``, on one batch fixed by ``(eval_key, step)`` (see
    ``mcjax.analysis``). Lanczos runs to order ``min(lanczos_order, number of the player's
    parameters)``."""

    def dynamics(hp: HParams, state: TrainState) -> dict:
        from mcjax.analysis import curvature, dynamics as dyn

        key = jax.random.fold_in(state.eval_key, state.step)
        k_batch, k_rot, k_hg, k_hd = jax.random.split(key, 4)
        k_g, k_d = jax.random.split(k_batch)
        params = (state.g_params, state.d_params)
        ws = state.wrappers
        xi_fn = lambda p: game.xi(p, hp, jax.random.clone(k_batch), state.step, ws, state.d_opt)
        g_loss = lambda g: game.generator_loss(g, state.d_params, hp, jax.random.clone(k_g),
                                               state.step, ws, state.d_opt)
        d_loss = lambda d: game.critic_loss(d, state.g_params, hp, jax.random.clone(k_d), state.step,
                                            ws)
        field = xi_fn(params)
        rot = dyn.rotation_index(xi_fn, params, k_rot, cfg.dynamics_probes)
        size = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
        g_eig = curvature.hessian_top_eigenvalues(g_loss, state.g_params, 1, k_hg,
                                                  min(cfg.lanczos_order, size(state.g_params)))
        d_eig = curvature.hessian_top_eigenvalues(d_loss, state.d_params, 1, k_hd,
                                                  min(cfg.lanczos_order, size(state.d_params)))
        return {
            "grad_norm": tree_norm(field),
            "rotation_index": rot.value,
            "g_hessian_max": g_eig.largest[0],
            "g_hessian_min": g_eig.smallest[0],
            "d_hessian_max": d_eig.largest[0],
            "d_hessian_min": d_eig.smallest[0],
        }

    return dynamics


STRETCH_LATENTS = 256  # latents of the generator-stretch Jacobians per log (a dense [D, L] each)


def _collapse_fn(cfg: Config, game: Game, target: Any) -> Callable:
    """``(hparams, state, stats, samples) -> dict``: the collapse measurements of
    ``mcjax.analysis.collapse`` at ``state``, on one batch fixed by ``(eval_key, step)``; ``stats``
    and ``samples`` are ``evaluate(state)``'s (the generator on the evaluation latents).

    * ``mode_flux [K]``: along the generator's update that its optimizer would make from the
      generator's gradient on that batch (against the current critic), on the evaluation
      latents; soft occupancy of width a quarter of the smallest distance between two modes.
      Here and in the critic field, the first ``collapse_samples`` evaluation latents and samples.
    * ``critic_grad_real``, ``critic_grad_fake``: mean ``||grad_x D||`` at a real batch and at the
      evaluation samples; ``toward_uncovered``: the share of evaluation samples whose force
      ``grad_x D`` points toward a mode not covered (``stats["mode_counts"] == 0``, counted on
      all evaluation samples).
    * ``stretch_mean``, ``stretch_max``: ``||dG/dz||_F`` over the first ``STRETCH_LATENTS``
      evaluation latents.
    """
    from mcjax.analysis import collapse

    centres = np.asarray(target.means, np.float64)
    d = np.sqrt(np.sum((centres[:, None] - centres[None]) ** 2, axis=-1))
    scale = 0.25 * float(np.min(d + np.diag(np.full(len(centres), np.inf))))
    means = jnp.asarray(target.means)

    def measure(hp: HParams, state: TrainState, stats: dict, samples: jax.Array) -> dict:
        key = jax.random.fold_in(jax.random.fold_in(state.eval_key, state.step), 1)
        k_loss, k_real = jax.random.split(key)
        z = jax.random.normal(jax.random.clone(state.eval_key), (cfg.eval_samples, cfg.latent_dim))
        z_c = z[: min(cfg.collapse_samples, cfg.eval_samples)]
        ws = state.wrappers
        grads = jax.grad(game.generator_loss)(state.g_params, state.d_params, hp, k_loss,
                                              state.step, ws, state.d_opt)
        g_tx, _ = game.optimizers(hp)
        update, _ = g_tx.update(grads, state.g_opt, state.g_params)
        flux = collapse.mode_flux(game.generate, state.g_params, update, z_c, means, scale)
        n = (z_c.shape[0] // cfg.pack) * cfg.pack  # whole packs only
        critic = game.critic_logits(state.d_params, ws)
        real = target.sample(k_real, n)
        field = collapse.critic_field(critic, real, samples[:n], means,
                                      stats["mode_counts"] > 0)
        stretch = collapse.generator_stretch(game.generate, state.g_params,
                                             z[: min(STRETCH_LATENTS, cfg.eval_samples)])
        return {"mode_flux": flux, "critic_grad_real": field.real_norm,
                "critic_grad_fake": field.fake_norm, "toward_uncovered": field.toward_uncovered,
                "stretch_mean": stretch.mean, "stretch_max": stretch.max}

    return measure


FEATURE_METRICS = ("frechet", "prdc")
PRDC_K = 5  # Naeem et al. 2020's k


def _feature_fn(cfg: Config, target: Any) -> Callable:
    """``(samples, key) -> dict``: the feature metrics ``cfg.feature_metrics`` of the generated
    samples against ``eval_samples`` real ones drawn with ``key`` (each run its own draw: a draw
    shared by all runs is computed once outside the run axis, and sharding it over devices puts
    a collective inside the loops of PRDC, which two CPU devices deadlocked on): the Frechet
    distance and PRDC (k = 5) in the target's feature space (``target.features``: the digit
    classifier's penultimate features of each channel for stacked digits; raw coordinates for the
    mixtures). Measured on the final state only (``System.evaluate``), not in the training scan."""
    from mcjax.metrics import features as fm

    embed = getattr(target, "features", lambda x: x.reshape(x.shape[0], -1))

    def measure(samples: jax.Array, key: jax.Array) -> dict:
        real = target.sample(key, cfg.eval_samples)
        fake = jnp.where(jnp.isfinite(samples), samples, jnp.nan)
        real_f, fake_f = embed(real), embed(jnp.nan_to_num(fake))
        bad = ~jnp.all(jnp.isfinite(samples))
        fake_f = jnp.where(bad, jnp.nan, fake_f)  # a diverged generator: inf distance, in no ball
        out = {}
        if "frechet" in cfg.feature_metrics:
            out["frechet"] = fm.frechet_distance(real_f, fake_f)
        if "prdc" in cfg.feature_metrics:
            out.update(fm.prdc(real_f, fake_f, PRDC_K)._asdict())
        return out

    return measure


def _part_keys(parts: tuple, key: jax.Array) -> list:
    """One init key per keyed wrapper (the key itself when only one needs it), ``None`` for others."""
    n = sum(w.keyed for w in parts)
    keys = iter([key] if n == 1 else list(jax.random.split(key, max(n, 1))))
    return [next(keys) if w.keyed else None for w in parts]


def make_trainer(config: Config, target: Any = None) -> Trainer:
    """Builds the pure training program for ``config`` (see module docstring).

    ``target``: the distribution trained on and measured against, ``config.make_target()`` when
    ``None``. Any pytree :class:`~mcjax.targets.Target` of the config's event shape; built inside
    a ``jax.vmap``-ed function, its leaves may be traced (one data set per run, e.g.
    :class:`~mcjax.targets.empirical.EmpiricalTarget` in ``mcjax.systems.gan.recursive``)."""
    cfg = config
    target = cfg.make_target() if target is None else target
    gen, crit, critic_input, batch_statistics = make_players(cfg, target)
    (rule,) = selected(rules.RULES, cfg)
    wrapper_parts = selected(wrappers.WRAPPERS, cfg)
    game = make_game(cfg, target, gen, crit, wrapper_parts, batch_statistics)

    def init(hp: HParams, key: jax.Array) -> TrainState:
        k_g, k_d, k_train, k_eval, k_parts = jax.random.split(key, 5)
        g_params = gen.init(k_g, jnp.zeros((1, cfg.latent_dim), jnp.float32))
        d_params = crit.init(k_d, jnp.zeros((2,) + critic_input, jnp.float32))
        g_tx, d_tx = game.optimizers(hp)
        return TrainState(
            g_params=g_params, d_params=d_params,
            g_opt=g_tx.init(g_params), d_opt=d_tx.init(d_params),
            step=jnp.zeros((), jnp.int32), train_key=k_train, eval_key=k_eval,
            diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32),
            rule=rule.init(g_params, d_params),
            wrappers=tuple(w.init(g_params, d_params, k) for w, k in
                           zip(wrapper_parts, _part_keys(wrapper_parts, k_parts))),
        )

    def step(hp: HParams, state: TrainState):
        key = jax.random.fold_in(state.train_key, state.step)
        ws = tuple(w.before_step(s, state.d_params) for w, s in zip(wrapper_parts, state.wrappers))
        players, rule_state, d_value, g_value = rule.step(game, hp, state, state.rule, key, ws)
        ws = tuple(w.after_step(s, hp, players.g_params) for w, s in zip(wrapper_parts, ws))
        new = (players, rule_state, ws)
        old = (rules.Players(state.g_params, state.d_params, state.g_opt, state.d_opt),
               state.rule, state.wrappers)
        ok = _all_finite((new, d_value, g_value)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        players, rule_state, ws = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)
        kept = state._replace(
            **players._asdict(), rule=rule_state, wrappers=ws,
            step=state.step + 1,
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step),
        )
        return kept, (d_value, g_value)

    def evaluate(state: TrainState):
        # The same latent points at every evaluation, so occupancy curves track the generator,
        # not resampling noise: a deliberate reuse of eval_key, hence the clone.
        z = jax.random.normal(jax.random.clone(state.eval_key), (cfg.eval_samples, cfg.latent_dim))
        stats_of = lambda g_params: mode_stats(game.generate(g_params, z), target)._asdict()
        samples = game.generate(state.g_params, z)
        stats = mode_stats(samples, target)._asdict()
        for w, s in zip(wrapper_parts, state.wrappers):
            stats.update(w.evaluate(s, stats_of))
        return stats, samples

    dynamics = _dynamics_fn(cfg, game)
    collapse_stats = _collapse_fn(cfg, game, target) if cfg.log_collapse else None
    feature_stats = _feature_fn(cfg, target) if cfg.feature_metrics else None

    def final_evaluate(state: TrainState):
        stats, samples = evaluate(state)
        if feature_stats is not None:
            key = jax.random.fold_in(jax.random.clone(state.eval_key), 0x5EED)  # not the latents' key
            stats.update(feature_stats(samples, key))
        return stats, samples

    def advance(hp: HParams, state: TrainState, n_logs: int):
        def interval(state, _):
            state, (d_values, g_values) = jax.lax.scan(
                lambda s, _: step(hp, s), state, None, length=cfg.log_every
            )
            stats, samples = evaluate(state)
            if cfg.log_dynamics:
                stats.update(dynamics(hp, state))
            if collapse_stats is not None:
                stats.update(collapse_stats(hp, state, stats, samples))
            record = dict(stats, step=state.step, d_loss=jnp.mean(d_values),
                          g_loss=jnp.mean(g_values), diverged=state.diverged)
            return state, record

        return jax.lax.scan(interval, state, None, length=n_logs)

    def train(hp: HParams, key: jax.Array):
        return advance(hp, init(hp, key), cfg.n_logs)

    return Trainer(init=init, advance=advance, train=train, generate=game.generate,
                   evaluate=evaluate, final_evaluate=final_evaluate, critic_loss=game.critic_loss,
                   generator_loss=game.generator_loss, xi=game.xi, dynamics=dynamics,
                   critic_logits=game.critic_logits)


def make_system(config: Config) -> System:
    """The GAN of ``config`` as a :class:`~mcjax.core.system.System` (what sweeps run)."""
    trainer = make_trainer(config)
    return System(init=trainer.init, advance=trainer.advance, evaluate=trainer.final_evaluate)


def make_train(config: Config, target: Any = None) -> Callable:
    """``train(hparams, key) -> (final_state, history)`` for ``config``; pure, jit/vmap it.

    Example:
      >>> cfg = Config(steps=200, log_every=100)
      >>> state, hist = jax.jit(make_train(cfg))(make_hparams(), jax.random.key(0))
      >>> hist["modes_covered"].shape
      (2,)
    """
    return make_trainer(config, target).train
