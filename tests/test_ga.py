"""The genetic-algorithm system against closed forms.

Each stochastic check averages many seeds run in one vmapped program and allows ``Z`` standard
errors of the Monte-Carlo mean (binomial or sample standard deviation / sqrt(seeds)).
"""
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax._validation import ConfigError
from mcjax.core.system import check_system
from mcjax.systems.ga.config import GAConfig, make_ga_hparams
from mcjax.systems.ga.engine import make_system, population_stats
from mcjax.systems.ga.landscapes import basin_edges, fitness, peak_index, peaks
from mcjax.systems.ga.niching import cleared_fitness, crowding, migrate, shared_fitness
from mcjax.systems.ga.operators import crossover, reflect, sus, tournament
from mcjax.systems.ga.theory import (heterozygosity_decay, peak_shares, sharing_equilibrium,
                                     sus_bounds, tournament_rank_probabilities)

Z = 4.5  # standard errors allowed: a correct engine fails one such check with probability < 1e-5
NEUTRAL = GAConfig(population=20, steps=200, log_every=20, init="peaks")  # roulette, no niching
SHARING = GAConfig(population=100, steps=200, log_every=100, landscape="uneven", niching="sharing",
                   selection="sus")


@functools.lru_cache(maxsize=None)
def _program(cfg: GAConfig, runs: int):
    system = make_system(cfg)
    train = lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)[1]
    hp = jax.tree.map(lambda v: jax.ShapeDtypeStruct((runs,), jnp.float32), cfg.default_hparams())
    return jax.jit(jax.vmap(train)).lower(hp, jax.ShapeDtypeStruct((runs,), jnp.uint32)).compile()


def simulate(cfg: GAConfig, runs: int, **hp):
    """History ``name -> [runs, n_logs, ...]`` (NumPy) of ``runs`` seeds of one setting."""
    stacked = jax.tree.map(lambda v: jnp.full((runs,), v), make_ga_hparams(cfg, **hp))
    return {k: np.asarray(v) for k, v in
            _program(cfg, runs)(stacked, jnp.arange(runs, dtype=jnp.uint32)).items()}


def test_landscapes_peaks_and_basins():
    pos, height = peaks("equal")
    np.testing.assert_allclose(pos, [0.1, 0.3, 0.5, 0.7, 0.9])
    # float32 sin at the analytic tops: exactly 1, so individuals there are equally fit
    np.testing.assert_array_equal(fitness("equal", jnp.asarray(pos, jnp.float32)), 1.0)
    pos, height = peaks("uneven")
    assert np.all(np.diff(height) < 0) and height[0] == pytest.approx(1.0, abs=1e-6)  # F3's global top
    np.testing.assert_allclose(fitness("uneven", np.asarray(basin_edges("uneven")), np), 0.0,
                               atol=1e-12)  # basins split at the zeros, exactly
    np.testing.assert_array_equal(peak_index("uneven", jnp.asarray(pos, jnp.float32)), np.arange(5))
    np.testing.assert_allclose(reflect(jnp.array([-0.25, 1.25, 2.5, 0.5])), [0.25, 0.75, 0.5, 0.5])


def test_contract_seeds_differ_and_chunks_equal_whole():
    cfg = GAConfig(population=12, islands=2, steps=4, log_every=2, niching="sharing")
    system, hp = make_system(cfg), make_ga_hparams(cfg, crossover=0.5)
    check_system(system, hp)
    advance = jax.jit(system.advance, static_argnums=2)
    s0 = system.init(hp, jax.random.key(0))
    whole, _ = advance(hp, s0, 2)
    half, _ = advance(hp, advance(hp, s0, 1)[0], 1)
    np.testing.assert_array_equal(whole.x, half.x)  # fold_in(key, t): chunking changes nothing
    other, _ = advance(hp, system.init(hp, jax.random.key(1)), 2)
    assert not np.array_equal(whole.x, other.x)


def test_neutral_roulette_is_wright_fisher_with_five_alleles():
    """All on equal peak tops, no mutation: roulette is neutral drift with the peaks as alleles."""
    runs, p0 = 2000, 0.4
    h = simulate(NEUTRAL, runs, mutation_rate=0.0, p0=p0)
    n = NEUTRAL.population
    shares = peak_shares(n, p0)  # 8 on peak 0, 3 on each other
    h0 = 1.0 - np.sum(shares**2)
    assert h["heterozygosity"][0, 0] < h0  # drift has started by the first log
    het = h["heterozygosity"]
    mean, se = het.mean(0), het.std(0, ddof=1) / np.sqrt(runs)
    exact = heterozygosity_decay(h0, n, h["step"][0])  # E H_t = H_0 (1 - 1/N)^t, exact
    # once E H_t < 0.01 nearly every run has fixed and the sample SE of the zeros understates the
    # error; the earlier logs (t <= 80) carry the test
    early = exact >= 0.01
    assert early.sum() >= 4
    assert np.all(np.abs(mean - exact)[early] <= Z * se[early] + 1e-6), (mean, exact, se)  # float32
    final = h["counts"][:, -1]
    assert np.all(final.max(-1) == n)  # (1 - 1/20)^200 H_0 = 3e-5: every run has fixed
    won = (final == n).mean(0)
    binom_se = np.sqrt(shares * (1 - shares) / runs)
    assert np.all(np.abs(won - shares) <= Z * binom_se), (won, shares)  # P(k fixes) = share_k


def test_sharing_niche_counts_approach_heights():
    """Goldberg & Richardson: shared fitness f_k / n_k equalises, so n_k / N -> f_k / sum f."""
    runs = 64
    h = simulate(SHARING, runs, mutation_rate=0.1, mutation_scale=0.002, sigma_share=0.1)
    frac = h["counts"][:, -1] / SHARING.population
    mean, se = frac.mean(0), frac.std(0, ddof=1) / np.sqrt(runs)
    ref = sharing_equilibrium(peaks("uneven")[1])  # 0.288 0.273 0.222 0.145 0.072
    # 1 / N: counts are integers, so n_k ∝ f_k holds only to within one individual
    assert np.all(np.abs(mean - ref) <= Z * se + 1 / SHARING.population), (mean, ref, se)
    assert np.abs(mean - 0.2).max() > 0.1  # far from the uniform split: the test can fail
    np.testing.assert_allclose(h["reverse_kl"][:, -1].mean(), 0.0, atol=0.02)  # KL to f_k / sum f


def test_sus_counts_are_floor_or_ceil_of_expectation():
    n, keys = 37, 300
    w = jax.random.uniform(jax.random.key(3), (n,)) ** 3
    idx = jax.jit(jax.vmap(lambda k: sus(k, w)))(jax.random.split(jax.random.key(4), keys))
    counts = np.asarray(jnp.sum(jax.nn.one_hot(idx, n), axis=1)).round().astype(int)
    lo, hi = sus_bounds(np.asarray(w))
    e = n * np.asarray(w, np.float64) / np.sum(np.asarray(w, np.float64))
    near_int = np.abs(e - np.round(e)) < 1e-4  # float32 wheel: a count 1 off only at a tie
    ok = (counts >= lo - near_int) & (counts <= hi + near_int)
    assert ok.all() and np.all(counts.sum(1) == n)
    frac = e - np.floor(e)  # a SUS count is floor(e) + Bernoulli(frac): its variance frac (1 - frac)
    se = np.sqrt(frac * (1 - frac) / keys)
    assert np.all(np.abs(counts.mean(0) - e) <= Z * se + 1e-3), "SUS is unbiased"  # 1e-3: float32


def test_tournament_rank_probabilities():
    n, k, keys = 10, 3, 4000
    w = jnp.linspace(1.0, 0.1, n)  # rank r = index r
    idx = jax.jit(jax.vmap(lambda kk: tournament(kk, w, k)))(jax.random.split(jax.random.key(5), keys))
    counts = np.asarray(jnp.sum(jax.nn.one_hot(idx, n), axis=1))  # per key: n draws
    p = tournament_rank_probabilities(n, k)  # ((n - r)^k - (n - r - 1)^k) / n^k
    se = np.sqrt(n * p * (1 - p) / keys)  # binomial counts of n independent slots
    assert np.all(np.abs(counts.mean(0) - n * p) <= Z * se + 1e-9), (counts.mean(0), n * p)


def test_clearing_keeps_capacity_winners_per_niche():
    x = (jnp.repeat(jnp.asarray(peaks("equal")[0], jnp.float32), 6)
         + 0.01 * jax.random.normal(jax.random.key(6), (30,)))  # five tight clusters of 6, 0.2 apart
    f = fitness("equal", x)
    clear = jax.jit(cleared_fitness)
    for cap in (1, 2, 3):
        c = clear(f, x, 0.1, float(cap))
        assert int(jnp.sum(c > 0)) == 5 * cap  # cap winners in each of the five niches
        for k in range(5):  # ... and they are each niche's cap fittest, with their own fitness
            fk, ck = np.asarray(f[6 * k:6 * k + 6]), np.asarray(c[6 * k:6 * k + 6])
            np.testing.assert_array_equal(ck > 0, fk >= np.sort(fk)[-cap])
            np.testing.assert_array_equal(ck[ck > 0], fk[ck > 0])
    xu = jax.random.uniform(jax.random.key(60), (60,))
    c = np.asarray(clear(fitness("equal", xu), xu, 0.07, 1.0))
    win = np.asarray(xu)[c > 0]
    d = np.abs(win[:, None] - win[None, :]) + np.eye(len(win))
    assert d.min() >= 0.07  # capacity 1: every winner dominates its own radius


def test_sharing_and_crowding_and_migration_sanity():
    x = jnp.array([0.1, 0.1, 0.1, 0.5])
    y = crossover(jax.random.key(2), x, 1.0)  # blend crossover conserves each pair's sum
    np.testing.assert_allclose(y[0::2] + y[1::2], x[0::2] + x[1::2], rtol=1e-6)  # float32
    np.testing.assert_array_equal(crossover(jax.random.key(2), x, 0.0), x)
    np.testing.assert_allclose(shared_fitness(jnp.ones(4), x, 0.1, 1.0), [1 / 3] * 3 + [1.0])
    fit = lambda v: fitness("equal", v)
    xs = jax.random.uniform(jax.random.key(7), (40,))
    dc = jax.jit(lambda k, v, rate, scale, pc: crowding(k, v, fit, rate, scale, pc))
    same = dc(jax.random.key(8), xs, 0.0, 0.01, 0.0)  # no variation: nothing changes
    np.testing.assert_array_equal(np.sort(same), np.sort(xs))
    total = [float(jnp.sum(fit(xs)))]
    for t in range(20):  # each slot keeps the fitter of parent and child: sum f never drops
        xs = dc(jax.random.key(9 + t), xs, 0.2, 0.05, 1.0)
        total.append(float(jnp.sum(fit(xs))))
    assert np.all(np.diff(total) >= -1e-5), total  # 1e-5: float32 sums of 40 values near 1
    isl = jnp.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    fi = jnp.array([[3.0, 1.0, 2.0], [1.0, 0.0, 5.0]])
    np.testing.assert_allclose(migrate(isl, fi, 1), [[0.1, 0.6, 0.3], [0.4, 0.1, 0.6]])  # moved, not computed


def test_stats_of_a_known_population():
    cfg = GAConfig()
    x = jnp.array([0.1, 0.1, 0.3, 0.3, 0.55, 0.71])  # peaks 0,0,1,1,2,3; 0.55 far from its top
    s = population_stats(cfg, x)
    np.testing.assert_array_equal(s["counts"], [2, 2, 1, 1, 0])
    p = np.array([2, 2, 1, 1]) / 6
    np.testing.assert_allclose([s["D0"], s["D2"]], [4, 1 / np.sum(p**2)], rtol=1e-6)
    np.testing.assert_allclose(s["reverse_kl"], np.sum(p * np.log(p * 5)), rtol=1e-5)
    assert int(s["peaks_found"]) == 2  # 0.71: f = 1 - 1.5e-2 > 1e-3 below the top; 0.55: f = 0.125
    assert float(s["peak_ratio"]) == pytest.approx(0.4)


@pytest.mark.parametrize("kwargs, expected", [
    ({"selection": "rank"}, "unknown selection 'rank'; allowed: roulette, sus, tournament"),
    ({"niching": "sharng"}, "unknown niching 'sharng' (did you mean 'sharing'?); allowed: none,"),
    ({"landscape": "flat"}, "unknown landscape 'flat'; allowed: equal, uneven"),
    ({"population": 10, "islands": 3}, "population=10 is split equally over islands=3"),
])
def test_bad_config_one_line(kwargs, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        GAConfig(**kwargs)
    with pytest.raises(ConfigError, match=r"mutation_rate must be a number in \[0, 1\], got 2.0"):
        make_ga_hparams(GAConfig(), mutation_rate=2)


GA = ["sweep", "--system", "ga", "--population", "10", "--generations", "10", "--log-every", "5",
      "--seeds", "2", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--selection", "rank"], "unknown selection 'rank'; allowed: roulette, sus, tournament"),
    (["--landscape", "flat"], "unknown landscape 'flat'; allowed: equal, uneven"),
    (["--remedy", "sharng"], "unknown remedy 'sharng' (did you mean 'sharing'?); allowed: none, "
                             "sharing, crowding, clearing, islands"),
    (["--remedy", "sharing:sigma=0"], "sigma_share must be a number in (0, inf), got 0.0"),
    (["--sweep", "islands=2,4"], "--sweep islands: islands is static"),
    (["--population", "30", "--islands", "4"], "population=30 is split equally over islands=4"),
    (["--arch", "mlp"], "--arch is an option of --system gan, not of --system ga"),
])
def test_bad_ga_input_exits_2_before_writing(args, expected, capsys, tmp_path):
    from mcjax.cli import main

    assert main([*GA, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one line
    assert not (tmp_path / "o").exists()


def test_ga_sweep_writes_table_with_hill_columns(tmp_path, capsys):
    """Peak tops, no mutation: the starting histogram (4, 2, 2, 1, 1) can only lose peaks."""
    from mcjax import SweepResult
    from mcjax.cli import main

    out = tmp_path / "ga"
    assert main([*GA, "--init", "peaks", "--remedy", "none:mutation_rate=0", "--remedy", "clearing",
                 "--sweep", "p0=0.4", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]]
             for line in table.splitlines() if " | " in line}
    assert cells["remedy"] == ["D0 peaks", "D1", "D2", "reverse KL", "peak ratio", "best f",
                               "one peak", "one-peak gen.", "diverged"]
    result = SweepResult.load(str(out))
    assert result.table() in table
    d0 = result["none:mutation_rate=0"].history["D0"]  # [settings, seeds, logs]
    assert d0.shape == (1, 2, 2) and np.all(d0 <= 5) and np.all(np.diff(d0, axis=-1) <= 0)
    assert np.all(result["clearing"].final("D0") >= 1)
    assert (out / "diversity.png").stat().st_size > 0 and (out / "summary.json").exists()
