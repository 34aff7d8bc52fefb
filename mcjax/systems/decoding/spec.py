"""The decoding run spec: what ``mcjax sweep --system decoding`` runs, as one frozen, serialisable
value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec
from mcjax.systems.decoding.remedies import DEFAULT_DECODE_REMEDIES

__all__ = ["DecodeSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class DecodeSpec(SpecFields):
    """A decoding sweep: every decoder (remedy) x every ``--sweep`` setting x ``seeds`` seeds
    (one random topic model per seed).

    Attributes:
      remedy: decoder specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system decoding``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``DecodeHParams`` fields (``temperature``, ``top_p``,
        ``diversity`` or ``lambda``, ``concentration``, ``zipf``) swept inside each program.
      vocab, topics, length, width, groups, log_every: the base ``DecodeConfig`` (a run's steps
        are its ``length`` positions).
      concentration, zipf: base values of those ``DecodeHParams`` (a remedy's or a sweep's win).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "decoding"

    remedy: tuple = DEFAULT_DECODE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    vocab: int = 6
    topics: int = 4
    length: int = 4
    width: int = 4
    groups: int = 2
    log_every: int = 1
    concentration: float = 2.0
    zipf: float = 1.0

    def base_config(self):
        from mcjax.systems.decoding.config import DecodeConfig

        return DecodeConfig(vocab=self.vocab, topics=self.topics, length=self.length,
                            width=self.width, groups=self.groups,
                            log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per decoder, its settings the product of the
        sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.decoding.config import make_decode_hparams, stack_decode_hparams
        from mcjax.systems.decoding.remedies import DECODE_TABLE

        return remedy_experiments(DECODE_TABLE, self.base_config(), self.remedy, self.sweep,
                                  self.seeds, make_decode_hparams, stack_decode_hparams)
