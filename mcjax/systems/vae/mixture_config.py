"""The static/traced split of the nonlinear VAE on a 2-D Gaussian mixture (``vae-mixture``).

``MixVAEConfig`` fixes the target, the networks and the decoder kind: ``gaussian`` (one
Gaussian per ``z``: the latent must say which mode) or ``mixture`` (``M`` Gaussians per ``z``:
a decoder strong enough to model every mode without ``z``, so the ELBO's optimum ignores it).
``MixVAEHParams`` holds the swept values (learning rate, ``beta`` and the traced remedies of
:mod:`mcjax.systems.vae.objective`: annealing, cyclical annealing, free bits).
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

__all__ = ["MixVAEConfig", "MixVAEHParams", "make_mix_hparams", "stack_mix_hparams", "DECODERS",
           "MIX_TARGETS"]

DECODERS = ("gaussian", "mixture")
MIX_TARGETS = ("ring", "grid")


@register_config
@dataclasses.dataclass(frozen=True)
class MixVAEConfig:
    """Static description of a VAE on a 2-D mixture target (hashable; one compilation).

    Attributes:
      target: ``ring`` (8 modes) or ``grid`` (25), :mod:`mcjax.targets` with ``target_std``.
      target_std: standard deviation of each mode (high quality: within 3 of them).
      decoder: ``gaussian`` or ``mixture`` (see the module docstring).
      components: ``M``, the mixture decoder's Gaussians.
      latents: ``k``.
      width, depth: hidden units and layers of the encoder's and decoder's MLPs (tanh).
      batch: fresh target samples per step.
      steps, log_every: Adam steps of a run, steps between measurements (divides ``steps``).
      eval_samples: decoded prior samples measured against the target's modes.
    """

    system: ClassVar[str] = "vae-mixture"
    TABLE: ClassVar[tuple] = (
        Column("active", "active units", 1, "value"),
        Column("kl", "KL", 3),
        Column("mi", "I(x;z)", 3),
        Column("modes", "modes", 1, "of_modes"),
        Column("D1", "D1 (modes)", 2),
        Column("D2", "D2 (modes)", 2),
        Column("reverse_kl", "reverse KL", 3),
        Column("hq", "HQ", 2),
        Column("elbo", "ELBO", 3),
    )

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

    def __post_init__(self) -> None:
        check_choice("target", self.target, MIX_TARGETS)
        check_positive("target_std", self.target_std)
        check_choice("decoder", self.decoder, DECODERS)
        for name in ("components", "latents", "width", "depth", "batch", "steps", "log_every",
                     "eval_samples"):
            check_positive_int(name, getattr(self, name))
        if self.steps % self.log_every:
            raise ConfigError(f"log_every={self.log_every} does not divide steps={self.steps}")

    def make_target(self):
        from mcjax.targets.mixtures import grid, ring

        return (ring if self.target == "ring" else grid)(std=self.target_std)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        return min(self.eval_samples, 512)

    def make_system(self) -> System:
        from mcjax.systems.vae.mixture_engine import make_system

        return make_system(self)

    def default_hparams(self) -> "MixVAEHParams":
        return MixVAEHParams()

    def describe(self) -> dict[str, Any]:
        return self.make_target().describe()

    def replace(self, **changes: Any) -> "MixVAEConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MixVAEConfig":
        return cls(**d)


class MixVAEHParams(NamedTuple):
    """Swept values, traced: ``lr``, ``lr_decay``, ``beta``, ``warmup``, ``cycle``, ``ratio`` and
    ``free_bits`` as in :class:`~mcjax.systems.vae.config.VAEHParams`."""

    lr: Any = 0.01
    lr_decay: Any = 0.0
    beta: Any = 1.0
    warmup: Any = 0.0
    cycle: Any = 0.0
    ratio: Any = 0.5
    free_bits: Any = 0.0


_RANGES = {"lr": (0.0, True), "lr_decay": (0.0, False), "beta": (0.0, True), "warmup": (0.0, False),
           "cycle": (0.0, False), "ratio": (0.0, True), "free_bits": (0.0, False)}


def make_mix_hparams(config: MixVAEConfig, **values: Any) -> MixVAEHParams:
    """Validated scalar ``MixVAEHParams`` (``lr, beta, ratio > 0``, the rest ``>= 0``,
    ``lr_decay, ratio <= 1``); ``ConfigError`` naming a bad one."""
    for name in values:
        check_choice("VAE parameter", name, MixVAEHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(MixVAEHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, open_lo = _RANGES[name]
        hi = 1.0 if name in ("lr_decay", "ratio") else math.inf
        if not math.isfinite(x) or (x <= lo if open_lo else x < lo) or x > hi:
            raise ConfigError(f"{name} must be a number in {'(' if open_lo else '['}{lo:g}, {hi:g}"
                              f"{']' if hi == 1.0 else ')'}, got {x!r}")
    return MixVAEHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_mix_hparams(settings: list[MixVAEHParams]) -> MixVAEHParams:
    """Stacks scalar ``MixVAEHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
