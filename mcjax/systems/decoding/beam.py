"""Beam decoders of a :class:`~mcjax.systems.decoding.model.TopicLM`: greedy, beam search,
stochastic beam search (Gumbel-top-k) and diverse beam search.

All keep ``B`` hypotheses ``seqs [B, L]`` with scores and extend them one token at a time inside
a ``lax.scan`` over the ``L`` positions. At position 0 only hypothesis 0 is alive (score 0, the
others :data:`~mcjax.systems.decoding.model.NEG`), so the first step chooses among the topics.

* **Beam search** keeps the ``B`` highest ``log p(x_{1:t})`` among the ``B V`` extensions. With
  ``B`` at least the number of prefixes of every length (``K V^(L-1)``) it keeps all of them and
  returns the exact top-``B`` sequences. **Greedy** is beam search with ``B = 1``.
* **Stochastic beam search** (Kool et al. 2019, Alg. 1 and App. B) perturbs each extension's
  ``phi = log p(x_{1:t})`` with a Gumbel conditioned on its parent's perturbed value ``G``
  (``G~_i = -log(exp(-G) - exp(-Z) + exp(-G_i))``, ``Z`` the maximum over the siblings) and keeps
  the top ``B``: a sample of ``B`` sequences without replacement. At position 0 it is
  Gumbel-top-``B`` of ``log pi``: ``B`` distinct topics with Plackett-Luce probabilities.
* **Diverse beam search** (Vijayakumar et al. 2018, Alg. 1) splits the beams into ``G`` groups of
  ``B / G``; at each position the groups choose in turn, group ``g`` by
  ``log p(x_{1:t}) - lambda * #{earlier groups' beams whose token t equals x_t}`` (Hamming
  diversity), while keeping ``log p`` as the beam's score.

References:
  Kool, van Hoof & Welling 2019, "Stochastic beams and where to find them", ICML;
  Vijayakumar et al. 2018, "Diverse beam search", AAAI.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mcjax.systems.decoding.model import NEG, TopicLM, next_logp

__all__ = ["beam_search", "greedy", "stochastic_beam_search", "diverse_beam_search",
           "initial_beams", "conditional_gumbel"]


def initial_beams(width: int, length: int) -> tuple[jax.Array, jax.Array]:
    """``(seqs [B, L] zeros, scores [B])``: hypothesis 0 alive with score 0, the rest ``NEG``."""
    scores = jnp.full((width,), NEG, jnp.float32).at[0].set(0.0)
    return jnp.zeros((width, length), jnp.int32), scores


def _extend(seqs, rank, t, width):
    """The ``width`` extensions of ``seqs [B, L]`` with the highest ``rank [B, V]``:
    ``(new seqs [width, L], their flat indices into rank)``."""
    vocab = rank.shape[1]
    _, idx = jax.lax.top_k(rank.reshape(-1), width)
    return seqs[idx // vocab].at[:, t].set(idx % vocab), idx


def beam_search(model: TopicLM, width: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Beam search of width ``B``: ``(seqs [B, L] int32, log p [B])``, best first."""
    def step(carry, t):
        seqs, scores = carry
        cand = scores[:, None] + next_logp(model, seqs, t)
        seqs, idx = _extend(seqs, cand, t, width)
        return (seqs, cand.reshape(-1)[idx]), None

    (seqs, scores), _ = jax.lax.scan(step, initial_beams(width, length), jnp.arange(length))
    return seqs, scores


def greedy(model: TopicLM, length: int) -> tuple[jax.Array, jax.Array]:
    """The most probable token at every position: ``(seqs [1, L], log p [1])``."""
    return beam_search(model, 1, length)


def conditional_gumbel(parent_g: jax.Array, g: jax.Array) -> jax.Array:
    """Gumbels ``g [B, V]`` conditioned on their row maximum being ``parent_g [B]``, in the
    numerically stable form of Kool et al. 2019, App. B:
    ``v = G - g + log(1 - exp(g - Z))``, ``G~ = G - max(v, 0) - log1p(exp(-|v|))``."""
    z = jnp.max(g, axis=1, keepdims=True)
    d = jnp.minimum(g - z, 0.0)
    log1mexp = jnp.where(d > -0.693, jnp.log(-jnp.expm1(d)), jnp.log1p(-jnp.exp(d)))
    v = parent_g[:, None] - g + log1mexp
    return parent_g[:, None] - jnp.maximum(v, 0.0) - jnp.log1p(jnp.exp(-jnp.abs(v)))


def stochastic_beam_search(model: TopicLM, key: jax.Array, width: int, length: int,
                           temperature: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Stochastic beam search (Gumbel-top-k) of ``p^(1/temperature)`` (renormalised per token):
    ``(seqs [B, L], log p [B])`` of ``B`` sequences drawn without replacement."""
    def step(carry, t):
        seqs, scores, pert = carry
        model_logp = next_logp(model, seqs, t)
        logp = jnp.where(model_logp <= NEG / 2, NEG,
                         jax.nn.log_softmax(model_logp / temperature, axis=-1))
        phi = scores[:, None] + logp
        g = phi + jax.random.gumbel(jax.random.fold_in(key, t), phi.shape)
        g_tilde = jnp.where(scores[:, None] <= NEG / 2, NEG, conditional_gumbel(pert, g))
        seqs, idx = _extend(seqs, g_tilde, t, width)
        return (seqs, phi.reshape(-1)[idx], g_tilde.reshape(-1)[idx]), None

    seqs, scores = initial_beams(width, length)
    (seqs, scores, _), _ = jax.lax.scan(step, (seqs, scores, jnp.zeros_like(scores)),
                                        jnp.arange(length))
    return seqs, scores


def diverse_beam_search(model: TopicLM, width: int, groups: int, length: int,
                        diversity: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Diverse beam search, ``G = groups`` groups of ``B / G`` beams, Hamming diversity
    penalty ``lambda = diversity``: ``(seqs [B, L], log p [B])``, group by group."""
    per = width // groups
    seqs0, scores0 = initial_beams(per, length)
    seqs0 = jnp.broadcast_to(seqs0, (groups, per, length))
    scores0 = jnp.broadcast_to(scores0, (groups, per))
    vocab = model.first.shape[0]

    def position(carry, t):
        def group(counts, beams):
            seqs, scores = beams
            cand = scores[:, None] + next_logp(model, seqs, t)
            seqs, idx = _extend(seqs, cand - diversity * counts[None, :], t, per)
            scores = cand.reshape(-1)[idx]
            return counts + jnp.sum(jax.nn.one_hot(seqs[:, t], vocab), axis=0), (seqs, scores)

        _, beams = jax.lax.scan(group, jnp.zeros((vocab,), jnp.float32), carry)
        return beams, None

    (seqs, scores), _ = jax.lax.scan(position, (seqs0, scores0), jnp.arange(length))
    return seqs.reshape(width, length), scores.reshape(width)
