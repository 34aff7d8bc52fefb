"""The digit classifier that counts the modes of the stacked-digit targets.

A small convolutional network reads one channel (``[n, H, W, 1]`` in [-1, 1]) and returns 10
logits and its penultimate features (what the Frechet distance and PRDC compare). It is trained
with optax (AdamW, dropout, random small rotations, scalings and shifts of the digits) on the
training split of :mod:`mcjax.targets.digits` from a fixed seed, and judged on the held-out split.
VEEGAN and PacGAN count Stacked-MNIST modes with such a pretrained classifier (Srivastava et al.
2017, Sec. 5.2; Lin et al. 2018, Sec. 5.2). :mod:`mcjax.targets.classifier_cache` trains it once
and keeps it on disk.

Measured with the default recipes on 2 CPU cores: MNIST (4,000 training digits) 98.3 % held-out
accuracy (983 of 1,000) in 22-36 s, up to 70 s while other jobs share the cores; 8x8 digits
(1,390) 99.0 % (403 of 407) in about 9 s.
"""
from __future__ import annotations

import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from mcjax.targets.digits import DigitData

__all__ = ["Recipe", "RECIPES", "Conv3x3", "DigitCNN", "ACCURACY_BAR", "apply_classifier",
           "train_classifier"]

ACCURACY_BAR = 0.97


class Recipe(NamedTuple):
    """Everything that decides the trained classifier (hashed into its cache name).

    Attributes:
      widths: channels of the 3x3 convolutions (:class:`Conv3x3`), each followed by ReLU and 2x2
        max pooling.
      features: width ``F`` of the penultimate (ReLU) layer, the features :func:`apply_classifier`
        returns.
      epochs: passes over the training split.
      batch_size: digits per step (each epoch drops the remainder of a fresh permutation).
      learning_rate: AdamW peak rate, cosine-decayed to 0 over training.
      weight_decay: AdamW decoupled weight decay.
      dropout: dropout rate on the features while training.
      max_shift: augmentation (:func:`_augment`): each digit is shifted by up to this many pixels
        along each axis,
      max_rotation: rotated by up to this many degrees,
      max_scale: and scaled by a factor within ``1 +- max_scale`` (all zero: no augmentation).
      seed: the seed of ``jax.random.key`` (initial weights, batch order, shifts).
    """

    widths: tuple = (16, 32)
    features: int = 128
    epochs: int = 20
    batch_size: int = 50
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    dropout: float = 0.3
    max_shift: float = 2.0
    max_rotation: float = 15.0
    max_scale: float = 0.15
    seed: int = 0


RECIPES = {
    "mnist": Recipe(),
    "digits": Recipe(widths=(32, 64), epochs=30, max_shift=0.5, max_rotation=10.0, max_scale=0.1),
}


def _patches(x: jax.Array) -> jax.Array:
    """``[n, H, W, C] -> [n, H, W, 9 C]``: the 3x3 neighbourhood of each pixel (zero padding),
    ordered (row offset, column offset, channel) like a ``[3, 3, C, F]`` kernel's rows."""
    _, h, w, _ = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.concatenate([xp[:, i:i + h, j:j + w, :] for i in range(3) for j in range(3)], axis=-1)


class Conv3x3(nn.Module):
    """A 3x3 'SAME' convolution, :math:`y_{hw} = b + \\sum_{ij} x_{h+i-1, w+j-1} K_{ij}`, computed
    two ways that agree to rounding: XLA's convolution, or shifted slices times the kernel
    reshaped to ``[9 C, F]`` (``unrolled``).

    XLA:CPU differentiates its convolution 10-60x slower than it runs the slices' matmul (a
    ``[100, 28, 28, 1]`` batch through 32 and 64 channels: 3.4 s against 55 ms a training step on 2
    cores), while its forward convolution is about 4x faster than the slices: training uses the
    slices, inference the convolution.
    """

    features: int

    @nn.compact
    def __call__(self, x: jax.Array, unrolled: bool = False) -> jax.Array:
        c = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, c, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        if unrolled:
            y = _patches(x) @ kernel.reshape(9 * c, self.features)
        else:
            y = jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + bias.reshape(1, 1, 1, self.features)


def _max_pool(x: jax.Array) -> jax.Array:
    """2x2 max pooling with stride 2 (odd trailing rows and columns dropped)."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


class DigitCNN(nn.Module):
    """``[n, H, W, 1] -> (logits [n, 10], features [n, F])``: 3x3 conv-ReLU-2x2 max-pool blocks,
    one ReLU dense layer (the features), dropout of rate ``dropout`` on them while training, a
    linear read-out. ``train`` also picks the unrolled :class:`Conv3x3` (same function, same
    parameters) and needs a ``"dropout"`` key when ``dropout > 0``."""

    widths: tuple
    features: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        for w in self.widths:
            x = _max_pool(nn.relu(Conv3x3(w)(x, unrolled=train)))
        f = nn.relu(nn.Dense(self.features)(x.reshape(x.shape[0], -1)))
        return nn.Dense(10)(nn.Dropout(self.dropout, deterministic=not train)(f)), f


def apply_classifier(params: Any, recipe: Recipe, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Logits and penultimate features of single-channel digits.

    Args:
      params: the classifier's parameters (NumPy or JAX arrays).
      recipe: its recipe (only ``widths`` and ``features`` are read).
      x: ``[n, H, W]`` or ``[n, H, W, 1]`` digits in [-1, 1].

    Returns:
      ``(logits [n, 10], features [n, F])``.
    """
    x = jnp.asarray(x, jnp.float32)
    if x.ndim == 3:
        x = x[..., None]
    params = jax.tree.map(jnp.asarray, params)
    return DigitCNN(tuple(recipe.widths), recipe.features).apply({"params": params}, x)


def _augment(key: jax.Array, x: jax.Array, recipe: Recipe) -> jax.Array:
    r"""Random affine copies of ``[n, H, W, 1]`` digits, bilinear, background -1 filling in.

    Output pixel :math:`p` reads input :math:`c + R(\theta)(p - c) / s - d` (``c`` the centre),
    with :math:`\theta`, :math:`s - 1` and each :math:`d_i` uniform in
    :math:`\pm` ``max_rotation`` degrees, ``max_scale`` and ``max_shift`` pixels.
    """
    n, h, w, _ = x.shape
    k_rot, k_scale, k_shift = jax.random.split(key, 3)
    pm1 = lambda k, shape: jax.random.uniform(k, shape, minval=-1.0, maxval=1.0)
    theta = jnp.deg2rad(recipe.max_rotation) * pm1(k_rot, (n,))
    scale = 1.0 + recipe.max_scale * pm1(k_scale, (n,))
    shift = recipe.max_shift * pm1(k_shift, (n, 2))
    r, q = jnp.meshgrid(jnp.arange(h) - (h - 1) / 2.0, jnp.arange(w) - (w - 1) / 2.0, indexing="ij")

    def warp(img, t, s, d):
        src_r = (h - 1) / 2.0 + (jnp.cos(t) * r - jnp.sin(t) * q) / s - d[0]
        src_c = (w - 1) / 2.0 + (jnp.sin(t) * r + jnp.cos(t) * q) / s - d[1]
        return jax.scipy.ndimage.map_coordinates(img, [src_r, src_c], order=1, mode="constant",
                                                 cval=-1.0)

    return jax.vmap(warp)(x[..., 0], theta, scale, shift)[..., None]


def _fit(recipe: Recipe, x: jax.Array, y: jax.Array, key: jax.Array) -> Any:
    """Trained parameters: ``epochs`` x ``n // batch_size`` AdamW steps of cross-entropy, one
    ``lax.scan`` over epochs of a ``lax.scan`` over batches."""
    model = DigitCNN(tuple(recipe.widths), recipe.features, recipe.dropout)
    k_init, k_train = jax.random.split(key)
    params = model.init(k_init, x[:1])["params"]
    steps = x.shape[0] // recipe.batch_size
    tx = optax.adamw(optax.cosine_decay_schedule(recipe.learning_rate, recipe.epochs * steps),
                     weight_decay=recipe.weight_decay)

    def loss_fn(p, xb, yb, k_drop):
        logits, _ = model.apply({"params": p}, xb, train=True, rngs={"dropout": k_drop})
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    def batch_step(carry, inputs):
        p, opt = carry
        idx, k_step = inputs
        k_shift, k_drop = jax.random.split(k_step)
        xb = x[idx]
        if recipe.max_shift or recipe.max_rotation or recipe.max_scale:
            xb = _augment(k_shift, xb, recipe)
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, y[idx], k_drop)
        updates, opt = tx.update(grads, opt, p)
        return (optax.apply_updates(p, updates), opt), loss

    def epoch(carry, k_epoch):
        k_perm, k_steps = jax.random.split(k_epoch)
        order = jax.random.permutation(k_perm, x.shape[0])[: steps * recipe.batch_size]
        inputs = (order.reshape(steps, recipe.batch_size), jax.random.split(k_steps, steps))
        return jax.lax.scan(batch_step, carry, inputs)

    (params, _), _ = jax.lax.scan(epoch, (params, tx.init(params)),
                                  jax.random.split(k_train, recipe.epochs))
    return params


def train_classifier(data: DigitData, recipe: Recipe) -> tuple[dict, float, float]:
    """Trains a classifier in this process (deterministic given ``recipe`` on one platform).

    Returns:
      ``(params, held-out accuracy, seconds)`` with ``params`` a nested dict of NumPy arrays.
    """
    start = time.perf_counter()
    x = jnp.asarray(data.train_x)[..., None]
    y = jnp.asarray(data.train_y)
    fit = jax.jit(_fit, static_argnums=0)
    params = jax.device_get(fit(recipe, x, y, jax.random.key(recipe.seed)))
    logits, _ = jax.jit(apply_classifier, static_argnums=1)(params, recipe, data.test_x)
    accuracy = float(np.mean(np.asarray(jnp.argmax(logits, axis=1)) == data.test_y))
    return jax.tree.map(np.asarray, params), accuracy, time.perf_counter() - start
