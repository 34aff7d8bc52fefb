"""The mixture-VAE run spec: what ``mcjax sweep --system vae-mixture`` runs (its fields are the
command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec

__all__ = ["MixVAESpec", "DEFAULT_MIX_REMEDIES"]

DEFAULT_MIX_REMEDIES = ("vae", "beta", "kl-annealing", "cyclical", "free-bits")


@register_spec
@dataclasses.dataclass(frozen=True)
class MixVAESpec(SpecFields):
    """A mixture-VAE sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (those of ``mcjax remedies --system vae``
        but the delta-VAE), one compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``MixVAEHParams`` fields (``lr``, ``lr_decay``, ``beta``,
        ``warmup``, ``cycle``, ``ratio``, ``free_bits``).
      target, target_std, decoder, components, latents, width, depth, batch, steps, log_every,
        eval_samples: the base ``MixVAEConfig``.
      lr: base learning rate (a remedy's or a sweep's value wins).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "vae-mixture"

    remedy: tuple = DEFAULT_MIX_REMEDIES
    sweep: tuple = ()
    seeds: int = 8
    target: str = "ring"
    target_std: float = 0.05
    decoder: str = "mixture"
    components: int = 8
    latents: int = 2
    width: int = 32
    depth: int = 2
    batch: int = 128
    steps: int = 4000
    log_every: int = 400
    eval_samples: int = 1000
    lr: float = 0.01

    def name(self) -> str:
        return f"{self.system}-{self.target}"

    def base_config(self):
        from mcjax.systems.vae.mixture_config import MixVAEConfig

        names = [f.name for f in dataclasses.fields(MixVAEConfig)]
        return MixVAEConfig(**{n: getattr(self, n) for n in names})

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy; ``ConfigError`` on bad values."""
        from mcjax.core.remedies import RemedyTable, remedy_experiments
        from mcjax.systems.vae.mixture_config import (MixVAEConfig, MixVAEHParams, make_mix_hparams,
                                                      stack_mix_hparams)
        from mcjax.systems.vae.remedies import REMEDY_LIST

        table = RemedyTable("vae-mixture", REMEDY_LIST, MixVAEConfig, MixVAEHParams)
        return remedy_experiments(table, self.base_config(), self.remedy, self.sweep, self.seeds,
                                  make_mix_hparams, stack_mix_hparams, base_hparams={"lr": self.lr})
