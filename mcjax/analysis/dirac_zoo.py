"""The Dirac-GAN zoo: every update rule of mcjax on the two-parameter game, and its closed form.

The Dirac-GAN (Mescheder et al. 2018, Sec. 2.2; :func:`mcjax.analysis.games.dirac_gan`) has one
generator parameter ``theta`` (a point mass at ``theta``), one critic parameter ``psi``
(``D(x) = psi x``) and the data at 0. Near its equilibrium ``(0, 0)`` the descended field is linear,
``xi = J z`` with ``z = (theta, psi)`` and

    J = [[0, -a], [a, gamma]],   a = f'(0)  (1/2 for the GAN losses, 1 for WGAN),

``gamma`` the R1 weight. One step of an update rule with step size ``h`` is then a linear map, the
*update matrix* ``M``; the iterates converge when its spectral radius ``rho(M) < 1``, orbit when
``rho = 1`` and diverge when ``rho > 1``. ``mu = gamma/2 +- sqrt(gamma^2/4 - a^2)`` are the
eigenvalues of ``J``. Closed forms (each eigenvalue ``lambda`` of ``M``):

=================  ===========================================  ======================================
rule               update                                       eigenvalues of ``M``
=================  ===========================================  ======================================
simultaneous       ``z <- z - h J z``                           ``1 - h mu`` (gamma = 0: ``1 -+ i h a``)
alternating        critic step, then generator at new critic    ``t/2 +- sqrt(t^2/4 - d)``,
                                                                ``t = 2 - h^2 a^2 - h gamma``,
                                                                ``d = 1 - h gamma``
consensus          ``z <- z - h (I + c J^T) J z``               ``1 - h (c a^2 +- i a)`` (gamma = 0)
SGA                ``z <- z - h (I + l A^T) J z``               = consensus with ``c = l`` (gamma = 0:
                                                                ``J = A``, ``A^T J = J^T J``)
extragradient      ``z <- z - h J (I - h J) z``                 ``1 - h mu + h^2 mu^2``
optimistic         ``z <- z - h (2 J z_t - J z_{t-1})``          roots of ``l^2 - (1 - 2 h mu) l - h mu``
unrolled (k)       alternating; the generator descends          ``t/2 +- sqrt(t^2/4 - d)``,
                   ``L_G(theta, psi_k(theta))`` through k       ``t = 2 - (2k + 1) h^2 a^2``,
                   critic steps                                 ``d = 1 - 2 k h^2 a^2`` (gamma = 0)
=================  ===========================================  ======================================

Unrolled: ``psi_k = psi - k h a theta``, so ``d/dtheta [-a theta psi_k] = -a psi + 2 k h a^2
theta``: the look-ahead adds a damping ``2 k h a^2`` to the generator. Optimistic: ``M`` acts on
``(z_t, xi_{t-1})`` (4 eigenvalues, two per ``mu``).

The update matrix is *measured* by applying mcjax's own rule code
(:data:`mcjax.systems.gan.rules.RULES`: alternating, simultaneous, consensus, sga, extragradient,
optimistic) to a :class:`~mcjax.systems.gan.engine.Game` of the Dirac-GAN with plain SGD of step
``h`` for both players, and taking ``jax.jacobian`` of one step at ``(0, 0)``. The unrolled
generator loss is rebuilt here the way the engine builds it (a ``lax.scan`` of ``critic_update``
from the critic's optimizer state), since the engine's own lives inside ``make_game`` over MLPs.

References:
  Mescheder, Geiger & Nowozin 2018, Which training methods for GANs do actually converge?, Sec. 2-4.
  Mescheder, Nowozin & Geiger 2017 (consensus); Balduzzi et al. 2018 (SGA); Korpelevich 1976,
  Gidel et al. 2019 (extragradient); Daskalakis et al. 2018 (optimistic); Metz et al. 2017 (unrolled).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from mcjax._validation import ConfigError, check_choice, check_nonnegative, check_positive
from mcjax.analysis.games import DIRAC_LOSSES, dirac_gan_eigenvalues

__all__ = ["ZOO_RULES", "ZooSetting", "dirac_game", "zoo_step", "update_matrix",
           "closed_form_eigenvalues", "match_eigenvalues", "spectral_radius", "classify", "trajectories"]

ZOO_RULES = ("simultaneous", "alternating", "simultaneous+r1", "alternating+r1", "consensus", "sga",
             "extragradient", "optimistic", "unrolled")
# the mcjax rule (Config.update) each zoo rule runs
_MCJAX_RULE = {"simultaneous": "simultaneous", "alternating": "alternating",
               "simultaneous+r1": "simultaneous", "alternating+r1": "alternating",
               "consensus": "consensus", "sga": "sga", "extragradient": "extragradient",
               "optimistic": "optimistic", "unrolled": "alternating"}


class ZooSetting(NamedTuple):
    """The numbers of one zoo: step size, loss and each rule's own weight.

    Attributes:
      h: step size of both players (plain SGD).
      loss: one of :data:`mcjax.analysis.games.DIRAC_LOSSES`.
      r1: R1 weight ``gamma`` of the ``+r1`` rules (the others have none).
      consensus_gamma: ``c`` of consensus optimisation.
      sga_lambda: ``l`` of SGA.
      unroll: critic steps ``k`` the unrolled generator looks through.
    """

    h: float = 0.1
    loss: str = "non-saturating"
    r1: float = 0.3
    consensus_gamma: float = 1.0
    sga_lambda: float = 1.0
    unroll: int = 5

    def check(self) -> "ZooSetting":
        check_positive("h", self.h)
        check_choice("loss", self.loss, DIRAC_LOSSES)
        check_nonnegative("r1", self.r1)
        check_nonnegative("consensus_gamma", self.consensus_gamma)
        check_nonnegative("sga_lambda", self.sga_lambda)
        if isinstance(self.unroll, bool) or not isinstance(self.unroll, int) or self.unroll < 1:
            raise ConfigError(f"unroll must be a positive integer, got {self.unroll!r}")
        return self

    @property
    def f_prime_0(self) -> float:
        return float(np.imag(np.asarray(dirac_gan_eigenvalues(self.loss, 0.0))[0]))

    def gamma(self, rule: str) -> float:
        """The R1 weight ``rule`` trains with."""
        return float(self.r1) if rule.endswith("+r1") else 0.0


class _HP(NamedTuple):
    """The hyperparameters mcjax's rules read."""

    lr_g: Any
    lr_d: Any
    consensus_gamma: Any
    sga_lambda: Any


class _State(NamedTuple):
    """The part of ``TrainState`` the rules read."""

    g_params: Any
    d_params: Any
    g_opt: Any
    d_opt: Any
    step: Any


def _losses(loss: str) -> tuple[Callable, Callable]:
    """``(L_D(h), L_G(h))`` of the critic's score ``h = psi theta`` of the fake (see ``dirac_gan``)."""
    if loss == "wasserstein":
        return (lambda h: h), (lambda h: -h)
    critic = lambda h: jnp.log(2.0) + jax.nn.softplus(h)
    if loss == "minimax":
        return critic, (lambda h: -jax.nn.softplus(h))
    return critic, (lambda h: jax.nn.softplus(-h))


def _unused(*args, **kwargs):
    raise NotImplementedError("the Dirac-GAN has no sample batch; this Game field is not used")


def dirac_game(loss: str = "non-saturating", gp_weight: float = 0.0, unroll: int = 0):
    """The Dirac-GAN as a :class:`mcjax.systems.gan.engine.Game` that mcjax's rules can step.

    Both optimizers are ``optax.sgd(lr)`` of the hyperparameters' ``lr_g`` / ``lr_d``; the critic
    minimises ``L_D(psi theta) + gp_weight / 2 psi^2`` (R1), the generator ``L_G(psi_k theta)``
    with ``psi_k`` the critic after ``unroll`` of its own steps (differentiated through, Metz et
    al. 2017; ``psi_0 = psi``). Keys are accepted and ignored: the game is deterministic.

    Returns:
      A ``Game`` whose ``xi`` equals :func:`mcjax.analysis.games.dirac_gan` (``unroll = 0``).
    """
    from mcjax.systems.gan.engine import Game

    critic_h, generator_h = _losses(loss)

    def optimizers(hp):
        return optax.sgd(hp.lr_g), optax.sgd(hp.lr_d)

    def critic_loss(psi, theta, hp, key, step=0, wrappers=(), fake=None):
        return critic_h(psi * theta) + 0.5 * gp_weight * psi**2

    def critic_update(psi, d_opt, theta, hp, key, step, wrappers, d_tx, fake=None):
        value, grad = jax.value_and_grad(critic_loss)(psi, theta, hp, key)
        updates, d_opt = d_tx.update(grad, d_opt, psi)
        return optax.apply_updates(psi, updates), d_opt, value

    def generator_loss(theta, psi, hp, key, step=0, wrappers=(), d_opt=None):
        if unroll:
            _, d_tx = optimizers(hp)
            d_opt = d_tx.init(psi) if d_opt is None else d_opt

            def body(carry, _):
                d, o, _ = critic_update(*carry, theta, hp, key, step, wrappers, d_tx)
                return (d, o), None

            (psi, _), _ = jax.lax.scan(body, (psi, d_opt), None, length=unroll)
        return generator_h(psi * theta)

    def xi(params, hp, key, step=0, wrappers=(), d_opt=None):
        theta, psi = params
        return (jax.grad(generator_loss)(theta, psi, hp, key, step, wrappers, d_opt),
                jax.grad(critic_loss)(psi, theta, hp, key))

    return Game(critic_loss=critic_loss, generator_loss=generator_loss, generator_head=_unused,
                critic_update=critic_update, xi=xi, critic_z=_unused, generate=_unused,
                optimizers=optimizers, constrain=lambda d, hp: d, critic_logits=_unused)


def zoo_step(rule: str, setting: ZooSetting = ZooSetting()) -> tuple[Callable, Callable]:
    """One step of ``rule`` on the Dirac-GAN, through mcjax's own rule code.

    Args:
      rule: one of :data:`ZOO_RULES`.
      setting: the zoo's numbers.

    Returns:
      ``(init, step)``: ``init(theta, psi) -> carry`` and ``step(carry, key) -> carry``, where
      ``carry = (players, rule_state)`` and ``players`` has ``g_params = theta``,
      ``d_params = psi``.
    """
    from mcjax.systems.gan.rules import RULES, Players

    check_choice("rule", rule, ZOO_RULES)
    setting = setting.check()
    name = _MCJAX_RULE[rule]
    cfg = type("Cfg", (), dict(update=name, n_critic=1, reuse_fake=False))()
    (entry,) = [e for e in RULES if e.name == name]
    mc_rule = entry.build(cfg)
    game = dirac_game(setting.loss, setting.gamma(rule), setting.unroll if rule == "unrolled" else 0)
    hp = _HP(setting.h, setting.h, setting.consensus_gamma, setting.sga_lambda)
    g_tx, d_tx = game.optimizers(hp)

    def init(theta, psi):
        players = Players(theta, psi, g_tx.init(theta), d_tx.init(psi))
        return players, mc_rule.init(theta, psi)

    def step(carry, key):
        players, rule_state = carry
        state = _State(players.g_params, players.d_params, players.g_opt, players.d_opt,
                       jnp.zeros((), jnp.int32))
        players, rule_state, _, _ = mc_rule.step(game, hp, state, rule_state, key, ())
        return players, rule_state

    return init, step


def update_matrix(rule: str, setting: ZooSetting = ZooSetting()) -> np.ndarray:
    """``M = d(one step)/d(state)`` at the equilibrium, by ``jax.jacobian`` of mcjax's rule, in float64.

    The state is ``(theta, psi)`` plus the rule's own state (optimistic: last step's ``xi``), in
    ``ravel_pytree`` order.

    Returns:
      ``[n, n]`` float64, ``n = 2`` (4 for optimistic).
    """
    with jax.enable_x64(True):
        init, step = zoo_step(rule, setting)
        zero = jnp.zeros((), jnp.float64)
        flat, unravel = ravel_pytree(init(zero, zero))
        key = jax.random.key(0)
        M = jax.jit(jax.jacobian(lambda v: ravel_pytree(step(unravel(v), key))[0]))(flat)
        return np.asarray(M, np.float64)


def _quadratic_roots(t: complex, d: complex) -> np.ndarray:
    """Roots of ``l^2 - t l + d``."""
    r = np.sqrt(complex(t * t / 4 - d))
    return np.array([t / 2 + r, t / 2 - r])


def closed_form_eigenvalues(rule: str, setting: ZooSetting = ZooSetting()) -> np.ndarray:
    """The eigenvalues of ``rule``'s update matrix from the closed forms of the module docstring.

    Returns:
      complex128 ``[2]`` (``[4]`` for optimistic).
    """
    check_choice("rule", rule, ZOO_RULES)
    s = setting.check()
    h, a, g = float(s.h), s.f_prime_0, s.gamma(rule)
    root = np.sqrt(complex(g * g / 4 - a * a))
    mus = np.array([g / 2 + root, g / 2 - root])  # dirac_gan_eigenvalues, in float64
    if rule in ("simultaneous", "simultaneous+r1"):
        return 1 - h * mus
    if rule in ("alternating", "alternating+r1"):
        return _quadratic_roots(2 - h * h * a * a - h * g, 1 - h * g)
    if rule in ("consensus", "sga"):
        c = s.consensus_gamma if rule == "consensus" else s.sga_lambda
        return 1 - h * (c * a * a + np.array([1j, -1j]) * a)
    if rule == "extragradient":
        return 1 - h * mus + (h * mus) ** 2
    if rule == "optimistic":
        return np.concatenate([_quadratic_roots(1 - 2 * h * m, -h * m) for m in mus])
    k = s.unroll
    return _quadratic_roots(2 - (2 * k + 1) * h * h * a * a, 1 - 2 * k * h * h * a * a)


def match_eigenvalues(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``values`` reordered so that each lies nearest its counterpart in ``reference`` (greedy).

    Sorting is no use for comparing spectra: ``np.sort_complex`` orders ``0.5 - 1e-16 + 1j`` before
    ``0.5 - 1j``.
    """
    values, reference = np.asarray(values, np.complex128), np.asarray(reference, np.complex128)
    if values.shape != reference.shape:
        raise ValueError(f"{values.shape[0]} eigenvalues against {reference.shape[0]}")
    left, out = list(values), []
    for r in reference:
        i = int(np.argmin([abs(v - r) for v in left]))
        out.append(left.pop(i))
    return np.array(out)


def spectral_radius(eigenvalues: np.ndarray) -> float:
    """``max |lambda|``."""
    return float(np.max(np.abs(eigenvalues)))


def classify(rho: float, tol: float = 1e-9) -> str:
    """``"converges"`` (``rho < 1 - tol``), ``"orbits"`` (``|rho - 1| <= tol``) or ``"diverges"``."""
    if rho < 1 - tol:
        return "converges"
    return "orbits" if rho <= 1 + tol else "diverges"


def trajectories(rule: str, starts: np.ndarray, steps: int,
                 setting: ZooSetting = ZooSetting()) -> np.ndarray:
    """Iterates of ``rule`` on the (nonlinear) Dirac-GAN from each starting point.

    Args:
      rule: one of :data:`ZOO_RULES`.
      starts: ``[n, 2]`` starting ``(theta, psi)``.
      steps: number of steps.
      setting: the zoo's numbers.

    Returns:
      ``[n, steps + 1, 2]`` float64 (computed in float32, as training runs).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    starts = np.asarray(starts, np.float32)
    if starts.ndim != 2 or starts.shape[1] != 2:
        raise ConfigError(f"starts must have shape [n, 2], got {starts.shape}")
    init, step = zoo_step(rule, setting)

    def one(z0):
        def body(carry, i):
            carry = step(carry, jax.random.fold_in(jax.random.key(0), i))
            return carry, jnp.stack([carry[0].g_params, carry[0].d_params])

        _, path = jax.lax.scan(body, init(z0[0], z0[1]), jnp.arange(steps))
        return jnp.concatenate([z0[None], path])

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(starts)), np.float64)
