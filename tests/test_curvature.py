"""Curvature analysis against dense references: HVP, Lanczos, top-k eigenvalues, SLQ, Hutchinson.

Every test here runs in float64 (``jax.enable_x64`` scoped to the test) so that tolerances can be
stated as rounding-error bounds; all routines are called under ``jit``.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from mcjax.analysis import (
    directional_curvature,
    hessian_top_eigenvalues,
    hessian_trace,
    hvp,
    lanczos,
    ritz_pairs,
    spectral_density,
)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


@functools.cache
def _mlp_problem(seed=0):
    """A tanh MLP regression loss away from its minimum (indefinite Hessian), 38 parameters.

    Built once under x64 (the autouse fixture is active when the first test calls it).
    """
    rng = np.random.default_rng(seed)
    params = {
        "w1": jnp.asarray(rng.normal(size=(3, 6))),
        "b1": jnp.asarray(0.1 * rng.normal(size=6)),
        "w2": jnp.asarray(rng.normal(size=(6, 2))),
        "b2": jnp.zeros(2),
    }
    x = jnp.asarray(rng.normal(size=(20, 3)))
    y = jnp.asarray(rng.normal(size=(20, 2)))

    def loss(p):
        h = jnp.tanh(x @ p["w1"] + p["b1"][None, :])
        return 0.5 * jnp.mean(jnp.sum((h @ p["w2"] + p["b2"][None, :] - y) ** 2, axis=1))

    flat, unravel = ravel_pytree(params)
    dense = np.asarray(jax.jit(jax.hessian(lambda f: loss(unravel(f))))(flat))
    return loss, params, dense


def test_hvp_matches_dense_hessian():
    loss, params, H = _mlp_problem()
    flat, unravel = ravel_pytree(params)
    v = jnp.asarray(np.random.default_rng(1).normal(size=flat.size))
    got = ravel_pytree(jax.jit(hvp, static_argnums=0)(loss, params, unravel(v)))[0]
    # Same float64 derivatives, summed in a different order: rounding only.
    np.testing.assert_allclose(got, H @ np.asarray(v), rtol=0, atol=1e-12 * np.abs(H).sum())


def test_lanczos_full_order_reproduces_eigh():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 50))
    A = (X + X.T) / 2
    Aj = jnp.asarray(A)
    res = jax.jit(lambda k: lanczos(lambda x: Aj @ x, 50, 50, k))(jax.random.key(0))
    theta, vecs = ritz_pairs(res)
    scale = np.linalg.norm(A, 2)
    # Both are backward stable on a symmetric matrix: errors ~ dim * eps * ||A|| << 1e-10 ||A||.
    np.testing.assert_allclose(theta, np.linalg.eigvalsh(A), rtol=0, atol=1e-10 * scale)
    # Full reorthogonalisation keeps the basis orthonormal to working precision.
    np.testing.assert_allclose(res.basis @ res.basis.T, np.eye(50), atol=1e-12)
    # Ritz vectors are eigenvectors: residual at rounding level (well-separated random spectrum).
    resid = np.asarray(vecs) @ A - np.asarray(theta)[:, None] * np.asarray(vecs)
    assert np.abs(resid).max() < 1e-9 * scale


def test_lanczos_restarts_on_invariant_subspace():
    # 4 distinct eigenvalues in dimension 10: the first Krylov space is exhausted after 4 steps and
    # the iteration must restart (no NaN) to find the multiplicities.
    d = jnp.asarray([1.0, 1, 1, 2, 2, 3, 3, 3, 3, 5])
    res = jax.jit(lambda k: lanczos(lambda x: d * x, 10, 10, k))(jax.random.key(3))
    assert np.all(np.isfinite(res.alphas)) and np.all(np.isfinite(res.betas))
    assert np.sum(np.asarray(res.betas) == 0.0) >= 2
    # Exact invariant subspaces: Ritz values equal the eigenvalues to rounding.
    np.testing.assert_allclose(ritz_pairs(res)[0], np.sort(d), atol=1e-12)


def test_hessian_top_eigenvalues_match_dense():
    loss, params, H = _mlp_problem()
    lam = np.linalg.eigvalsh(H)
    assert lam[0] < 0 < lam[-1]
    dim = H.shape[0]
    top, short = jax.jit(lambda k1, k2: (
        hessian_top_eigenvalues(loss, params, 3, k1, order=dim),
        hessian_top_eigenvalues(loss, params, 3, k2, order=20),
    ))(jax.random.key(0), jax.random.key(1))
    # order = dim: every Ritz value is an eigenvalue, up to rounding of a 38x38 problem.
    np.testing.assert_allclose(top.largest, lam[::-1][:3], atol=1e-10 * np.abs(lam).max())
    np.testing.assert_allclose(top.smallest, lam[:3], atol=1e-10 * np.abs(lam).max())
    # Fewer steps than dim: extreme Ritz values converge first, and lie inside the spectrum.
    assert short.largest[0] <= lam[-1] + 1e-12 and short.smallest[0] >= lam[0] - 1e-12
    np.testing.assert_allclose(short.largest[0], lam[-1], rtol=1e-6)  # converged for this spectrum
    np.testing.assert_allclose(short.smallest[0], lam[0], rtol=1e-6)


def test_spectral_density_integrates_to_one_and_mean_is_trace_over_dim():
    loss, params, H = _mlp_problem()
    dim = H.shape[0]
    n_probes = 16
    sld = jax.jit(lambda k: spectral_density(loss, params, k, order=24, n_probes=n_probes))(
        jax.random.key(2)
    )
    # Gauss quadrature weights of a unit probe sum to 1 (squared first row of an orthogonal matrix).
    np.testing.assert_allclose(np.sum(sld.weights, axis=1), 1.0, atol=1e-12)
    # Trapezoid rule on a grid 100x finer than sigma, covering +-6 sigma: error << 1e-6.
    np.testing.assert_allclose(np.trapezoid(sld.density, sld.grid), 1.0, atol=1e-6)
    # The density's mean is the average Rayleigh quotient of the probes, sum_j w_j theta_j = v^T H v.
    per_probe = np.sum(sld.weights * sld.nodes, axis=1)
    np.testing.assert_allclose(
        np.trapezoid(sld.grid * sld.density, sld.grid), per_probe.mean(), atol=1e-6 * np.abs(H).max()
    )
    # ... which estimates tr(H)/dim: within 4 Monte Carlo standard errors of the dense value.
    se = per_probe.std(ddof=1) / np.sqrt(n_probes)
    assert abs(per_probe.mean() - np.trace(H) / dim) < 4 * se
    # Nodes lie inside the spectrum (Ritz values of a symmetric matrix).
    lam = np.linalg.eigvalsh(H)
    assert sld.nodes.min() >= lam[0] - 1e-10 and sld.nodes.max() <= lam[-1] + 1e-10


def test_hutchinson_trace_within_its_monte_carlo_error():
    loss, params, H = _mlp_problem()
    n_probes = 200
    est = jax.jit(lambda k: hessian_trace(loss, params, k, n_probes))(jax.random.key(4))
    # A fixed seed, so this 4-sigma check is deterministic (and fails if the estimator is biased).
    assert abs(est.value - np.trace(H)) < 4 * est.stderr
    # Rademacher probes: Var(v^T H v) = 2 sum_{i != j} H_ij^2. The sample-based standard error is
    # within 30% of it for 200 probes (relative sd of a sample sd ~ 1/sqrt(2 n) ~ 5%, plus kurtosis).
    exact_se = np.sqrt(2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2)) / n_probes)
    assert 0.7 * exact_se < est.stderr < 1.3 * exact_se


def test_directional_curvature_is_the_rayleigh_quotient():
    loss, params, H = _mlp_problem()
    lam, U = np.linalg.eigh(H)
    flat, unravel = ravel_pytree(params)
    f = jax.jit(directional_curvature, static_argnums=0)
    # Along an eigenvector, at any scale: its eigenvalue.
    got = f(loss, params, unravel(jnp.asarray(-3.0 * U[:, -1])))
    np.testing.assert_allclose(got, lam[-1], rtol=1e-10)  # a Rayleigh quotient in float64
    v = np.random.default_rng(5).normal(size=flat.size)
    np.testing.assert_allclose(
        f(loss, params, unravel(jnp.asarray(v))), v @ H @ v / (v @ v), rtol=1e-10
    )
