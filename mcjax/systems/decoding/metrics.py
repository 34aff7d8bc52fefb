"""Diversity of ``B`` decoded sequences ``seqs [B, L]`` of a topic language model, or of their
prefixes of the first ``n`` positions while decoding (positions from ``n`` on are left out).

* ``D0``, ``D1``, ``D2``: Hill numbers of the topic histogram ``h`` (the first tokens' counts;
  ``D0`` the topics covered), :func:`mcjax.metrics.modes.hill_numbers`.
* ``reverse_kl``: ``KL(h / B || pi) = sum_k h_k / B log(h_k / (B pi_k))`` (nats; 0 when the
  outputs' topics are in the model's proportions).
* ``distinct1``, ``distinct2``: distinct ``n``-grams over all outputs divided by the number of
  ``n``-grams, ``B n`` and ``B (n - 1)`` (Li et al. 2016; 0 where there is none).
* ``hamming``: the mean over pairs ``i < j`` of ``#{t < n : x_it != x_jt}`` (0 for ``B = 1``).
* ``unique``: distinct prefixes among the outputs.
* ``logp``: the mean ``log p(x_{1:n})`` of the outputs under the model.

References:
  Li et al. 2016, "A diversity-promoting objective function for neural conversation models"
  (distinct-n); Hill 1973 (Hill numbers).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mcjax.metrics.modes import hill_numbers

__all__ = ["output_stats", "distinct_count", "topic_counts"]


def distinct_count(codes: jax.Array, valid: jax.Array | None = None) -> jax.Array:
    """Number of distinct integers among ``codes [n]`` where ``valid [n]`` (all by default)."""
    if valid is None:
        valid = jnp.ones(codes.shape, bool)
    s = jnp.sort(jnp.where(valid, codes, -1))
    changes = jnp.sum(s[1:] != s[:-1]) + 1
    return jnp.where(jnp.any(valid), changes - jnp.any(~valid), 0)


def topic_counts(seqs: jax.Array, topics: int) -> jax.Array:
    """``[K]`` float32 counts of the outputs' topics (first tokens)."""
    return jnp.sum(jax.nn.one_hot(seqs[:, 0], topics, dtype=jnp.float32), axis=0)


def _distinct_n(seqs: jax.Array, n: int, vocab: int, filled: jax.Array) -> jax.Array:
    b, length = seqs.shape
    if length < n:
        return jnp.float32(0.0)
    codes = sum(seqs[:, i: length - n + 1 + i] * vocab ** (n - 1 - i) for i in range(n))
    valid = jnp.broadcast_to(jnp.arange(length - n + 1)[None, :] + n <= filled, codes.shape)
    total = jnp.maximum(b * (filled - n + 1), 1).astype(jnp.float32)
    return distinct_count(codes.reshape(-1), valid.reshape(-1)).astype(jnp.float32) / total


def output_stats(seqs: jax.Array, logp: jax.Array, pi: jax.Array, vocab: int,
                 filled: jax.Array | int | None = None) -> dict:
    """The metrics of the module docstring for ``seqs [B, L]`` with their first ``filled``
    positions decoded (all by default), their ``logp [B]`` and the topic prior ``pi [K]``."""
    b, length = seqs.shape
    filled = jnp.asarray(length if filled is None else filled, jnp.int32)
    h = topic_counts(seqs, pi.shape[0]) * (filled > 0)
    d = hill_numbers(h)
    share = h / b
    rkl = jnp.sum(jnp.where(share > 0, share * jnp.log(jnp.where(share > 0, share, 1.0) / pi), 0.0))
    mask = jnp.arange(length) < filled
    differ = jnp.sum((seqs[:, None, :] != seqs[None, :, :]) & mask[None, None, :],
                     axis=-1).astype(jnp.float32)
    pairs = b * (b - 1) / 2
    codes = sum(jnp.where(mask[t], seqs[:, t], 0) * vocab ** (length - 1 - t) for t in range(length))
    return {
        "D0": d[0], "D1": d[1], "D2": d[2],
        "reverse_kl": jnp.maximum(rkl, 0.0),
        "distinct1": _distinct_n(seqs, 1, vocab, filled),
        "distinct2": _distinct_n(seqs, 2, vocab, filled),
        "hamming": jnp.sum(jnp.triu(differ, 1)) / pairs if b > 1 else jnp.float32(0.0),
        "unique": distinct_count(codes).astype(jnp.float32) * (filled > 0),
        "logp": jnp.mean(logp),
    }
