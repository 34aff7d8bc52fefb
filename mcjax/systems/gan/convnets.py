"""DCGAN-style generator and critic for image targets (``Config.arch = "dcgan"``).

The Stacked MNIST networks of VEEGAN (Srivastava et al. 2017, App. B) and PacGAN (Lin et al. 2018,
Sec. 5.2), which take theirs from DCGAN (Radford et al. 2016) as far as the papers state it:

* generator ``z [n, L] -> [n, H, W, C]``: a dense layer to ``H/4 x W/4 x 2w`` channels, two 5x5
  transposed convolutions of stride 2 (``w`` channels, then ``C``); batch normalisation and ReLU
  after each hidden layer, ``tanh`` at the end (images live in [-1, 1]);
* critic ``[n, H, W, C m] -> (logits [n], features [n, F])``: two 5x5 convolutions of stride 2
  (``w``, ``2w`` channels) with leaky ReLU (slope 0.2), flattened, then the same head as the MLP
  critic (minibatch layers optional, one dense output). No batch normalisation in the critic, so
  that gradient penalties (WGAN-GP, R1, DRAGAN) see a critic whose output for one image does not
  depend on the others (Gulrajani et al. 2017, Sec. 4).

Batch normalisation here is the training-mode kind: each call normalises with the statistics of
the batch it is given (no running averages), so the generator stays a pure function of
``(params, z)``; the evaluation batch (``eval_samples`` latents) is normalised with its own
statistics, as GAN code that keeps the generator in training mode does.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from mcjax.systems.gan.nets import critic_head

__all__ = ["BatchNorm", "Conv", "patches", "phase_kernel", "DCGANGenerator", "DCGANCritic"]


# XLA:CPU builds the patches as a concatenation along the channel axis of k^2 separately
# materialised slices; with few channels (an image's 3) each copied piece is a few bytes, and two
# concatenations of k pieces each (columns, then rows of whole column groups) run 1.3-1.8x faster
# forward and backward in a training scan (5x5 stride-2 on 28x28x3); with 16 channels or more, or
# 3x3 kernels, the single concatenation is as fast or faster (docs/benchmarks.md).
_FEW_CHANNELS = 4


def patches(x: jax.Array, k: int, stride: int) -> jax.Array:
    """``[n, H, W, C] -> [n, ceil(H/s), ceil(W/s), k k C]``: the ``k x k`` neighbourhood of every
    output pixel of a stride-``s`` convolution with XLA's ``SAME`` padding (``total // 2`` before),
    gathered by ``k^2`` strided slices, ordered ``(row, column, channel)`` (with few channels and
    ``k >= 5``: ``k`` column slices, then ``k`` row slices of those, the same array).

    A convolution is then one matrix product with the kernel ``[k, k, C, O]`` as ``[k k C, O]``.
    Under ``jax.vmap`` over runs with per-run kernels, that product is a batched matmul; XLA's own
    convolution becomes a grouped convolution there, which XLA:CPU runs (forward and backward)
    2 to 9 times slower at the DCGAN's sizes (``docs/benchmarks.md``, "The DCGAN on Stacked MNIST",
    conv lowering).
    """
    n, h, w, c = x.shape
    ho, wo = -(-h // stride), -(-w // stride)
    ph, pw = max((ho - 1) * stride + k - h, 0), max((wo - 1) * stride + k - w, 0)
    x = jnp.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    span_h, span_w = stride * (ho - 1) + 1, stride * (wo - 1) + 1
    if k >= 5 and c <= _FEW_CHANNELS:  # the columns' k taps first, then their k rows
        x = jnp.concatenate([x[:, :, j: j + span_w: stride, :] for j in range(k)], axis=-1)
        return jnp.concatenate([x[:, i: i + span_h: stride] for i in range(k)], axis=-1)
    cols = [x[:, i: i + span_h: stride, j: j + span_w: stride, :] for i in range(k) for j in range(k)]
    return jnp.concatenate(cols, axis=-1)


# tap of a 5-tap kernel that output phase p (0: even, 1: odd output pixel) applies to input offset
# d - 1 (d = 0, 1, 2) after zero-upsampling; 5: no tap (a zero row appended to the kernel)
_PHASE_TAPS = np.array([[0, 2, 4], [5, 1, 3]])


def phase_kernel(kernel: jax.Array) -> jax.Array:
    """A 5x5 kernel ``[5, 5, C, O]`` of a stride-2 transposed convolution as the ``[9 C, 4 O]``
    matrix that maps the 3x3 neighbourhood of an input pixel to its 2x2 output pixels (sub-pixel
    convolution, Shi et al. 2016): output ``(2i + py, 2j + px)`` of the zero-upsampled input
    convolved by a SAME 5x5 kernel sees only inputs ``i - 1 .. i + 1``, through taps ``0, 2, 4``
    (even phase) or ``1, 3`` (odd phase). Upsampling by zeros then convolving is the transposed
    convolution (Dumoulin & Visin 2016, Sec. 4)."""
    k = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))  # index 5: the zero tap
    taps = jnp.asarray(_PHASE_TAPS)
    w = k[taps[:, :, None, None], taps[None, None, :, :]]  # [py, dy, px, dx, C, O]
    c, o = kernel.shape[2], kernel.shape[3]
    return w.transpose(1, 3, 4, 0, 2, 5).reshape(9 * c, 4 * o)


class Conv(nn.Module):
    """A ``k x k`` convolution with ``SAME`` padding as one matmul over :func:`patches`; with
    ``up=True`` (``k = 5``) a stride-2 transposed convolution: zeros inserted between the input's
    pixels, then a stride-1 convolution, computed without the zeros as one matmul of the input's 3x3 patches with
    :func:`phase_kernel` (a third of the work and a ninth of the memory of convolving the
    upsampled image). Parameters ``kernel [k, k, C, O]`` and ``bias [O]``, as flax's ``nn.Conv``."""

    features: int
    kernel_size: int = 5
    stride: int = 1
    up: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, c = self.kernel_size, x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, c, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        if self.up:
            if k != 5:
                raise ValueError(f"the transposed convolution is written for 5x5 kernels, got {k}")
            n, h, w, _ = x.shape
            y = jnp.einsum("nhwk,ko->nhwo", patches(x, 3, 1), phase_kernel(kernel))
            y = y.reshape(n, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
            y = y.reshape(n, 2 * h, 2 * w, self.features)
        else:
            cols = patches(x, k, self.stride)
            y = jnp.einsum("nhwk,ko->nhwo", cols, kernel.reshape(k * k * c, self.features))
        return y + bias.reshape(1, 1, 1, -1)


class BatchNorm(nn.Module):
    """``(x - mean) / sqrt(var + eps) * scale + bias``, statistics over every axis but the last,
    taken from the batch given (Ioffe & Szegedy 2015, training mode)."""

    eps: float = 1e-5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
        scale = self.param("scale", nn.initializers.ones, (x.shape[-1],))
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
        return (x - mean) * jax.lax.rsqrt(var + self.eps) * scale.reshape(mean.shape) \
            + bias.reshape(mean.shape)


class DCGANGenerator(nn.Module):
    """``z [n, L] -> [n, H, W, C]`` (see the module docstring); ``H`` and ``W`` divisible by 4."""

    width: int
    event_shape: tuple

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        H, W, C = self.event_shape
        h, w = H // 4, W // 4
        x = nn.Dense(h * w * 2 * self.width, name="project")(z)
        x = nn.relu(BatchNorm(name="bn_0")(x)).reshape(z.shape[0], h, w, 2 * self.width)
        x = Conv(self.width, up=True, name="up_1")(x)
        x = nn.relu(BatchNorm(name="bn_1")(x))
        x = Conv(C, up=True, name="up_2")(x)
        return jnp.tanh(x)


class DCGANCritic(nn.Module):
    """``[n, H, W, C m] -> (logits [n], features [n, F])`` (see the module docstring).

    Attributes:
      width: channels of the first convolution (the second has ``2 width``).
      mbd_kernels, mbd_dim, mbstd: the minibatch layers of :func:`mcjax.systems.gan.nets.critic_head`.
    """

    width: int
    mbd_kernels: int = 0
    mbd_dim: int = 5
    mbstd: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for i, c in enumerate((self.width, 2 * self.width)):
            x = Conv(c, stride=2, name=f"conv_{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        features = x.reshape(x.shape[0], -1)
        return critic_head(self, features, self.mbd_kernels, self.mbd_dim, self.mbstd), features
