"""The Wright-Fisher system against closed forms and exact Markov-chain computations.

Each stochastic check averages many seeds run in one vmapped program and allows ``Z`` standard
errors of the Monte-Carlo mean (the sample standard deviation over seeds / sqrt(seeds)).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax.core.system import check_system
from mcjax.systems.wright_fisher.config import WFConfig, make_wf_hparams, stack_wf_hparams
from mcjax.systems.wright_fisher.engine import SMALL_DEME, make_system, population_stats
from mcjax.systems.wright_fisher.theory import (fixation_probability as exact_fixation, fixed_by,
                                                island_heterozygosity, kimura_fixation as kimura,
                                                mutation_drift_homozygosity)

Z = 4.5  # standard errors allowed: a correct engine fails one such check with probability < 1e-5
# Shared programs (one compilation each; the forces' strengths are traced): two and four alleles
# drawn individual by individual (N <= SMALL_DEME), the binomial samplers of larger populations,
# and the expected-count recursion.
BINOMIAL = WFConfig(population=30, alleles=2, steps=100, log_every=20)
MULTINOMIAL = WFConfig(population=50, alleles=4, steps=100, log_every=25)
LARGE = WFConfig(population=200, alleles=3, steps=40, log_every=20)
DETERMINISTIC = WFConfig(population=1000, alleles=2, steps=600, log_every=20, sampling="deterministic")


@functools.lru_cache(maxsize=None)
def _program(cfg: WFConfig, runs: int):
    system = make_system(cfg)
    train = lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)
    hp = jax.tree.map(lambda v: jax.ShapeDtypeStruct((runs,), jnp.float32), cfg.default_hparams())
    seeds = jax.ShapeDtypeStruct((runs,), jnp.uint32)
    return jax.jit(jax.vmap(train)).lower(hp, seeds).compile()


def simulate(cfg: WFConfig, runs: int, **hp):
    """History ``name -> [runs, n_logs, ...]`` (NumPy) of ``runs`` seeds of one setting."""
    h = make_wf_hparams(cfg, **hp)
    stacked = jax.tree.map(lambda v: jnp.full((runs,), v), h)
    _, hist = _program(cfg, runs)(stacked, jnp.arange(runs, dtype=jnp.uint32))
    return {k: np.asarray(v) for k, v in hist.items()}


def _close(measured: np.ndarray, exact, name: str):
    """Mean over seeds (axis 0) within Z standard errors of ``exact``, at every logged step."""
    mean = measured.mean(axis=0)
    se = measured.std(axis=0, ddof=1) / np.sqrt(measured.shape[0])
    assert np.all(np.abs(mean - exact) <= Z * se + 1e-6), (name, mean, exact, se)  # 1e-6: float32


def test_contract_and_seeds_differ():
    cfg = WFConfig(population=20, alleles=3, demes=2, steps=4, log_every=2, overdominance=True)
    check_system(make_system(cfg), make_wf_hparams(cfg, mu=0.1, m=0.1))
    h = simulate(MULTINOMIAL, 2000, mu=0.1)
    assert not np.array_equal(h["freqs"][0], h["freqs"][1])  # each seed its own key
    np.testing.assert_array_equal(h["step"][0], [25, 50, 75, 100])
    np.testing.assert_allclose(h["freqs"].sum(-1), 1.0, rtol=1e-6)  # counts stay a population


@pytest.mark.parametrize("cfg", [BINOMIAL, MULTINOMIAL, LARGE], ids=["2", "4", "conditional-binomials"])
def test_heterozygosity_decays_as_one_minus_one_over_n(cfg):
    assert (cfg.population > SMALL_DEME) == (cfg is LARGE)  # both samplers are tested
    n, runs = cfg.population, {2: 6000, 4: 2000, 3: 1000}[cfg.alleles]
    h = simulate(cfg, runs)
    counts = np.asarray(make_system(cfg).init(make_wf_hparams(cfg), jax.random.key(0)).counts[0])
    h0 = 1.0 - np.sum((counts / n) ** 2)
    exact = h0 * (1.0 - 1.0 / n) ** h["step"][0]  # E H_t = H_0 (1 - 1/N)^t, haploid, exact
    _close(h["heterozygosity"], exact, "H_t")


def test_exact_fixation_against_kimura():
    exact = exact_fixation(100, 0.05)
    assert exact == pytest.approx(0.0936, abs=5e-5)  # REFERENCES.md: exact 0.0936 at N=100, s=0.05
    # Kimura's diffusion is an approximation: 1.7 % above the exact value here (loose by design)
    assert kimura(100, 0.05) / exact - 1 == pytest.approx(0.0173, abs=5e-4)
    assert exact_fixation(100, 0.0) == pytest.approx(1 / 100, rel=1e-9)  # neutral: 1/N, exactly


def test_fixation_probability_of_a_new_mutant():
    cfg, s, runs = BINOMIAL, 0.1, 6000
    n, t = cfg.population, cfg.steps
    exact = exact_fixation(n, s)
    h = simulate(cfg, runs, s=s, p0=1.0 / n)
    fixed_by_t = fixed_by(n, s, t)  # exact P(fixed by generation t)
    assert fixed_by_t > 0.98 * exact  # t is long enough that nearly every fixation has happened
    measured = (h["freqs"][:, -1, 0] == 1.0).astype(np.float64)
    _close(measured[:, None], np.array([fixed_by_t]), "fixation")
    # Kimura is 3.4 % above the exact value at N = 30, s = 0.1: allowed 5 % beside the noise
    assert abs(measured.mean() - kimura(n, s)) < Z * np.sqrt(exact * (1 - exact) / runs) + 0.05 * exact
    # the first fixation generation is recorded and consistent with the frequencies
    gen = h["fixation_gen"][:, -1]
    assert np.all((gen > 0) == h["fixed"][:, -1]) and np.all(gen <= t)


def test_deterministic_sweep_odds_grow_as_one_plus_s_to_the_t():
    s, p0 = 0.05, 0.01
    h = simulate(DETERMINISTIC, 3, s=s, p0=p0)
    first = h["step"][0] <= 200  # later, p is within float32 rounding of 1
    p = h["freqs"][0, first, 0].astype(np.float64)
    exact = (p0 / (1 - p0)) * (1 + s) ** h["step"][0][first]
    np.testing.assert_allclose(p / (1 - p), exact, rtol=2e-4)  # float32 rounding over 200 generations


@pytest.mark.parametrize("overdominance", [True, False])
def test_balancing_selection_equilibria(overdominance):
    """Overdominance: p* = t / (s + t); negative frequency dependence exp(-c p_i) with allele 0's
    fitness 1 + s: (1 + s) e^(-c p) = e^(-c (1 - p)), p* = 1/2 + log(1 + s) / (2 c)."""
    cfg = DETERMINISTIC.replace(overdominance=overdominance)
    if overdominance:
        pairs = [(0.1, 0.3), (0.2, 0.2), (0.3, 0.05)]
        settings = [make_wf_hparams(cfg, s=s, t=t, p0=0.1) for s, t in pairs]
        exact = [t / (s + t) for s, t in pairs]
    else:
        pairs = [(0.1, 2.0), (0.0, 1.0), (0.05, 0.5)]
        settings = [make_wf_hparams(cfg, s=s, c=c, p0=0.1) for s, c in pairs]
        exact = [0.5 + np.log1p(s) / (2 * c) for s, c in pairs]
    hp = stack_wf_hparams(settings)  # three settings in one program: traced, not recompiled
    _, hist = _program(cfg, 3)(hp, jnp.zeros(3, jnp.uint32))
    # float32 frequencies; 600 generations leave the geometric approach below 1e-5
    np.testing.assert_allclose(np.asarray(hist["freqs"])[:, -1, 0], exact, atol=2e-5)


def test_mutation_drift_heterozygosity_follows_the_exact_recursion():
    """Mutation to each of the K - 1 other alleles at rate mu / (K - 1), then drift: with
    lambda = 1 - mu K / (K - 1) the homozygosity F = sum p_i^2 obeys, in expectation, exactly
    F' = 1/N + (1 - 1/N) (lambda^2 F + (1 - lambda^2) / K), whose fixed point is
    F* = [1/N + (1 - 1/N)(1 - lambda^2)/K] / [1 - (1 - 1/N) lambda^2] (haploid; for K -> infinity
    and small mu F* ~ 1 / (1 + 2 N mu), the haploid form of the diploid 1 / (1 + 4 N mu))."""
    cfg, mu, runs = MULTINOMIAL, 0.04, 2000
    n, k = cfg.population, cfg.alleles
    h = simulate(cfg, runs, mu=mu, p0=1.0)  # all individuals start as allele 0
    lam2 = (1 - mu * k / (k - 1)) ** 2
    exact = 1 - mutation_drift_homozygosity(n, k, mu, cfg.steps)[cfg.log_every - 1::cfg.log_every]
    _close(h["heterozygosity"], exact, "H_t")
    f_star = (1 / n + (1 - 1 / n) * (1 - lam2) / k) / (1 - (1 - 1 / n) * lam2)
    assert exact[-1] == pytest.approx(1 - f_star, abs=1e-3)  # 100 generations: at the fixed point


def test_island_model_heterozygosity_follows_the_exact_recursion():
    """D demes of n: migration p_d <- (1 - m) p_d + m pbar, then independent multinomial draws.
    The matrix G_de = E[p_d . p_e] obeys exactly G' = M G M^T, then G'_dd <- 1/n + (1 - 1/n) G'_dd
    (M = (1 - m) I + m J / D); pooled H = 1 - mean(G), within-deme H = 1 - mean(diag G)."""
    demes, n_deme, m, runs = 4, 20, 0.02, 2000
    cfg = WFConfig(population=demes * n_deme, alleles=2, demes=demes, steps=60, log_every=20)
    h = simulate(cfg, runs, m=m, p0=0.5)
    exact = island_heterozygosity(demes, n_deme, m, cfg.steps, 0.5)  # p = (1/2, 1/2) everywhere
    pooled, within = exact[cfg.log_every - 1::cfg.log_every].T
    _close(h["heterozygosity"], pooled, "pooled H")
    _close(h["heterozygosity_within"], within, "within-deme H")
    assert within[-1] < 0.8 * pooled[-1]  # structure: demes lose diversity faster than the whole


def test_population_stats_against_numpy():
    counts = jnp.array([[3.0, 0.0, 1.0], [1.0, 0.0, 3.0]])
    st = jax.jit(population_stats)(counts)
    p = np.array([0.5, 0.0, 0.5])
    assert float(st["D0"]) == 2 and float(st["D2"]) == pytest.approx(2.0)
    assert float(st["heterozygosity"]) == pytest.approx(0.5)
    assert float(st["heterozygosity_within"]) == pytest.approx(1 - (0.75**2 + 0.25**2))
    assert float(st["reverse_kl"]) == pytest.approx(np.log(3) - np.log(2), rel=1e-6)
    np.testing.assert_allclose(np.asarray(st["freqs"]), p)
    assert not bool(st["fixed"]) and bool(jax.jit(population_stats)(jnp.array([[0.0, 4.0, 0.0]]))["fixed"])


def test_changing_rates_does_not_recompile():
    cfg = WFConfig(population=10, alleles=3, steps=2, log_every=1)
    program = jax.jit(jax.vmap(lambda h, s: make_system(cfg).init(h, jax.random.key(s)).counts))
    for mu in (0.0, 0.1, 0.2):
        hp = stack_wf_hparams([make_wf_hparams(cfg, mu=mu)])
        program(hp, jnp.zeros(1, jnp.uint32))
    assert program._cache_size() == 1  # hparams are traced values, not static


@pytest.mark.parametrize("kwargs, message", [
    (dict(population=10, demes=3), "multiple of it"),
    (dict(alleles=1), "alleles must be at least 2"),
    (dict(steps=10, log_every=3), "log_every=3 does not divide generations=10"),
    (dict(sampling="exact"), "unknown sampling 'exact'"),
    (dict(fitness=(1.0, 0.0)), "fitness must be 8 positive numbers"),
])
def test_bad_configs_are_named(kwargs, message):
    from mcjax._validation import ConfigError

    with pytest.raises(ConfigError, match=message):
        WFConfig(**kwargs)


@pytest.mark.parametrize("values, message", [
    (dict(mu=1.5), r"mu must be a number in \[0, 1\]"),
    (dict(s=-1.0), r"s must be a number in \(-1, inf\)"),
    (dict(t=1.0), r"t must be a number in \(-inf, 1\)"),
    (dict(rate=0.1), "unknown Wright-Fisher parameter 'rate'"),
])
def test_bad_rates_are_named(values, message):
    from mcjax._validation import ConfigError

    with pytest.raises(ConfigError, match=message):
        make_wf_hparams(WFConfig(), **values)


def test_theory_recursions_reduce_to_the_neutral_decay():
    """Without mutation, or with one deme, both recursions are H_0 (1 - 1/N)^t (exact)."""
    t = np.arange(1, 31)
    decay = 0.75 * (1 - 1 / 20) ** t
    np.testing.assert_allclose(1 - mutation_drift_homozygosity(20, 4, 0.0, 30, f0=0.25), decay, rtol=1e-12)
    np.testing.assert_allclose(island_heterozygosity(1, 20, 0.3, 30, 0.25)[:, 0], decay, rtol=1e-12)
    # full migration every generation: the demes are one population of D n drawn as D groups
    h = island_heterozygosity(4, 20, 1.0, 30, 0.25)[:, 0]
    np.testing.assert_allclose(h, 0.75 * (1 - 1 / 80) ** t, rtol=1e-12)
