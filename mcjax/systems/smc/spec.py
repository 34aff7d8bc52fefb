"""The SMC run spec: what ``mcjax sweep --system smc`` runs, as one frozen, serialisable value
(its fields are the command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec

__all__ = ["SMCSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class SMCSpec(SpecFields):
    """An SMC sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system smc``), one compiled
        program each; empty: the model's defaults (the filter's five resampling remedies, or the
        tempered model's five).
      sweep: ``KEY=V1,V2,...`` axes of ``SMCHParams`` fields (``threshold``, ``ess_target``,
        ``step_size``, ``a``, ``q``, ``r``, ``sep``, ``prior_scale``) swept inside each program.
      model, particles, modes, steps, log_every: the base ``SMCConfig`` each remedy changes.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "smc"

    remedy: tuple = ()
    sweep: tuple = ()
    seeds: int = 16
    model: str = "tempered"
    particles: int = 64
    modes: int = 8
    steps: int = 200
    log_every: int = 10

    def default_remedies(self) -> tuple:
        """The filter's resampling remedies with ``model="filter"``, else the tempered model's."""
        from mcjax.systems.smc.remedies import DEFAULT_SMC_REMEDIES, FILTER_REMEDIES

        return FILTER_REMEDIES if self.model == "filter" else DEFAULT_SMC_REMEDIES

    def name(self) -> str:
        return f"smc-{self.model}"

    def base_config(self):
        from mcjax.systems.smc.config import SMCConfig

        return SMCConfig(model=self.model, particles=self.particles, modes=self.modes,
                         steps=self.steps, log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.smc.config import make_smc_hparams, stack_smc_hparams
        from mcjax.systems.smc.remedies import SMC_REMEDIES

        return remedy_experiments(SMC_REMEDIES, self.base_config(), self.remedy, self.sweep,
                                  self.seeds, make_smc_hparams, stack_smc_hparams)
