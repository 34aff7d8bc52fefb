"""Beam decoders of a :class:`~mcjax.systems.decoding.model.TopicLM`: greedy, beam search,
stochastic beam search (Gumbel-top-k) and diverse beam search.

All keep ``B`` hypotheses (:class:`Beams`: ``seqs [B, L]`` with scores) and extend them one token
at a time: each decoder is a pure step ``(model, beams, t, ...) -> beams`` for position ``t``
(the System advances one position per step), and ``beam_search`` & co. scan it over the ``L``
positions. At position 0 only hypothesis 0 is alive (score 0, the
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

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.systems.decoding.model import NEG, TopicLM, next_logp

__all__ = ["Beams", "initial_beams", "beam_step", "greedy_step", "stochastic_beam_step",
           "diverse_beam_step", "conditional_gumbel", "beam_search", "greedy",
           "stochastic_beam_search", "diverse_beam_search"]


class Beams(NamedTuple):
    """``B`` hypotheses (a pytree).

    Attributes:
      seqs: ``[B, L]`` int32 tokens (positions not yet decoded are 0).
      scores: ``[B]`` the prefix's ``log p`` (of the tempered model for stochastic beam search);
        :data:`~mcjax.systems.decoding.model.NEG` for a hypothesis not alive yet.
      pert: ``[B]`` stochastic beam search's perturbed scores ``G`` (0 otherwise).
    """

    seqs: jax.Array
    scores: jax.Array
    pert: jax.Array


def initial_beams(width: int, length: int, groups: int = 1) -> Beams:
    """Empty hypotheses: in each of ``groups`` equal groups the first is alive (score 0), the
    others ``NEG``."""
    alive = jnp.arange(width) % (width // groups) == 0
    return Beams(jnp.zeros((width, length), jnp.int32),
                 jnp.where(alive, 0.0, NEG).astype(jnp.float32), jnp.zeros((width,), jnp.float32))


def _extend(seqs, rank, t, width):
    """The ``width`` extensions of ``seqs [B, L]`` with the highest ``rank [B, V]``:
    ``(new seqs [width, L], their flat indices into rank)``."""
    vocab = rank.shape[1]
    _, idx = jax.lax.top_k(rank.reshape(-1), width)
    return seqs[idx // vocab].at[:, t].set(idx % vocab), idx


def beam_step(model: TopicLM, beams: Beams, t: jax.Array) -> Beams:
    """Position ``t`` of beam search: the ``B`` best of the ``B V`` extensions by ``log p``."""
    cand = beams.scores[:, None] + next_logp(model, beams.seqs, t)
    seqs, idx = _extend(beams.seqs, cand, t, beams.seqs.shape[0])
    return beams._replace(seqs=seqs, scores=cand.reshape(-1)[idx])


def greedy_step(model: TopicLM, beams: Beams, t: jax.Array) -> Beams:
    """Position ``t`` of greedy decoding (beam search of hypothesis 0 alone), copied to all ``B``."""
    one = beam_step(model, jax.tree.map(lambda a: a[:1], beams), t)
    return jax.tree.map(lambda a, b: jnp.broadcast_to(a, b.shape), one, beams)


def conditional_gumbel(parent_g: jax.Array, g: jax.Array) -> jax.Array:
    """Gumbels ``g [B, V]`` conditioned on their row maximum being ``parent_g [B]``, in the
    numerically stable form of Kool et al. 2019, App. B:
    ``v = G - g + log(1 - exp(g - Z))``, ``G~ = G - max(v, 0) - log1p(exp(-|v|))``."""
    z = jnp.max(g, axis=1, keepdims=True)
    d = jnp.minimum(g - z, 0.0)
    log1mexp = jnp.where(d > -0.693, jnp.log(-jnp.expm1(d)), jnp.log1p(-jnp.exp(d)))
    v = parent_g[:, None] - g + log1mexp
    return parent_g[:, None] - jnp.maximum(v, 0.0) - jnp.log1p(jnp.exp(-jnp.abs(v)))


def stochastic_beam_step(model: TopicLM, beams: Beams, t: jax.Array, key: jax.Array,
                         temperature: jax.Array) -> Beams:
    """Position ``t`` of stochastic beam search of ``p^(1/temperature)`` (renormalised per token):
    the ``B`` extensions with the highest conditioned Gumbels."""
    model_logp = next_logp(model, beams.seqs, t)
    logp = jnp.where(model_logp <= NEG / 2, NEG, jax.nn.log_softmax(model_logp / temperature, axis=-1))
    phi = beams.scores[:, None] + logp
    g = phi + jax.random.gumbel(key, phi.shape)
    g_tilde = jnp.where(beams.scores[:, None] <= NEG / 2, NEG, conditional_gumbel(beams.pert, g))
    seqs, idx = _extend(beams.seqs, g_tilde, t, beams.seqs.shape[0])
    return Beams(seqs, phi.reshape(-1)[idx], g_tilde.reshape(-1)[idx])


def diverse_beam_step(model: TopicLM, beams: Beams, t: jax.Array, groups: int,
                      diversity: jax.Array) -> Beams:
    """Position ``t`` of diverse beam search: the ``G`` groups of ``B / G`` consecutive beams
    choose in turn, each penalised by ``diversity`` per earlier group's beam with the same token."""
    width, length = beams.seqs.shape
    per, vocab = width // groups, model.first.shape[0]

    def group(counts, gb):
        seqs, scores = gb
        cand = scores[:, None] + next_logp(model, seqs, t)
        seqs, idx = _extend(seqs, cand - diversity * counts[None, :], t, per)
        counts = counts + jnp.sum(jax.nn.one_hot(seqs[:, t], vocab), axis=0)
        return counts, (seqs, cand.reshape(-1)[idx])

    split = (beams.seqs.reshape(groups, per, length), beams.scores.reshape(groups, per))
    _, (seqs, scores) = jax.lax.scan(group, jnp.zeros((vocab,), jnp.float32), split)
    return beams._replace(seqs=seqs.reshape(width, length), scores=scores.reshape(width))


def _scan(step, beams: Beams, length: int) -> tuple[jax.Array, jax.Array]:
    beams, _ = jax.lax.scan(lambda b, t: (step(b, t), None), beams, jnp.arange(length))
    return beams.seqs, beams.scores


def beam_search(model: TopicLM, width: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Beam search of width ``B``: ``(seqs [B, L] int32, log p [B])``, best first."""
    return _scan(lambda b, t: beam_step(model, b, t), initial_beams(width, length), length)


def greedy(model: TopicLM, length: int) -> tuple[jax.Array, jax.Array]:
    """The most probable token at every position: ``(seqs [1, L], log p [1])``."""
    return beam_search(model, 1, length)


def stochastic_beam_search(model: TopicLM, key: jax.Array, width: int, length: int,
                           temperature: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(seqs [B, L], tempered log p [B])``: ``B`` sequences drawn without replacement from
    ``p^(1/temperature)``, position ``t`` drawing with ``fold_in(key, t)``."""
    step = lambda b, t: stochastic_beam_step(model, b, t, jax.random.fold_in(key, t), temperature)  # noqa: E731
    return _scan(step, initial_beams(width, length), length)


def diverse_beam_search(model: TopicLM, width: int, groups: int, length: int,
                        diversity: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Diverse beam search, ``G = groups`` groups of ``B / G`` beams, Hamming diversity
    penalty ``lambda = diversity``: ``(seqs [B, L], log p [B])``, group by group."""
    step = lambda b, t: diverse_beam_step(model, b, t, groups, diversity)  # noqa: E731
    return _scan(step, initial_beams(width, length, groups), length)
