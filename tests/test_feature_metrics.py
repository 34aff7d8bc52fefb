"""Feature-space metrics: the Frechet distance against SciPy and closed forms, PRDC against a brute force."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from mcjax.metrics import PRDC, frechet_distance, frechet_distance_from_moments, prdc

_fd = jax.jit(frechet_distance)
_fd_moments = jax.jit(frechet_distance_from_moments)
_prdc = jax.jit(prdc, static_argnames=("k", "block_size"))

EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7


# ------------------------------------------------------------------------------ references


def _moments(x):
    x = np.asarray(x, np.float64)
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))  # unbiased (n - 1), as FID code


def _fd_scipy(x, y):
    """The FID formula of the reference implementations: sqrtm(C1 C2) in float64."""
    mu1, c1 = _moments(x)
    mu2, c2 = _moments(y)
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))


def _prdc_brute(real, fake, k, strict=False):
    """Naeem et al.'s definitions on the full float64 distance matrices (ties inside unless strict)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    inside = np.less if strict else np.less_equal

    def sq(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)

    def radii(x):
        d = sq(x, x)
        np.fill_diagonal(d, np.inf)  # the point itself is excluded; its duplicates are not
        return np.sort(d, axis=1)[:, k - 1]

    r_real, r_fake = radii(real), radii(fake)
    d = sq(real, fake)  # [N, M]
    in_real = inside(d, r_real[:, None])
    return np.array([
        in_real.any(0).mean(),
        inside(d, r_fake[None, :]).any(1).mean(),
        in_real.sum() / (k * fake.shape[0]),
        inside(d.min(1), r_real).mean(),
    ])


def _gaussian(rng, n, f, scale=1.0, shift=0.0):
    mix = rng.normal(size=(f, f)) / math.sqrt(f) + np.eye(f)  # full rank, moderately conditioned
    return rng.normal(size=(n, f)) @ (scale * mix) + shift


def _traces(x, y):
    return float(np.trace(_moments(x)[1]) + np.trace(_moments(y)[1]))


# ------------------------------------------------------------------------- Frechet distance


@pytest.mark.parametrize("f", [2, 8, 32])
def test_frechet_matches_scipy_float64(f):
    rng = np.random.default_rng(f)
    x = _gaussian(rng, 300, f)
    y = _gaussian(rng, 250, f, scale=1.5, shift=0.3)
    ref = _fd_scipy(x, y)
    with jax.enable_x64(True):
        d = float(_fd(x, y))
        dm = float(_fd_moments(*_moments(x), *_moments(y)))
    # float64 QR/eigh/SVD against SciPy's Schur sqrtm: both backward stable; measured <= 1e-14 of
    # the traces (tens of ulps), so 1e-13 of them.
    tol = 1e-13 * _traces(x, y)
    assert abs(d - ref) < tol and abs(dm - ref) < tol, (d, dm, ref)


@pytest.mark.parametrize("f", [2, 8, 32])
@pytest.mark.parametrize("offset, spread", [(5.0, 1.0), (1000.0, 0.01)], ids=["near", "far"])
def test_frechet_matches_scipy_float32(f, offset, spread):
    # "far": features 1e5 spreads from the origin, where float32 means carry rounding errors
    # larger than their difference (computed naively, d^2 was off by 1e3 ulps of the traces).
    rng = np.random.default_rng(f)
    x = _gaussian(rng, 300, f, scale=spread, shift=offset).astype(np.float32)
    y = _gaussian(rng, 250, f, scale=1.5 * spread, shift=offset + 0.3 * spread).astype(np.float32)
    ref = _fd_scipy(x, y)  # float64 on the same float32 data
    # d^2 subtracts 2 tr(...) from tr C1 + tr C2: the float32 floor is a few ulps of those traces
    # (measured < 1e-7 of them for F <= 128); 8 eps of the traces allows for that.
    tol = 8 * EPS32 * _traces(x, y)
    assert abs(float(_fd(x, y)) - ref) < tol
    mu1, c1 = _moments(x - offset)  # translated, so that float32 moments keep their digits
    mu2, c2 = _moments(y - offset)
    f32 = [np.asarray(v, np.float32) for v in (mu1, c1, mu2, c2)]
    assert abs(float(_fd_moments(*f32)) - ref) < tol  # full rank: moments are as accurate


def test_frechet_zero_covariance_is_closed_form():
    # A generator collapsed onto one point: C2 = 0, so d^2 = ||mu1 - mu2||^2 + tr C1 exactly.
    rng = np.random.default_rng(0)
    x = _gaussian(rng, 400, 8, shift=1.0)
    y = np.tile(rng.normal(size=(1, 8)), (300, 1))
    mu1, c1 = _moments(x)
    closed = float(np.sum((mu1 - y[0]) ** 2) + np.trace(c1))
    with jax.enable_x64(True):
        np.testing.assert_allclose(float(_fd(x, y)), closed, rtol=1e-13)  # float64 rounding
        d = _fd_moments(mu1, c1, y[0], np.zeros((8, 8)))
        np.testing.assert_allclose(float(d), closed, rtol=1e-13)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    mu1, c1 = _moments(x32)
    closed32 = float(np.sum((mu1 - y32[0].astype(np.float64)) ** 2) + np.trace(c1))
    d = _fd(x32, y32)
    assert np.isfinite(float(d))
    # float32 sums of 8 positive terms and the mean of 300 equal rows: a few ulps.
    np.testing.assert_allclose(float(d), closed32, rtol=1e-6)
    d = _fd_moments(*(np.asarray(v, np.float32) for v in (mu1, c1, y32[0], np.zeros((8, 8)))))
    np.testing.assert_allclose(float(d), closed32, rtol=1e-6)  # eigenvalue sum = trace, a few ulps


def _line_case(dtype):
    """Real: full-rank 3-D Gaussian. Fake: points on a line, ``b + t u``; C2 = s^2 u u^T (rank 1)."""
    rng = np.random.default_rng(5)
    x = _gaussian(rng, 400, 3, shift=0.5).astype(dtype)
    u = rng.normal(size=3)
    u /= np.linalg.norm(u)
    t = 0.7 * rng.normal(size=350)
    y = (t[:, None] * u[None, :] + np.array([0.2, -0.1, 0.4])).astype(dtype)
    mu1, c1 = _moments(x)
    s2 = np.var(t, ddof=1)
    # C1^(1/2) C2 C1^(1/2) = s^2 (C1^(1/2) u)(C1^(1/2) u)^T has the one eigenvalue s^2 u^T C1 u.
    closed = np.sum((mu1 - _moments(y)[0]) ** 2) + np.trace(c1) + s2 - 2 * math.sqrt(s2 * u @ c1 @ u)
    return x, y, float(closed)


def test_frechet_rank_one_fake_is_closed_form():
    x, y, closed = _line_case(np.float64)
    with jax.enable_x64(True):
        # From samples: QR + SVD are backward stable and Lipschitz in the data (measured 2e-16).
        np.testing.assert_allclose(float(_fd(x, y)), closed, rtol=1e-13)
        # From moments, C2 is singular up to round-off and d^2 is Hoelder-1/2 in C2 there: the
        # error is of order sqrt(eps64) = 1.5e-8 relative (measured 3e-9), not eps64.
        np.testing.assert_allclose(float(_fd_moments(*_moments(x), *_moments(y))), closed, rtol=1e-7)
    # SciPy's sqrtm on the regularised C2 + 1e-12 I agrees: the shift moves d^2 by about
    # 2 sqrt(1e-12 u^T C1 u) ~ 1e-6 relative (Hoelder-1/2 again; measured 9e-7).
    mu1, c1 = _moments(x)
    mu2, c2 = _moments(y)
    c2 = c2 + 1e-12 * np.eye(3)
    reg = np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(scipy.linalg.sqrtm(c1 @ c2).real)
    np.testing.assert_allclose(reg, closed, rtol=1e-5)

    x, y, closed = _line_case(np.float32)
    # float32 data (y is rank one only up to its rounding): a few ulps of the traces.
    np.testing.assert_allclose(float(_fd(x, y)), closed, atol=8 * EPS32 * _traces(x, y))


def test_frechet_float32_rank_deficient_at_f128():
    # A generator collapsed onto an 8-D subspace of 128-D features, in float32, against the
    # float64 value of the same data (the x64 path matches SciPy and the closed forms above).
    rng = np.random.default_rng(8)
    x = _gaussian(rng, 600, 128, shift=2.0).astype(np.float32)
    y = (rng.normal(size=(500, 8)) @ rng.normal(size=(8, 128)) / 3.0 + 2.0).astype(np.float32)
    with jax.enable_x64(True):
        ref = float(_fd(x.astype(np.float64), y.astype(np.float64)))
    tr = _traces(x, y)
    # From samples: a few ulps of the traces, as at full rank (measured 0.04 eps here).
    assert abs(float(_fd(x, y)) - ref) < 8 * EPS32 * tr
    # From float32 moments the singular C2 costs ~sqrt(eps): documented as about 3e-4 of the
    # traces at F = 128 (measured 3.1e-4 here); bounded by 1e-3 of them.
    moments = [np.asarray(v, np.float32) for v in (*_moments(x - 2.0), *_moments(y - 2.0))]
    assert abs(float(_fd_moments(*moments)) - ref) < 1e-3 * tr


def test_frechet_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(1)
    x = _gaussian(rng, 500, 16, scale=2.0, shift=3.0)
    with jax.enable_x64(True):
        d = float(_fd(x, x))
    assert 0.0 <= d < 1e-13 * _traces(x, x)  # float64 cancellation of the traces: a few ulps
    x32 = x.astype(np.float32)
    d = float(_fd(x32, x32))
    assert 0.0 <= d < 8 * EPS32 * _traces(x32, x32)  # float32: a few ulps of the traces (clipped >= 0)


def test_frechet_halves_small_shift_large():
    f, n = 8, 1000
    x = np.random.default_rng(2).normal(size=(2 * n, f)).astype(np.float32)
    a, b = x[:n], x[n:]
    halves = float(_fd(a, b))
    # Sampling noise only: E d^2 ~ 2F/n (means) + F(F+1)/(2n) (covariances) = 0.052 for F = 8,
    # n = 1000; the statistic is a sum of ~F^2 squared fluctuations, so 0.2 is several SDs above.
    assert 0.0 < halves < 0.2
    shift = np.full(f, 1.0, np.float32)
    shifted = float(_fd(a, b + shift))
    assert shifted > 30 * halves
    # A shift moves only the mean term: d^2(a, b + s) - d^2(a, b) = ||mu_a - mu_b - s||^2 - ||mu_a - mu_b||^2.
    dmu = a.astype(np.float64).mean(0) - b.astype(np.float64).mean(0)
    expected = halves + np.sum((dmu - shift) ** 2) - np.sum(dmu**2)
    np.testing.assert_allclose(shifted, expected, atol=8 * EPS32 * _traces(a, b))  # float32 floor


def test_frechet_non_finite_is_inf_and_vmap_matches():
    rng = np.random.default_rng(3)
    x = _gaussian(rng, 200, 4).astype(np.float32)
    bad = x.copy()
    bad[7, 2] = np.nan
    assert float(_fd(x, bad)) == np.inf and float(_fd(bad, x)) == np.inf
    mu, c = (np.asarray(v, np.float32) for v in _moments(x))
    assert float(_fd_moments(mu, c, mu, np.full_like(c, np.inf))) == np.inf

    runs = np.stack([_gaussian(rng, 200, 4, scale=s) for s in (0.5, 1.0, 2.0)]).astype(np.float32)
    fakes = np.stack([_gaussian(rng, 150, 4, shift=s) for s in (0.0, 1.0, -1.0)]).astype(np.float32)
    batched = np.asarray(jax.jit(jax.vmap(frechet_distance))(runs, fakes))
    for r in range(3):
        # Same LAPACK routines per run; XLA may fuse the batched sums differently: an ulp or so.
        np.testing.assert_allclose(batched[r], float(_fd(runs[r], fakes[r])), rtol=1e-5)
        np.testing.assert_allclose(batched[r], _fd_scipy(runs[r], fakes[r]),
                                   atol=8 * EPS32 * _traces(runs[r], fakes[r]))


# -------------------------------------------------------------------------------------- PRDC


def _assert_prdc_equal(got: PRDC, ref):
    # Each value is a ratio of integer counts; float32 rounds the ratio (~1e-7), while one count
    # off changes it by >= 1 / (k * max(N, M)) > 1e-3 here. So this is an exact comparison.
    np.testing.assert_allclose(np.array([float(v) for v in got]), ref, rtol=1e-6, atol=0)


def _with_duplicates(rng):
    real = rng.normal(size=(41, 4))
    real[10:17] = real[3]  # 8 copies of one point: their k-NN radius (k = 5) is 0
    real[30] = real[31]
    fake = rng.normal(size=(29, 4))
    fake[:4] = real[[3, 31, 0, 20]]  # fakes duplicating reals: distance 0, inside those balls
    fake[20:26] = fake[19]  # a collapsed cluster of 7 fakes: radius 0, recalls only exact copies
    return real, fake


def _integer_grid(rng):
    # Integer coordinates in {0..3}^2: every squared distance is an exact small integer, so many
    # points sit exactly on a ball's boundary (ties) and many are duplicates.
    return rng.integers(0, 4, size=(50, 2)), rng.integers(0, 4, size=(45, 2))


CASES = {
    "gaussian": (lambda rng: (rng.normal(size=(37, 3)), rng.normal(size=(23, 3)) + 0.3), 3, 8),
    "duplicates": (_with_duplicates, 5, 16),
    "integer-ties": (_integer_grid, 4, 7),
    "k1-one-block": (lambda rng: (rng.normal(size=(20, 2)), 1.5 * rng.normal(size=(30, 2))), 1, 64),
}


@pytest.mark.parametrize("name", list(CASES))
def test_prdc_matches_brute_force(name):
    make, k, block = CASES[name]  # block sizes that divide neither set size
    real, fake = make(np.random.default_rng(len(name)))
    real, fake = real.astype(np.float32), fake.astype(np.float32)
    got = _prdc(real, fake, k=k, block_size=block)
    _assert_prdc_equal(got, _prdc_brute(real, fake, k))


def test_prdc_counts_ties_as_inside():
    # On the integer grid the strict comparison of the authors' package gives other numbers:
    # this pins the documented "<=" (a "<" implementation fails the brute-force test above).
    real, fake = _integer_grid(np.random.default_rng(len("integer-ties")))
    assert not np.allclose(_prdc_brute(real, fake, 4), _prdc_brute(real, fake, 4, strict=True))


def test_prdc_vmap_equals_single_runs():
    rng = np.random.default_rng(9)
    reals = rng.normal(size=(3, 37, 3)).astype(np.float32)
    fakes = (rng.normal(size=(3, 23, 3)) * np.array([0.5, 1.0, 2.0])[:, None, None]).astype(np.float32)
    batched = jax.jit(jax.vmap(lambda r, f: prdc(r, f, k=3, block_size=8)))(reals, fakes)
    for r in range(3):
        single = _prdc(reals[r], fakes[r], k=3, block_size=8)
        for name, b, s in zip(PRDC._fields, batched, single):
            # Ratios of integer counts: exact, with or without the batch axis.
            assert float(b[r]) == float(s), (name, r)
        _assert_prdc_equal(single, _prdc_brute(reals[r], fakes[r], 3))


def test_prdc_two_halves_of_one_sample():
    n, k = 1000, 5
    x = np.random.default_rng(4).normal(size=(2 * n, 2)).astype(np.float32)
    got = _prdc(x[:n], x[n:], k=k)  # default block 256 does not divide 1000
    _assert_prdc_equal(got, _prdc_brute(x[:n], x[n:], k))
    # Identical distributions (Naeem et al., Lemmas 1-2): E[density] = 1 and E[coverage] =
    # 1 - prod_j (N - j) / (N + M - j) = 0.96898 (-> 1 - 2^-5 for large sets). Standard deviations
    # over 200 brute-force replicates of this setting (N = M = 1000, 2-D, k = 5): density 0.016,
    # coverage 0.0081, precision 0.0025 and recall 0.0023 around means 0.9965 and 0.9964.
    # Tolerances are 5 of those SDs.
    expected_coverage = 1 - math.prod((n - j) / (2 * n - j) for j in range(1, k + 1))
    assert abs(float(got.coverage) - expected_coverage) < 5 * 0.0081
    assert abs(float(got.density) - 1.0) < 5 * 0.016
    assert float(got.precision) > 0.9965 - 5 * 0.0025
    assert float(got.recall) > 0.9964 - 5 * 0.0023


def test_prdc_fake_collapsed_to_the_real_mean():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(1000, 2)).astype(np.float32)
    fake = np.tile(real.mean(0, keepdims=True), (100, 1))
    got = _prdc(real, fake, k=5)
    ref = _prdc_brute(real, fake, 5)
    _assert_prdc_equal(got, ref)
    # The single point is realistic (inside real balls: precision 1) but covers almost nothing:
    # the fakes' own radii are 0 (they are all equal), so no real is recalled, and only the
    # reals whose ball holds the mean are covered: 8 of them for this seed (brute force), and
    # each of those balls holds all M fakes, so density = 8 M / (k M) = 1.6.
    np.testing.assert_array_equal(ref, [1.0, 0.0, 1.6, 0.008])


def test_prdc_non_finite_fakes_are_in_no_ball():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(40, 3)).astype(np.float32)
    fake = rng.normal(size=(30, 3)).astype(np.float32)
    bad = fake.copy()
    bad[[2, 11, 12]] = [[np.nan, 0, 0], [np.inf, 1, 1], [-np.inf, np.inf, 0]]
    finite = np.delete(fake, [2, 11, 12], axis=0)
    ref = _prdc_brute(real, finite, 3)
    # A non-finite fake is infinitely far from everything: it counts in M but is inside no real
    # ball, and it is no neighbour of a finite fake; recall and coverage ignore it.
    share = len(finite) / len(fake)
    ref = ref * np.array([share, 1.0, share, 1.0])
    got = _prdc(real, bad, k=3, block_size=8)
    assert all(np.isfinite(float(v)) for v in got)
    _assert_prdc_equal(got, ref)


def test_prdc_never_builds_the_distance_matrix():
    n, f, block = 4000, 32, 64
    spec = jax.ShapeDtypeStruct((n, f), jnp.float32)
    compiled = _prdc.lower(spec, spec, k=5, block_size=block).compile()
    memory = compiled.memory_analysis()
    if memory is None:
        pytest.skip("this backend reports no memory analysis")
    # Neither the [N, M] matrix (64 MB) nor a [block, N, F] difference tensor (33 MB) is held:
    # a few [block, N] blocks (1 MB each) are.
    assert memory.temp_size_in_bytes < 8 * block * n * 4


def test_prdc_validates_shapes_and_k():
    x = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match="at least 6"):
        prdc(x, x, k=5)  # each point needs k other points
    with pytest.raises(ValueError, match=r"\[n, F\]"):
        prdc(x, np.zeros((5, 3), np.float32), k=2)
    with pytest.raises(ValueError, match="k must be"):
        prdc(x, x, k=0)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x[:1], x)
