"""Measurements that the mechanisms of mode collapse point to, per run (issue 14).

* **Mode flux** (the "no force toward the missing modes" mechanism): how the generator's soft
  occupancy of each mode changes, to first order, under the generator's actual next update.
* **Critic field**: how strongly the critic's input gradient pulls at real and at generated points,
  and whether the generator's force on its samples points toward modes it does not cover.
* **Generator stretch**: the norm of ``dG/dz``, how much the generator stretches latent space (the
  bridges between modes a continuous generator must draw).
* **Mode hopping**: how often the dominant mode changes along training, and how long each stays.

All are pure functions of pytrees and arrays; the JAX ones are jittable and vmappable over runs.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["soft_occupancy", "mode_flux", "critic_field", "CriticField",
           "force_field", "ForceField", "generator_stretch",
           "GeneratorStretch", "mode_hopping", "ModeHopping"]


def soft_occupancy(samples: jax.Array, means: jax.Array, scale: float | jax.Array) -> jax.Array:
    """Soft share of ``samples [n, D]`` at each of the ``K`` modes ``means [K, D]``.

    ``o_k = (1/n) sum_i softmax_k(-||x_i - mu_k||^2 / (2 scale^2))``: a differentiable version of
    the mode histogram (each sample's responsibilities under equal isotropic Gaussians of std
    ``scale``); ``sum_k o_k = 1``. Returns ``[K]``.
    """
    d2 = jnp.sum((samples[:, None, :] - means[None, :, :]) ** 2, axis=-1)
    return jnp.mean(jax.nn.softmax(-d2 / (2.0 * scale**2), axis=1), axis=0)


def mode_flux(generate: Callable, g_params: Any, update: Any, z: jax.Array, means: jax.Array,
              scale: float | jax.Array) -> jax.Array:
    """First-order change of each mode's soft occupancy under the generator update ``update``.

    ``flux_k = d/dt o_k(G_{theta + t u}(z)) at t = 0 = J_theta o_k . u``, a ``jax.jvp`` of
    :func:`soft_occupancy` through the generator along ``u`` = the optimizer's actual update of the
    generator's parameters (``optax``'s ``updates``, not the raw gradient). Positive: training is
    moving mass toward mode ``k``; a missing mode with flux ~0 has no force toward it.
    ``sum_k flux_k = 0``.

    Args:
      generate: ``(g_params, z) -> samples [n, D]``.
      g_params: the generator's parameters.
      update: a pytree like ``g_params``: the step ``theta_{t+1} - theta_t``.
      z: ``[n, L]`` latents.
      means: ``[K, D]`` mode centres; ``scale``: the soft assignment's width.

    Returns:
      ``[K]``.
    """
    occupancy = lambda p: soft_occupancy(generate(p, z), means, scale)
    return jax.jvp(occupancy, (g_params,), (update,))[1]


class CriticField(NamedTuple):
    """Summary of the critic's input gradient (see :func:`critic_field`)."""

    real_norm: jax.Array  # mean ||grad_x D|| at real samples
    fake_norm: jax.Array  # mean ||grad_x D|| at generated samples
    toward_uncovered: jax.Array  # share of generated samples pushed toward an uncovered mode


def critic_field(critic_fn: Callable, real: jax.Array, fake: jax.Array, means: jax.Array,
                 covered: jax.Array) -> CriticField:
    """The critic's input gradient at real and generated points, and where it pushes the generator.

    The generator's force on a sample ``x`` is ``f(x) = grad_x D(x)`` (it ascends the critic's
    logit, as the non-saturating loss does up to a positive factor). A sample is *pushed toward an
    uncovered mode* when ``cos(f(x), mu_k - x) > 0`` for some mode ``k`` with ``covered[k]`` False.

    Args:
      critic_fn: ``x [n, D] -> logits [n]``.
      real, fake: ``[n, D]`` batches.
      means: ``[K, D]``; covered: ``[K]`` bool, the modes the generator covers.
    """
    grad = jax.grad(lambda x: jnp.sum(critic_fn(x)))
    g_real, g_fake = grad(real), grad(fake)
    to_mode = means[None, :, :] - fake[:, None, :]  # [n, K, D]
    cos = jnp.sum(g_fake[:, None, :] * to_mode, axis=-1) / (
        jnp.linalg.norm(g_fake, axis=-1)[:, None] * jnp.linalg.norm(to_mode, axis=-1) + 1e-12)
    toward = jnp.any((cos > 0) & ~covered[None, :], axis=1)
    return CriticField(real_norm=jnp.mean(jnp.linalg.norm(g_real, axis=-1)),
                       fake_norm=jnp.mean(jnp.linalg.norm(g_fake, axis=-1)),
                       toward_uncovered=jnp.mean(toward.astype(jnp.float32)))


class ForceField(NamedTuple):
    """The critic's input gradient on a grid of the plane (see :func:`force_field`)."""

    x: np.ndarray  # [n] grid coordinates along the first axis
    y: np.ndarray  # [n] along the second
    force: np.ndarray  # [n, n, 2]: grad_x D at (x[j], y[i]), row i, column j


def force_field(critic_fn: Callable, lo: Sequence[float], hi: Sequence[float],
                n: int = 25) -> ForceField:
    """``grad_x D`` on an ``n x n`` grid of the box ``[lo, hi]`` of the plane: the force the critic
    puts on a generated sample at each point (the generator ascends ``D``; see
    :func:`critic_field`), for quiver figures. ``critic_fn``: ``x [m, 2] -> logits [m]``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    force = jax.grad(lambda x: jnp.sum(critic_fn(x)))(jnp.asarray(grid))
    return ForceField(xs, ys, np.asarray(force, np.float64).reshape(n, n, 2))


class GeneratorStretch(NamedTuple):
    """``||dG/dz||_F`` over the latents (see :func:`generator_stretch`)."""

    mean: jax.Array
    max: jax.Array


def generator_stretch(generate: Callable, g_params: Any, z: jax.Array) -> GeneratorStretch:
    """Mean and max over latents ``z [n, L]`` of the Frobenius norm of the generator's Jacobian
    ``dG/dz [D, L]`` at each ``z_i`` (``jax.jacfwd`` per latent, vmapped): how much the generator
    stretches latent space; large where it draws a thin bridge between two modes."""
    one = lambda zi: generate(g_params, zi[None, :])[0]
    jac = jax.vmap(jax.jacfwd(one))(z)  # [n, D, L]
    norms = jnp.sqrt(jnp.sum(jac**2, axis=(1, 2)))
    return GeneratorStretch(mean=jnp.mean(norms), max=jnp.max(norms))


class ModeHopping(NamedTuple):
    """The dominant mode along training (see :func:`mode_hopping`)."""

    changes: int  # times the dominant mode changed
    dwell: dict  # mode -> list of consecutive logged intervals it stayed dominant


def mode_hopping(counts: np.ndarray) -> ModeHopping:
    """Changes of the dominant mode along a run's logged mode counts ``[T, K]`` (e.g. the history's
    ``mode_counts``), and the dwell time of each dominance, in logged intervals. A step with no
    counted sample has no dominant mode and ends the current dwell (a change is counted between two
    different dominant modes, gaps skipped). Ties go to the lowest index (``argmax``)."""
    counts = np.asarray(counts)
    dominant = [int(np.argmax(c)) if c.sum() > 0 else None for c in counts]
    changes, dwell, last, run = 0, {}, None, None  # run: [mode, length] of the current dwell
    for d in dominant:
        if run is not None and run[0] != d:
            dwell.setdefault(run[0], []).append(run[1])
            run = None
        if d is None:
            continue
        changes += last is not None and d != last
        last = d
        run = [d, 1] if run is None else [d, run[1] + 1]
    if run is not None:
        dwell.setdefault(run[0], []).append(run[1])
    return ModeHopping(changes=int(changes), dwell=dwell)
