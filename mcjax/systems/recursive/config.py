"""The static/traced split of a model trained on its own samples, generation after generation.

``RecursiveConfig`` fixes shapes and branches (the true mixture, the fit, the most samples a
generation can draw, the EM iterations, the generations): one config is one compilation.
``RecursiveHParams`` holds what a sweep varies: the sample size ``M`` of a generation and the
share ``alpha`` of real data mixed into it, per-run float32 scalars, traced, so ``--sweep
samples=100,1000`` or ``--sweep alpha=0,0.1`` runs inside one program.
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

__all__ = ["RecursiveConfig", "RecursiveHParams", "make_recursive_hparams",
           "stack_recursive_hparams", "FITS"]

FITS = ("em", "weights", "gaussian")


def _positive_number(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and value > 0
    if not ok:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")


@register_config
@dataclasses.dataclass(frozen=True)
class RecursiveConfig:
    """Static description of recursive training on a 1-D Gaussian mixture (hashable; one
    compilation).

    The true distribution has ``K = modes`` components of standard deviation ``std`` at
    ``spacing (k - (K - 1) / 2)``, with weights ``weights`` (``()``: equal). Generation 0's
    model is the true mixture; each generation draws ``M`` samples (a share ``alpha`` of them
    from the true mixture, the rest from the current model) and fits the next model to them.

    Attributes:
      modes: ``K``, the true mixture's components (and the fitted mixture's).
      spacing: distance between neighbouring true means.
      std: each true component's standard deviation.
      weights: the true weights (``K`` positive numbers, normalised; ``()``: ``1 / K`` each).
      fit: ``em`` (``em_iters`` EM iterations of a ``K``-component mixture, weights, means and
        variances, started from the previous generation's model), ``weights`` (only the
        weights, refit as the share of samples each component drew: multinomial resampling,
        Wright-Fisher with ``N = M``) or ``gaussian`` (one Gaussian, mean and variance by
        maximum likelihood).
      capacity: the most samples a generation draws (a shape); ``RecursiveHParams.samples``
        uses the first ``M <= capacity`` of them.
      em_iters: EM iterations per generation (``fit = "em"``).
      var_floor: added to every EM variance (keeps a component fitted to one point finite).
      min_mass: a true mode whose fitting components weigh less than this is lost (``D_0``;
        ``1e-4``: a weights-only fit of up to ``M = 10^4`` samples never rounds a drawn mode
        away).
      steps: generations of one run.
      log_every: generations between logged measurements; divides ``steps``.
      eval_samples: samples of the final model kept per run.
    """

    system: ClassVar[str] = "recursive"
    TABLE: ClassVar[tuple] = (
        Column("D0", "D0 modes", 1, "of_modes"),
        Column("D1", "D1", 2),
        Column("D2", "D2", 2),
        Column("reverse_kl", "reverse KL", 3),
        Column("heterozygosity", "H (weights)", 3),
        Column("fitted", "fitted share", 3),
        Column("variance", "variance", 1),
        Column("modes_lost", "modes lost", 1),
        Column("first_loss_gen", "first loss gen.", 0, "when"),
    )

    modes: int = 8
    spacing: float = 10.0
    std: float = 1.0
    weights: tuple = ()
    fit: str = "em"
    capacity: int = 100
    em_iters: int = 10
    var_floor: float = 1e-4
    min_mass: float = 1e-4
    steps: int = 100
    log_every: int = 5
    eval_samples: int = 64

    def __post_init__(self) -> None:
        for name in ("modes", "capacity", "em_iters", "steps", "log_every", "eval_samples"):
            check_positive_int("generations" if name == "steps" else name, getattr(self, name))
        if self.modes < 2:
            raise ConfigError(f"modes must be at least 2, got {self.modes}")
        if self.capacity < 2:
            raise ConfigError(f"capacity must be at least 2 samples, got {self.capacity}")
        for name in ("spacing", "std", "var_floor", "min_mass"):
            _positive_number(name, getattr(self, name))
        check_choice("fit", self.fit, FITS)
        if not isinstance(self.weights, tuple) or (self.weights and not (
                len(self.weights) == self.modes and all(
                    isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w)
                    and w > 0 for w in self.weights))):
            raise ConfigError(f"weights must be {self.modes} positive numbers (one per mode), got "
                              f"{self.weights!r}")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every={self.log_every} does not divide generations={self.steps}")

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        return self.eval_samples

    def true_weights(self) -> np.ndarray:
        """``[K]`` float64, the true weights, normalised."""
        w = np.asarray(self.weights or (1.0,) * self.modes, np.float64)
        return w / w.sum()

    def true_means(self) -> np.ndarray:
        """``[K]`` float64: ``spacing (k - (K - 1) / 2)``."""
        return self.spacing * (np.arange(self.modes) - (self.modes - 1) / 2)

    def make_system(self) -> System:
        """The recursion as a :class:`~mcjax.core.system.System`
        (``mcjax.systems.recursive.engine.make_system``)."""
        from mcjax.systems.recursive.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "RecursiveHParams":
        return RecursiveHParams(alpha=0.0, samples=float(self.capacity))

    def describe(self) -> dict[str, Any]:
        """The reference distribution: the true mixture (``n_modes = K``)."""
        return {"name": "gaussian-mixture-1d", "n_modes": self.modes, "reference": "true weights",
                "spacing": self.spacing, "std": self.std,
                "weights": [float(w) for w in self.true_weights()]}

    def replace(self, **changes: Any) -> "RecursiveConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["weights"] = list(self.weights)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RecursiveConfig":
        d = dict(d)
        d["weights"] = tuple(d.get("weights", ()))
        return cls(**d)


class RecursiveHParams(NamedTuple):
    """Swept values, traced (float32 scalars; a leading axis stacks settings).

    Attributes:
      alpha: share of real data: ``round(alpha M)`` of a generation's ``M`` samples come from the
        true mixture, the rest from the current model (``0``: pure recursion, the collapse).
      samples: ``M``, samples drawn per generation (an integer in ``[2, capacity]``).
    """

    alpha: Any = 0.0
    samples: Any = 100.0


def make_recursive_hparams(config: RecursiveConfig, **values: Any) -> RecursiveHParams:
    """Validated scalar ``RecursiveHParams`` for ``config`` (``samples`` defaults to its
    ``capacity``).

    Raises:
      ConfigError: an unknown name, ``alpha`` outside ``[0, 1]``, or ``samples`` not an integer
        in ``[2, capacity]``.
    """
    for name in values:
        check_choice("recursive-training parameter", name, RecursiveHParams._fields)
    hp = config.default_hparams()._replace(**values)
    out = {}
    for name, v in zip(RecursiveHParams._fields, hp):
        try:
            out[name] = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
    if not (math.isfinite(out["alpha"]) and 0.0 <= out["alpha"] <= 1.0):
        raise ConfigError(f"alpha must be a number in [0, 1], got {out['alpha']!r}")
    m = out["samples"]
    if not (math.isfinite(m) and m == int(m) and 2 <= m <= config.capacity):
        raise ConfigError(f"samples must be an integer in [2, capacity={config.capacity}], got {m!r}")
    return RecursiveHParams(*(jnp.asarray(out[f], jnp.float32) for f in RecursiveHParams._fields))


def stack_recursive_hparams(settings: list[RecursiveHParams]) -> RecursiveHParams:
    """Stacks scalar ``RecursiveHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
