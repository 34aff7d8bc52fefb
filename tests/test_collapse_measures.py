"""Measurements of collapse mechanisms (mcjax.analysis.collapse) against independent computations."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import optax

from mcjax.analysis.collapse import (critic_field, generator_stretch, mode_flux, mode_hopping,
                                     soft_occupancy)
from mcjax.systems.gan import nets

MEANS = jnp.asarray([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0]])


def _gen():
    gen = nets.generator(8, 1, 2, "tanh")
    params = gen.init(jax.random.key(0), jnp.zeros((1, 3)))
    z = jax.random.normal(jax.random.key(1), (64, 3))
    return gen.apply, params, z


def test_soft_occupancy_is_a_distribution_and_hard_at_small_scale():
    x = jnp.asarray([[2.1, 0.0], [0.0, 1.9], [0.1, 2.0], [-2.0, 0.2]])
    occ = soft_occupancy(x, MEANS, 0.05)
    np.testing.assert_allclose(occ, [0.25, 0.5, 0.25], atol=1e-6)  # nearest-mode shares, exp(-160) tails
    np.testing.assert_allclose(float(jnp.sum(soft_occupancy(x, MEANS, 3.0))), 1.0, rtol=1e-6)


def test_mode_flux_equals_the_change_of_occupancy_after_a_tiny_real_update():
    generate, params, z = _gen()
    loss = lambda p: jnp.mean(jnp.sum((generate(p, z) - MEANS[1][None, :]) ** 2, axis=1))  # pull to mode 1
    tx = optax.adam(1e-3)
    updates, _ = tx.update(jax.grad(loss)(params), tx.init(params), params)
    with jax.enable_x64(True):
        f64 = lambda t: jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), t)
        p64, u64, z64, m64 = f64(params), f64(updates), f64(z), f64(MEANS)
        flux = mode_flux(generate, p64, u64, z64, m64, 1.0)
        occ = lambda p: soft_occupancy(generate(p, z64), m64, 1.0)
        eps = 1e-4
        step = lambda s: jax.tree.map(lambda p, u: p + s * u, p64, u64)
        fd = (occ(step(eps)) - occ(step(-eps))) / (2 * eps)
        # central differences in float64: O(eps^2) truncation, far below the flux (~1e-3)
        np.testing.assert_allclose(flux, fd, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(float(jnp.sum(flux)), 0.0, atol=1e-12)  # mass is conserved
    assert float(flux[1]) > 0  # the update moves mass toward mode 1


def test_critic_field_against_grad_at_points():
    w = jnp.asarray([1.0, -0.5])
    critic = lambda x: x @ w  # gradient w everywhere: norm sqrt(1.25)
    fake = jnp.asarray([[0.0, 0.0], [3.0, 0.0]])
    real = MEANS
    covered = jnp.asarray([True, True, False])  # only mode 2 at (-2, 0) is uncovered
    got = critic_field(critic, real, fake, MEANS, covered)
    np.testing.assert_allclose(got.real_norm, np.sqrt(1.25), rtol=1e-6)
    np.testing.assert_allclose(got.fake_norm, np.sqrt(1.25), rtol=1e-6)
    # w . (mu_2 - x): at (0,0) (-2,0).w = -2 < 0; at (3,0) (-5,0).w = -5 < 0: no push toward mode 2
    assert float(got.toward_uncovered) == 0.0
    got = critic_field(lambda x: -(x @ w), real, fake, MEANS, covered)  # the opposite force
    assert float(got.toward_uncovered) == 1.0


def test_force_field_is_the_critic_gradient_on_the_grid():
    from mcjax.analysis.collapse import force_field

    a = jnp.asarray([[2.0, 0.5], [0.5, 1.0]])
    critic = lambda x: -0.5 * jnp.sum((x @ a) * x, axis=1) + x[:, 0]  # grad: -A x + e1
    f = force_field(critic, (-1.0, -2.0), (3.0, 2.0), n=5)
    np.testing.assert_allclose(f.x, [-1, 0, 1, 2, 3])
    np.testing.assert_allclose(f.y, [-2, -1, 0, 1, 2])
    xx, yy = np.meshgrid(f.x, f.y)
    pts = np.stack([xx, yy], -1)
    want = -pts @ np.asarray(a).T + np.array([1.0, 0.0])
    np.testing.assert_allclose(f.force, want, rtol=1e-5, atol=1e-5)  # float32 gradients of O(10)
    # row i, column j is the point (x[j], y[i]): at (3, -2) the force is -A (3, -2) + e1
    np.testing.assert_allclose(f.force[0, 4], [-5.0 + 1.0, -1.5 + 2.0], atol=1e-5)


def test_generator_stretch_against_a_dense_jacobian():
    generate, params, z = _gen()
    got = generator_stretch(generate, params, z[:5])
    norms = [np.linalg.norm(np.asarray(jax.jacobian(lambda zi: generate(params, zi[None])[0])(zi)))
             for zi in z[:5]]
    np.testing.assert_allclose(got.mean, np.mean(norms), rtol=1e-5)  # float32 sums in another order
    np.testing.assert_allclose(got.max, np.max(norms), rtol=1e-5)


def test_mode_hopping_on_a_hand_made_sequence():
    c = np.zeros((8, 3))
    for t, k in enumerate([0, 0, 1, 1, 1, None, 1, 2]):
        if k is not None:
            c[t, k] = 5
    got = mode_hopping(c)
    assert got.changes == 2  # 0 -> 1, then (gap) 1 -> 2; 1 -> 1 across the gap is no change
    assert got.dwell == {0: [2], 1: [3, 1], 2: [1]}
    assert mode_hopping(np.zeros((4, 3))) == (0, {})


@pytest.mark.parametrize("points", [2048, 51])  # all 101 evaluation samples; the first 51
def test_logged_collapse_measurements_equal_a_direct_computation(points):
    from mcjax import Config, apply_remedy, make_hparams
    from mcjax.analysis.collapse import critic_field as field_fn
    from mcjax.systems.gan.engine import make_trainer

    cfg, hp = apply_remedy("pacgan:pack=2", Config(steps=20, log_every=10, width=8, depth=1,
                                                   batch_size=16, latent_dim=3, eval_samples=101,
                                                   keep_samples=4, log_collapse=True,
                                                   collapse_samples=points))
    nc = min(points, 101)  # the flux's latents; the critic field takes whole packs of them
    n = (nc // 2) * 2
    hp = make_hparams(**hp)
    trainer = make_trainer(cfg)
    state, hist = jax.jit(trainer.train)(hp, jax.random.key(3))
    k = cfg.make_target().n_modes
    assert hist["mode_flux"].shape == (2, k) and hist["stretch_max"].shape == (2,)
    # mode flux conserves mass; every measurement is finite
    np.testing.assert_allclose(np.sum(hist["mode_flux"], axis=1), 0.0, atol=1e-6)
    for name in ("critic_grad_real", "critic_grad_fake", "toward_uncovered", "stretch_mean"):
        assert np.all(np.isfinite(hist[name])), name
    # the last entry, recomputed from the final state by hand
    z = jax.random.normal(jax.random.clone(state.eval_key), (cfg.eval_samples, cfg.latent_dim))
    gen = lambda p, zz: nets.generator(8, 1, 2).apply(p, zz)
    stretch = generator_stretch(gen, state.g_params, z[:101])
    np.testing.assert_allclose(hist["stretch_max"][-1], stretch.max, rtol=1e-5)  # float32 order
    crit = nets.critic(8, 1)
    critic = lambda x: crit.apply(state.d_params, x.reshape(x.shape[0] // 2, 4))[0]
    key = jax.random.fold_in(jax.random.fold_in(state.eval_key, state.step), 1)
    real = cfg.make_target().sample(jax.random.split(key)[1], n)
    covered = hist["mode_counts"][-1] > 0  # from all 101 samples, whatever the subset
    want = field_fn(critic, real, gen(state.g_params, z[:n]), cfg.make_target().means, covered)
    np.testing.assert_allclose(hist["critic_grad_fake"][-1], want.fake_norm, rtol=1e-5)
    np.testing.assert_allclose(hist["critic_grad_real"][-1], want.real_norm, rtol=1e-5)
    np.testing.assert_allclose(hist["toward_uncovered"][-1], want.toward_uncovered, atol=1e-6)
    # mode flux: the generator's gradient on the log's batch, through its Adam update, by hand
    from mcjax.systems.gan.optimizers import make_optimizer

    k_loss = jax.random.split(jax.random.clone(key))[0]
    grads = jax.grad(trainer.generator_loss)(state.g_params, state.d_params, hp, k_loss, state.step,
                                             state.wrappers, state.d_opt)
    update, _ = make_optimizer("adam", hp.lr_g, hp).update(grads, state.g_opt, state.g_params)
    scale = 0.25 * 2 * 2.0 * np.sin(np.pi / 8)  # a quarter of the ring's neighbour distance
    want_flux = mode_flux(gen, state.g_params, update, z[:nc], cfg.make_target().means, scale)
    np.testing.assert_allclose(hist["mode_flux"][-1], want_flux, rtol=1e-4, atol=1e-7)  # float32 order


def test_results_saved_before_collapse_samples_load_with_every_evaluation_sample():
    import os

    from mcjax import Config
    from mcjax.core.run import load_spec
    from mcjax.systems.gan.spec import RunSpec

    folder = os.path.join(os.path.dirname(__file__), "..", "docs", "tables", "predict_collapse",
                          "grid")  # trained before the field existed, on 10,000 samples
    spec = load_spec(folder)
    assert spec.collapse_samples == spec.eval_samples == 10000
    old = Config(eval_samples=300, keep_samples=4).to_dict()
    del old["collapse_samples"]
    assert Config.from_dict(old).collapse_samples == 300
    assert Config().collapse_samples == 2048 and RunSpec().collapse_samples == 2048
