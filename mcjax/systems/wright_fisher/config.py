"""The static/traced split of a Wright-Fisher population.

``WFConfig`` fixes shapes and branches (population size, alleles, demes, generations, the
selection model): one config is one compilation. ``WFHParams`` holds the forces' strengths (the
selection coefficient, mutation and migration rates, the overdominance cost, the weight of
negative frequency dependence, the starting frequency): per-run float32 scalars, traced, so a
``--sweep`` over any of them runs inside one program.
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

__all__ = ["WFConfig", "WFHParams", "make_wf_hparams", "stack_wf_hparams", "SAMPLING"]

SAMPLING = ("multinomial", "deterministic")


@register_config
@dataclasses.dataclass(frozen=True)
class WFConfig:
    """Static description of a Wright-Fisher population (hashable; one compilation).

    Attributes:
      population: ``N``, haploid individuals in all, split equally over ``demes`` (so a
        structured population has as many individuals as an unstructured one).
      alleles: ``K``, the types an individual can have (``K = 2`` the classic case).
      demes: ``D``, islands of ``N / D`` individuals each, exchanging migrants at rate
        ``WFHParams.m`` (island model; ``D = 1``: one panmictic population).
      steps: generations of one run.
      log_every: generations between two logged measurements; divides ``steps``.
      sampling: ``multinomial`` (each deme's next generation is ``N / D`` draws from the
        frequencies after selection, mutation and migration: drift; a binomial when ``K = 2``)
        or ``deterministic`` (the expected counts: no drift, the infinite-population recursion).
      overdominance: select on diploid genotypes (random union of the haploid individuals)
        with fitness ``1 - s`` for the homozygote of allele 0, ``1 - t`` for every other
        homozygote and 1 for heterozygotes, instead of the haploid fitness ``1 + s`` of allele 0.
      fitness: a static haploid fitness vector ``(f_0, ..., f_{K-1})`` multiplying every other
        fitness (``()``: all 1).
    """

    system: ClassVar[str] = "wright-fisher"
    TABLE: ClassVar[tuple] = (
        Column("D0", "D0 alleles", 1, "of_modes"),
        Column("D1", "D1", 2),
        Column("D2", "D2", 2),
        Column("reverse_kl", "reverse KL", 2),
        Column("heterozygosity", "H", 3),
        Column("fixed", "fixed", 0, "count"),
        Column("fixation_gen", "fixation gen.", 0, "when"),
    )

    population: int = 100
    alleles: int = 8
    demes: int = 1
    steps: int = 500
    log_every: int = 10
    sampling: str = "multinomial"
    overdominance: bool = False
    fitness: tuple = ()

    def __post_init__(self) -> None:
        for name in ("population", "alleles", "demes", "steps", "log_every"):
            check_positive_int("generations" if name == "steps" else name, getattr(self, name))
        if self.alleles < 2:
            raise ConfigError(f"alleles must be at least 2, got {self.alleles}")
        if self.population % self.demes:
            raise ConfigError(f"population={self.population} is split equally over demes="
                              f"{self.demes}: it must be a multiple of it")
        if self.population > 2**24:
            raise ConfigError(f"population={self.population}: counts are float32, exact up to "
                              f"2**24 = {2**24}")
        check_choice("sampling", self.sampling, SAMPLING)
        if not isinstance(self.overdominance, bool):
            raise ConfigError(f"overdominance must be true or false, got {self.overdominance!r}")
        if self.steps % self.log_every:
            divisors = [d for d in range(1, self.steps + 1) if self.steps % d == 0]
            near = sorted(sorted(divisors, key=lambda d: abs(d - self.log_every))[:3])
            raise ConfigError(f"log_every={self.log_every} does not divide generations={self.steps}; "
                              f"nearby divisors: {', '.join(map(str, near))}")
        if not isinstance(self.fitness, tuple):
            raise ConfigError(f"fitness must be a tuple of {self.alleles} numbers, got {self.fitness!r}")
        if self.fitness:
            ok = len(self.fitness) == self.alleles and all(
                isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f > 0
                for f in self.fitness)
            if not ok:
                raise ConfigError(f"fitness must be {self.alleles} positive numbers (one per "
                                  f"allele), got {self.fitness!r}")

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        """A run's samples are its final allele counts: ``K`` numbers."""
        return self.alleles

    @property
    def deme_size(self) -> int:
        return self.population // self.demes

    def make_system(self) -> System:
        """The population as a :class:`~mcjax.core.system.System`
        (``mcjax.systems.wright_fisher.engine.make_system``)."""
        from mcjax.systems.wright_fisher.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "WFHParams":
        return WFHParams(p0=1.0 / self.alleles)

    def describe(self) -> dict[str, Any]:
        """The reference distribution: uniform over the ``K`` alleles (``n_modes = K``)."""
        return {"name": "alleles", "n_modes": self.alleles, "reference": "uniform",
                "population": self.population, "demes": self.demes}

    def replace(self, **changes: Any) -> "WFConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fitness"] = list(self.fitness)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WFConfig":
        d = dict(d)
        d["fitness"] = tuple(d.get("fitness", ()))
        return cls(**d)


class WFHParams(NamedTuple):
    """The forces' strengths, traced (each a float32 array; a leading axis stacks settings).

    Attributes:
      s: selection. Haploid: allele 0 has fitness ``1 + s`` (``s > 0`` it sweeps: the collapsing
        force). With ``WFConfig.overdominance``: the cost of allele 0's homozygote (fitness
        ``1 - s``).
      mu: mutation rate: each individual mutates with probability ``mu`` to one of the other
        ``K - 1`` alleles, uniformly.
      m: migration rate: each deme's frequencies become ``(1 - m) p_d + m pbar`` (island model;
        ``pbar`` the mean over demes).
      t: with ``WFConfig.overdominance``, the cost of every other homozygote (fitness ``1 - t``).
      c: negative frequency dependence: allele ``i``'s fitness is multiplied by
        ``exp(-c p_i)``.
      p0: starting frequency of allele 0 (``round(N / D * p0)`` copies in each deme), the rest
        split as equally as integers allow over the other alleles (``1 / K``: uniform).
    """

    s: Any = 0.0
    mu: Any = 0.0
    m: Any = 0.0
    t: Any = 0.0
    c: Any = 0.0
    p0: Any = 0.5


_RANGES = {"s": (-1.0, math.inf), "mu": (0.0, 1.0), "m": (0.0, 1.0), "t": (-math.inf, 1.0),
           "c": (0.0, math.inf), "p0": (0.0, 1.0)}


def make_wf_hparams(config: WFConfig, **values: Any) -> WFHParams:
    """Validated scalar ``WFHParams`` for ``config`` (``p0`` defaults to ``1 / K``).

    Raises:
      ConfigError: an unknown name, a value outside its range (``s > -1``, ``0 <= mu, m, p0 <= 1``,
        ``t < 1``, ``c >= 0``), or a rate too large for ``K`` (``mu <= (K - 1) / K``).
    """
    for name in values:
        check_choice("Wright-Fisher parameter", name, WFHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(WFHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, hi = _RANGES[name]
        open_lo = name == "s" or lo == -math.inf
        open_hi = name == "t" or hi == math.inf
        bad = (not math.isfinite(x) or (x <= lo if open_lo else x < lo)
               or (x >= hi if open_hi else x > hi))
        if bad:
            interval = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
            raise ConfigError(f"{name} must be a number in {interval}, got {x!r}")
    if float(hp.mu) > (config.alleles - 1) / config.alleles:
        raise ConfigError(f"mu={float(hp.mu)!r} is above (K - 1) / K = "
                          f"{(config.alleles - 1) / config.alleles:g}, where mutation stops pulling "
                          "frequencies toward uniform")
    return WFHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_wf_hparams(settings: list[WFHParams]) -> WFHParams:
    """Stacks scalar ``WFHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
