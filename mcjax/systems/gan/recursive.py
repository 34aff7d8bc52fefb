"""The GAN retrained on its own generator's samples, generation after generation (model collapse
under recursive training, Shumailov et al., Nature 2024; the Gaussian-mixture version is
``--system recursive``).

A *lineage* is a chain of GANs. Generation 0 trains on the true target. Generation ``g >= 1``
trains a fresh GAN (new initialisation) on an :class:`~mcjax.targets.empirical.EmpiricalTarget`:
``M`` points drawn from the lineage's own generation ``g - 1`` generator, resampled uniformly
with replacement, each training point replaced with probability ``alpha`` by a fresh true draw
(the real-data remedy). Every generator is measured against the true target (modes covered,
HQ share, reverse KL, Hill numbers ``D_1, D_2`` of its HQ mode histogram).

All lineages of all settings ``(M, alpha)`` run in one ``jax.vmap``: the data leaf is padded to
``M_max = max M`` rows with the traced ``size = M`` and ``alpha`` per lineage, so one program is
compiled (two: generation 0 runs once for ``R`` lineages) and called once per generation.
Lineage ``i``'s generation-0 GAN, and so its generation-1 data (the first ``M`` of the same
``M_max`` points), are the same in every setting: settings are compared on paired lineages.

Keys: lineage ``i`` has ``k_i = fold_in(key(seed), i)``; generation ``g`` trains with
``fold_in(k_i, g)``, split into the training key and the key of the data it hands on.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import ConfigError, check_positive_int
from mcjax.metrics.modes import hill_numbers
from mcjax.systems.gan.config import Config, HParams
from mcjax.targets.empirical import EmpiricalTarget

__all__ = ["RecursiveGANResult", "generation_step", "retrain_on_own_samples", "STATS"]

STATS = ("modes_covered", "hq_fraction", "reverse_kl", "D1", "D2", "data_modes")


class RecursiveGANResult(NamedTuple):
    """Per generation and lineage measurements.

    Attributes:
      stats: ``{name: [G + 1, S, R]}`` NumPy arrays (``STATS``; generation 0 first, ``S``
        settings, ``R`` lineages): the generator's ``modes_covered`` (of ``K``), ``hq_fraction``,
        ``reverse_kl``, ``D1``, ``D2`` (Hill numbers of its HQ mode histogram, measured on
        ``cfg.eval_samples`` points), and ``data_modes``: the true modes among the ``M`` points
        it hands to the next generation (HQ points only).
      samples: ``[S, M_max]`` of each setting's ``M``; ``alphas``: ``[S]``.
      last_data: ``[S, R, M_max, D]`` the data the last generation produced.
    """

    stats: dict
    samples: np.ndarray
    alphas: np.ndarray
    last_data: np.ndarray


def generation_step(cfg: Config, hp: HParams, truth: Any, m_max: int):
    """``(data [M_max, D], size, alpha, key) -> (stats dict, next_data [M_max, D])`` for one
    lineage: train a fresh GAN of ``cfg`` on ``EmpiricalTarget(data, size, alpha, truth)``,
    measure its generator against ``truth``, draw ``M_max`` points from it. Pure; vmap it."""
    from mcjax.metrics import mode_histogram, mode_stats
    from mcjax.systems.gan.engine import make_trainer

    def step(data, size, alpha, key):
        k_train, k_data = jax.random.split(key)
        target = EmpiricalTarget(data=data, size=size, alpha=alpha, truth=truth)
        trainer = make_trainer(cfg, target)
        state, _ = trainer.train(hp, k_train)
        stats, _ = trainer.evaluate(state)
        z = jax.random.normal(k_data, (m_max, cfg.latent_dim))
        nxt = trainer.generate(state.g_params, z).reshape((m_max,) + tuple(truth.event_shape))
        nxt = jnp.nan_to_num(nxt, nan=1e6, posinf=1e6, neginf=-1e6)  # a diverged run: no mode
        seen, _ = mode_histogram(nxt, truth, mask=jnp.arange(m_max) < size)
        d = hill_numbers(stats["mode_counts"], (1, 2))
        out = {"modes_covered": stats["modes_covered"].astype(jnp.float32),
               "hq_fraction": stats["hq_fraction"], "reverse_kl": stats["reverse_kl"],
               "D1": d[0], "D2": d[1], "data_modes": jnp.sum(seen > 0).astype(jnp.float32)}
        return out, nxt

    return step


def _check(generations, lineages, samples, alphas):
    check_positive_int("generations", generations)
    check_positive_int("lineages", lineages)
    if len(samples) != len(alphas) or not samples:
        raise ConfigError(f"need one alpha per sample size, got samples={list(samples)}, "
                          f"alphas={list(alphas)}")
    for m in samples:
        check_positive_int("samples per generation", m)
    for a in alphas:
        if not 0.0 <= float(a) <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {a!r}")


def retrain_on_own_samples(cfg: Config, hp: HParams, generations: int, lineages: int,
                           samples_per_gen: Sequence[int], alpha: Sequence[float],
                           truth: Any = None, seed: int = 0, progress=None) -> RecursiveGANResult:
    """``lineages`` independent lineages of ``generations`` retrainings after generation 0, for
    each setting ``(samples_per_gen[s], alpha[s])`` (see the module docstring).

    Args:
      cfg, hp: the GAN trained at every generation (one compiled program for all generations,
        settings and lineages).
      truth: the true target (``cfg.make_target()`` when ``None``).
      progress: optional ``(generation, stats) -> None`` called after each generation.

    Returns:
      a :class:`RecursiveGANResult`.
    """
    samples, alphas = [int(m) for m in samples_per_gen], [float(a) for a in alpha]
    _check(generations, lineages, samples, alphas)
    truth = cfg.make_target() if truth is None else truth
    S, R, m_max = len(samples), lineages, max(samples)
    step = generation_step(cfg, hp, truth, m_max)
    run = jax.jit(jax.vmap(step))
    base = jax.random.key(seed)
    lineage_keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.tile(jnp.arange(R), S))
    sizes = jnp.repeat(jnp.asarray(samples, jnp.int32), R)
    mix = jnp.repeat(jnp.asarray(alphas, jnp.float32), R)
    data = jnp.zeros((S * R, m_max) + tuple(truth.event_shape), jnp.float32)
    history = {k: [] for k in STATS}
    for g in range(generations + 1):
        keys = jax.vmap(lambda k: jax.random.fold_in(k, g))(lineage_keys)
        if g == 0:  # the true target, the same GANs in every setting: trained once, tiled
            ones = jnp.ones((R,), jnp.float32)
            stats, data = run(data[:R], sizes[:R], ones, keys[:R])
            stats = jax.tree.map(lambda v: jnp.tile(v, (S,) + (1,) * (v.ndim - 1)), stats)
            data = jnp.tile(data, (S,) + (1,) * (data.ndim - 1))
        else:
            stats, data = run(data, sizes, mix, keys)
        stats = {k: np.asarray(v).reshape(S, R) for k, v in stats.items()}
        for k in STATS:
            history[k].append(stats[k])
        if progress is not None:
            progress(g, stats)
    return RecursiveGANResult(stats={k: np.stack(v) for k, v in history.items()},
                              samples=np.asarray(samples), alphas=np.asarray(alphas),
                              last_data=np.asarray(data).reshape((S, R) + data.shape[1:]))
