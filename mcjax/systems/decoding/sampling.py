"""Ancestral sampling of a :class:`~mcjax.systems.decoding.model.TopicLM`: ``B`` independent
sequences, each token drawn from ``p(x_t | x_{<t})^(1/temperature)`` (renormalised), optionally
restricted to the nucleus: the fewest most probable tokens whose mass reaches ``top_p``
(Holtzman et al. 2020), renormalised.

With ``temperature = 1`` and ``top_p = 1`` the ``B`` topics are independent draws from ``pi``, so
the expected number of distinct topics among them is ``sum_k [1 - (1 - pi_k)^B]``
(:func:`mcjax.systems.decoding.theory.expected_topics_covered`).

References:
  Holtzman et al. 2020, "The curious case of neural text degeneration", ICLR (nucleus sampling);
  Ackley, Hinton & Sejnowski 1985 (temperature).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mcjax.systems.decoding.beam import Beams
from mcjax.systems.decoding.model import NEG, TopicLM, next_logp

__all__ = ["sample_step", "sample", "nucleus_logits", "independent_beams"]


def nucleus_logits(logits: jax.Array, top_p: jax.Array) -> jax.Array:
    """``logits [..., V]`` with the tokens outside the top-``p`` nucleus set to ``NEG``: a token is
    kept when the mass of the tokens strictly more probable than it (ties broken by index) is
    below ``top_p``, so the most probable token is always kept."""
    p = jax.nn.softmax(logits, axis=-1)
    order = jnp.argsort(-p, axis=-1, stable=True)
    sorted_p = jnp.take_along_axis(p, order, axis=-1)
    before = jnp.cumsum(sorted_p, axis=-1) - sorted_p
    keep_sorted = before < top_p
    keep = jnp.zeros_like(keep_sorted).at[
        tuple(jnp.indices(order.shape)[:-1]) + (order,)].set(keep_sorted)
    return jnp.where(keep, logits, NEG)


def independent_beams(width: int, length: int) -> Beams:
    """``B`` empty sequences, all alive (score 0)."""
    return Beams(jnp.zeros((width, length), jnp.int32), jnp.zeros((width,), jnp.float32),
                 jnp.zeros((width,), jnp.float32))


def sample_step(model: TopicLM, beams: Beams, t: jax.Array, key: jax.Array,
                temperature: jax.Array, top_p: jax.Array | None = None) -> Beams:
    """Position ``t`` of ``B`` independent draws; scores accumulate the model's own ``log p``
    (not the tempered one); ``top_p=None``: no nucleus."""
    model_logp = next_logp(model, beams.seqs, t)
    logits = jnp.where(model_logp <= NEG / 2, NEG, model_logp / temperature)
    if top_p is not None:
        logits = nucleus_logits(logits, top_p)
    token = jax.random.categorical(key, logits, axis=-1)
    step_logp = jnp.take_along_axis(model_logp, token[:, None], axis=1)[:, 0]
    return beams._replace(seqs=beams.seqs.at[:, t].set(token.astype(jnp.int32)),
                          scores=beams.scores + step_logp)


def sample(model: TopicLM, key: jax.Array, width: int, length: int, temperature: jax.Array,
           top_p: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """``B = width`` independent sequences: ``(seqs [B, L] int32, log p [B])``, position ``t``
    drawing with ``fold_in(key, t)``."""
    def step(beams, t):
        return sample_step(model, beams, t, jax.random.fold_in(key, t), temperature, top_p), None

    beams, _ = jax.lax.scan(step, independent_beams(width, length), jnp.arange(length))
    return beams.seqs, beams.scores
