"""The static/traced split of a training run.

``Config`` holds everything that decides shapes and control flow: one ``Config`` is one
compilation. ``HParams`` holds the continuous values a sweep varies: arrays, traced, vmappable;
changing them never recompiles.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import (
    ConfigError,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = ["Config", "HParams", "make_hparams", "stack_hparams", "OPTIMIZERS", "PENALTIES"]

OPTIMIZERS = ("adam", "rmsprop", "sgd")
PENALTIES = ("none", "gp")


@dataclasses.dataclass(frozen=True)
class Config:
    """Static description of one training program (hashable; one compilation).

    Attributes:
      target: target name (``ring`` or ``grid``).
      target_params: extra constructor arguments of the target, as ``((name, value), ...)``.
      latent_dim: size of the generator's Gaussian latent ``z``.
      width: hidden units per layer, both players.
      depth: hidden layers, both players.
      activation: hidden activation, both players (a key of ``mcjax.nets.ACTIVATIONS``).
      batch_size: real and generated samples per step.
      steps: generator steps.
      n_critic: critic steps per generator step (alternating updates).
      loss: a key of ``mcjax.losses.LOSSES``.
      penalty: critic penalty: ``none`` or ``gp`` (WGAN-GP, weight ``HParams.gp_weight``).
      clip: clip critic weights to ``[-HParams.clip_value, HParams.clip_value]`` after each step.
      optimizer: ``adam`` (lr, beta1, beta2), ``rmsprop`` (lr, decay = beta2) or ``sgd``
        (lr, momentum = beta1), the same kind for both players.
      log_every: steps between two logged evaluations; must divide ``steps``.
      eval_samples: generated samples per evaluation (2500 in VEEGAN/PacGAN).
      keep_samples: generated samples per run kept in the results for figures.
    """

    target: str = "ring"
    target_params: tuple = ()
    latent_dim: int = 16
    width: int = 64
    depth: int = 2
    activation: str = "relu"
    batch_size: int = 128
    steps: int = 4000
    n_critic: int = 1
    loss: str = "non-saturating"
    penalty: str = "none"
    clip: bool = False
    optimizer: str = "adam"
    log_every: int = 200
    eval_samples: int = 2500
    keep_samples: int = 512

    def __post_init__(self) -> None:
        from mcjax.losses import LOSSES
        from mcjax.nets import ACTIVATIONS
        from mcjax.targets import TARGETS

        check_choice("target", self.target, TARGETS)
        for name in ("latent_dim", "width", "depth", "batch_size", "steps", "n_critic",
                     "log_every", "eval_samples", "keep_samples"):
            check_positive_int(name, getattr(self, name))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("penalty", self.penalty, PENALTIES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.steps % self.log_every:
            divisors = [d for d in range(1, self.steps + 1) if self.steps % d == 0]
            near = sorted(divisors, key=lambda d: abs(d - self.log_every))[:3]
            raise ConfigError(
                f"log_every={self.log_every} does not divide steps={self.steps}; "
                f"nearby divisors: {', '.join(map(str, sorted(near)))}"
            )
        if self.keep_samples > self.eval_samples:
            raise ConfigError(
                f"keep_samples={self.keep_samples} must be <= eval_samples={self.eval_samples}"
            )
        try:
            hash(self.target_params)
            params = dict(self.target_params)
        except (TypeError, ValueError) as e:
            raise ConfigError(
                f"target_params must be a tuple of (name, value) pairs, got {self.target_params!r}"
            ) from e
        try:
            self.make_target()
        except TypeError as e:
            raise ConfigError(f"bad target_params {params!r} for target {self.target!r}: {e}") from e

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    def make_target(self):
        from mcjax.targets import make_target

        return make_target(self.target, **dict(self.target_params))

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["target_params"] = [list(p) for p in self.target_params]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        d = dict(d)
        d["target_params"] = tuple(tuple(p) for p in d.get("target_params", ()))
        return cls(**d)


class HParams(NamedTuple):
    """Continuous, traced hyperparameters (each a float32 array; a leading axis stacks settings).

    Attributes:
      lr_g: generator learning rate.
      lr_d: critic learning rate.
      beta1: Adam's first-moment decay; SGD's momentum.
      beta2: Adam's second-moment decay; RMSProp's decay.
      gp_weight: weight of the WGAN-GP penalty (used when ``Config.penalty == "gp"``).
      clip_value: critic weight-clipping bound (used when ``Config.clip``).
    """

    lr_g: Any = 1e-3
    lr_d: Any = 1e-3
    beta1: Any = 0.5
    beta2: Any = 0.999
    gp_weight: Any = 10.0
    clip_value: Any = 0.01


_POSITIVE = ("lr_g", "lr_d")
_UNIT = ("beta1", "beta2")


def make_hparams(**values: Any) -> HParams:
    """Validated ``HParams`` of float32 scalars; unknown names and bad values raise ``ConfigError``."""
    for name in values:
        check_choice("hyperparameter", name, HParams._fields)
    hp = HParams()._replace(**values)
    for name, v in zip(HParams._fields, hp):
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim != 0:
            raise ConfigError(f"{name} must be a scalar, got shape {arr.shape}; use stack_hparams")
        if name in _POSITIVE:
            check_positive(name, float(arr))
        elif name in _UNIT:
            if not 0.0 <= float(arr) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {float(arr)!r}")
        else:
            check_nonnegative(name, float(arr))
    return HParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_hparams(settings: list[HParams]) -> HParams:
    """Stacks scalar ``HParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one hyperparameter setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
