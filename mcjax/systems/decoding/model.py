"""A "topic" Markov language model over a small vocabulary, enumerable exactly.

A sequence ``x = (x_1, ..., x_L)`` over ``V`` tokens: the first token is the topic, ``x_1 = k``
with probability ``pi_k`` (tokens ``k < K``; the others have probability 0), and later tokens
follow topic ``k``'s Markov chain,

    log p(x) = log pi_{x_1} + sum_{t=2}^{L} log T_{x_1}[x_{t-1}, x_t],

    pi_k ∝ (k + 1)^(-zipf),    T_k[a, :] = softmax(concentration * W_k[a, :]),

with ``W ~ N(0, 1)`` of shape ``[K, V, V]`` drawn per run: ``concentration = 0`` gives uniform
chains, a large one nearly deterministic (peaked) ones. Log-probabilities of impossible tokens
are :data:`NEG` (finite, so sums of them stay ordered and free of NaN).

References:
  Holtzman et al. 2020, "The curious case of neural text degeneration" (beam search's
  repetitive, low-diversity outputs); Meister et al. 2020, "If beam search is the answer, what
  was the question?".
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["TopicLM", "NEG", "topic_probs", "draw_model", "next_logp", "sequence_logp",
           "prefix_logp", "enumerate_sequences"]

NEG = -1e9  # log-probability of an impossible token (finite: sums stay ordered, never NaN)


class TopicLM(NamedTuple):
    """One run's language model (a pytree).

    Attributes:
      first: ``[V]`` log-probabilities of the first (topic) token: ``log pi`` then :data:`NEG`.
      trans: ``[K, V, V]`` log transition matrices ``log T_k[a, b]``.
    """

    first: jax.Array
    trans: jax.Array


def topic_probs(topics: int, zipf: jax.Array) -> jax.Array:
    """``pi [K]``, ``pi_k ∝ (k + 1)^(-zipf)`` (``zipf = 0``: uniform; decreasing in ``k``)."""
    w = -zipf * jnp.log(jnp.arange(1, topics + 1, dtype=jnp.float32))
    return jax.nn.softmax(w)


def draw_model(key: jax.Array, vocab: int, topics: int, zipf: jax.Array,
               concentration: jax.Array) -> TopicLM:
    """A random model (see the module docstring); ``topics <= vocab``."""
    w = jax.random.normal(key, (topics, vocab, vocab))
    first = jnp.full((vocab,), NEG, jnp.float32).at[:topics].set(jnp.log(topic_probs(topics, zipf)))
    return TopicLM(first=first, trans=jax.nn.log_softmax(concentration * w, axis=-1))


def next_logp(model: TopicLM, seqs: jax.Array, t: jax.Array) -> jax.Array:
    """``[B, V]`` log-probabilities of token ``t`` (0-based) given the prefixes ``seqs[:, :t]``
    (``seqs [B, L]`` int32; entries from ``t`` on are ignored)."""
    k = model.trans.shape[0]
    topic = jnp.clip(seqs[:, 0], 0, k - 1)
    prev = seqs[:, jnp.maximum(t - 1, 0)]
    later = model.trans[topic, prev]
    return jnp.where(t == 0, model.first[None, :], later)


def sequence_logp(model: TopicLM, seqs: jax.Array) -> jax.Array:
    """``[B]`` exact ``log p(x)`` of whole sequences ``seqs [B, L]``."""
    k = model.trans.shape[0]
    lp = model.first[seqs[:, 0]]
    topic = jnp.clip(seqs[:, 0], 0, k - 1)
    steps = model.trans[topic[:, None], seqs[:, :-1], seqs[:, 1:]]
    return lp + jnp.sum(steps, axis=1)


def prefix_logp(model: TopicLM, seqs: jax.Array, filled: jax.Array) -> jax.Array:
    """``[B]`` exact ``log p(x_{1:n})`` of the prefixes of ``n = filled`` tokens (0 for ``n = 0``)."""
    k = model.trans.shape[0]
    topic = jnp.clip(seqs[:, 0], 0, k - 1)
    steps = model.trans[topic[:, None], seqs[:, :-1], seqs[:, 1:]]
    mask = jnp.arange(1, seqs.shape[1]) < filled
    return jnp.where(filled > 0, model.first[seqs[:, 0]], 0.0) + jnp.sum(
        jnp.where(mask[None, :], steps, 0.0), axis=1)


def enumerate_sequences(vocab: int, topics: int, length: int) -> np.ndarray:
    """``[K V^(L-1), L]`` int32: every sequence of nonzero probability, lexicographic."""
    rest = list(itertools.product(range(vocab), repeat=length - 1))
    return np.array([(k, *r) for k in range(topics) for r in rest], np.int32).reshape(-1, length)
