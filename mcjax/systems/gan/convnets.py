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
from flax import linen as nn

from mcjax.systems.gan.nets import critic_head

__all__ = ["BatchNorm", "DCGANGenerator", "DCGANCritic"]


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
        x = nn.ConvTranspose(self.width, (5, 5), strides=(2, 2), padding="SAME", name="up_1")(x)
        x = nn.relu(BatchNorm(name="bn_1")(x))
        x = nn.ConvTranspose(C, (5, 5), strides=(2, 2), padding="SAME", name="up_2")(x)
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
            x = nn.Conv(c, (5, 5), strides=(2, 2), padding="SAME", name=f"conv_{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        features = x.reshape(x.shape[0], -1)
        return critic_head(self, features, self.mbd_kernels, self.mbd_dim, self.mbstd), features
