"""Ready-made games as simultaneous-gradient fields ``xi_fn(params)``, for teaching and for tests.

Every ``xi_fn`` follows :mod:`mcjax.analysis.dynamics`: ``params = (player_1, player_2)``, ``xi`` is
the gradient each player *descends* (each minimises its own loss).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

import jax
import jax.numpy as jnp

if TYPE_CHECKING:
    from mcjax.systems.gan.config import HParams
    from mcjax.systems.gan.engine import Trainer

__all__ = [
    "DIRAC_LOSSES",
    "GanGame",
    "dirac_gan",
    "dirac_gan_eigenvalues",
    "bilinear_game",
    "potential_game",
    "gan_game",
]

DIRAC_LOSSES = ("minimax", "non-saturating", "wasserstein")

# f'(0) of Mescheder et al. (2018)'s f: -log(1 + exp(-t)) for the GAN losses, t for WGAN.
_F_PRIME_0 = {"minimax": 0.5, "non-saturating": 0.5, "wasserstein": 1.0}


def dirac_gan(loss: str = "non-saturating", gp_weight: float | jax.Array = 0.0) -> Callable:
    """The Dirac-GAN (Mescheder et al. 2018, Sec. 2.2) as a closed-form simultaneous gradient.

    Data ``p_D = delta_0``; generator ``p_theta = delta_theta``; critic logit ``D_psi(x) = psi x``.
    With ``h = D_psi(theta) = psi theta`` the critic's score of the fake and ``sigma`` the logistic
    function, the losses of :mod:`mcjax.systems.gan.losses` on these one-point batches are

    ======================  ===========================  ===========================
    loss                    ``L_D`` (critic minimises)   ``L_G`` (generator minimises)
    ======================  ===========================  ===========================
    ``minimax``             ``log 2 + softplus(h)``      ``-softplus(h)``
    ``non-saturating``      ``log 2 + softplus(h)``      ``softplus(-h)``
    ``wasserstein``         ``h``                        ``-h``
    ======================  ===========================  ===========================

    plus, on the critic, the R1 penalty ``gamma/2 E_{p_D} ||grad_x D_psi||^2 = gamma/2 psi^2``
    (Mescheder et al. 2018, Eq. 9; not WGAN-GP's ``(||grad_x D|| - 1)^2``). The descended field is

        minimax:         xi(theta, psi) = (-psi sigma(h),  theta sigma(h) + gamma psi)
        non-saturating:  xi(theta, psi) = (-psi sigma(-h), theta sigma(h) + gamma psi)
        wasserstein:     xi(theta, psi) = (-psi,           theta + gamma psi)

    In the paper's notation, ``f(t) = -log(1 + exp(-t))`` (``f(t) = t`` for WGAN) and
    ``sigma(h) = f'(-h)``; its update field ``v`` is ``-xi``. The unique equilibrium is ``(0, 0)``
    with Jacobian ``J = [[0, -f'(0)], [f'(0), gamma]]`` (see :func:`dirac_gan_eigenvalues`).

    Args:
      loss: one of :data:`DIRAC_LOSSES` (static).
      gp_weight: ``gamma``, the R1 weight (may be traced).

    Returns:
      ``xi_fn((theta, psi)) -> (xi_theta, xi_psi)`` on scalars (or equally shaped arrays).

    Example:
      >>> J = game_jacobian(dirac_gan(), (jnp.zeros(()), jnp.zeros(())))
      >>> jacobian_eigenvalues(J)  # ~ [0.5j, -0.5j]
    """
    if loss not in DIRAC_LOSSES:
        raise ValueError(f"loss must be one of {DIRAC_LOSSES}, got {loss!r}")

    def xi_fn(params):
        theta, psi = params
        h = psi * theta
        if loss == "wasserstein":
            g, d = -psi, theta
        else:
            g = -psi * jax.nn.sigmoid(h if loss == "minimax" else -h)
            d = theta * jax.nn.sigmoid(h)
        return g, d + gp_weight * psi

    return xi_fn


def dirac_gan_eigenvalues(
    loss: str = "non-saturating", gp_weight: float | jax.Array = 0.0
) -> jax.Array:
    """Closed-form eigenvalues of the Dirac-GAN's ``J = d xi`` at its equilibrium ``(0, 0)``.

    ``J = [[0, -f'(0)], [f'(0), gamma]]`` has ``lambda^2 - gamma lambda + f'(0)^2 = 0``:

        lambda = gamma/2 +- sqrt(gamma^2/4 - f'(0)^2),

    ``+- i f'(0)`` (``+- i/2`` for the GAN losses, ``+- i`` for WGAN) without penalty, real for
    ``gamma >= 2 f'(0)``. This is the convention of the descended ``xi`` (real parts ``>= 0``:
    simultaneous descent converges locally for ``gamma > 0``); the paper's update field ``v = -xi``
    has ``-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)`` (Mescheder et al. 2018, Sec. 3.1 and 4.1).

    Returns:
      ``[2]`` complex: ``gamma/2 + sqrt(.)``, then ``gamma/2 - sqrt(.)``.
    """
    if loss not in DIRAC_LOSSES:
        raise ValueError(f"loss must be one of {DIRAC_LOSSES}, got {loss!r}")
    fp = _F_PRIME_0[loss]
    gamma = jnp.asarray(gp_weight)
    root = jnp.sqrt((gamma**2 / 4 - fp**2).astype(jnp.result_type(gamma, jnp.complex64)))
    return jnp.stack([gamma / 2 + root, gamma / 2 - root])


def bilinear_game(M: jax.Array) -> Callable:
    """The bilinear zero-sum game ``min_x max_y x^T M y``.

    ``L_x = x^T M y``, ``L_y = -x^T M y``, so ``xi(x, y) = (M y, -M^T x)`` and
    ``J = [[0, M], [-M^T, 0]]`` is antisymmetric: ``S = 0``, rotation index 1, eigenvalues
    ``+- i s_k`` for the singular values ``s_k`` of ``M`` (Balduzzi et al. 2018, Sec. 3).

    Args:
      M: ``[n, m]``.

    Returns:
      ``xi_fn((x [n], y [m])) -> (M y, -M^T x)``.
    """

    def xi_fn(params):
        x, y = params
        return M @ y, -(M.T @ x)

    return xi_fn


def potential_game(f: Callable) -> Callable:
    """The potential game in which every player minimises the same ``f``: ``xi = grad f``.

    ``J`` is the Hessian of ``f``, symmetric: ``A = 0``, rotation index 0 (Balduzzi et al. 2018,
    Sec. 3; Monderer & Shapley 1996).

    Args:
      f: ``params -> scalar`` on any pytree.

    Returns:
      ``xi_fn = jax.grad(f)``.
    """
    return jax.grad(f)


class GanGame(NamedTuple):
    """A GAN on one fixed batch, as a game.

    Attributes:
      xi: ``((g_params, d_params)) -> (grad_g L_G, grad_d L_D)``, the simultaneous gradient.
      generator_loss: ``(g_params, d_params) -> L_G``, minimised by the generator.
      critic_loss: ``(d_params, g_params) -> L_D``, minimised by the critic; it depends on
        ``g_params`` through the generated batch, so ``J``'s block ``d(grad_d L_D)/d g_params`` is
        the true one.
    """

    xi: Callable
    generator_loss: Callable
    critic_loss: Callable


def gan_game(trainer: Trainer, hparams: HParams, key: jax.Array, *, step=None, wrappers=()) -> GanGame:
    """The GAN that ``trainer`` trains, as a game on one fixed batch drawn from ``key``.

    ``xi`` is the engine's own field, ``Trainer.xi(params, hparams, key, step, wrappers)`` (remedies,
    penalties, packing, instance noise and spectral normalisation included), evaluated with the
    *same* ``key`` at every call, so that ``J = d xi`` is the Jacobian of one deterministic
    function. The key is deliberately reused, through ``jax.random.clone``. The losses are the
    ``Trainer``'s on the batches ``Trainer.xi`` gives each player (its key split ``(k_g, k_d)``), so
    ``xi = (grad_g generator_loss, grad_d critic_loss)``. Unrolled configurations
    (``Config.unroll > 0``) are not supported: their generator loss needs the critic's optimizer
    state.

    Args:
      trainer: from ``mcjax.systems.gan.engine.make_trainer(config)``.
      hparams: scalar hyperparameters (penalty weights etc. are read from them).
      key: the batch key (typed).
      step: training step (for annealed instance noise); default 0.
      wrappers: the wrapper states (``TrainState.wrappers``: e.g. spectral norm's power-iteration
        vectors) when the config uses wrappers.

    Returns:
      :class:`GanGame` ``(xi, generator_loss, critic_loss)``.

    Example:
      >>> trainer = make_trainer(cfg)
      >>> game = gan_game(trainer, hp, jax.random.key(0), step=state.step, wrappers=state.wrappers)
      >>> J = game_jacobian(game.xi, (state.g_params, state.d_params))
    """
    step = jnp.zeros((), jnp.int32) if step is None else step

    def xi(params):
        return trainer.xi(params, hparams, jax.random.clone(key), step, wrappers)

    def generator_loss(g_params, d_params):
        k_g, _ = jax.random.split(jax.random.clone(key))
        return trainer.generator_loss(g_params, d_params, hparams, k_g, step, wrappers)

    def critic_loss(d_params, g_params):
        _, k_d = jax.random.split(jax.random.clone(key))
        return trainer.critic_loss(d_params, g_params, hparams, k_d, step, wrappers)

    return GanGame(xi=xi, generator_loss=generator_loss, critic_loss=critic_loss)
