"""Decoding a topic Markov language model as a System, one position per step.

``init`` draws the run's model (:func:`~mcjax.systems.decoding.model.draw_model`, from the run's
key) and the decoder's empty hypotheses; step ``t`` decodes position ``t`` with the config's
decoder (a step of :mod:`~mcjax.systems.decoding.beam` or :mod:`~mcjax.systems.decoding.sampling`),
drawing with ``fold_in(key, t)``, so a run is the same whether advanced in one call or in chunks;
after ``L`` steps the sequences are complete and further steps leave them. The logged metrics
(:func:`~mcjax.systems.decoding.metrics.output_stats`) are those of the ``B`` prefixes decoded so
far: beam search's topics, for one, are chosen at position 0 and then pruned position by position
(``D_q`` over positions is its collapse as it happens). The final sequences are the run's samples.

Example:
  >>> cfg = DecodeConfig(decoder="beam", width=4)
  >>> system = cfg.make_system()
  >>> hp = make_decode_hparams(cfg, concentration=3.0)
  >>> state, hist = system.advance(hp, system.init(hp, jax.random.key(0)), cfg.n_logs)
  >>> hist["D0"].shape  # one entry per position
  (4,)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mcjax.core.system import System
from mcjax.systems.decoding.beam import (Beams, beam_step, diverse_beam_step, greedy_step,
                                         initial_beams, stochastic_beam_step)
from mcjax.systems.decoding.config import DecodeConfig, DecodeHParams
from mcjax.systems.decoding.metrics import output_stats
from mcjax.systems.decoding.model import TopicLM, draw_model, prefix_logp
from mcjax.systems.decoding.sampling import independent_beams, sample_step

__all__ = ["DecodeState", "decode_step", "make_system"]


class DecodeState(NamedTuple):
    """A run (a pytree; stacked over runs in a sweep).

    Attributes:
      model: the run's :class:`~mcjax.systems.decoding.model.TopicLM`.
      beams: the decoder's hypotheses (:class:`~mcjax.systems.decoding.beam.Beams`).
      key: the run's decoding key; position ``t`` uses ``fold_in(key, t)``.
      step: positions decoded (int32; at most ``L`` take effect).
      diverged, diverged_step: a non-finite score froze the run (it cannot happen with finite
        hyperparameters; kept for the System contract).
    """

    model: TopicLM
    beams: Beams
    key: jax.Array
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def decode_step(config: DecodeConfig, hp: DecodeHParams, model: TopicLM, beams: Beams,
                t: jax.Array, key: jax.Array) -> Beams:
    """Position ``t`` of ``config.decoder``."""
    kind = config.decoder
    if kind == "greedy":
        return greedy_step(model, beams, t)
    if kind == "beam":
        return beam_step(model, beams, t)
    if kind == "sample":
        return sample_step(model, beams, t, key, hp.temperature)
    if kind == "nucleus":
        return sample_step(model, beams, t, key, hp.temperature, hp.top_p)
    if kind == "stochastic-beam":
        return stochastic_beam_step(model, beams, t, key, hp.temperature)
    return diverse_beam_step(model, beams, t, config.groups, hp.diversity)


def _empty(config: DecodeConfig) -> Beams:
    b, length = config.width, config.length
    if config.decoder in ("sample", "nucleus"):
        return independent_beams(b, length)
    return initial_beams(b, length, config.groups if config.decoder == "diverse-beam" else 1)


def make_system(config: DecodeConfig) -> System:
    """The decoder of ``config`` on a random topic model per run, as a System."""
    length = config.length

    def init(hp: DecodeHParams, key: jax.Array) -> DecodeState:
        model_key, decode_key = jax.random.split(key)
        model = draw_model(model_key, config.vocab, config.topics, hp.zipf, hp.concentration)
        return DecodeState(model=model, beams=_empty(config), key=decode_key,
                           step=jnp.zeros((), jnp.int32), diverged=jnp.zeros((), bool),
                           diverged_step=jnp.full((), -1, jnp.int32))

    def one(hp: DecodeHParams, state: DecodeState) -> DecodeState:
        t = state.step
        new = decode_step(config, hp, state.model, state.beams, jnp.minimum(t, length - 1),
                          jax.random.fold_in(state.key, t))
        bad = ~jnp.all(jnp.isfinite(new.scores))
        take = (t < length) & ~bad & ~state.diverged
        newly_bad = bad & (t < length) & ~state.diverged
        return state._replace(
            beams=jax.tree.map(lambda a, b: jnp.where(take, a, b), new, state.beams),
            step=t + 1, diverged=state.diverged | newly_bad,
            diverged_step=jnp.where(newly_bad, t, state.diverged_step))

    def evaluate(state: DecodeState):
        filled = jnp.minimum(state.step, length)
        seqs = state.beams.seqs
        pi = jax.nn.softmax(state.model.first[: config.topics])
        stats = output_stats(seqs, prefix_logp(state.model, seqs, filled), pi, config.vocab, filled)
        return stats, seqs.astype(jnp.float32)

    def advance(hp: DecodeHParams, state: DecodeState, n_logs: int):
        def interval(state, _):
            state = jax.lax.fori_loop(0, config.log_every, lambda i, s: one(hp, s), state)
            return state, dict(evaluate(state)[0], step=state.step, diverged=state.diverged)

        return jax.lax.scan(interval, state, None, length=n_logs)

    return System(init=init, advance=advance, evaluate=evaluate)
