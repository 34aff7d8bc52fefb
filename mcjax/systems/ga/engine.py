"""The genetic algorithm as a System: on each island, (niched) selection, crossover, mutation;
then ring migration between islands.

One generation of each of the ``M`` islands (``n = N / M`` points ``x`` of ``[0, 1]``,
fitness ``f = landscape(x)``):

1. **Niching** reshapes the fitness selection sees: ``w = f`` (``none``), ``f / m`` (``sharing``)
   or the cleared ``f`` (``clearing``); see :mod:`~mcjax.systems.ga.niching`.
2. **Selection** of ``n`` parents by ``roulette``, ``sus`` or ``tournament`` on ``w``
   (:mod:`~mcjax.systems.ga.operators`); SUS parents are shuffled so crossover pairs strangers.
3. **Crossover** of the pairs with probability ``crossover``, then **mutation**: each child moves
   by ``N(0, mutation_scale^2)`` with probability ``mutation_rate``, reflected into ``[0, 1]``.
   ``crowding`` replaces steps 1-3 by one generation of deterministic crowding.
4. **Migration** (``M > 1``) after every ``round(migration_every)``-th generation.

Measured on the pooled population (:func:`population_stats`): each individual belongs to the
peak whose basin holds it; the Hill numbers ``D_0, D_1, D_2`` of that peak histogram ``p``, its
reverse KL to the reference ``r`` (uniform on ``equal``, ``∝`` heights on ``uneven``),
``KL(p || r) = sum_k p_k log(p_k / r_k)``, the heterozygosity ``1 - sum p^2``, and the CEC
protocol: peak ``k`` is *found* when some individual in its basin has fitness at least
``height_k - eps``, and the peak ratio is the share of the five found. (The CEC 2013 protocol
counts global optima only: on ``uneven`` that is peak 0 alone; here every peak is scored against
its own height, which is what a niching method is for.)

With roulette, no niching, no mutation and every individual on an equal peak top, a generation is
exactly a neutral ``K = 5``-allele Wright-Fisher generation (the peaks are the alleles).

Keys: ``init`` splits the run's key once into the starting population's and the generations';
generation ``t`` draws with ``fold_in(key, t)``, so a run is the same advanced whole or in chunks.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.system import System
from mcjax.metrics.modes import hill_numbers
from mcjax.systems.ga.config import GAConfig, GAHParams
from mcjax.systems.ga.landscapes import N_PEAKS, fitness, peak_index, peaks
from mcjax.systems.ga.niching import cleared_fitness, crowding, migrate, shared_fitness
from mcjax.systems.ga.operators import crossover, mutate, select

__all__ = ["GAState", "make_system", "initial_population", "island_generation", "population_stats"]


class GAState(NamedTuple):
    """A run's population (a pytree; stacked over runs in a sweep).

    Attributes:
      x: ``[M, n]`` float32 points of ``[0, 1]``, one row per island.
      key: the generations' key; generation ``t`` draws with ``fold_in(key, t)``.
      step: generations done (int32).
      one_peak_step: the first generation after which the whole population sat in one basin, -1
        before (int32).
      diverged, diverged_step: a non-finite point froze the run.
    """

    x: jax.Array
    key: jax.Array
    step: jax.Array
    one_peak_step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def initial_population(config: GAConfig, hp: GAHParams, key: jax.Array) -> jax.Array:
    """``[M, n]``: ``U[0, 1]`` points, or (``init = "peaks"``) peak tops: the first
    ``round(n p0)`` of each island on peak 0, the others on peaks ``1, 2, 3, 4, 1, ...``."""
    m, n = config.islands, config.island_size
    if config.init == "uniform":
        return jax.random.uniform(key, (m, n))
    n0 = jnp.clip(jnp.round(n * hp.p0), 0, n)
    j = jnp.arange(n)
    which = jnp.where(j < n0, 0, 1 + jnp.mod(j - n0, N_PEAKS - 1).astype(jnp.int32))
    tops = jnp.asarray(peaks(config.landscape)[0], jnp.float32)
    return jnp.broadcast_to(tops[which], (m, n))


def island_generation(config: GAConfig, hp: GAHParams, key: jax.Array, x: jax.Array) -> jax.Array:
    """The next ``[n]`` points of one island (steps 1-3 of the module docstring)."""
    fit = lambda v: fitness(config.landscape, v)
    if config.niching == "crowding":
        return crowding(key, x, fit, hp.mutation_rate, hp.mutation_scale, hp.crossover)
    ks, kp, kc, km = jax.random.split(key, 4)
    f = fit(x)
    if config.niching == "sharing":
        f = shared_fitness(f, x, hp.sigma_share, hp.alpha)
    elif config.niching == "clearing":
        f = cleared_fitness(f, x, hp.clear_radius, hp.capacity)
    children = x[select(config.selection, ks, f, config.tournament_size)]
    if config.selection == "sus":
        children = jax.random.permutation(kp, children)
    children = crossover(kc, children, hp.crossover)
    return mutate(km, children, hp.mutation_rate, hp.mutation_scale)


def population_stats(config: GAConfig, x: jax.Array) -> dict[str, jax.Array]:
    """Diversity and CEC scores of the pooled population ``x [..., n]`` (module docstring).

    Returns:
      ``D0``, ``D1``, ``D2``, ``reverse_kl`` (nats), ``heterozygosity``, ``peaks_found``,
      ``peak_ratio``, ``best`` and ``mean_fitness`` (scalars), ``one_peak`` (bool) and
      ``counts [5]`` (individuals per basin).
    """
    x = x.reshape(-1)
    f = fitness(config.landscape, x)
    basin = jax.nn.one_hot(peak_index(config.landscape, x), N_PEAKS, dtype=jnp.float32)  # [N, 5]
    counts = jnp.sum(basin, axis=0)
    p = counts / x.shape[0]
    d = hill_numbers(counts)
    r = jnp.asarray(config.reference(), jnp.float32)
    kl = jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0) / r), 0.0))
    heights = jnp.asarray(peaks(config.landscape)[1], jnp.float32)
    top = jnp.max(jnp.where(basin > 0, f[:, None], -1.0), axis=0)
    found = jnp.sum(top >= heights - config.accuracy)
    return {"D0": d[0], "D1": d[1], "D2": d[2], "reverse_kl": jnp.maximum(kl, 0.0),
            "heterozygosity": 1.0 - jnp.sum(p * p), "peaks_found": found.astype(jnp.float32),
            "peak_ratio": found / N_PEAKS, "best": jnp.max(f), "mean_fitness": jnp.mean(f),
            "one_peak": d[0] == 1, "counts": counts}


def make_system(config: GAConfig) -> System:
    """The genetic algorithm of ``config`` as a :class:`~mcjax.core.system.System`.

    Example:
      >>> cfg = GAConfig(population=50, steps=20, log_every=10, niching="sharing")
      >>> system = make_system(cfg)
      >>> hp = make_ga_hparams(cfg, mutation_rate=0.1)
      >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
      >>> hist["D2"].shape
      (2,)
    """

    def init(hp: GAHParams, key: jax.Array) -> GAState:
        k_init, k_run = jax.random.split(key)
        x = initial_population(config, hp, k_init)
        one = population_stats(config, x)["one_peak"]
        return GAState(x=x, key=k_run, step=jnp.zeros((), jnp.int32),
                       one_peak_step=jnp.where(one, 0, -1).astype(jnp.int32),
                       diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32))

    def generation(hp: GAHParams, state: GAState) -> GAState:
        key = jax.random.fold_in(state.key, state.step)
        keys = jax.random.split(key, config.islands)
        x = jax.vmap(lambda k, xi: island_generation(config, hp, k, xi))(keys, state.x)
        if config.islands > 1:
            due = jnp.mod(state.step + 1, jnp.maximum(jnp.round(hp.migration_every), 1.0)) == 0
            x = jnp.where(due, migrate(x, fitness(config.landscape, x), config.migrants), x)
        ok = jnp.all(jnp.isfinite(x)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        x = jnp.where(ok, x, state.x)
        step = state.step + 1
        basin = peak_index(config.landscape, x.reshape(-1))
        one = jnp.all(basin == basin[0])
        return state._replace(
            x=x, step=step,
            one_peak_step=jnp.where(one & (state.one_peak_step < 0), step, state.one_peak_step),
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))

    def evaluate(state: GAState):
        stats = population_stats(config, state.x)
        stats["one_peak_gen"] = state.one_peak_step
        return stats, state.x.reshape(-1)

    def advance(hp: GAHParams, state: GAState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: generation(hp, s), state)
            stats, _ = evaluate(state)
            return state, dict(stats, step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
