"""The recursive-training run spec: what ``mcjax sweep --system recursive`` runs, as one frozen,
serialisable value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from mcjax._validation import ConfigError
from mcjax.core.run import SpecFields, register_spec
from mcjax.core.remedies import parse_sweep
from mcjax.systems.recursive.remedies import DEFAULT_RECURSIVE_REMEDIES

__all__ = ["RecursiveSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class RecursiveSpec(SpecFields):
    """A recursive-training sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system recursive``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``RecursiveHParams`` fields (``alpha``, ``samples``) swept
        inside each program (their product).
      fit, modes, spacing, std, weights, generations, log_every, em_iters: the base
        ``RecursiveConfig`` (``generations`` is its ``steps``) that each remedy changes.
      samples: ``M``, samples per generation (a remedy's or a sweep's values win); every
        program's ``capacity`` is the largest ``M`` of the sweep.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    NUMBER_FIELDS: ClassVar[tuple] = (("weights", "W1,W2,..."),)
    system: ClassVar[str] = "recursive"

    remedy: tuple = DEFAULT_RECURSIVE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    fit: str = "em"
    modes: int = 8
    spacing: float = 10.0
    std: float = 1.0
    weights: tuple = ()
    samples: int = 100
    generations: int = 100
    log_every: int = 5
    em_iters: int = 10

    def base_config(self):
        from mcjax.systems.recursive.config import RecursiveConfig

        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 2:
            raise ConfigError(f"samples must be an integer >= 2, got {self.samples!r}")
        return RecursiveConfig(modes=self.modes, spacing=self.spacing, std=self.std,
                               weights=self.weights, fit=self.fit, capacity=self.samples,
                               em_iters=self.em_iters, steps=self.generations,
                               log_every=self.log_every)

    def _capacity(self) -> int:
        """The largest ``M`` any setting runs: ``samples``, a remedy's or a sweep's."""
        from mcjax.systems.recursive.remedies import RECURSIVE_REMEDIES as table

        base = self.base_config()
        largest = [float(self.samples)]
        for spec in self.remedy:
            largest.append(float(table.apply(spec, base)[1].get("samples", self.samples)))
            remedy = table[table.parse(spec)[0]]
            for key, values in map(parse_sweep, self.sweep):
                if table.resolve_key(remedy, key) == ("traced", "samples"):
                    largest += values
        top = max(largest)
        return max(self.samples, math.ceil(top)) if math.isfinite(top) else self.samples

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps; every program draws as many points a generation as the largest ``M``.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.recursive.config import make_recursive_hparams, stack_recursive_hparams
        from mcjax.systems.recursive.remedies import RECURSIVE_REMEDIES

        def make(cfg, **values):
            return make_recursive_hparams(cfg, **{"samples": self.samples, **values})

        base = self.base_config().replace(capacity=self._capacity())
        return remedy_experiments(RECURSIVE_REMEDIES, base, self.remedy, self.sweep, self.seeds,
                                  make, stack_recursive_hparams)
