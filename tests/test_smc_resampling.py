"""Resampling schemes against their closed forms, and neutral particle drift against Wright-Fisher."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import ConfigError
from mcjax.analysis.across_fields import closed_forms, compare, fixation_cdf
from mcjax.systems.smc import resampling as R
from mcjax.systems.smc.drift import neutral_drift

RUNS = 4000


def _counts(scheme, weights, runs=RUNS, seed=0):
    keys = jax.random.split(jax.random.key(seed), runs)
    idx = jax.vmap(lambda k: R.resample(scheme, k, weights))(keys)
    return np.asarray(jax.vmap(lambda i: jnp.bincount(i, length=weights.shape[0]))(idx))


@pytest.mark.parametrize("scheme", sorted(R.SCHEMES))
def test_every_scheme_is_unbiased(scheme):
    w = jnp.asarray([0.05, 0.15, 0.3, 0.1, 0.4])
    c = _counts(scheme, w)
    se = c.std(0, ddof=1) / np.sqrt(RUNS) + 1e-3  # + 1e-3: a scheme with 0 variance in a count
    assert np.all(np.abs(c.mean(0) - 5 * np.asarray(w)) < 4.5 * se)  # 4.5 SE: 5 counts x 4 schemes
    assert np.all(c.sum(1) == 5)


@pytest.mark.parametrize("scheme", ["systematic", "residual"])
def test_low_variance_schemes_give_floor_or_ceil_copies(scheme):
    """Systematic (= stochastic universal sampling) and residual: at least floor(N w_i) copies;
    systematic also at most ceil(N w_i)."""
    w = np.asarray([0.05, 0.15, 0.3, 0.1, 0.4])
    c = _counts(scheme, jnp.asarray(w), runs=500)
    assert np.all(c >= np.floor(5 * w))
    if scheme == "systematic":
        assert np.all(c <= np.ceil(5 * w))


def test_equal_weights_multinomial_keeps_the_expected_distinct_particles_others_keep_all():
    n = 50
    eq = jnp.ones(n)
    distinct = {s: (_counts(s, eq, runs=2000) > 0).sum(1) for s in R.SCHEMES}
    want = n * (1 - (1 - 1 / n) ** n)  # 31.79
    d = distinct["multinomial"]
    assert abs(d.mean() - want) < 4.5 * d.std(ddof=1) / np.sqrt(d.size)  # 4.5 SE
    for s in ("systematic", "stratified", "residual"):
        assert np.all(distinct[s] == n)


def test_neutral_multinomial_drift_matches_wright_fisher_closed_forms():
    """H_t = H_0 (1 - 1/N)^t and the exact fixation-time distribution (N = 20, K = 5)."""
    steps, h, fix = neutral_drift((4, 4, 4, 4, 4), 120, 1500)
    exact = closed_forms(20, (4, 4, 4, 4, 4), 120)
    c = compare(steps, h, fix, exact)
    assert c.h_max_z < 4.5  # 4.5 SE over the generations at which half the runs are unfixed
    assert c.ks < c.ks_crit * 1.2  # the 5 % Kolmogorov bound, x1.2 for the discreteness of T
    assert abs(c.mean_fixation - exact.mean_fixation) < 4.5 * c.mean_fixation_se


def test_low_variance_resampling_never_drifts():
    _, h, fix = neutral_drift((4, 4, 4, 4, 4), 30, 50, scheme="systematic")
    assert np.allclose(h, 0.8) and np.all(fix == -1)


def test_fixation_cdf_is_the_two_type_chain_summed():
    """Two types of N/2: P(T <= t) is both absorptions of the (N+1)-state chain; by symmetry
    each type's share of it is one half, and the limit is 1."""
    cdf = fixation_cdf(10, (5, 5), 400)
    assert cdf[0] == 0 and np.all(np.diff(cdf) >= -1e-12) and abs(cdf[-1] - 1) < 1e-9
    one = fixation_cdf(10, (10, 0), 3)
    assert np.allclose(one, 1.0)  # already fixed


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(ConfigError, match="allowed: multinomial, systematic, stratified, residual"):
        neutral_drift((2, 2), 5, 2, scheme="roulette")
    with pytest.raises(ConfigError, match="sum to the population"):
        fixation_cdf(10, (4, 4), 5)
    with pytest.raises(ConfigError, match="at least 2 types"):
        neutral_drift((4,), 5, 2)
