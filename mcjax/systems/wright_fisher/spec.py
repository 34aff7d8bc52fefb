"""The Wright-Fisher run spec: what ``mcjax sweep --system wright-fisher`` runs, as one frozen,
serialisable value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec
from mcjax.systems.wright_fisher.remedies import DEFAULT_WF_REMEDIES

__all__ = ["WFSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class WFSpec(SpecFields):
    """A Wright-Fisher sweep: every force (remedy) x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: force specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system wright-fisher``),
        one compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``WFHParams`` fields (``s``, ``mu``, ``m``, ``t``, ``c``,
        ``p0``) swept inside each program (their product).
      population, alleles, demes, generations, log_every, sampling, fitness: the base
        ``WFConfig`` (``generations`` is its ``steps``) that each remedy changes.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    NUMBER_FIELDS: ClassVar[tuple] = (("fitness", "F0,F1,..."),)
    system: ClassVar[str] = "wright-fisher"

    remedy: tuple = DEFAULT_WF_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    population: int = 100
    alleles: int = 8
    demes: int = 1
    generations: int = 500
    log_every: int = 10
    sampling: str = "multinomial"
    fitness: tuple = ()

    def base_config(self):
        from mcjax.systems.wright_fisher.config import WFConfig

        return WFConfig(population=self.population, alleles=self.alleles, demes=self.demes,
                        steps=self.generations, log_every=self.log_every, sampling=self.sampling,
                        fitness=self.fitness)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.wright_fisher.config import make_wf_hparams, stack_wf_hparams
        from mcjax.systems.wright_fisher.remedies import WF_TABLE

        return remedy_experiments(WF_TABLE, self.base_config(), self.remedy, self.sweep,
                                  self.seeds, make_wf_hparams, stack_wf_hparams)
