"""Losses: each against a NumPy expression of its published formula; WGAN-GP penalty; weight clipping."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import LOSSES
from mcjax.systems.gan.losses import clip_weights, gradient_penalty


def _sigmoid(d):
    return 1.0 / (1.0 + np.exp(-d))


# Published formulas in terms of D = sigmoid(d) (probabilistic losses) or raw scores (others),
# each written as the quantity that player minimises. Float64 NumPy.
def _ref_critic(name, dr, df):
    if name in ("minimax", "non-saturating"):  # Goodfellow et al. 2014, Eq. 1.
        return -np.mean(np.log(_sigmoid(dr))) - np.mean(np.log(1.0 - _sigmoid(df)))
    if name == "wasserstein":  # Arjovsky et al. 2017, Alg. 1: the critic maximises E d_real - E d_fake.
        return -(np.mean(dr) - np.mean(df))
    if name == "hinge":  # Lim & Ye 2017; Miyato et al. 2018, Eq. 16.
        return np.mean(np.maximum(0.0, 1.0 - dr)) + np.mean(np.maximum(0.0, 1.0 + df))
    if name == "least-squares":  # Mao et al. 2017, Eq. 2 with a = 0, b = 1.
        return 0.5 * np.mean((dr - 1.0) ** 2) + 0.5 * np.mean((df - 0.0) ** 2)
    raise KeyError(name)


def _ref_generator(name, df):
    if name == "minimax":  # Goodfellow et al. 2014, Eq. 1: G minimises E log(1 - D(G(z))).
        return np.mean(np.log(1.0 - _sigmoid(df)))
    if name == "non-saturating":  # Goodfellow et al. 2014, Sec. 3: G maximises E log D(G(z)).
        return -np.mean(np.log(_sigmoid(df)))
    if name in ("wasserstein", "hinge"):  # Arjovsky et al. 2017; Miyato et al. 2018: -E d_fake.
        return -np.mean(df)
    if name == "least-squares":  # Mao et al. 2017, Eq. 2 with c = 1.
        return 0.5 * np.mean((df - 1.0) ** 2)
    raise KeyError(name)


def test_losses_registry_is_what_we_test():
    assert set(LOSSES) == {"minimax", "non-saturating", "wasserstein", "hinge", "least-squares"}


def _logits(seed, b=256, scale=3.0):
    rng = np.random.default_rng(seed)
    # Logits in roughly [-10, 10]: D stays in (5e-5, 1 - 5e-5), where the float64 log(1 - D)
    # reference is accurate; hinge/LS see both sides of their kinks/minima.
    return (scale * rng.normal(size=b)).astype(np.float32), (scale * rng.normal(size=b)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("seed", [0, 1])
def test_critic_loss_matches_published_formula(name, seed):
    dr, df = _logits(seed)
    got = float(jax.jit(LOSSES[name].critic)(dr, df))
    want = _ref_critic(name, dr.astype(np.float64), df.astype(np.float64))
    # float32 softplus/means of 256 terms of size <= ~10 against float64: ~1e-6 relative;
    # the absolute part covers the Wasserstein loss, a difference of two means that can be near 0.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("seed", [0, 1])
def test_generator_loss_matches_published_formula(name, seed):
    _, df = _logits(seed)
    got = float(jax.jit(LOSSES[name].generator)(df))
    want = _ref_generator(name, df.astype(np.float64))
    # float32 against float64, as above.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_finite_at_extreme_logits(name):
    # Saturated critics (|d| = 100: sigmoid is exactly 0 or 1 in float32) must not produce inf/NaN
    # values or gradients: the probabilistic losses go through softplus, not log(sigmoid).
    d = jnp.array([-100.0, 100.0, 0.0, 50.0], jnp.float32)
    loss = LOSSES[name]
    val_c, grads_c = jax.jit(jax.value_and_grad(loss.critic, argnums=(0, 1)))(d, -d)
    val_g, grad_g = jax.jit(jax.value_and_grad(loss.generator))(d)
    for v in (val_c, val_g, *grads_c, grad_g):
        assert np.all(np.isfinite(np.asarray(v)))


def test_minimax_critic_gradient_matches_closed_form():
    # d/d d_real of -mean log sigmoid(d_real) = -(1 - D(d_real)) / B; d/d d_fake = D(d_fake) / B.
    dr, df = _logits(2, b=32)
    g_r, g_f = jax.jit(jax.grad(LOSSES["minimax"].critic, argnums=(0, 1)))(dr, df)
    dr64, df64 = dr.astype(np.float64), df.astype(np.float64)
    # float32 sigmoid: ~1e-7 relative, divided by B = 32.
    np.testing.assert_allclose(g_r, -(1.0 - _sigmoid(dr64)) / 32, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g_f, _sigmoid(df64) / 32, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------- gradient penalty


def _gp(critic_fn):
    return jax.jit(lambda real, fake, key: gradient_penalty(critic_fn, real, fake, key))


@pytest.mark.parametrize("w", [[3.0, -4.0], [0.6, 0.8], [0.1, 0.2, -0.2]], ids=["norm5", "norm1", "norm0.3"])
def test_gradient_penalty_linear_critic(w):
    w = np.asarray(w, np.float32)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, len(w))).astype(np.float32)
    fake = rng.normal(size=(16, len(w))).astype(np.float32)
    w_j = jnp.asarray(w)
    gp = float(_gp(lambda x: x @ w_j)(real, fake, jax.random.key(0)))
    # grad_x (x . w) = w everywhere, so the penalty is (||w|| - 1)^2 whatever the interpolates.
    # float32 norm plus the 1e-12 stabiliser inside the sqrt: ~1e-6 absolute.
    np.testing.assert_allclose(gp, (np.linalg.norm(w.astype(np.float64)) - 1.0) ** 2, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_quadratic_critic_reproduces_interpolates():
    rng = np.random.default_rng(1)
    b, dim = 32, 3
    a = rng.normal(size=(dim, dim))
    a = (a + a.T).astype(np.float32)  # symmetric, so grad_x (x^T A x / 2 + c . x) = A x + c
    c = rng.normal(size=dim).astype(np.float32)
    real = rng.normal(size=(b, dim)).astype(np.float32)
    fake = (2.0 * rng.normal(size=(b, dim)) + 1.0).astype(np.float32)
    a_j, c_j = jnp.asarray(a), jnp.asarray(c)

    def critic(x):
        return 0.5 * jnp.sum((x @ a_j) * x, axis=1) + x @ c_j

    key = jax.random.key(42)
    # Reproduce eps with the same key; clone so the key-reuse checker accepts the second use.
    eps = np.asarray(jax.random.uniform(jax.random.clone(key), (b, 1)), np.float64)
    gp = float(_gp(critic)(real, fake, key))

    xhat = eps * real.astype(np.float64) + (1.0 - eps) * fake.astype(np.float64)
    grads = xhat @ a.astype(np.float64) + c.astype(np.float64)
    want = np.mean((np.linalg.norm(grads, axis=1) - 1.0) ** 2)
    # float32 interpolation and matmul against float64, values of size ~10: ~1e-5 relative.
    np.testing.assert_allclose(gp, want, rtol=1e-4)

    # A different key gives different interpolates, hence (for this non-linear critic) a different penalty.
    other = float(_gp(critic)(real, fake, jax.random.key(43)))
    assert abs(other - gp) > 1e-3 * gp


def test_gradient_penalty_is_differentiable_in_critic_params():
    # WGAN-GP trains the critic through the penalty: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||.
    rng = np.random.default_rng(2)
    real = rng.normal(size=(8, 2)).astype(np.float32)
    fake = rng.normal(size=(8, 2)).astype(np.float32)
    w = np.array([3.0, -4.0], np.float32)
    grad = jax.jit(jax.grad(lambda w, k: gradient_penalty(lambda x: x @ w, real, fake, k)))(w, jax.random.key(0))
    # float32: ~1e-6 relative.
    np.testing.assert_allclose(grad, 2 * (5.0 - 1.0) * w / 5.0, rtol=1e-5)


# ---------------------------------------------------------------------------- weight clipping


def test_clip_weights_clips_every_leaf():
    rng = np.random.default_rng(3)
    params = {
        "dense": {"kernel": rng.normal(scale=0.1, size=(4, 3)).astype(np.float32), "bias": np.array([0.5, -0.5, 0.001], np.float32)},
        "out": [rng.normal(size=(3,)).astype(np.float32), np.float32(-7.0)],
    }
    clipped = jax.jit(clip_weights)(params, jnp.float32(0.01))
    assert jax.tree.structure(clipped) == jax.tree.structure(params)
    for got, orig in zip(jax.tree.leaves(clipped), jax.tree.leaves(params)):
        # Clipping is exact: each value is either kept or replaced by +-c.
        np.testing.assert_array_equal(np.asarray(got), np.clip(orig, np.float32(-0.01), np.float32(0.01)))
        assert np.asarray(got).shape == np.shape(orig)
    assert all(float(jnp.max(jnp.abs(leaf))) <= np.float32(0.01) for leaf in jax.tree.leaves(clipped))


def test_clip_weights_clip_value_is_traced():
    # The clip value is a swept hyperparameter: changing it must not retrace.
    traces = []

    @jax.jit
    def f(params, c):
        traces.append(None)
        return clip_weights(params, c)

    params = {"w": np.linspace(-1, 1, 5, dtype=np.float32)}
    a = f(params, jnp.float32(0.5))
    b = f(params, jnp.float32(0.1))
    assert len(traces) == 1
    np.testing.assert_array_equal(a["w"], [-0.5, -0.5, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(b["w"], np.float32([-0.1, -0.1, 0.0, 0.1, 0.1]))
