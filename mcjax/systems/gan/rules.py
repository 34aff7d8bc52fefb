"""Update rules: how both players move in one step, each rule owning its state.

A :class:`Rule` is a pair of pure functions in the manner of ``optax.GradientTransformation``:
``init(g_params, d_params) -> state`` and ``step(game, hparams, train_state, state, key, wrappers)
-> (Players, state, critic_loss, generator_loss)``. ``game`` (``mcjax.systems.gan.engine.Game``)
holds the losses and optimizers; the rule decides the order and direction of the updates.

The game as a vector field: ``xi_fn(params) -> xi`` maps both players' parameters
``params = (g_params, d_params)`` to the simultaneous gradient ``xi = (grad_g L_G, grad_d L_D)``,
each player *descending* its own loss. ``J = d xi / d params`` is the game Jacobian,
``S = (J + J^T) / 2`` and ``A = (J - J^T) / 2`` its symmetric and antisymmetric parts (Balduzzi et
al. 2018). Products with ``J`` and ``J^T`` are matrix-free (``jax.jvp`` / ``jax.vjp``).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mcjax.core.trees import tree_axpy, tree_dot
from mcjax.systems.gan.parts import Entry

__all__ = ["Players", "Rule", "OptimisticState", "consensus_direction", "sga_direction",
           "alternating", "simultaneous", "RULES", "UPDATE_RULES"]


class Players(NamedTuple):
    """Both players' parameters and optimizer states."""

    g_params: Any
    d_params: Any
    g_opt: Any
    d_opt: Any


class Rule(NamedTuple):
    """An update rule (see the module docstring)."""

    init: Callable
    step: Callable


def consensus_direction(xi_fn: Callable, params: Any, gamma: jax.Array) -> tuple[Any, Any]:
    """Consensus optimisation (Mescheder et al. 2017, Alg. 2): ``xi + gamma J^T xi``.

    ``J^T xi = grad (1/2 ||xi||^2)`` is the gradient of the regulariser ``L = 1/2 ||xi||^2``.

    Returns:
      ``(direction, xi)``.
    """
    xi, vjp = jax.vjp(xi_fn, params)
    (jt_xi,) = vjp(xi)
    return tree_axpy(gamma, jt_xi, xi), xi


def sga_direction(xi_fn: Callable, params: Any, lam: jax.Array, align: bool = True) -> tuple[Any, Any]:
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Alg. 1): ``xi + lambda A^T xi``.

    ``A^T xi = (J^T xi - J xi) / 2``. With ``align``, ``lambda`` takes the sign of
    ``<xi, grad H> <A^T xi, grad H> / n + 0.1`` where ``grad H = J^T xi`` and ``n`` is the number of
    parameter tensors, so the adjustment points towards stable fixed points and away from unstable
    ones.

    Returns:
      ``(direction, xi)``.
    """
    xi, vjp = jax.vjp(xi_fn, params)
    (jt_xi,) = vjp(xi)
    _, j_xi = jax.jvp(xi_fn, (params,), (xi,))
    at_xi = jax.tree.map(lambda a, b: 0.5 * (a - b), jt_xi, j_xi)
    if align:
        n = len(jax.tree.leaves(params))
        lam = lam * jnp.sign(tree_dot(xi, jt_xi) * tree_dot(at_xi, jt_xi) / n + 0.1)
    return tree_axpy(lam, at_xi, xi), xi


def _stateless(g_params: Any, d_params: Any) -> tuple:
    return ()


def alternating(n_critic: int, reuse_fake: bool = False) -> Rule:
    """``n_critic`` critic steps, then one generator step against the updated critic
    (Goodfellow et al. 2014, Alg. 1).

    With ``reuse_fake`` (needs ``n_critic = 1``) the generator step reuses the critic step's
    generated batch, its ``z`` and forward pass through ``jax.vjp``: the loop of PyTorch's DCGAN
    example, one generator forward pass per step instead of two.
    """

    def step(game, hp, state, rule_state, key, wrappers):
        g_tx, d_tx = game.optimizers(hp)
        k_critic, k_gen = jax.random.split(key)

        def one_critic_step(carry, i):
            d_params, d_opt = carry
            d_params, d_opt, value = game.critic_update(
                d_params, d_opt, state.g_params, hp, jax.random.fold_in(k_critic, i), state.step,
                wrappers, d_tx)
            return (d_params, d_opt), value

        if reuse_fake:
            k_step = jax.random.fold_in(k_critic, 0)  # the key the scan's only critic step uses
            z = game.critic_z(jax.random.clone(k_step))  # the draw critic_loss(k_step) would make
            x, g_vjp = jax.vjp(lambda g: game.generate(g, z), state.g_params)
            d_params, d_opt, d_value = game.critic_update(
                state.d_params, state.d_opt, state.g_params, hp, k_step, state.step, wrappers, d_tx,
                fake=jax.lax.stop_gradient(x))
            d_values = d_value[None]
            _, k_real, k_noise, _ = jax.random.split(k_gen, 4)
            g_value, dx = jax.value_and_grad(game.generator_head)(
                x, z, d_params, hp, k_real, k_noise, state.step, wrappers)
            (g_grads,) = g_vjp(dx)
        else:
            (d_params, d_opt), d_values = jax.lax.scan(
                one_critic_step, (state.d_params, state.d_opt), jnp.arange(n_critic))
            g_value, g_grads = jax.value_and_grad(game.generator_loss)(
                state.g_params, d_params, hp, k_gen, state.step, wrappers, d_opt)
        g_updates, g_opt = g_tx.update(g_grads, state.g_opt, state.g_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        return Players(g_params, d_params, g_opt, d_opt), rule_state, jnp.mean(d_values), g_value

    return Rule(_stateless, step)


def simultaneous(direction: Callable | None = None, init: Callable = _stateless) -> Rule:
    """Both players step at once from the same point along a direction built from the field.

    ``direction(hp, field, params, rule_state) -> (direction, rule_state)`` with ``field(params)
    -> xi`` on this step's batch (every evaluation sees the same batch); ``None`` is plain
    simultaneous gradient descent, ``direction = xi``. Each player's optimizer then takes its part
    of the direction. The reported losses are those at the step's starting point.
    """

    def step(game, hp, state, rule_state, key, wrappers):
        g_tx, d_tx = game.optimizers(hp)
        params = (state.g_params, state.d_params)
        k_losses = jax.random.clone(key)  # every evaluation of xi this step sees the same batch
        field = lambda p: game.xi(p, hp, jax.random.clone(k_losses), state.step, wrappers)
        if direction is None:
            g_dir, d_dir = field(params)
        else:
            (g_dir, d_dir), rule_state = direction(hp, field, params, rule_state)
        g_updates, g_opt = g_tx.update(g_dir, state.g_opt, state.g_params)
        d_updates, d_opt = d_tx.update(d_dir, state.d_opt, state.d_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        d_params = game.constrain(optax.apply_updates(state.d_params, d_updates), hp)
        k_g, k_d = jax.random.split(jax.random.clone(k_losses))
        g_value = game.generator_loss(state.g_params, state.d_params, hp, k_g, state.step, wrappers)
        d_value = game.critic_loss(state.d_params, state.g_params, hp, k_d, state.step, wrappers)
        return Players(g_params, d_params, g_opt, d_opt), rule_state, d_value, g_value

    return Rule(init, step)


def _consensus(hp, field, params, rule_state):
    return consensus_direction(field, params, hp.consensus_gamma)[0], rule_state


def _sga(hp, field, params, rule_state):
    return sga_direction(field, params, hp.sga_lambda)[0], rule_state


def _extragradient(hp, field, params, rule_state):
    """Korpelevich 1976; Gidel et al. 2019: look ahead with a plain gradient step of each player's
    learning rate, then update from the current point with the look-ahead field."""
    (g_params, d_params), (g_xi, d_xi) = params, field(params)
    ahead = (tree_axpy(-hp.lr_g, g_xi, g_params), tree_axpy(-hp.lr_d, d_xi, d_params))
    return field(ahead), rule_state


class OptimisticState(NamedTuple):
    """The optimistic rule's memory: last step's field ``xi_{t-1}`` (zeros before the first step)."""

    prev_xi: Any


def _optimistic_init(g_params, d_params) -> OptimisticState:
    return OptimisticState(jax.tree.map(jnp.zeros_like, (g_params, d_params)))


def _optimistic(hp, field, params, rule_state):
    """Daskalakis et al. 2018: ``2 xi_t - xi_{t-1}`` fed to the optimizer. Not
    ``optax.scale_by_optimistic_gradient``, which takes ``xi_{t-1} = xi_t`` at the first step."""
    now = field(params)
    return jax.tree.map(lambda a, b: 2.0 * a - b, now, rule_state.prev_xi), OptimisticState(now)


_update = lambda name: (lambda cfg: cfg.update == name)
RULES: tuple[Entry, ...] = (
    Entry("alternating", _update("alternating"), lambda cfg: alternating(cfg.n_critic, cfg.reuse_fake)),
    Entry("simultaneous", _update("simultaneous"), lambda cfg: simultaneous()),
    Entry("consensus", _update("consensus"), lambda cfg: simultaneous(_consensus)),
    Entry("sga", _update("sga"), lambda cfg: simultaneous(_sga)),
    Entry("extragradient", _update("extragradient"), lambda cfg: simultaneous(_extragradient)),
    Entry("optimistic", _update("optimistic"), lambda cfg: simultaneous(_optimistic, _optimistic_init)),
)
UPDATE_RULES = tuple(e.name for e in RULES)
