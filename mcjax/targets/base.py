"""The ``Target`` protocol: what a distribution with known modes offers to metrics and systems.

A target is the reference distribution a generator should cover. Mode metrics
(:mod:`mcjax.metrics`) see a target only through this protocol, so a Gaussian mixture, a
classifier-labelled image target and any other rule that names the mode of a sample share one
measurement path.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax

__all__ = ["Target"]


@runtime_checkable
class Target(Protocol):
    r"""A distribution whose samples are told apart by mode and judged for quality.

    A target splits its sample space :math:`\mathcal{X}` into ``K = n_modes`` modes with an
    assignment :math:`a: \mathcal{X} \to \{0, \dots, K - 1\}` and scores each point with a quality
    score :math:`s: \mathcal{X} \to \mathbb{R}`, lower being better. A point is *high quality* (HQ)
    when :math:`s(x) < \tau`, ``tau = hq_threshold``. Two instances:

    * a Gaussian mixture with means :math:`\mu_k` and standard deviation :math:`\sigma`:
      :math:`a(x) = \arg\min_k \|x - \mu_k\|` and :math:`s(x) = \min_k \|x - \mu_k\| / \sigma`, the
      Mahalanobis distance to the nearest mode, with :math:`\tau = 3` (VEEGAN, PacGAN);
    * a classifier-labelled image target (stacked MNIST) with class probabilities :math:`f_c(x)`:
      :math:`a(x) = \arg\max_c f_c(x)` and e.g. :math:`s(x) = (1 - \max_c f_c(x)) / \epsilon`, HQ
      when the classifier is confident, or a distance in the classifier's feature space.

    One sample has shape ``event_shape``, which is not assumed flat (an RGB image target has
    ``(28, 28, 3)``); a batch has shape ``[n, *event_shape]``. ``dim`` is
    :math:`\prod_i \text{event\_shape}_i`, the width a flat network emits before it is reshaped.

    Implementations are pytrees (e.g. a ``flax.struct.dataclass``) so that they pass through
    ``jax.jit`` and ``jax.vmap`` as arguments. They hold their constants as NumPy arrays, so that
    building one never starts a JAX backend (``mcjax.core.sharding.use_cpu_cores`` must run first), and
    convert them with ``jnp.asarray`` inside ``sample`` and ``assign``, which must be traceable.

    Example:
      >>> from mcjax.targets import ring
      >>> t = ring()
      >>> isinstance(t, Target), t.event_shape, t.n_modes
      (True, (2,), 8)
      >>> idx, score = t.assign(t.sample(jax.random.key(0), 4))
      >>> bool((score < t.hq_threshold).all())
      True
    """

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(D,)`` for a point in :math:`\\mathbb{R}^D`, ``(H, W, C)`` for an image."""
        ...

    @property
    def dim(self) -> int:
        """Number of scalars in one sample, :math:`\\prod_i \\text{event\\_shape}_i`."""
        ...

    @property
    def n_modes(self) -> int:
        """Number of modes ``K``; ``assign`` returns indices in ``0 .. K - 1``."""
        ...

    @property
    def hq_threshold(self) -> float:
        """A sample is high quality when its score is below this (a static Python number)."""
        ...

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """Draws ``n`` samples of the reference distribution.

        Args:
          key: a JAX PRNG key.
          n: number of samples (static).

        Returns:
          ``[n, *event_shape]`` samples.
        """
        ...

    def assign(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Mode and quality score of each sample: :math:`(a(x_i), s(x_i))`.

        Args:
          x: ``[n, *event_shape]`` finite samples (metrics replace non-finite values first).

        Returns:
          ``(mode [n] int32, score [n] float)``; sample ``i`` is high quality when
          ``score[i] < hq_threshold``.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """Plain-Python description pinned in results files (JSON-serialisable).

        It holds at least ``name``, ``n_modes`` and ``hq_threshold``, plus every constant that
        decides the distribution (radius, spacing, standard deviation, classifier checkpoint, ...).
        """
        ...
