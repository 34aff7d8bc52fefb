"""The static/traced split of a sequential Monte Carlo run.

``SMCConfig`` fixes shapes and branches (the model, particles, modes, steps, the resampling
scheme, move steps, adaptive tempering): one config is one compilation. ``SMCHParams`` holds the
numbers (the ESS threshold, the tempering ESS target, the random-walk step, the state-space model's
``a, q, r``, the mixture's spacing): per-run float32 scalars, traced, so ``--sweep`` over any of
them runs inside one program.
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

__all__ = ["SMCConfig", "SMCHParams", "make_smc_hparams", "stack_smc_hparams", "MODELS"]

MODELS = ("tempered", "filter")
SCHEMES = ("multinomial", "systematic", "stratified", "residual")


@register_config
@dataclasses.dataclass(frozen=True)
class SMCConfig:
    """Static description of an SMC run (hashable; one compilation).

    Attributes:
      model: ``tempered`` (tempered SMC from a broad Gaussian prior to a K-mode mixture) or
        ``filter`` (a bootstrap particle filter on a 1-D linear-Gaussian state-space model).
      particles: ``N``.
      modes: ``K``, components of the tempered target (equal weights, unit variance).
      steps: SMC steps (tempering steps, or observations of the filter).
      log_every: steps between logged measurements; divides ``steps``.
      scheme: the resampler (``multinomial``, ``systematic``, ``stratified``, ``residual``).
      moves: random-walk Metropolis steps per SMC step targeting the current tempered density
        (resample-move; 0: none). Tempered model only.
      adaptive: choose each next temperature by bisection so the incremental ESS is
        ``ess_target * N`` (else the linear schedule ``beta_t = t / steps``).
    """

    system: ClassVar[str] = "smc"

    model: str = "tempered"
    particles: int = 64
    modes: int = 8
    steps: int = 200
    log_every: int = 10
    scheme: str = "multinomial"
    moves: int = 0
    adaptive: bool = False

    def __post_init__(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("scheme", self.scheme, SCHEMES)
        for name in ("particles", "modes", "steps", "log_every"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.moves, bool) or not isinstance(self.moves, int) or self.moves < 0:
            raise ConfigError(f"moves must be an integer >= 0, got {self.moves!r}")
        if not isinstance(self.adaptive, bool):
            raise ConfigError(f"adaptive must be true or false, got {self.adaptive!r}")
        if self.model == "filter" and (self.moves or self.adaptive):
            raise ConfigError(f"moves={self.moves} and adaptive={self.adaptive} apply to model="
                              "'tempered' only; the filter has no tempering and no move target")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every={self.log_every} does not divide steps={self.steps}")

    @property
    def TABLE(self) -> tuple:  # noqa: N802 (the name every system's config declares)
        """The table columns: tempered runs score modes, filters founders and the likelihood."""
        common = (Column("D0", "D0", 1, "of_modes"), Column("D1", "D1", 2), Column("D2", "D2", 2),
                  Column("ess_frac", "ESS/N", 3))
        if self.model == "tempered":
            return common + (Column("reverse_kl", "reverse KL", 3),
                             Column("loglik_err", "log Zhat", 3), Column("beta", "beta", 3))
        return common + (Column("loglik_err", "loglik err", 3),)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        """A run's samples are its final particles: ``N`` numbers."""
        return self.particles

    def make_system(self) -> System:
        from mcjax.systems.smc.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "SMCHParams":
        return SMCHParams()

    def describe(self) -> dict[str, Any]:
        """Tempered: the K equal-weight modes; filter: the N particles' founders."""
        n = self.modes if self.model == "tempered" else self.particles
        return {"name": self.model, "n_modes": n, "reference": "uniform",
                "particles": self.particles}

    def replace(self, **changes: Any) -> "SMCConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SMCConfig":
        return cls(**d)


class SMCHParams(NamedTuple):
    """Traced numbers (each a float32 array; a leading axis stacks settings).

    Attributes:
      threshold: resample when ``ESS < threshold * N`` (``>= 1``: every step; 0: never).
      ess_target: adaptive tempering's incremental ESS target as a fraction of ``N``.
      step_size: the random-walk Metropolis proposal's standard deviation.
      a, q, r: the state-space model ``x_t = a x_{t-1} + N(0, q)``, ``y_t = x_t + N(0, r)``.
      sep: spacing of the tempered target's modes (centred on 0, unit variance each).
      prior_scale: the tempered prior's standard deviation ``N(0, prior_scale^2)``.
    """

    threshold: Any = 1.0
    ess_target: Any = 0.5
    step_size: Any = 1.0
    a: Any = 0.9
    q: Any = 1.0
    r: Any = 1.0
    sep: Any = 6.0
    prior_scale: Any = 15.0


_RANGES = {"threshold": (0.0, math.inf), "ess_target": (0.01, 0.99), "step_size": (1e-6, math.inf),
           "a": (-math.inf, math.inf), "q": (1e-6, math.inf), "r": (1e-6, math.inf),
           "sep": (0.0, math.inf), "prior_scale": (1e-3, math.inf)}


def make_smc_hparams(config: SMCConfig, **values: Any) -> SMCHParams:
    """Validated scalar ``SMCHParams``; a bad name or value raises a one-line ``ConfigError``."""
    for name in values:
        check_choice("SMC parameter", name, SMCHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(SMCHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, hi = _RANGES[name]
        if not (math.isfinite(x) and lo <= x <= hi):
            raise ConfigError(f"{name} must be a number in [{lo:g}, {hi:g}], got {x!r}")
    return SMCHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_smc_hparams(settings: list[SMCHParams]) -> SMCHParams:
    """Stacks scalar ``SMCHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
