"""Measurements of collapse mechanisms (mcjax.analysis.collapse) against independent computations."""
import jax
import jax.numpy as jnp
import numpy as np
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
