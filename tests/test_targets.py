"""Targets: geometry of the modes, sampling statistics, nearest-mode assignment, argument checks."""
import itertools

import jax
import numpy as np
import pytest

import mcjax
from mcjax.targets import grid, make_target, ring


# Jitted once at module level, the way users call them: the target is a pytree argument.
_sample = jax.jit(lambda t, key, n: t.sample(key, n), static_argnums=2)
_assign = jax.jit(lambda t, x: t.assign(x))


# ----------------------------------------------------------------------------------------- ring


@pytest.mark.parametrize("radius", [1.0, 2.0])
def test_ring_modes_on_circle_evenly_spaced(radius):
    t = ring(n_modes=8, radius=radius)
    means = np.asarray(t.means, np.float64)
    assert means.shape == (8, 2)
    # float32 means: |mu| = r up to a few float32 ulps of r.
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), radius, rtol=1e-6)

    angles = np.sort(np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    # float32 coordinates of size ~r: angle error ~ 1e-7 rad.
    np.testing.assert_allclose(gaps, 2 * np.pi / 8, atol=1e-6)

    d = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    off_diag = d[~np.eye(8, dtype=bool)]
    # All 8 modes distinct: the endpoint 2 pi is not repeated (a linspace(0, 2pi, 8) bug would
    # put two modes on top of each other and give a min distance of 0).
    # float32 coordinates: chord lengths good to ~1e-6 relative.
    np.testing.assert_allclose(off_diag.min(), 2 * radius * np.sin(np.pi / 8), rtol=1e-6)
    assert len({tuple(np.round(m, 5)) for m in means}) == 8


def test_ring_other_n_modes():
    t = ring(n_modes=5, radius=3.0)
    means = np.asarray(t.means, np.float64)
    d = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    # float32 coordinates: chord lengths good to ~1e-6 relative.
    np.testing.assert_allclose(d[~np.eye(5, dtype=bool)].min(), 2 * 3.0 * np.sin(np.pi / 5), rtol=1e-6)
    assert t.n_modes == 5 and t.dim == 2


# ----------------------------------------------------------------------------------------- grid


def test_grid_means_exact_with_defaults():
    t = grid()
    means = np.asarray(t.means)
    assert means.shape == (25, 2)
    expected = set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    # Exact equality on purpose: the lattice values are small integers, exact in float32.
    assert {tuple(float(v) for v in m) for m in means} == expected
    assert float(t.std) == pytest.approx(0.05)  # float32 of 0.05: ~1e-9 off, approx's 1e-6 rel is ample.


def test_grid_spacing_and_centre():
    t = grid(side=4, spacing=1.5)
    means = np.asarray(t.means, np.float64)
    ticks = 1.5 * (np.arange(4) - 1.5)
    expected = np.array(list(itertools.product(ticks, ticks)))
    # Values are multiples of 0.75, exact in float32.
    np.testing.assert_array_equal(np.sort(means.view("f8,f8"), axis=0), np.sort(expected.view("f8,f8"), axis=0))
    np.testing.assert_array_equal(means.mean(axis=0), [0.0, 0.0])


# -------------------------------------------------------------------------------------- sample


@pytest.mark.parametrize("target", [ring(), grid()], ids=["ring", "grid"])
def test_sample_per_mode_mean_and_std(target):
    n = 20_000
    x = np.asarray(_sample(target, jax.random.key(0), n), np.float64)
    assert x.shape == (n, 2)
    assert np.all(np.isfinite(x))
    means = np.asarray(target.means, np.float64)
    sigma = float(target.std)
    k = target.n_modes

    # Modes are >= 38 std apart, so the nearest mean recovers the mode that generated each point.
    idx = np.argmin(np.linalg.norm(x[:, None, :] - means[None], axis=-1), axis=1)
    counts = np.bincount(idx, minlength=k)

    # Mode frequencies ~ Binomial(n, 1/K): 5 standard errors (per-mode false alarm ~ 6e-7).
    p0 = 1.0 / k
    assert np.all(np.abs(counts / n - p0) < 5 * np.sqrt(p0 * (1 - p0) / n)), counts

    for j in range(k):
        xj = x[idx == j]
        nj = len(xj)
        # Sample mean has standard error sigma / sqrt(n_j); allow 5 standard errors.
        np.testing.assert_array_less(np.abs(xj.mean(axis=0) - means[j]), 5 * sigma / np.sqrt(nj))
        # Sample std of a Gaussian has standard error ~ sigma / sqrt(2 n_j); allow 5 of them.
        np.testing.assert_array_less(np.abs(xj.std(axis=0, ddof=1) - sigma), 5 * sigma / np.sqrt(2 * nj))
    # Coordinates are independent within a mode: correlation's standard error ~ 1 / sqrt(n_j).
    centred = x - means[idx]
    corr = np.corrcoef(centred.T)[0, 1]
    assert abs(corr) < 5 / np.sqrt(n)


def test_sample_different_keys_differ_same_key_repeats():
    t = ring()
    a = _sample(t, jax.random.key(0), 64)
    b = _sample(t, jax.random.key(1), 64)
    c = _sample(t, jax.random.key(0), 64)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, c)


# -------------------------------------------------------------------------------------- assign


def _numpy_assign(x, means, std):
    x = np.asarray(x, np.float64)
    d = np.sqrt(np.sum((x[:, None, :] - np.asarray(means, np.float64)[None]) ** 2, axis=-1))
    return np.argmin(d, axis=1), d.min(axis=1) / float(std)


@pytest.mark.parametrize("target", [ring(), grid(), ring(n_modes=3, radius=1.0, std=0.3)], ids=["ring", "grid", "ring3"])
def test_assign_matches_numpy_bruteforce(target):
    rng = np.random.default_rng(1)
    n = 512
    # Half the points near modes (a few std away), half spread over the whole plane.
    means = np.asarray(target.means)
    near = means[rng.integers(0, target.n_modes, n // 2)] + 4.0 * float(target.std) * rng.normal(size=(n // 2, 2))
    far = 6.0 * rng.normal(size=(n // 2, 2))
    x = np.concatenate([near, far]).astype(np.float32)

    idx, dist = _assign(target, x)
    ref_idx, ref_dist = _numpy_assign(x, target.means, target.std)
    assert idx.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(idx), ref_idx)
    # float32 difference of coordinates of size <= ~20 (abs error ~1e-6), divided by std >= 0.02:
    # ~1e-4 absolute in std units near modes, ~1e-6 relative far away.
    np.testing.assert_allclose(np.asarray(dist), ref_dist, rtol=1e-5, atol=2e-4)


def test_assign_exact_mode_centres():
    t = grid()
    idx, dist = _assign(t, t.means)
    np.testing.assert_array_equal(np.asarray(idx), np.arange(25))
    np.testing.assert_array_equal(np.asarray(dist), 0.0)  # x - mu is exactly 0.


def test_describe_records_constants():
    d = ring(n_modes=6, radius=1.0, std=0.01).describe()
    assert d["name"] == "ring" and d["n_modes"] == 6 and d["dim"] == 2
    assert d["hq_threshold"] == 3.0
    assert d["params"] == {"n_modes": 6, "radius": 1.0, "std": 0.01}
    assert d["std"] == pytest.approx(0.01)  # stored as float32: ~1e-10 off.


# ------------------------------------------------------------------------------------ bad args


@pytest.mark.parametrize(
    "build, bad",
    [
        (lambda: ring(n_modes=0), "0"),
        (lambda: ring(n_modes=-3), "-3"),
        (lambda: ring(n_modes=2.5), "2.5"),
        (lambda: ring(std=-1), "-1"),
        (lambda: ring(std=0.0), "0.0"),
        (lambda: ring(radius=float("nan")), "nan"),
        (lambda: grid(side=0), "0"),
        (lambda: grid(std=-1), "-1"),
        (lambda: grid(spacing=float("inf")), "inf"),
        (lambda: make_target("ring", std=-1), "-1"),
    ],
)
def test_bad_constructor_args_raise_config_error(build, bad):
    with pytest.raises(mcjax.ConfigError) as info:
        build()
    assert isinstance(info.value, ValueError)
    assert bad in str(info.value)


def test_bad_args_name_the_parameter():
    with pytest.raises(mcjax.ConfigError, match=r"n_modes.*0"):
        ring(n_modes=0)
    with pytest.raises(mcjax.ConfigError, match=r"std.*-1"):
        ring(std=-1)


def test_make_target_unknown_name_suggests():
    with pytest.raises(mcjax.ConfigError) as info:
        make_target("rnig")
    msg = str(info.value)
    assert "'rnig'" in msg
    assert "did you mean 'ring'" in msg
    with pytest.raises(ValueError, match="'spiral'"):
        make_target("spiral")


def test_make_target_builds_by_name():
    t = make_target("grid", side=3)
    assert t.name == "grid" and t.n_modes == 9
    np.testing.assert_array_equal(make_target("ring").means, ring().means)
