"""Mode statistics of a sample set against a :class:`~mcjax.targets.Target`, on device and vmappable.

Conventions follow VEEGAN (Srivastava et al. 2017, Sec. 5.1) and PacGAN (Lin et al. 2018, Sec. 5):
the target assigns each sample a mode and a quality score (for a Gaussian mixture, the nearest mode
and the Mahalanobis distance to it); a sample is *high quality* (HQ) when its score is below the
target's threshold (3 standard deviations for 2-D mixtures); a mode is *covered* when it is the
mode of at least one HQ sample. Only the protocol's ``assign``, ``n_modes`` and ``hq_threshold``
are used, so any target (a mixture, a classifier-labelled image target) is measured the same way.

Hill numbers (:func:`hill_numbers`) summarise any histogram, the mode histogram among others, as
an effective number of modes; :func:`kl_to_uniform` is its reverse KL to the uniform histogram.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mcjax.targets.base import Target

__all__ = ["ModeStats", "mode_stats", "mode_histogram", "hill_numbers", "kl_to_uniform",
           "collapse_classes"]


class ModeStats(NamedTuple):
    """Per-sample-set mode statistics (each a scalar, except ``mode_counts [K]``).

    Attributes:
      modes_covered: number of modes that are the mode of at least one HQ sample.
      hq_fraction: share of samples that are high quality.
      reverse_kl: ``KL(p_hat || uniform) = sum_k p_hat_k log(K p_hat_k)`` in nats, ``p_hat`` the
        mode histogram of HQ samples. With no HQ sample at all it is defined as ``log K``, the value
        of a generator that puts all its mass on one mode.
      js_to_uniform: Jensen-Shannon divergence between ``p_hat`` and uniform, in nats (PacGAN logs
        it); ``log 2``-bounded. With no HQ sample, the value for a one-mode histogram.
      occupancy_entropy: ``H(p_hat) = -sum_k p_hat_k log p_hat_k`` in nats (0 with no HQ sample).
        For a deterministic generator restricted to HQ samples this is the mutual information
        ``I(Z; mode)`` between latent and mode: ``log K - reverse_kl``.
      mode_counts: ``[K]`` number of HQ samples per mode.
    """

    modes_covered: jax.Array
    hq_fraction: jax.Array
    reverse_kl: jax.Array
    js_to_uniform: jax.Array
    occupancy_entropy: jax.Array
    mode_counts: jax.Array


def mode_histogram(samples: jax.Array, target: Target,
                   mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Counts of HQ samples per mode and the HQ mask.

    Args:
      samples: ``[n, *event_shape]`` finite samples.
      target: any :class:`~mcjax.targets.Target`.
      mask: optional ``[n]`` bool: only samples with ``m_i`` count (e.g. the first ``M`` rows of
        an array padded to a static size); ``None`` counts all.

    Returns:
      ``(counts [K] float32, hq [n] bool)`` with
      ``counts_k = #{i : m_i, a(x_i) = k, s(x_i) < tau}``; ``hq`` ignores ``mask``.
    """
    idx, score = target.assign(samples)
    hq = score < target.hq_threshold
    counted = hq if mask is None else hq & mask
    onehot = jax.nn.one_hot(idx, target.n_modes, dtype=jnp.float32)
    counts = jnp.sum(onehot * counted[:, None].astype(jnp.float32), axis=0)
    return counts, hq


def _xlogy(x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.where(x > 0, x * jnp.log(jnp.where(x > 0, y, 1.0)), 0.0)


def mode_stats(samples: jax.Array, target: Target) -> ModeStats:
    """Mode coverage statistics of ``samples [n, *event_shape]`` against ``target``.

    With ``p_hat`` the mode histogram of HQ samples and ``K`` modes: ``reverse_kl = log K - H(p_hat)``
    and ``js_to_uniform = KL(p_hat || m) / 2 + KL(u || m) / 2`` with ``u`` uniform and
    ``m = (p_hat + u) / 2``.

    Pure and jittable; ``jax.vmap`` it over a leading run axis of ``samples``. Non-finite samples
    are replaced by +-1e30 (NaN by +1e30) before ``target.assign``, so they are never high quality
    and never produce NaN.

    Example:
      >>> t = ring()
      >>> s = mode_stats(t.sample(jax.random.key(0), 2500), t)
      >>> int(s.modes_covered)
      8

    References:
      Srivastava et al. 2017 (VEEGAN), Sec. 5.1; Lin et al. 2018 (PacGAN), Table 1.
    """
    samples = jnp.nan_to_num(samples, nan=1e30, posinf=1e30, neginf=-1e30)
    counts, hq = mode_histogram(samples, target)
    k = target.n_modes
    total = jnp.sum(counts)
    any_hq = total > 0
    p = jnp.where(any_hq, counts / jnp.maximum(total, 1.0), jnp.zeros_like(counts).at[0].set(1.0))
    log_k = jnp.log(jnp.asarray(k, jnp.float32))
    entropy = -jnp.sum(_xlogy(p, p))
    reverse_kl = jnp.maximum(log_k - entropy, 0.0)
    m = 0.5 * (p + 1.0 / k)
    js = 0.5 * jnp.sum(_xlogy(p, p / m)) + 0.5 * jnp.sum((1.0 / k) * jnp.log((1.0 / k) / m))
    return ModeStats(
        modes_covered=jnp.sum(counts > 0).astype(jnp.int32),
        hq_fraction=jnp.mean(hq.astype(jnp.float32)),
        reverse_kl=reverse_kl,
        js_to_uniform=js,
        occupancy_entropy=jnp.where(any_hq, entropy, 0.0),
        mode_counts=counts,
    )


def _hill(p: jax.Array, q: float) -> jax.Array:
    """``D_q`` of probability vectors ``p [..., K]`` (each summing to 1) for one order ``q``."""
    pos = p > 0
    if q == 0:
        return jnp.sum(pos, axis=-1).astype(p.dtype)
    if q == 1:
        return jnp.exp(-jnp.sum(_xlogy(p, p), axis=-1))
    if q == math.inf:
        return 1.0 / jnp.max(p, axis=-1)
    power_sum = jnp.sum(jnp.where(pos, jnp.where(pos, p, 1.0) ** q, 0.0), axis=-1)
    return power_sum ** (1.0 / (1.0 - q))


def collapse_classes(modes_covered, n_modes: int, diverged) -> dict:
    """The one collapsed/healthy rule: a finished (not diverged) run is *collapsed* when it
    covers fewer than all ``n_modes`` modes, *healthy* when it covers them all.

    Args:
      modes_covered: modes covered per run, any shape.
      diverged: whether each run diverged (same shape); diverged runs are in neither class.

    Returns:
      ``{"collapsed": bool array, "healthy": bool array}`` (NumPy).
    """
    ok = ~np.asarray(diverged, bool)
    covered = np.asarray(modes_covered)
    return {"collapsed": (covered < n_modes) & ok, "healthy": (covered >= n_modes) & ok}


def hill_numbers(counts: jax.Array, qs: Sequence[float] = (0, 1, 2)) -> jax.Array:
    r"""Hill numbers (effective numbers of modes) of histograms ``counts [..., K]``.

    With :math:`p_i = c_i / \sum_j c_j`, the Hill number of order ``q`` is

    .. math:: D_q = \Big(\sum_{i : p_i > 0} p_i^q\Big)^{1 / (1 - q)},

    with its limits :math:`D_1 = \exp(-\sum_i p_i \log p_i)` (exponential of the Shannon entropy)
    and :math:`D_\infty = 1 / \max_i p_i` (Berger-Parker). :math:`D_0` is the number of nonzero
    :math:`p_i` and :math:`D_2 = 1 / \sum_i p_i^2` the inverse Simpson index (the effective sample
    size of importance weights ``p``). :math:`D_q` does not increase with ``q``, and every
    :math:`D_q` equals ``m`` for a histogram uniform on ``m`` bins. A histogram with no mass
    (all counts 0) has no modes: every :math:`D_q` is 0 there, as ``modes_covered`` is.

    Pure and jittable; the leading axes of ``counts`` are batch axes (or ``jax.vmap`` it).

    Args:
      counts: ``[..., K]`` non-negative counts or weights (any numeric dtype).
      qs: orders ``q`` (static Python numbers, any real or ``math.inf``).

    Returns:
      ``[..., len(qs)]`` floating-point :math:`D_q`, in the order of ``qs``.

    Example:
      >>> hill_numbers(jnp.array([2.0, 1.0, 1.0, 0.0]))  # D_0, D_1, D_2
      Array([3.       , 2.828427 , 2.6666667], dtype=float32)

    References:
      Hill 1973, "Diversity and evenness: a unifying notation and its consequences", Ecology 54(2),
      Eq. 1; Jost 2006, "Entropy and diversity", Oikos 113(2).
    """
    counts = jnp.asarray(counts)
    if not jnp.issubdtype(counts.dtype, jnp.floating):
        counts = counts.astype(jnp.float32)
    total = jnp.sum(counts, axis=-1, keepdims=True)
    p = counts / jnp.where(total > 0, total, 1.0)
    d = jnp.stack([_hill(p, float(q)) for q in qs], axis=-1)
    return jnp.where(total > 0, d, 0.0)


def kl_to_uniform(fractions: jax.Array, axis: int = -1) -> jax.Array:
    r"""Reverse KL divergence, in nats, of mode fractions ``p`` to the uniform distribution on
    their ``K`` bins (``K = fractions.shape[axis]``):

    .. math:: \mathrm{KL}(p \,\|\, u) = \sum_{k : p_k > 0} p_k \log(K p_k) = \log K - H(p),

    with the convention :math:`0 \log 0 = 0`: an empty bin adds nothing (and no NaN, under
    ``jax.grad`` either). It is 0 for uniform ``p`` and ``log K`` for all mass on one bin, i.e.
    :math:`\log K - \log D_1` with :math:`D_1` of :func:`hill_numbers`. ``p`` must already sum
    to 1 along ``axis``; the result is not clamped, so rounding can leave it a few float32 ulps
    below 0 for a near-uniform ``p``.

    Args:
      fractions: ``[..., K, ...]`` non-negative fractions summing to 1 along ``axis``.
      axis: the bin axis (static).

    Returns:
      ``fractions`` reduced over ``axis``.

    Example:
      >>> kl_to_uniform(jnp.array([0.5, 0.5, 0.0, 0.0]))  # log 4 - log 2
      Array(0.6931472, dtype=float32)
    """
    p = jnp.asarray(fractions)
    k = p.shape[axis]
    return jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0) * k), 0.0), axis=axis)
