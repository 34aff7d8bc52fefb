"""Curvature and rotation logged inside the training scan equal the analysis library's values."""
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from mcjax import make_hparams
from mcjax.analysis import game_jacobian, gan_game, rotation_index_dense
from mcjax.systems.gan.engine import make_trainer
from tests.helpers import TINY

CFG = TINY.replace(width=4, depth=1, latent_dim=2, batch_size=16, steps=10, log_every=5,
                   log_dynamics=True, dynamics_probes=64, lanczos_order=22)


def test_logged_dynamics_match_dense_references():
    trainer = make_trainer(CFG)
    hp = make_hparams()
    state, hist = jax.jit(trainer.train)(hp, jax.random.key(0))
    for k in ("rotation_index", "grad_norm", "g_hessian_max", "d_hessian_max", "d_hessian_min"):
        assert hist[k].shape == (2,) and np.all(np.isfinite(hist[k])), k
    logged = {k: float(v[-1]) for k, v in hist.items() if v.ndim == 1}

    # the same batch the logger used: fold_in(eval_key, step), split as in Trainer.dynamics
    key = jax.random.fold_in(state.eval_key, state.step)
    k_batch, _, _, k_hd = jax.random.split(key, 4)
    _, k_d = jax.random.split(jax.random.clone(k_batch))
    params = (state.g_params, state.d_params)
    xi_fn = lambda p: trainer.xi(p, hp, jax.random.clone(k_batch), state.step)
    J = jax.jit(lambda p: game_jacobian(xi_fn, p))(params)
    xi_flat, _ = ravel_pytree(xi_fn(params))
    np.testing.assert_allclose(logged["grad_norm"], float(jnp.linalg.norm(xi_flat)), rtol=1e-5)  # same computation
    dense = float(rotation_index_dense(J))
    # 64 Gaussian probes: the ratio estimate's relative error is a few percent (see rotation_index)
    assert abs(logged["rotation_index"] - dense) < 0.15, (logged["rotation_index"], dense)

    d_flat, unravel = ravel_pytree(state.d_params)
    d_loss = lambda f: trainer.critic_loss(unravel(f), state.g_params, hp, jax.random.clone(k_d), state.step)
    H = jax.hessian(d_loss)(d_flat)
    eig = np.linalg.eigvalsh(np.asarray(H, np.float64))
    assert d_flat.size <= CFG.lanczos_order  # Lanczos of full order: exact up to float32
    np.testing.assert_allclose(logged["d_hessian_max"], eig[-1], rtol=2e-3, atol=2e-4)  # float32 Lanczos
    np.testing.assert_allclose(logged["d_hessian_min"], eig[0], rtol=2e-3, atol=2e-4)
