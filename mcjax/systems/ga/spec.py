"""The genetic-algorithm run spec: what ``mcjax sweep --system ga`` runs, as one frozen,
serialisable value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec
from mcjax.systems.ga.remedies import DEFAULT_GA_REMEDIES

__all__ = ["GASpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class GASpec(SpecFields):
    """A GA sweep: every niching method (remedy) x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system ga``), one compiled
        program each.
      sweep: ``KEY=V1,V2,...`` axes of ``GAHParams`` fields (``mutation_rate``, ``sigma_share``,
        ``capacity``, ...) swept inside each program (their product).
      population, islands, generations, log_every, landscape, selection, tournament_size, init,
        accuracy: the base ``GAConfig`` (``generations`` is its ``steps``) each remedy changes.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "ga"

    remedy: tuple = DEFAULT_GA_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    population: int = 100
    islands: int = 1
    generations: int = 200
    log_every: int = 10
    landscape: str = "equal"
    selection: str = "roulette"
    tournament_size: int = 2
    init: str = "uniform"
    accuracy: float = 1e-3

    def name(self) -> str:
        return f"ga-{self.landscape}"

    def base_config(self):
        from mcjax.systems.ga.config import GAConfig

        return GAConfig(population=self.population, islands=self.islands, steps=self.generations,
                        log_every=self.log_every, landscape=self.landscape,
                        selection=self.selection, tournament_size=self.tournament_size,
                        init=self.init, accuracy=self.accuracy)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.ga.config import make_ga_hparams, stack_ga_hparams
        from mcjax.systems.ga.remedies import GA_TABLE

        return remedy_experiments(GA_TABLE, self.base_config(), self.remedy, self.sweep,
                                  self.seeds, make_ga_hparams, stack_ga_hparams)
