r"""The generator's pull toward a mode it misses, as a function of distance: closed forms for two
point masses and the measured pull of a trained critic (issue 17, study 2).

Setting: the generator sits at :math:`x_g` (a point mass, or a line segment), the data at
:math:`x_r` (the missed mode), :math:`d = \|x_r - x_g\|`. The *pull* is the component of
:math:`-\nabla_{x} \ell(x)` at a generated point along :math:`(x_r - x_g) / d`, for the
generator's per-sample loss :math:`\ell`: positive means the generator is pushed toward the missed
mode. With critic logit :math:`f` and :math:`D = \sigma(f)`:

* minimax (saturating) :math:`\ell = \log(1 - D) = -\operatorname{softplus}(f)`: pull
  :math:`\sigma(f)\,\partial_n f`;
* non-saturating :math:`\ell = -\log D = \operatorname{softplus}(-f)`: pull
  :math:`\sigma(-f)\,\partial_n f`;
* Wasserstein :math:`\ell = -f`: pull :math:`\partial_n f`.

Closed forms (:func:`two_point_pull`), on the line through the two points:

* **Optimal Jensen-Shannon critic** :math:`D^* = p_r / (p_r + p_g)`: with disjoint supports
  :math:`D^*` is 0 on a neighbourhood of :math:`x_g`, so the pull is **0** for every ``d > 0``
  (Arjovsky & Bottou 2017, Thm. 2.4-2.5).
* **Wasserstein-1** (hard 1-Lipschitz critic): :math:`W_1 = d`, the optimal critic is linear of slope
  1 along the segment, the pull is **1** for every ``d``.
* **WGAN-GP of weight** :math:`w` (Gulrajani et al. 2017): the critic maximises
  :math:`f(x_r) - f(x_g) - w\,E_\epsilon(|f'(x_\epsilon)| - 1)^2` over the interpolates
  :math:`x_\epsilon`; since :math:`f(x_r) - f(x_g) = d\,E_\epsilon f'(x_\epsilon)`, the optimum
  is :math:`f' = 1 + d / (2w)` pointwise: the pull **grows** linearly with ``d``.
* **Logistic critic, linear logit** :math:`f(x) = a x + b` (:math:`x_g = 0`, :math:`x_r = d`) with an
  L2 penalty :math:`\tfrac{\lambda}{2} a^2` (a critic of bounded strength): the optimum has
  :math:`b = -s`, :math:`a = 2s/d`, with :math:`s > 0` the root of :math:`s = \tfrac{d^2}{2\lambda}
  \sigma(-s)`. Minimax pull :math:`\sigma(-s)\,2s/d = 4\lambda s^2/d^3`, non-saturating pull
  :math:`\sigma(s)\,2s/d`. For large ``d``, :math:`s \approx 2 \ln d`: the minimax pull decays as
  :math:`(\ln d)^2/d^3`, the non-saturating one as :math:`\ln d / d`; both vanish, at very different
  rates. For small ``d`` both grow as :math:`d/(4\lambda)`.

:func:`critic_pull` measures the pull with a trained MLP critic (the engine's
:func:`~mcjax.systems.gan.nets.critic`) between two parallel line segments at distance ``d``,
vmapped over distances and seeds.

References:
  Arjovsky & Bottou 2017, "Towards principled methods for training GANs", Sec. 2;
  Arjovsky et al. 2017 (WGAN); Gulrajani et al. 2017 (WGAN-GP), Eq. 3.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mcjax._validation import ConfigError, check_choice, check_positive, check_positive_int

__all__ = ["CLOSED_FORMS", "two_point_pull", "logistic_margin", "PullScan", "critic_pull"]

CLOSED_FORMS = ("optimal-js", "wasserstein-1", "wgan-gp", "minimax-l2", "non-saturating-l2")
CRITICS = {"js": ("minimax", "non-saturating"), "wgan-gp": ("wasserstein",)}


def logistic_margin(d: np.ndarray, lam: float) -> np.ndarray:
    r"""The root :math:`s > 0` of :math:`s = \tfrac{d^2}{2\lambda}\sigma(-s)` (bisection to float64
    precision), the logit margin of the L2-penalised linear logistic critic; 0 where ``d == 0``.

    Example:
      >>> d, lam = np.array([1.0, 10.0]), 0.1
      >>> s = logistic_margin(d, lam)
      >>> np.allclose(s, d**2 / (2 * lam) / (1 + np.exp(s)))
      True
    """
    d = np.asarray(d, np.float64)
    rhs = d**2 / (2.0 * lam)
    lo, hi = np.zeros_like(d), rhs / 2.0  # g(s) = s - rhs sigma(-s): g(0) <= 0, g(rhs / 2) >= 0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = mid < rhs * np.exp(-np.logaddexp(0.0, mid))  # rhs sigma(-mid), no overflow
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def two_point_pull(d: np.ndarray, form: str, weight: float = 10.0) -> np.ndarray:
    """The pull toward the missed point mass at distance ``d`` for a closed form of
    :data:`CLOSED_FORMS` (module docstring); ``weight`` is the GP weight :math:`w` for
    ``wgan-gp`` and the L2 weight :math:`\\lambda` for the logistic forms.

    Example:
      >>> two_point_pull(np.array([1.0, 4.0]), "wgan-gp", 10.0).tolist()
      [1.05, 1.2]
    """
    check_choice("closed form", form, CLOSED_FORMS)
    check_positive("weight", weight)
    d = np.asarray(d, np.float64)
    if form == "optimal-js":
        return np.zeros_like(d)
    if form == "wasserstein-1":
        return np.ones_like(d)
    if form == "wgan-gp":
        return 1.0 + d / (2.0 * weight)
    s = logistic_margin(d, weight)
    slope = np.where(d > 0, 2.0 * s / np.where(d > 0, d, 1.0), 0.0)
    sign = -1.0 if form == "minimax-l2" else 1.0
    return slope * np.exp(-np.logaddexp(0.0, -sign * s))


class PullScan(NamedTuple):
    """Measured pulls of :func:`critic_pull`.

    Attributes:
      distances: ``[D]``.
      steps: ``[R]`` critic steps at each record.
      pull: objective name -> ``[D, S, R]`` mean pull over the generated points (per distance,
        seed, record).
      critic_loss: ``[D, S, R]`` the critic's training loss at each record (one batch).
    """

    distances: np.ndarray
    steps: np.ndarray
    pull: dict
    critic_loss: np.ndarray


def _segment(key: jax.Array, x0: jax.Array, n: int, length: float, std: float) -> jax.Array:
    k_u, k_n = jax.random.split(key)
    u = jax.random.uniform(k_u, (n,), minval=-length / 2, maxval=length / 2)
    return jnp.stack([jnp.full((n,), x0), u], axis=1) + std * jax.random.normal(k_n, (n, 2))


def critic_pull(distances: Sequence[float], seeds: Sequence[int], critic: str = "js", *,
                steps: int = 2000, record_every: int = 100, width: int = 64, depth: int = 2,
                lr: float = 1e-3, batch: int = 128, length: float = 2.0, std: float = 0.02,
                gp_weight: float = 10.0, n_eval: int = 256) -> PullScan:
    """Trains a critic between a generator stuck on the segment at ``x = 0`` and the data on the
    parallel segment at ``x = d`` (both vertical, ``length`` long, noise ``std``), and records the
    generator's pull toward the data every ``record_every`` critic steps.

    Args:
      distances: ``d`` values (each > 0).
      seeds: critic initialisations and batches.
      critic: ``"js"`` (the GAN critic loss; pulls of ``minimax`` and ``non-saturating``) or
        ``"wgan-gp"`` (Wasserstein loss plus ``gp_weight`` times the gradient penalty; pull of
        ``wasserstein``).
      steps, record_every: critic steps and the interval between records (must divide).
      width, depth: the MLP critic's hidden layers (``mcjax.systems.gan.nets.critic``, ReLU).
      lr: Adam step size (betas 0.5, 0.999, the engine's).
      batch: real and generated points per step.
      n_eval: fixed generated points the pull is averaged over.

    Returns:
      :class:`PullScan`; the whole grid of ``len(distances) * len(seeds)`` critics is one
      ``jax.vmap``-ed ``lax.scan``.
    """
    from mcjax.systems.gan import losses, nets

    check_choice("critic", critic, CRITICS)
    for name, v in (("steps", steps), ("record_every", record_every), ("width", width),
                    ("depth", depth), ("batch", batch), ("n_eval", n_eval)):
        check_positive_int(name, v)
    if steps % record_every:
        raise ConfigError(f"record_every={record_every} must divide steps={steps}")
    if not len(distances) or min(distances) <= 0 or not len(seeds):
        raise ConfigError(f"need positive distances and at least one seed, got {list(distances)}, "
                          f"{list(seeds)}")
    net = nets.critic(width, depth)
    tx = optax.adam(lr, b1=0.5, b2=0.999)
    objectives = CRITICS[critic]

    def f(params, x):
        return net.apply(params, x)[0]

    def loss(params, d, key):
        k_r, k_f, k_gp = jax.random.split(key, 3)
        real = _segment(k_r, d, batch, length, std)
        fake = _segment(k_f, 0.0, batch, length, std)
        fr, ff = f(params, real), f(params, fake)
        if critic == "js":
            return losses.minimax_critic(fr, ff)
        gp = losses.gradient_penalty(lambda x: f(params, x), real, fake, k_gp)
        return losses.wasserstein_critic(fr, ff) + gp_weight * gp

    per_sample = {"minimax": lambda v: -jax.nn.softplus(v),
                  "non-saturating": lambda v: jax.nn.softplus(-v), "wasserstein": lambda v: -v}

    def pulls(params, x_eval):
        out = {}
        for name in objectives:
            g = jax.grad(lambda x: jnp.sum(per_sample[name](f(params, x))))(x_eval)
            out[name] = -jnp.mean(g[:, 0])
        return out

    def one(d, seed):
        key = jax.random.key(seed)
        k_init, k_train, k_eval = jax.random.split(key, 3)
        params = net.init(k_init, jnp.zeros((2, 2), jnp.float32))
        x_eval = _segment(k_eval, 0.0, n_eval, length, std)

        def step(carry, i):
            params, opt = carry
            value, g = jax.value_and_grad(loss)(params, d, jax.random.fold_in(k_train, i))
            upd, opt = tx.update(g, opt, params)
            return (optax.apply_updates(params, upd), opt), value

        def record(carry, r):
            carry, values = jax.lax.scan(step, carry, r * record_every + jnp.arange(record_every))
            return carry, (pulls(carry[0], x_eval), values[-1])

        _, (p, lv) = jax.lax.scan(record, (params, tx.init(params)), jnp.arange(steps // record_every))
        return p, lv

    d_arr = jnp.asarray(np.asarray(distances, np.float32))
    s_arr = jnp.asarray(np.asarray(seeds, np.uint32))
    grid = jax.vmap(jax.vmap(one, (None, 0)), (0, None))
    p, lv = jax.jit(grid)(d_arr, s_arr)
    return PullScan(np.asarray(distances, np.float64),
                    record_every * np.arange(1, steps // record_every + 1),
                    {k: np.asarray(v) for k, v in p.items()}, np.asarray(lv))
