"""Image plumbing of the GAN (issue 16): PacGAN packing along channels, penalties and the entropy
term over all of an image's axes, the DCGAN players, spectral norm of convolution kernels."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax.systems.gan import convnets, losses, nets, objectives
from mcjax.systems.gan.architectures import packed_shape


def test_packing_images_concatenates_consecutive_samples_along_channels():
    x = np.arange(6 * 4 * 4 * 3, dtype=np.float32).reshape(6, 4, 4, 3)
    got = np.asarray(objectives.pack(jnp.asarray(x), 3))
    assert got.shape == (2, 4, 4, 9)
    for i in range(2):
        for j in range(3):  # sample i*m + j sits in channels j*C .. (j+1)*C - 1 of row i
            np.testing.assert_array_equal(got[i, :, :, 3 * j: 3 * j + 3], x[3 * i + j])
    assert packed_shape((28, 28, 3), 2) == (28, 28, 6) and packed_shape((2,), 4) == (8,)


def test_penalties_on_images_equal_the_flattened_definition():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.normal(size=(4 * 4 * 2,)), jnp.float32)
    critic_img = lambda x: jnp.tanh(x.reshape(x.shape[0], -1)) @ w  # a non-linear critic
    critic_flat = lambda x: jnp.tanh(x) @ w
    real = jnp.asarray(rng.normal(size=(5, 4, 4, 2)), jnp.float32)
    fake = jnp.asarray(rng.normal(size=(5, 4, 4, 2)), jnp.float32)
    flat = lambda a: a.reshape(5, -1)
    key = jax.random.key(1)
    # same numbers in another shape: equal up to float32 summation order
    np.testing.assert_allclose(objectives.r1_penalty(critic_img, real),
                               objectives.r1_penalty(critic_flat, flat(real)), rtol=1e-6)
    np.testing.assert_allclose(losses.gradient_penalty(critic_img, real, fake, key),
                               losses.gradient_penalty(critic_flat, flat(real), flat(fake),
                                                       jax.random.clone(key)), rtol=1e-6)
    np.testing.assert_allclose(objectives.kl_entropy(real, 2), objectives.kl_entropy(flat(real), 2),
                               rtol=1e-6)


@pytest.mark.parametrize("shape", [(8, 8, 3), (28, 28, 3)])
def test_dcgan_shapes_range_and_batch_norm(shape):
    gen = convnets.DCGANGenerator(8, shape)
    z = jax.random.normal(jax.random.key(0), (6, 5))
    params = gen.init(jax.random.key(1), z)
    x = gen.apply(params, z)
    assert x.shape == (6,) + shape
    assert float(jnp.max(jnp.abs(x))) <= 1.0  # tanh output: the targets' pixel range [-1, 1]
    crit = convnets.DCGANCritic(8)
    d_params = crit.init(jax.random.key(2), jnp.zeros((2,) + packed_shape(shape, 2)))
    logits, feats = crit.apply(d_params, objectives.pack(jnp.concatenate([x, x]), 2))
    assert logits.shape == (6,) and feats.shape == (6, (shape[0] // 4) * (shape[1] // 4) * 16)
    # training-mode batch norm: per channel, zero mean and unit variance over the batch
    h = convnets.BatchNorm().apply({"params": {"scale": jnp.ones(3), "bias": jnp.zeros(3)}},
                                   jax.random.normal(jax.random.key(3), (7, 4, 4, 3)) * 5 + 2)
    np.testing.assert_allclose(np.mean(np.asarray(h), axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.var(np.asarray(h), axis=(0, 1, 2)), 1.0, rtol=1e-3)  # eps 1e-5 / var 25


def test_critic_output_of_one_image_does_not_depend_on_the_others():
    crit = convnets.DCGANCritic(4)
    x = jax.random.normal(jax.random.key(0), (5, 8, 8, 3))
    p = crit.init(jax.random.key(1), x)
    alone = crit.apply(p, x[:1])[0]
    np.testing.assert_allclose(crit.apply(p, x)[0][:1], alone, rtol=1e-5)  # no batch norm in D


def test_spectral_norm_of_a_convolution_kernel_is_its_matrix_norm():
    crit = convnets.DCGANCritic(4)
    p = crit.init(jax.random.key(0), jnp.zeros((2, 8, 8, 3)))
    u = nets.spectral_norm_init(p, jax.random.key(1))
    for _ in range(200):  # power iteration converges geometrically; 200 steps reach float32
        normed, u = nets.spectral_normalize(p, u)
    for name in ("conv_0", "conv_1"):
        k = np.asarray(normed["params"][name]["kernel"])
        # the normalised [kh kw in, out] matrix has largest singular value 1 (to float32 rounding)
        assert np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("stride,up", [(1, False), (2, False), (1, True)])
@pytest.mark.parametrize("size", [7, 8])
def test_patch_convolution_equals_xla_convolution(stride, up, size):
    x = jax.random.normal(jax.random.key(0), (3, size, size, 4))
    conv = convnets.Conv(6, stride=stride, up=up)
    p = conv.init(jax.random.key(1), x)
    kernel, bias = p["params"]["kernel"], p["params"]["bias"]
    dn = ("NHWC", "HWIO", "NHWC")
    if up:  # zeros between pixels (lhs dilation), then SAME padding of the 2H-sized input
        want = jax.lax.conv_general_dilated(x, kernel, (1, 1), ((2, 3), (2, 3)), lhs_dilation=(2, 2),
                                            dimension_numbers=dn)
    else:
        want = jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME", dimension_numbers=dn)
    got = conv.apply(p, x)
    assert got.shape == want.shape
    # 100-term float32 sums in another order: a few ulps of the terms' magnitude (~10)
    np.testing.assert_allclose(got, want + bias.reshape(1, 1, 1, -1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [3, 8, 10])
def test_in_batches_normalises_each_training_sized_batch_on_its_own(n):
    from mcjax.systems.gan.architectures import in_batches

    z = jnp.arange(n * 2, dtype=jnp.float32).reshape(n, 2) ** 1.5
    apply = lambda x: x - jnp.mean(x, axis=0, keepdims=True)  # depends on its batch
    got = np.asarray(in_batches(apply, z, 4))
    if n <= 4:
        want = apply(z)
    else:
        full = (n // 4) * 4
        parts = [apply(z[i: i + 4]) for i in range(0, full, 4)]
        if full < n:
            parts.append(apply(z[n - 4:])[4 - (n - full):])  # the last 4 latents, their tail
        want = jnp.concatenate(parts)
    np.testing.assert_allclose(got, want, rtol=1e-6)  # the same batches, the same arithmetic


def _xla_conv(x, kernel, stride, up):
    dn = ("NHWC", "HWIO", "NHWC")
    if up:  # zeros between pixels (lhs dilation), then SAME padding of the 2H-sized input
        return jax.lax.conv_general_dilated(x, kernel, (1, 1), ((2, 3), (2, 3)), lhs_dilation=(2, 2),
                                            dimension_numbers=dn)
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME", dimension_numbers=dn)


@pytest.mark.parametrize("stride,up", [(2, False), (1, True)])
@pytest.mark.parametrize("size", [7, 8])
def test_patch_convolution_forward_and_gradients_equal_xla_under_vmap(stride, up, size):
    """Pins convnets.Conv (forward, and gradients of input, kernel and bias) to XLA's convolution,
    on one run and under vmap over 3 runs with per-run weights."""
    runs = 3
    kx, kp, kc = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (runs, 4, size, size, 5))
    conv = convnets.Conv(6, stride=stride, up=up)
    params = jax.vmap(conv.init)(jax.random.split(kp, runs), x)
    cot = jax.random.normal(kc, jax.eval_shape(jax.vmap(conv.apply), params, x).shape)

    def ours(p, xi, ci):
        return jnp.sum(conv.apply(p, xi) * ci)

    def ref(p, xi, ci):
        y = _xla_conv(xi, p["params"]["kernel"], stride, up) + p["params"]["bias"].reshape(1, 1, 1, -1)
        return jnp.sum(y * ci)

    grad = lambda f: jax.value_and_grad(f, argnums=(0, 1))
    for r in (0,):  # one run, no vmap
        one = jax.tree.map(lambda a: a[r], params)
        got, want = jax.jit(grad(ours))(one, x[r], cot[r]), jax.jit(grad(ref))(one, x[r], cot[r])
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    got = jax.jit(jax.vmap(grad(ours)))(params, x, cot)
    want = jax.jit(jax.vmap(grad(ref)))(params, x, cot)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4 * max(1.0, float(jnp.max(jnp.abs(w)))))
    fwd = jax.jit(jax.vmap(conv.apply))(params, x)
    want_fwd = jax.vmap(lambda p, xi: _xla_conv(xi, p["params"]["kernel"], stride, up)
                        + p["params"]["bias"].reshape(1, 1, 1, -1))(params, x)
    np.testing.assert_allclose(fwd, want_fwd, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channels", [3, 8])  # two concatenations (few channels), one (more)
@pytest.mark.parametrize("k,stride,size", [(5, 2, 7), (5, 1, 8), (3, 1, 7)])
def test_patches_are_the_k_by_k_neighbourhoods(channels, k, stride, size):
    x = jax.random.normal(jax.random.key(0), (2, size, size, channels))
    got = np.asarray(convnets.patches(x, k, stride))
    ho = -(-size // stride)
    pad = max((ho - 1) * stride + k - size, 0)
    xp = np.pad(np.asarray(x), ((0, 0), (pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2), (0, 0)))
    want = np.stack([xp[:, stride * i: stride * i + k, stride * j: stride * j + k, :].reshape(2, -1)
                     for i in range(ho) for j in range(ho)], axis=1).reshape(2, ho, ho, -1)
    np.testing.assert_array_equal(got, want)  # pure data movement: bitwise
