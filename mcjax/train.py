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

from mcjax import game, losses, nets, objectives
from mcjax.config import Config, HParams
from mcjax.core.system import System
from mcjax.metrics import mode_stats

__all__ = ["TrainState", "Trainer", "make_trainer", "make_train", "make_system", "make_optimizer",
           "generate"]


class TrainState(NamedTuple):
    """Everything a run carries from one step to the next (a pytree; stacked over runs in a sweep).

    ``sn_u`` (spectral-norm power-iteration vectors), ``g_ema`` (averaged generator) and
    ``prev_xi`` (last simultaneous gradient, for optimistic updates) are ``None`` when unused.
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
    sn_u: Any = None
    g_ema: Any = None
    prev_xi: Any = None


class Trainer(NamedTuple):
    """The pure pieces of a training program.

    Attributes:
      init: ``(hparams, key) -> TrainState``.
      advance: ``(hparams, state, n_logs) -> (state, history)``: ``n_logs * log_every`` more steps
        (``n_logs`` static), history arrays of leading size ``n_logs``.
      train: ``(hparams, key) -> (state, history)``, the whole run.
      generate: ``(g_params, z) -> samples``.
      evaluate: ``(state) -> (stats dict, samples)`` on ``eval_samples`` points from the eval key
        (with ``Config.ema``, the averaged generator's stats too, prefixed ``ema_``).
      critic_loss: ``(d_params, g_params, hparams, key, step=0, sn_u=None) -> scalar``: the critic's
        training loss on one batch, penalties included. It depends on ``g_params`` through the
        generated batch (no stop-gradient), as the game Jacobian needs.
      generator_loss: ``(g_params, d_params, hparams, key, step=0, sn_u=None, d_opt=None) ->
        scalar``: the generator's training loss on one batch (unrolled through the critic's
        updates when ``Config.unroll``, which needs ``d_opt``).
      xi: ``(params, hparams, key, step=0, sn_u=None, d_opt=None) -> xi``: the simultaneous
        gradient of both players at ``params = (g_params, d_params)`` on one batch.
      dynamics: ``(hparams, state) -> dict``: rotation index, top and bottom Hessian eigenvalues
        of each player's loss, ``||xi||`` (logged every ``log_every`` steps with
        ``Config.log_dynamics``).
    """

    init: Callable
    advance: Callable
    train: Callable
    generate: Callable
    evaluate: Callable
    critic_loss: Callable
    generator_loss: Callable
    xi: Callable
    dynamics: Callable


def make_optimizer(kind: str, lr: jax.Array, hp: HParams, *, differentiable: bool = False
                   ) -> optax.GradientTransformation:
    """Optimizer of ``kind`` with traced learning rate and betas (see ``Config.optimizer``).

    ``differentiable`` adds ``eps_root`` inside Adam's square root so that gradients *through* an
    update (unrolled GANs) stay finite where a second moment is exactly 0.

    ``kron`` is PSGD Kron (Li 2015, 2018; the optional package ``psgd-jax``, imported only here):
    ``-lr * P m`` with ``m`` the bias-corrected EMA of gradients (decay ``beta1``) and ``P`` a
    Kronecker-factored preconditioner, one triangular factor per kernel dimension (diagonal for
    biases), fitted by ``psgd_jax.kron.scale_by_kron``. It equals ``psgd_jax.kron.kron(lr,
    b1=beta1, ...)`` with the arguments below, but the momentum is ``optax.ema`` ahead of a
    momentum-free ``scale_by_kron``: ``kron`` branches on ``b1 > 0`` in Python, which a traced
    ``beta1`` cannot do.
    """
    eps_root = 1e-12 if differentiable else 0.0
    if kind == "adam":
        return optax.adam(lr, b1=hp.beta1, b2=hp.beta2, eps_root=eps_root)
    if kind == "rmsprop":
        return optax.rmsprop(lr, decay=hp.beta2, eps=1e-8)
    if kind == "sgd":
        return optax.sgd(lr, momentum=hp.beta1)
    if kind == "muon":
        return optax.contrib.muon(lr, beta=hp.beta1, adam_b1=hp.beta1, adam_b2=hp.beta2,
                                  adam_eps_root=eps_root)
    if kind == "kron":
        import contextlib
        import importlib
        import io
        import sys

        from mcjax._validation import ConfigError

        try:  # psgd-jax 0.2.9 imports (never uses) optax._src.clipping, gone from newer optax
            importlib.import_module("optax._src.clipping")
        except ImportError:
            sys.modules.setdefault("optax._src.clipping", optax.transforms._clipping)
        try:
            import psgd_jax.kron as psgd_kron
        except ImportError as e:
            raise ConfigError(
                "optimizer 'kron' needs the optional package psgd-jax: pip install \"mcjax[kron]\""
                f" ({type(e).__name__}: {e})") from e
        scale_by_kron = psgd_kron.scale_by_kron(
            b1=0.0,  # momentum is the optax.ema below (traced beta1)
            # default schedule: a preconditioner update every step for 500 steps, then every
            # ~1/p steps with p annealed to 0.03 (deterministic counter; under vmap both
            # branches of its lax.cond run, so every step pays for an update)
            preconditioner_update_probability=psgd_kron.precond_update_prob_schedule(),
            max_size_triangular=8192,  # dense factors for every MLP kernel dimension
            momentum_into_precond_update=True,
            preconditioner_lr=0.1,
            preconditioner_init_scale=1.0,
            # tiny factors: full float32 costs nothing and keeps GPU runs close to CPU ones
            precond_update_precision="float32",
            precond_grads_precision="float32",
        )

        # psgd divides [n, 1]-shaped arrays by [1]-shaped diagonal factors (every kernel with a
        # size-1 dimension, e.g. the critic's output): numpy broadcasting, correct, but refused
        # under jax_numpy_rank_promotion="raise"; allowed here, inside psgd only.
        def init(params):
            # psgd prints the preconditioner size: keep standard output clean (--json)
            with contextlib.redirect_stdout(io.StringIO()), jax.numpy_rank_promotion("allow"):
                return scale_by_kron.init(params)

        def update(updates, state, params=None, **extra_args):
            with jax.numpy_rank_promotion("allow"):
                return scale_by_kron.update(updates, state, params, **extra_args)

        return optax.chain(
            optax.ema(hp.beta1, debias=True),
            optax.GradientTransformationExtraArgs(init, update),
            optax.scale_by_learning_rate(lr),
        )
    raise ValueError(f"unknown optimizer {kind!r}")


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def make_trainer(config: Config) -> Trainer:
    """Builds the pure training program for ``config`` (see module docstring)."""
    cfg = config
    target = cfg.make_target()
    gen = nets.generator(cfg.width, cfg.depth, target.dim, cfg.activation)
    crit = nets.critic(cfg.width, cfg.depth, cfg.activation, mbd_kernels=cfg.mbd_kernels,
                       mbd_dim=cfg.mbd_dim, mbstd=cfg.mbstd)
    loss = losses.LOSSES[cfg.loss]
    B, L, M = cfg.batch_size, cfg.latent_dim, cfg.pack
    simultaneous = cfg.update != "alternating"

    def generate(g_params, z):
        return gen.apply(g_params, z)

    def optimizers(hp: HParams):
        g_tx = make_optimizer(cfg.optimizer, hp.lr_g, hp)
        d_tx = make_optimizer(cfg.optimizer, hp.lr_d, hp, differentiable=cfg.unroll > 0)
        return g_tx, d_tx

    def critic_on(d_params, sn_u):
        """``x [B*m, D] -> (logits [B], features)`` of the (normalised) critic on packed input."""
        if cfg.spectral_norm:
            d_params, _ = nets.spectral_normalize(d_params, sn_u)
        return lambda packed: crit.apply(d_params, packed)

    def noise(x, key, hp, step):
        if not cfg.instance_noise:
            return x
        std = hp.noise_std * jnp.maximum(0.0, 1.0 - step.astype(jnp.float32) / cfg.steps)
        return x + std * jax.random.normal(key, x.shape, x.dtype)

    def init(hp: HParams, key: jax.Array) -> TrainState:
        k_g, k_d, k_train, k_eval, k_sn = jax.random.split(key, 5)
        g_params = gen.init(k_g, jnp.zeros((1, L), jnp.float32))
        d_params = crit.init(k_d, jnp.zeros((2, target.dim * M), jnp.float32))
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
            sn_u=nets.spectral_norm_init(d_params, k_sn) if cfg.spectral_norm else None,
            g_ema=g_params if cfg.ema else None,
            prev_xi=(jax.tree.map(jnp.zeros_like, (g_params, d_params))
                     if cfg.update == "optimistic" else None),
        )

    def critic_z(key):
        """The latent batch ``critic_loss(..., key)`` generates from."""
        return jax.random.normal(jax.random.split(key, 5)[1], (B * M, L))

    def critic_loss(d_params, g_params, hp, key, step=jnp.zeros((), jnp.int32), sn_u=None,
                    fake=None):
        """``fake``: the generated batch ``generate(g_params, critic_z(key))`` when already known."""
        k_real, k_z, k_pen, k_n1, k_n2 = jax.random.split(key, 5)
        real = noise(target.sample(k_real, B * M), k_n1, hp, step)
        if fake is None:
            fake = generate(g_params, jax.random.normal(k_z, (B * M, L)))
        fake = noise(fake, k_n2, hp, step)
        real, fake = objectives.pack(real, M), objectives.pack(fake, M)
        D = critic_on(d_params, sn_u)
        logits = lambda x: D(x)[0]
        if cfg.mbd_kernels or cfg.mbstd:  # minibatch features: each batch on its own
            value = loss.critic(logits(real), logits(fake))
        else:  # row-wise critic: one forward pass over both batches (fewer, larger matmuls)
            both = logits(jnp.concatenate([real, fake]))
            value = loss.critic(both[: real.shape[0]], both[real.shape[0]:])
        if cfg.penalty == "gp":
            value = value + hp.penalty_weight * losses.gradient_penalty(logits, real, fake, k_pen)
        elif cfg.penalty == "r1":
            value = value + 0.5 * hp.penalty_weight * objectives.r1_penalty(logits, real)
        elif cfg.penalty == "r2":
            value = value + 0.5 * hp.penalty_weight * objectives.r1_penalty(logits, fake)
        return value

    def critic_update(d_params, d_opt, g_params, hp, key, step, sn_u, d_tx, fake=None):
        value, grads = jax.value_and_grad(critic_loss)(d_params, g_params, hp, key, step, sn_u,
                                                       fake)
        updates, d_opt = d_tx.update(grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, updates)
        if cfg.clip:
            d_params = losses.clip_weights(d_params, hp.clip_value)
        return d_params, d_opt, value

    def generator_loss(g_params, d_params, hp, key, step=jnp.zeros((), jnp.int32), sn_u=None,
                       d_opt=None):
        k_z, k_real, k_noise, k_unroll = jax.random.split(key, 4)
        if cfg.unroll:
            _, d_tx = optimizers(hp)

            def body(carry, i):
                d, o = carry
                d, o, _ = critic_update(d, o, g_params, hp, jax.random.fold_in(k_unroll, i), step,
                                        sn_u, d_tx)
                return (d, o), None

            (d_params, _), _ = jax.lax.scan(body, (d_params, d_opt), jnp.arange(cfg.unroll))
        z = jax.random.normal(k_z, (B * M, L))
        return generator_head(generate(g_params, z), z, d_params, hp, k_real, k_noise, step, sn_u)

    def generator_head(x, z, d_params, hp, k_real, k_noise, step, sn_u):
        """The generator's loss as a function of its generated batch ``x = generate(g, z)``."""
        D = critic_on(d_params, sn_u)
        logits, f_fake = D(objectives.pack(noise(x, k_noise, hp, step), M))
        if cfg.feature_matching:
            _, f_real = D(objectives.pack(target.sample(k_real, B * M), M))
            value = objectives.feature_matching_loss(f_real, f_fake)
        else:
            value = loss.generator(logits)
        if cfg.entropy:
            value = value - hp.entropy_weight * objectives.kl_entropy(x, cfg.entropy_k)
        if cfg.mode_seeking:
            h = (B * M) // 2
            value = value + hp.ms_weight * objectives.mode_seeking_term(
                x[:h], x[h: 2 * h], z[:h], z[h: 2 * h])
        return value

    def xi(params, hp, key, step=jnp.zeros((), jnp.int32), sn_u=None, d_opt=None):
        g_params, d_params = params
        k_g, k_d = jax.random.split(key)
        return (
            jax.grad(generator_loss)(g_params, d_params, hp, k_g, step, sn_u, d_opt),
            jax.grad(critic_loss)(d_params, g_params, hp, k_d, step, sn_u),
        )

    def alternating_step(hp, state, key, sn_u):
        g_tx, d_tx = optimizers(hp)
        k_critic, k_gen = jax.random.split(key)

        def one_critic_step(carry, i):
            d_params, d_opt = carry
            d_params, d_opt, value = critic_update(
                d_params, d_opt, state.g_params, hp, jax.random.fold_in(k_critic, i), state.step,
                sn_u, d_tx)
            return (d_params, d_opt), value

        if cfg.reuse_fake:  # the DCGAN loop: one generated batch for both players' steps
            k_step = jax.random.fold_in(k_critic, 0)  # the key the scan's only critic step uses
            z = critic_z(jax.random.clone(k_step))  # the draw critic_loss(k_step) would make
            x, g_vjp = jax.vjp(lambda g: generate(g, z), state.g_params)
            d_params, d_opt, d_value = critic_update(
                state.d_params, state.d_opt, state.g_params, hp, k_step, state.step, sn_u, d_tx,
                fake=jax.lax.stop_gradient(x))
            d_values = d_value[None]
            _, k_real, k_noise, _ = jax.random.split(k_gen, 4)
            g_value, dx = jax.value_and_grad(generator_head)(
                x, z, d_params, hp, k_real, k_noise, state.step, sn_u)
            (g_grads,) = g_vjp(dx)
        else:
            (d_params, d_opt), d_values = jax.lax.scan(
                one_critic_step, (state.d_params, state.d_opt), jnp.arange(cfg.n_critic))
            g_value, g_grads = jax.value_and_grad(generator_loss)(
                state.g_params, d_params, hp, k_gen, state.step, sn_u, d_opt)
        g_updates, g_opt = g_tx.update(g_grads, state.g_opt, state.g_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        return g_params, d_params, g_opt, d_opt, jnp.mean(d_values), g_value, state.prev_xi

    def simultaneous_step(hp, state, key, sn_u):
        g_tx, d_tx = optimizers(hp)
        params = (state.g_params, state.d_params)
        k_losses = jax.random.clone(key)  # every evaluation of xi this step sees the same batch
        field = lambda p: xi(p, hp, jax.random.clone(k_losses), state.step, sn_u)
        prev_xi = state.prev_xi
        if cfg.update == "simultaneous":
            direction = field(params)
        elif cfg.update == "consensus":
            direction, _ = game.consensus_direction(field, params, hp.consensus_gamma)
        elif cfg.update == "sga":
            direction, _ = game.sga_direction(field, params, hp.sga_lambda)
        elif cfg.update == "extragradient":
            # Korpelevich 1976; Gidel et al. 2019: look ahead with a plain gradient step of each
            # player's learning rate, then update from the current point with the look-ahead field.
            g_xi, d_xi = field(params)
            ahead = (tree_step(state.g_params, g_xi, hp.lr_g), tree_step(state.d_params, d_xi, hp.lr_d))
            direction = field(ahead)
        else:  # optimistic (Daskalakis et al. 2018): 2 xi_t - xi_{t-1} fed to the optimizer
            now = field(params)
            direction = jax.tree.map(lambda a, b: 2.0 * a - b, now, prev_xi)
            prev_xi = now
        g_dir, d_dir = direction
        g_updates, g_opt = g_tx.update(g_dir, state.g_opt, state.g_params)
        d_updates, d_opt = d_tx.update(d_dir, state.d_opt, state.d_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        d_params = optax.apply_updates(state.d_params, d_updates)
        if cfg.clip:
            d_params = losses.clip_weights(d_params, hp.clip_value)
        k_g, k_d = jax.random.split(jax.random.clone(k_losses))
        g_value = generator_loss(state.g_params, state.d_params, hp, k_g, state.step, sn_u)
        d_value = critic_loss(state.d_params, state.g_params, hp, k_d, state.step, sn_u)
        return g_params, d_params, g_opt, d_opt, d_value, g_value, prev_xi

    def step(hp: HParams, state: TrainState):
        key = jax.random.fold_in(state.train_key, state.step)
        sn_u = state.sn_u
        if cfg.spectral_norm:  # one power iteration per step, before the players move
            _, sn_u = nets.spectral_normalize(state.d_params, state.sn_u)
        rule = simultaneous_step if simultaneous else alternating_step
        g_params, d_params, g_opt, d_opt, d_value, g_value, prev_xi = rule(hp, state, key, sn_u)
        g_ema = state.g_ema
        if cfg.ema:
            g_ema = jax.tree.map(lambda e, p: hp.ema_decay * e + (1.0 - hp.ema_decay) * p,
                                 state.g_ema, g_params)

        new = (g_params, d_params, g_opt, d_opt, sn_u, g_ema, prev_xi)
        old = (state.g_params, state.d_params, state.g_opt, state.d_opt, state.sn_u, state.g_ema,
               state.prev_xi)
        ok = _all_finite((new, d_value, g_value)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        kept = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)
        kept = state._replace(
            g_params=kept[0], d_params=kept[1], g_opt=kept[2], d_opt=kept[3], sn_u=kept[4],
            g_ema=kept[5], prev_xi=kept[6],
            step=state.step + 1,
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step),
        )
        return kept, (d_value, g_value)

    def evaluate(state: TrainState):
        # The same latent points at every evaluation, so occupancy curves track the generator,
        # not resampling noise: a deliberate reuse of eval_key, hence the clone.
        z = jax.random.normal(jax.random.clone(state.eval_key), (cfg.eval_samples, L))
        samples = generate(state.g_params, z)
        stats = mode_stats(samples, target)._asdict()
        if cfg.ema:
            ema_stats = mode_stats(generate(state.g_ema, z), target)._asdict()
            stats.update({"ema_" + k: v for k, v in ema_stats.items()})
        return stats, samples

    def dynamics(hp: HParams, state: TrainState) -> dict:
        """Rotation index, top Hessian eigenvalue of each player's loss and ``||xi||`` at ``state``,
        on one batch fixed by ``(eval_key, step)`` (see ``mcjax.analysis``). Lanczos runs to order
        ``min(lanczos_order, number of the player's parameters)``."""
        from mcjax.analysis import curvature, dynamics as dyn

        key = jax.random.fold_in(state.eval_key, state.step)
        k_batch, k_rot, k_hg, k_hd = jax.random.split(key, 4)
        k_g, k_d = jax.random.split(k_batch)
        params = (state.g_params, state.d_params)
        xi_fn = lambda p: xi(p, hp, jax.random.clone(k_batch), state.step, state.sn_u, state.d_opt)
        g_loss = lambda g: generator_loss(g, state.d_params, hp, jax.random.clone(k_g), state.step,
                                          state.sn_u, state.d_opt)
        d_loss = lambda d: critic_loss(d, state.g_params, hp, jax.random.clone(k_d), state.step,
                                       state.sn_u)
        field = xi_fn(params)
        rot = dyn.rotation_index(xi_fn, params, k_rot, cfg.dynamics_probes)
        size = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
        g_eig = curvature.hessian_top_eigenvalues(g_loss, state.g_params, 1, k_hg,
                                                  min(cfg.lanczos_order, size(state.g_params)))
        d_eig = curvature.hessian_top_eigenvalues(d_loss, state.d_params, 1, k_hd,
                                                  min(cfg.lanczos_order, size(state.d_params)))
        return {
            "grad_norm": jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(field))),
            "rotation_index": rot.value,
            "g_hessian_max": g_eig.largest[0],
            "g_hessian_min": g_eig.smallest[0],
            "d_hessian_max": d_eig.largest[0],
            "d_hessian_min": d_eig.smallest[0],
        }

    def advance(hp: HParams, state: TrainState, n_logs: int):
        def interval(state, _):
            state, (d_values, g_values) = jax.lax.scan(
                lambda s, _: step(hp, s), state, None, length=cfg.log_every
            )
            stats, _ = evaluate(state)
            if cfg.log_dynamics:
                stats.update(dynamics(hp, state))
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
        return advance(hp, init(hp, key), cfg.n_logs)

    return Trainer(init=init, advance=advance, train=train, generate=generate, evaluate=evaluate,
                   critic_loss=critic_loss, generator_loss=generator_loss, xi=xi, dynamics=dynamics)


def tree_step(params: Any, grads: Any, lr: jax.Array) -> Any:
    """``params - lr * grads`` leaf by leaf."""
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def make_system(config: Config) -> System:
    """The GAN of ``config`` as a :class:`~mcjax.core.system.System` (what sweeps run)."""
    trainer = make_trainer(config)
    return System(init=trainer.init, advance=trainer.advance, evaluate=trainer.evaluate)


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
