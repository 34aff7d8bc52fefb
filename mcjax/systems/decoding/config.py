"""The static/traced split of a decoding run.

``DecodeConfig`` fixes shapes and branches (vocabulary, topics, length, the decoder, its width
``B`` and groups ``G``): one config is one compilation. ``DecodeHParams`` holds what a sweep varies
(temperature, nucleus mass ``top_p``, diversity penalty ``lambda``, the chains' concentration, the
topic prior's Zipf exponent): per-run float32 scalars, traced, so a ``--sweep`` over any of them
runs inside one program.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import ConfigError, check_choice, check_positive_int
from mcjax.core.results import Column
from mcjax.core.system import System, register_config

__all__ = ["DecodeConfig", "DecodeHParams", "make_decode_hparams", "stack_decode_hparams",
           "DECODERS"]

DECODERS = ("greedy", "beam", "sample", "nucleus", "stochastic-beam", "diverse-beam")


@register_config
@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """Static description of decoding a topic Markov language model (hashable; one compilation).

    Attributes:
      vocab: ``V``, tokens.
      topics: ``K <= V``, topics (tokens ``0..K-1`` as the first token).
      length: ``L``, tokens per sequence (the topic token included).
      decoder: one of :data:`DECODERS`.
      width: ``B``, sequences each decode returns (greedy's one sequence is repeated ``B`` times).
      groups: ``G``, diverse beam search's groups of ``B / G`` beams; divides ``width``.
      log_every: positions between logged measurements; divides ``length`` (a run's ``steps``
        are its ``L`` positions, one decoded per step).
    """

    system: ClassVar[str] = "decoding"
    TABLE: ClassVar[tuple] = (
        Column("D0", "D0 topics", 1, "of_modes"),
        Column("D1", "D1", 2),
        Column("D2", "D2", 2),
        Column("reverse_kl", "reverse KL", 2),
        Column("distinct1", "distinct-1", 2),
        Column("distinct2", "distinct-2", 2),
        Column("hamming", "Hamming", 2),
        Column("logp", "log p", 2),
    )

    vocab: int = 6
    topics: int = 4
    length: int = 4
    decoder: str = "beam"
    width: int = 4
    groups: int = 2
    log_every: int = 1

    def __post_init__(self) -> None:
        for name in ("vocab", "topics", "length", "width", "groups", "log_every"):
            check_positive_int(name, getattr(self, name))
        check_choice("decoder", self.decoder, DECODERS)
        if self.topics > self.vocab:
            raise ConfigError(f"topics must be at most vocab={self.vocab} (topic k is token k), "
                              f"got {self.topics}")
        if self.vocab ** self.length >= 2**31:
            raise ConfigError(f"vocab**length = {self.vocab}**{self.length} must be below 2**31 "
                              "(sequences are coded as int32)")
        if self.decoder == "diverse-beam" and self.width % self.groups:
            raise ConfigError(f"groups={self.groups} must divide width={self.width} (diverse "
                              "beam search splits the beams equally)")
        if self.decoder == "stochastic-beam" and self.width > self.topics * self.vocab ** (self.length - 1):
            raise ConfigError(f"width={self.width} exceeds the {self.topics * self.vocab ** (self.length - 1)} "
                              "sequences of nonzero probability that stochastic beam search draws "
                              "without replacement")
        if self.length % self.log_every:
            raise ConfigError(f"log_every={self.log_every} does not divide length={self.length}")

    @property
    def steps(self) -> int:
        """One step per position: ``L``."""
        return self.length

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        """A run's samples are its ``B`` decoded sequences."""
        return self.width

    def make_system(self) -> System:
        """Decoding as a :class:`~mcjax.core.system.System` (``mcjax.systems.decoding.engine``)."""
        from mcjax.systems.decoding.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "DecodeHParams":
        return DecodeHParams()

    def describe(self) -> dict[str, Any]:
        """The reference distribution: the topic prior ``pi`` over ``K`` topics (``n_modes = K``)."""
        return {"name": "topic-markov-lm", "n_modes": self.topics, "vocab": self.vocab,
                "length": self.length, "reference": "topic prior pi_k ∝ (k+1)^-zipf"}

    def replace(self, **changes: Any) -> "DecodeConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DecodeConfig":
        return cls(**d)


class DecodeHParams(NamedTuple):
    """Swept values, traced (float32 scalars; a leading axis stacks settings).

    Attributes:
      temperature: sampling, nucleus and stochastic beam search draw from ``p^(1/temperature)``.
      top_p: the nucleus mass (``nucleus``).
      diversity: ``lambda``, diverse beam search's Hamming penalty.
      concentration: scale of the chains' logits (``0``: uniform chains; large: peaked).
      zipf: the topic prior's exponent, ``pi_k ∝ (k + 1)^(-zipf)``.
    """

    temperature: Any = 1.0
    top_p: Any = 0.9
    diversity: Any = 0.5
    concentration: Any = 2.0
    zipf: Any = 1.0


# (low, high, low open, high open)
_RANGES = {"temperature": (0.0, math.inf, True, True), "top_p": (0.0, 1.0, True, False),
           "diversity": (0.0, math.inf, False, True), "concentration": (0.0, math.inf, False, True),
           "zipf": (0.0, math.inf, False, True)}


def make_decode_hparams(config: DecodeConfig, **values: Any) -> DecodeHParams:
    """Validated scalar ``DecodeHParams`` for ``config``.

    Raises:
      ConfigError: an unknown name or a value outside its range (``temperature > 0``,
        ``0 < top_p <= 1``, the rest ``>= 0``).
    """
    for name in values:
        check_choice("decoding parameter", name, DecodeHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(DecodeHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, hi, open_lo, open_hi = _RANGES[name]
        if not math.isfinite(x) or (x <= lo if open_lo else x < lo) or (x >= hi if open_hi else x > hi):
            interval = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
            raise ConfigError(f"{name} must be a number in {interval}, got {x!r}")
    return DecodeHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_decode_hparams(settings: list[DecodeHParams]) -> DecodeHParams:
    """Stacks scalar ``DecodeHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
