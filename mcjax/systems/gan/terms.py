"""Loss terms: weighted additions to a player's loss, or a replacement of its adversarial loss.

A :class:`Term` names its player, the ``HParams`` field that weighs it (traced, so sweepable), a
constant factor, and a pure function of the batch the player's loss sees. The engine adds
``factor * hparams.<weight> * fn(batch)`` to the player's loss (``base`` terms replace the
adversarial loss instead). The functions themselves live in ``mcjax.systems.gan.losses`` and
``mcjax.systems.gan.objectives``, each tested against its published definition.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax

from mcjax.systems.gan import losses, objectives
from mcjax._validation import ConfigError
from mcjax.systems.gan.parts import Entry

__all__ = ["Term", "CriticBatch", "GeneratorBatch", "TERMS", "TERM_NAMES", "add_terms",
           "dragan_penalty"]


class CriticBatch(NamedTuple):
    """What a critic term sees: the critic ``logits(x) -> [B]`` and the packed, noised batches."""

    logits: Callable
    real: jax.Array
    fake: jax.Array
    key: jax.Array


class GeneratorBatch(NamedTuple):
    """What a generator term sees.

    Attributes:
      x: ``[B m, D]`` generated batch (unpacked), ``x = G(z)``.
      z: ``[B m, L]`` its latents.
      logits: the critic's logits on the packed, noised batch.
      features: the critic's last hidden features there.
      real_features: ``() -> features`` of the critic on a packed real batch (feature matching).
    """

    x: jax.Array
    z: jax.Array
    logits: jax.Array
    features: jax.Array
    real_features: Callable


class Term(NamedTuple):
    """A loss term (see the module docstring).

    Attributes:
      player: ``"critic"`` or ``"generator"``.
      weight: the ``HParams`` field weighing it, or ``None`` for weight 1.
      fn: ``(batch) -> scalar``; ``batch`` a :class:`CriticBatch` or :class:`GeneratorBatch`.
      factor: a constant multiplying the weight (``1/2`` of R1, ``-1`` of an entropy bonus).
      base: the term replaces the player's adversarial loss instead of adding to it.
    """

    player: str
    weight: str | None
    fn: Callable[[Any], jax.Array]
    factor: float = 1.0
    base: bool = False


def add_terms(value: jax.Array, terms: tuple, hp: Any, batch: Any) -> jax.Array:
    """``value`` (the adversarial loss) with every term of ``terms`` applied, in order."""
    for t in terms:
        v = t.fn(batch)
        if t.weight is not None:
            w = getattr(hp, t.weight)
            v = (w if t.factor == 1.0 else t.factor * w) * v
        value = v if t.base else value + v
    return value


def _gp(b: CriticBatch):
    return losses.gradient_penalty(b.logits, b.real, b.fake, b.key)


def _feature_matching(b: GeneratorBatch):
    return objectives.feature_matching_loss(b.real_features(), b.features)


def _mode_seeking(b: GeneratorBatch):
    h = b.x.shape[0] // 2
    return objectives.mode_seeking_term(b.x[:h], b.x[h: 2 * h], b.z[:h], b.z[h: 2 * h])


def dragan_penalty(logits: Callable, real: jax.Array, key: jax.Array, c: float = 0.5) -> jax.Array:
    """DRAGAN's penalty (Kodali et al. 2017, Sec. 5, and their reference code), without its weight.

    ``E (||grad D(xhat)|| - 1)^2`` at ``xhat = x + alpha (x_p - x)`` between a real point ``x`` and
    its perturbation ``x_p = x + c std(x) u``, ``u ~ U[0, 1)^D`` (``std`` over the whole batch),
    ``alpha ~ U[0, 1]`` per sample: a gradient penalty around the data, not between data and
    generated points as WGAN-GP's.
    """
    k_u, k_alpha = jax.random.split(key)
    perturbed = real + c * jax.numpy.std(real) * jax.random.uniform(k_u, real.shape, real.dtype)
    return losses.gradient_penalty(logits, perturbed, real, k_alpha)


def _check_entropy(cfg):
    if cfg.entropy_k >= cfg.batch_size:
        raise ConfigError(f"entropy_k={cfg.entropy_k} must be smaller than batch_size={cfg.batch_size}")


def _check_pairs(cfg):
    if cfg.batch_size < 2:
        raise ConfigError("mode-seeking needs batch_size >= 2")


def _named(name: str, build, check=None) -> Entry:
    """A term selected by naming it in ``Config.terms``."""
    return Entry(name, lambda cfg: name in cfg.terms, build, check)


# terms a config selects by name (Config.terms): a new term is one entry here
NAMED_TERMS: tuple[Entry, ...] = (
    _named("entropy", lambda cfg: Term("generator", "entropy_weight",
                                       lambda b: objectives.kl_entropy(b.x, cfg.entropy_k), -1.0),
           _check_entropy),
    _named("mode-seeking", lambda cfg: Term("generator", "ms_weight", _mode_seeking), _check_pairs),
    _named("dragan", lambda cfg: Term("critic", "penalty_weight",
                                      lambda b: dragan_penalty(b.logits, b.real, b.key))),
)
TERM_NAMES = tuple(e.name for e in NAMED_TERMS)

TERMS: tuple[Entry, ...] = (
    Entry("gradient-penalty", lambda cfg: cfg.penalty == "gp",
          lambda cfg: Term("critic", "penalty_weight", _gp)),
    Entry("r1", lambda cfg: cfg.penalty == "r1",
          lambda cfg: Term("critic", "penalty_weight",
                           lambda b: objectives.r1_penalty(b.logits, b.real), 0.5)),
    Entry("r2", lambda cfg: cfg.penalty == "r2",
          lambda cfg: Term("critic", "penalty_weight",
                           lambda b: objectives.r1_penalty(b.logits, b.fake), 0.5)),
    Entry("feature-matching", lambda cfg: cfg.feature_matching,
          lambda cfg: Term("generator", None, _feature_matching, base=True)),
) + NAMED_TERMS
