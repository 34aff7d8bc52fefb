"""mcjax.core.xla_linalg against NumPy, and the systems that use it compile without LAPACK calls
(jaxlib's CPU LAPACK kernels hang vmapped sweeps: docs/results.md)."""
import re

import jax
import jax.numpy as jnp
import numpy as np

from mcjax.core.xla_linalg import orthonormal_columns, spd_logdet
from mcjax.systems.vae.config import VAEConfig, make_vae_hparams
from mcjax.systems.vae.engine import make_system


def test_orthonormal_columns_equal_qr_up_to_signs():
    a = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    q = np.asarray(orthonormal_columns(jnp.asarray(a)))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=2e-6)  # float32 dot of 256 terms
    np.testing.assert_allclose(np.abs(q), np.abs(np.linalg.qr(a)[0]), atol=1e-6)


def test_spd_logdet_equals_numpy():
    rng = np.random.default_rng(1)
    for k in (1, 3, 6):
        m = rng.normal(size=(k, k))
        m = m @ m.T + 0.5 * np.eye(k)
        got = float(spd_logdet(jnp.asarray(m, jnp.float32)))
        assert abs(got - np.linalg.slogdet(m)[1]) < 1e-4 * (1 + abs(got))  # float32 Cholesky


def test_vae_sweep_program_calls_no_lapack():
    cfg = VAEConfig(steps=20, log_every=10)
    system = make_system(cfg)
    hp = make_vae_hparams(cfg)

    def one(key):
        return system.advance(hp, system.init(hp, key), 2)[1]["mi"]

    hlo = jax.jit(jax.vmap(one)).lower(jax.random.split(jax.random.key(0), 3)).as_text()
    assert re.findall(r"stablehlo\.custom_call @(\w+)", hlo) == []
