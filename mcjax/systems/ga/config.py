"""The static/traced split of a genetic algorithm.

``GAConfig`` fixes shapes and branches (population, islands, generations, landscape, selection
operator and tournament size, niching scheme, how the population starts, the CEC accuracy): one
config is one compilation. ``GAHParams`` holds the strengths (mutation rate and scale, crossover
probability, the sharing radius and exponent, the clearing radius and capacity, the migration
interval, the starting share of peak 0): per-run float32 scalars, traced, so a ``--sweep`` over any
of them runs inside one program.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import ConfigError, check_choice, check_positive, check_positive_int
from mcjax.core.results import Column
from mcjax.core.system import System, register_config
from mcjax.systems.ga.landscapes import LANDSCAPES, N_PEAKS, peaks

__all__ = ["GAConfig", "GAHParams", "make_ga_hparams", "stack_ga_hparams", "SELECTIONS",
           "NICHING", "INITS"]

SELECTIONS = ("roulette", "sus", "tournament")
NICHING = ("none", "sharing", "crowding", "clearing")
INITS = ("uniform", "peaks")


@register_config
@dataclasses.dataclass(frozen=True)
class GAConfig:
    """Static description of a genetic algorithm (hashable; one compilation).

    Attributes:
      population: ``N`` individuals in all (points of ``[0, 1]``), split equally over ``islands``.
      islands: ``M`` subpopulations on a ring; every ``GAHParams.migration_every`` generations each
        sends copies of its ``migrants`` best to the next, replacing that island's worst.
      migrants: individuals each island sends at a migration.
      steps: generations of one run.
      log_every: generations between two logged measurements; divides ``steps``.
      landscape: ``equal`` (CEC 2013 F2) or ``uneven`` (F3); see :mod:`~mcjax.systems.ga.landscapes`.
      selection: ``roulette`` (fitness-proportional, ``N`` independent draws: multinomial),
        ``sus`` (stochastic universal sampling: one draw, ``N`` equally spaced pointers) or
        ``tournament`` (the fittest of ``tournament_size`` drawn with replacement).
      tournament_size: ``k`` of tournament selection.
      niching: ``none``, ``sharing`` (selection on shared fitness), ``crowding`` (deterministic
        crowding: no selection operator; children replace the more similar parent if fitter) or
        ``clearing`` (selection on cleared fitness).
      init: ``uniform`` (``U[0, 1]``) or ``peaks`` (every individual exactly on a peak top:
        ``round(n p0)`` of each island on peak 0, the rest cycling over peaks 1..4).
      accuracy: ``eps`` of the CEC protocol: a peak is found when an individual in its basin is
        within ``eps`` of its height.
    """

    system: ClassVar[str] = "ga"
    TABLE: ClassVar[tuple] = (
        Column("D0", "D0 peaks", 1, "of_modes"),
        Column("D1", "D1", 2),
        Column("D2", "D2", 2),
        Column("reverse_kl", "reverse KL", 2),
        Column("peak_ratio", "peak ratio", 2),
        Column("best", "best f", 3),
        Column("one_peak", "one peak", 0, "count"),
        Column("one_peak_gen", "one-peak gen.", 0, "when"),
    )

    population: int = 100
    islands: int = 1
    migrants: int = 1
    steps: int = 200
    log_every: int = 10
    landscape: str = "equal"
    selection: str = "roulette"
    tournament_size: int = 2
    niching: str = "none"
    init: str = "uniform"
    accuracy: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("population", "islands", "migrants", "steps", "log_every", "tournament_size"):
            check_positive_int("generations" if name == "steps" else name, getattr(self, name))
        check_choice("landscape", self.landscape, LANDSCAPES)
        check_choice("selection", self.selection, SELECTIONS)
        check_choice("niching", self.niching, NICHING)
        check_choice("init", self.init, INITS)
        check_positive("accuracy", self.accuracy)
        if self.population % self.islands:
            raise ConfigError(f"population={self.population} is split equally over islands="
                              f"{self.islands}: it must be a multiple of it")
        if self.niching == "crowding" and self.island_size % 2:
            raise ConfigError(f"niching=crowding pairs parents: population / islands = "
                              f"{self.island_size} must be even")
        if self.migrants >= self.island_size and self.islands > 1:
            raise ConfigError(f"migrants={self.migrants} must be fewer than the island size "
                              f"{self.island_size}")
        if self.steps % self.log_every:
            divisors = [d for d in range(1, self.steps + 1) if self.steps % d == 0]
            near = sorted(sorted(divisors, key=lambda d: abs(d - self.log_every))[:3])
            raise ConfigError(f"log_every={self.log_every} does not divide generations={self.steps}; "
                              f"nearby divisors: {', '.join(map(str, near))}")

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def island_size(self) -> int:
        return self.population // self.islands

    @property
    def keep_samples(self) -> int:
        """A run's samples are its final population: ``N`` points."""
        return self.population

    def reference(self) -> np.ndarray:
        """``[5]`` the reference peak histogram: uniform on ``equal``; on ``uneven`` proportional to
        the peak heights (the fitness-sharing equilibrium ``n_k ∝ f_k``)."""
        h = np.asarray(peaks(self.landscape)[1])
        return np.full(N_PEAKS, 1 / N_PEAKS) if self.landscape == "equal" else h / h.sum()

    def make_system(self) -> System:
        """The algorithm as a :class:`~mcjax.core.system.System` (``engine.make_system``)."""
        from mcjax.systems.ga.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "GAHParams":
        return GAHParams()

    def describe(self) -> dict[str, Any]:
        """The landscape's peaks (``n_modes = 5``) and the reference histogram."""
        pos, height = peaks(self.landscape)
        return {"name": self.landscape, "n_modes": N_PEAKS, "peaks": list(pos),
                "heights": list(height), "reference": [float(r) for r in self.reference()],
                "population": self.population, "islands": self.islands}

    def replace(self, **changes: Any) -> "GAConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GAConfig":
        return cls(**d)


class GAHParams(NamedTuple):
    """The strengths, traced (each a float32 array; a leading axis stacks settings).

    Attributes:
      mutation_rate: probability that a child is mutated.
      mutation_scale: standard deviation of the Gaussian step, reflected into ``[0, 1]``.
      crossover: probability that a pair of children is recombined (blend:
        ``u a + (1 - u) b, (1 - u) a + u b``, ``u ~ U[0, 1]``).
      sigma_share: radius of the triangular sharing function ``sh(d) = 1 - (d / sigma)^alpha``.
      alpha: exponent of the sharing function.
      clear_radius: radius of a clearing niche.
      capacity: winners a clearing niche keeps (rounded to an integer).
      migration_every: generations between two migrations (rounded; islands only).
      p0: with ``init = "peaks"``, the share of each island that starts on peak 0.
    """

    mutation_rate: Any = 0.1
    mutation_scale: Any = 0.01
    crossover: Any = 0.0
    sigma_share: Any = 0.1
    alpha: Any = 1.0
    clear_radius: Any = 0.1
    capacity: Any = 1.0
    migration_every: Any = 10.0
    p0: Any = 0.2


_RANGES = {"mutation_rate": (0.0, 1.0), "mutation_scale": (0.0, math.inf), "crossover": (0.0, 1.0),
           "sigma_share": (0.0, math.inf), "alpha": (0.0, math.inf), "clear_radius": (0.0, math.inf),
           "capacity": (1.0, math.inf), "migration_every": (1.0, math.inf), "p0": (0.0, 1.0)}
_OPEN_LOW = ("sigma_share", "alpha", "clear_radius")


def make_ga_hparams(config: GAConfig, **values: Any) -> GAHParams:
    """Validated scalar ``GAHParams`` (``ConfigError`` naming the value and its allowed range)."""
    for name in values:
        check_choice("GA parameter", name, GAHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(GAHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, hi = _RANGES[name]
        open_lo = name in _OPEN_LOW
        if not math.isfinite(x) or (x <= lo if open_lo else x < lo) or x > hi:
            interval = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if hi == math.inf else ']'}"
            raise ConfigError(f"{name} must be a number in {interval}, got {x!r}")
    return GAHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_ga_hparams(settings: list[GAHParams]) -> GAHParams:
    """Stacks scalar ``GAHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
