"""The Wright-Fisher population as a System: selection, mutation, migration, then drift.

One generation of each of the ``D`` demes (``n = N / D`` haploid individuals, allele counts
``x_d [K]``, frequencies ``p_d = x_d / n``), in this order:

1. **Selection.** Haploid (default): allele ``i`` has fitness
   ``w_i = f_i (1 + s [i = 0]) exp(-c p_i)`` and ``p_i <- p_i w_i / sum_j p_j w_j``.
   Overdominance (``WFConfig.overdominance``): the individuals unite at random into diploids
   with genotype frequencies ``p_i p_j`` and fitnesses ``w_ij = f_i f_j (1 - h_i [i = j])``,
   ``h_0 = s``, ``h_i = t`` otherwise; the surviving genotypes give
   ``p_i <- p_i exp(-c p_i) sum_j p_j w_ij / wbar``. For ``K = 2`` its equilibrium is
   ``p* = t / (s + t)``.
2. **Mutation**, symmetric over ``K`` alleles: ``p_i <- (1 - mu) p_i + mu (1 - p_i) / (K - 1)``.
3. **Migration**, island model: ``p_d <- (1 - m) p_d + m pbar``, ``pbar`` the mean over demes.
4. **Drift.** ``x_d ~ Multinomial(n, p_d)``, or ``x_d = n p_d`` with ``sampling =
   "deterministic"``. Drawn as ``n`` categorical draws for ``n <= SMALL_DEME``, above as a
   binomial (``K = 2``) or ``K - 1`` conditional binomials (``jax.random.binomial``, ``O(K)``
   work whatever ``n``, so ``N = 10^6`` costs what ``N = 100`` does).

Measured on the pooled counts ``x = sum_d x_d`` (:func:`population_stats`): the Hill numbers
``D_0, D_1, D_2`` (alleles present, exp(entropy), inverse Simpson), the heterozygosity
``H = 1 - sum_i p_i^2`` (haploid: the chance that two individuals drawn with replacement differ),
the reverse KL ``KL(p || uniform) = log K - log D_1``, whether one allele is fixed (``D_0 = 1``)
and the first generation it was.

Keys: ``init`` keeps the run's key; generation ``t`` draws with ``fold_in(key, t)``, so a run is
the same whether advanced in one call or in chunks.

References:
  Ewens 2004, "Mathematical Population Genetics I", Ch. 1 and 3 (the haploid Wright-Fisher model,
  heterozygosity decay ``E H_t = H_0 (1 - 1/N)^t``); Kimura 1962, Genetics 47 (fixation
  probability); Wright 1931 (the island model); Hill 1973 (Hill numbers).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.system import System
from mcjax.metrics.modes import hill_numbers, kl_to_uniform
from mcjax.systems.wright_fisher.config import WFConfig, WFHParams

__all__ = ["WFState", "make_system", "population_stats", "next_frequencies", "initial_counts",
           "multinomial", "categorical_counts", "SMALL_DEME"]

SMALL_DEME = 64  # demes of up to this many individuals draw each one (categorical_counts)


class WFState(NamedTuple):
    """A run's population (a pytree; stacked over runs in a sweep).

    Attributes:
      counts: ``[D, K]`` float32 allele counts per deme (integers; each row sums to ``N / D``).
      key: the run's key; generation ``t`` samples with ``fold_in(key, t)``.
      step: generations done (int32).
      fixation_step: the first generation after which one allele held the whole population, -1
        before (int32).
      diverged, diverged_step: a non-finite frequency (all fitnesses 0) froze the run.
    """

    counts: jax.Array
    key: jax.Array
    step: jax.Array
    fixation_step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def initial_counts(config: WFConfig, p0: jax.Array) -> jax.Array:
    """``[D, K]``: ``round(n p0)`` copies of allele 0 in each deme, the other ``n - round(n p0)``
    split over alleles ``1..K-1`` as equally as integers allow (the first ones get the rest)."""
    n, k = config.deme_size, config.alleles
    n0 = jnp.clip(jnp.round(n * p0), 0, n)
    rest = n - n0
    base = jnp.floor(rest / (k - 1))
    extra = rest - base * (k - 1)
    others = base + (jnp.arange(k - 1) < extra).astype(jnp.float32)
    row = jnp.concatenate([n0[None], others]).astype(jnp.float32)
    return jnp.broadcast_to(row, (config.demes, k))


def _select(config: WFConfig, hp: WFHParams, p: jax.Array) -> jax.Array:
    """Frequencies ``[D, K]`` after selection (step 1 of the module docstring)."""
    k = config.alleles
    f = jnp.asarray(config.fitness or (1.0,) * k, jnp.float32)
    freq_dep = jnp.exp(-hp.c * p)
    is0 = jnp.arange(k) == 0
    if config.overdominance:
        h = jnp.where(is0, hp.s, hp.t)
        w = f[:, None] * f[None, :] * (1.0 - jnp.diag(h))  # [K, K] genotype fitnesses
        marginal = jnp.einsum("dj,ij->di", p, w)
        weighted = p * marginal * freq_dep
    else:
        weighted = p * (f * jnp.where(is0, 1.0 + hp.s, 1.0))[None, :] * freq_dep
    return weighted / jnp.sum(weighted, axis=-1, keepdims=True)


def next_frequencies(config: WFConfig, hp: WFHParams, counts: jax.Array) -> jax.Array:
    """``[D, K]`` frequencies the next generation is drawn from: selection, mutation and
    migration applied to ``counts [D, K]`` (steps 1-3 of the module docstring)."""
    k = config.alleles
    p = _select(config, hp, counts / config.deme_size)
    p = (1.0 - hp.mu) * p + hp.mu * (1.0 - p) / (k - 1)
    return (1.0 - hp.m) * p + hp.m * jnp.mean(p, axis=0, keepdims=True)


def multinomial(key: jax.Array, n: jax.Array, p: jax.Array) -> jax.Array:
    """``x ~ Multinomial(n, p)`` for ``p [K]`` as ``K - 1`` conditional binomials:
    ``x_i ~ Bin(n - sum_{j<i} x_j, p_i / sum_{j>=i} p_j)``, the last allele taking the rest
    (``jax.random.multinomial`` does the same, but trips JAX's key-reuse checker under ``vmap``)."""
    tails = jnp.cumsum(p[::-1])[::-1]
    q = jnp.where(tails > 0, p / jnp.where(tails > 0, tails, 1.0), 0.0)

    def body(left, iq):
        x = jax.random.binomial(jax.random.fold_in(key, iq[0]), left, jnp.clip(iq[1], 0.0, 1.0))
        return left - x, x

    last, xs = jax.lax.scan(body, n, (jnp.arange(p.shape[0] - 1), q[:-1]))
    return jnp.concatenate([xs, last[None]])


def categorical_counts(key: jax.Array, n: int, p: jax.Array) -> jax.Array:
    """``x ~ Multinomial(n, p)`` for ``p [K]`` as the allele counts of ``n`` individuals, each
    drawing one uniform ``u`` and taking the allele ``i`` with ``P_{i-1} <= u < P_i``
    (``P`` the cumulative of ``p``): ``O(n K)`` work, cheaper than rejection-sampled binomials
    for small ``n`` and quick to compile."""
    cum = jnp.cumsum(p) / jnp.sum(p)
    u = jax.random.uniform(key, (n,))
    allele = jnp.sum(u[:, None] >= cum[None, :-1], axis=1)
    return jnp.sum(jax.nn.one_hot(allele, p.shape[0], dtype=jnp.float32), axis=0)


def _draw(config: WFConfig, key: jax.Array, p: jax.Array) -> jax.Array:
    """Counts ``[D, K]`` of the next generation (step 4): one categorical draw per individual
    for demes of at most :data:`SMALL_DEME`, (conditional) binomials above."""
    n = jnp.float32(config.deme_size)
    if config.sampling == "deterministic":
        return n * p
    keys = jax.random.split(key, config.demes)
    if config.deme_size <= SMALL_DEME:
        return jax.vmap(lambda kk, q: categorical_counts(kk, config.deme_size, q))(keys, p)
    if config.alleles == 2:
        x0 = jax.vmap(lambda kk, q: jax.random.binomial(kk, n, q))(keys, jnp.clip(p[:, 0], 0.0, 1.0))
        return jnp.stack([x0, n - x0], axis=-1)
    return jax.vmap(lambda kk, q: multinomial(kk, n, q))(keys, p)


def population_stats(counts: jax.Array) -> dict[str, jax.Array]:
    """Diversity of allele counts ``[D, K]`` (pooled over demes); see the module docstring.

    Returns:
      ``D0``, ``D1``, ``D2`` (Hill numbers), ``heterozygosity`` (pooled, ``1 - sum p^2``),
      ``heterozygosity_within`` (the mean over demes of each deme's), ``reverse_kl`` (to
      uniform, nats), ``fixed`` (bool: ``D_0 = 1``) and ``freqs [K]`` (pooled frequencies).
    """
    pooled = jnp.sum(counts, axis=0)
    d = hill_numbers(pooled)
    p = pooled / jnp.sum(pooled)
    p_d = counts / jnp.sum(counts, axis=-1, keepdims=True)
    return {
        "D0": d[0], "D1": d[1], "D2": d[2],
        "heterozygosity": 1.0 - jnp.sum(p * p),
        "heterozygosity_within": jnp.mean(1.0 - jnp.sum(p_d * p_d, axis=-1)),
        "reverse_kl": jnp.maximum(kl_to_uniform(p), 0.0),
        "fixed": d[0] == 1,
        "freqs": p,
    }


def make_system(config: WFConfig) -> System:
    """The population of ``config`` as a :class:`~mcjax.core.system.System`.

    Example:
      >>> cfg = WFConfig(population=100, alleles=2, steps=50, log_every=10)
      >>> system = make_system(cfg)
      >>> hp = make_wf_hparams(cfg, s=0.05)
      >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
      >>> hist["D2"].shape
      (5,)
    """

    def init(hp: WFHParams, key: jax.Array) -> WFState:
        counts = initial_counts(config, hp.p0)
        fixed = jnp.sum(jnp.sum(counts, axis=0) > 0) == 1
        return WFState(counts=counts, key=key, step=jnp.zeros((), jnp.int32),
                       fixation_step=jnp.where(fixed, 0, -1).astype(jnp.int32),
                       diverged=jnp.zeros((), bool), diverged_step=jnp.full((), -1, jnp.int32))

    def generation(hp: WFHParams, state: WFState) -> WFState:
        p = next_frequencies(config, hp, state.counts)
        counts = _draw(config, jax.random.fold_in(state.key, state.step), p)
        ok = jnp.all(jnp.isfinite(p)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        counts = jnp.where(ok, counts, state.counts)
        step = state.step + 1
        fixed = jnp.sum(jnp.sum(counts, axis=0) > 0) == 1
        return state._replace(
            counts=counts, step=step,
            fixation_step=jnp.where(fixed & (state.fixation_step < 0), step, state.fixation_step),
            diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))

    def evaluate(state: WFState):
        stats = population_stats(state.counts)
        stats["fixation_gen"] = state.fixation_step
        return stats, jnp.sum(state.counts, axis=0)

    def advance(hp: WFHParams, state: WFState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: generation(hp, s), state)
            stats, _ = evaluate(state)
            return state, dict(stats, step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
