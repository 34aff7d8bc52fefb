"""Decoding a topic Markov language model as a System.

``init`` draws the run's model (:func:`~mcjax.systems.decoding.model.draw_model`, from the run's
key) and ``advance`` decodes it ``log_every`` times per logged interval with the config's decoder,
decode ``t`` drawing with ``fold_in(key, t)`` (so a run is the same whether advanced in one call or
in chunks); the logged metrics (:func:`~mcjax.systems.decoding.metrics.output_stats`) are those of
the last decode's ``B`` sequences, which are also the run's samples.

Example:
  >>> cfg = DecodeConfig(decoder="beam", width=4)
  >>> system = cfg.make_system()
  >>> hp = make_decode_hparams(cfg, concentration=3.0)
  >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
  >>> hist["D0"].shape
  (1,)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.system import System
from mcjax.systems.decoding.beam import beam_search, diverse_beam_search, greedy, stochastic_beam_search
from mcjax.systems.decoding.config import DecodeConfig, DecodeHParams
from mcjax.systems.decoding.metrics import output_stats
from mcjax.systems.decoding.model import TopicLM, draw_model, sequence_logp
from mcjax.systems.decoding.sampling import sample

__all__ = ["DecodeState", "decode", "make_system"]


class DecodeState(NamedTuple):
    """A run (a pytree; stacked over runs in a sweep).

    Attributes:
      model: the run's :class:`~mcjax.systems.decoding.model.TopicLM`.
      seqs: ``[B, L]`` int32 sequences of the last decode (zeros before the first).
      logp: ``[B]`` their ``log p`` under the model.
      key: the run's decoding key; decode ``t`` uses ``fold_in(key, t)``.
      step: decodes done (int32).
      diverged, diverged_step: a non-finite ``log p`` froze the run (it cannot happen with finite
        hyperparameters; kept for the System contract).
    """

    model: TopicLM
    seqs: jax.Array
    logp: jax.Array
    key: jax.Array
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def decode(config: DecodeConfig, hp: DecodeHParams, model: TopicLM,
           key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``B`` sequences ``[B, L]`` from ``config.decoder`` and their exact ``log p [B]``."""
    b, length, kind = config.width, config.length, config.decoder
    if kind == "greedy":
        seqs = jnp.broadcast_to(greedy(model, length)[0], (b, length))
    elif kind == "beam":
        seqs = beam_search(model, b, length)[0]
    elif kind == "sample":
        seqs = sample(model, key, b, length, hp.temperature)[0]
    elif kind == "nucleus":
        seqs = sample(model, key, b, length, hp.temperature, hp.top_p)[0]
    elif kind == "stochastic-beam":
        seqs = stochastic_beam_search(model, key, b, length, hp.temperature)[0]
    else:
        seqs = diverse_beam_search(model, b, config.groups, length, hp.diversity)[0]
    return seqs, sequence_logp(model, seqs)


def make_system(config: DecodeConfig) -> System:
    """The decoder of ``config`` on a random topic model per run, as a System."""
    def init(hp: DecodeHParams, key: jax.Array) -> DecodeState:
        model_key, decode_key = jax.random.split(key)
        model = draw_model(model_key, config.vocab, config.topics, hp.zipf, hp.concentration)
        return DecodeState(model=model, seqs=jnp.zeros((config.width, config.length), jnp.int32),
                           logp=jnp.zeros((config.width,), jnp.float32), key=decode_key,
                           step=jnp.zeros((), jnp.int32), diverged=jnp.zeros((), bool),
                           diverged_step=jnp.full((), -1, jnp.int32))

    def one(hp: DecodeHParams, state: DecodeState) -> DecodeState:
        seqs, logp = decode(config, hp, state.model, jax.random.fold_in(state.key, state.step))
        ok = jnp.all(jnp.isfinite(logp)) & ~state.diverged
        newly_bad = ~ok & ~state.diverged
        return state._replace(
            seqs=jnp.where(ok, seqs, state.seqs), logp=jnp.where(ok, logp, state.logp),
            step=state.step + 1, diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, state.step, state.diverged_step))

    def evaluate(state: DecodeState):
        pi = jax.nn.softmax(state.model.first[: config.topics])
        stats = output_stats(state.seqs, state.logp, pi, config.vocab)
        return stats, state.seqs.astype(jnp.float32)

    def advance(hp: DecodeHParams, state: DecodeState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: one(hp, s), state)
            return state, dict(evaluate(state)[0], step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
