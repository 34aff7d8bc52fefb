"""Tridiagonal eigenvalues by bisection against NumPy's dense ``eigvalsh``, and the training
program with ``log_dynamics`` free of LAPACK calls (issue 14: the in-scan Hessian log hung on two
CPU devices while it held one)."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import Config, make_hparams, make_train
from mcjax.analysis import eigvalsh_tridiagonal, sturm_count


def _dense(a, b):
    return np.diag(a) + np.diag(b, 1) + np.diag(b, -1)


def _cases():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 7, 10, 33):
        for scale in (1e-3, 1.0, 1e3):
            a, b = scale * rng.normal(size=m), scale * rng.normal(size=m - 1)
            yield f"m{m}-s{scale:g}", a, b
    a = np.arange(6.0)
    yield "split", a, np.array([1.0, 0.0, 2.0, 0.0, 0.5])  # restarts leave zero betas: blocks
    yield "repeated", np.ones(5), np.zeros(4)  # a five-fold eigenvalue
    yield "wilkinson", np.abs(np.arange(-5.0, 6.0)), np.ones(10)  # W21+-like: near-equal pairs


CASES = list(_cases())


@pytest.mark.parametrize("name,a,b", CASES, ids=[c[0] for c in CASES])
def test_eigenvalues_match_numpy_in_float64(name, a, b):
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(eigvalsh_tridiagonal)(jnp.asarray(a), jnp.asarray(b)))
    want = np.linalg.eigvalsh(_dense(a, b))
    norm = np.abs(_dense(a, b)).sum(axis=1).max()
    # bisection stops at eps/4 of the Gershgorin span (<= 2 ||T||_inf); the Sturm recurrence is
    # backward stable with a few eps of error: 10 eps ||T|| bounds both
    np.testing.assert_allclose(got, want, rtol=0, atol=10 * np.finfo(np.float64).eps * norm)


@pytest.mark.parametrize("name,a,b", CASES, ids=[c[0] for c in CASES])
def test_eigenvalues_match_numpy_in_float32(name, a, b):
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    got = np.asarray(jax.jit(eigvalsh_tridiagonal)(a32, b32))
    assert got.dtype == np.float32
    want = np.linalg.eigvalsh(_dense(a32.astype(np.float64), b32.astype(np.float64)))
    norm = np.abs(_dense(a32, b32)).sum(axis=1).max()
    # as above, at float32's eps (the input is the float32 matrix, so no rounding of T counts)
    np.testing.assert_allclose(got, want, rtol=0, atol=10 * np.finfo(np.float32).eps * norm)


def test_sturm_count_matches_dense_eigenvalues():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=12), rng.normal(size=11)
    x = rng.normal(size=50) * 2
    with jax.enable_x64(True):
        got = np.asarray(sturm_count(jnp.asarray(a), jnp.asarray(b), jnp.asarray(x)))
    want = (np.linalg.eigvalsh(_dense(a, b))[None, :] < x[:, None]).sum(axis=1)
    np.testing.assert_array_equal(got, want)


def test_vmapped_runs_are_independent_and_nan_stays_in_its_run():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    a[2, 3] = np.nan
    got = np.asarray(jax.jit(jax.vmap(eigvalsh_tridiagonal))(a, b))
    assert np.isnan(got[2]).all()  # a diverged run's Lanczos gives nan, not a hang or a number
    for r in (0, 1, 3):
        np.testing.assert_array_equal(got[r], np.asarray(eigvalsh_tridiagonal(a[r], b[r])))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="alphas"):
        eigvalsh_tridiagonal(jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match="alphas"):
        eigvalsh_tridiagonal(jnp.ones(0), jnp.ones(0))


def test_training_program_with_dynamics_log_calls_no_lapack():
    cfg = Config(steps=4, log_every=2, batch_size=8, width=8, depth=1, latent_dim=2,
                 eval_samples=16, keep_samples=4, log_dynamics=True, dynamics_probes=2,
                 lanczos_order=3)
    train = jax.vmap(make_train(cfg), (None, 0))
    keys = jax.random.split(jax.random.key(0), 2)
    hlo = jax.jit(train).lower(make_hparams(), keys).compile().as_text()
    assert "while" in hlo  # the program was found: the scan is a while loop
    # every operation of the scan is XLA's own: no LAPACK (or other) custom call runs on a CPU
    # device's thread inside the training loop
    assert re.findall(r'custom_call_target="([^"]+)"', hlo) == []
