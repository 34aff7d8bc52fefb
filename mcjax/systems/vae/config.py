"""The static/traced split of a linear VAE.

``VAEConfig`` fixes shapes and branches (the data covariance's eigenvalues, latent size, data
and batch sizes, the ELBO estimator, whether ``sigma^2`` is learned, the delta-VAE's
constrained posterior variance): one config is one compilation. ``VAEHParams`` holds everything
a sweep varies (learning rate, decoder noise ``sigma^2``, ``beta``, the annealing schedule, free
bits, delta): per-run float32 scalars, traced, so a ``--sweep`` over any of them runs inside one
program.
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

__all__ = ["VAEConfig", "VAEHParams", "make_vae_hparams", "stack_vae_hparams", "ESTIMATORS"]

ESTIMATORS = ("analytic", "sample")


@register_config
@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """Static description of a linear VAE on Gaussian data (hashable; one compilation).

    Attributes:
      eigenvalues: ``(lambda_1, ..., lambda_d)``, the data covariance's eigenvalues (the data are
        axis-aligned: ``Sigma = diag(lambda)``, mean 0; the model does not know the basis).
      latents: ``k``, latent dimensions.
      n_data: points in each run's data set, drawn from the run's key and then given exactly the
        mean 0 and covariance ``diag(lambda)`` (so the full-batch ELBO is the population one).
      batch: points per step (``0``: the whole data set, full batch).
      estimator: ``analytic`` (the expectation over ``q`` in closed form, exact for a linear
        decoder) or ``sample`` (one reparameterised ``z`` per point).
      learn_sigma: learn ``sigma^2`` (starting from ``VAEHParams.sigma2``) instead of fixing it.
      delta_vae: posterior variances ``s_j^2 = c(delta) exp(min(., 0))``, capped so that every
        ``KL_j >= VAEHParams.delta`` (Razavi et al. 2019); otherwise ``s_j^2 = exp(.)``.
      steps: Adam steps of one run.
      log_every: steps between logged measurements; divides ``steps``.
      eval_samples: decoded samples kept per run.
    """

    system: ClassVar[str] = "vae"
    TABLE: ClassVar[tuple] = (
        Column("active", "active units", 1, "of_modes"),
        Column("D1", "D1 (KL)", 2),
        Column("D2", "D2 (KL)", 2),
        Column("kl", "KL", 3),
        Column("mi", "I(x;z)", 3),
        Column("elbo", "ELBO", 3),
        Column("sigma2", "sigma^2", 3),
    )

    eigenvalues: tuple = (4.0, 2.0, 0.5, 0.25)
    latents: int = 4
    n_data: int = 256
    batch: int = 0
    estimator: str = "analytic"
    learn_sigma: bool = False
    delta_vae: bool = False
    steps: int = 2000
    log_every: int = 100
    eval_samples: int = 64

    def __post_init__(self) -> None:
        for name in ("latents", "n_data", "steps", "log_every", "eval_samples"):
            check_positive_int(name, getattr(self, name))
        lam = self.eigenvalues
        if not isinstance(lam, tuple) or not lam or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                for v in lam):
            raise ConfigError(f"eigenvalues must be positive finite numbers, got {lam!r}")
        if self.n_data <= len(lam):
            raise ConfigError(f"n_data must exceed d={len(lam)}, got {self.n_data} (the data "
                              "set's covariance is made exactly diag(eigenvalues))")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or not 0 <= self.batch <= self.n_data:
            raise ConfigError(f"batch must be an integer in [0, n_data={self.n_data}] (0: full "
                              f"batch), got {self.batch!r}")
        check_choice("estimator", self.estimator, ESTIMATORS)
        for name in ("learn_sigma", "delta_vae"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.steps % self.log_every:
            raise ConfigError(f"log_every={self.log_every} does not divide steps={self.steps}")

    @property
    def dim(self) -> int:
        return len(self.eigenvalues)

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def keep_samples(self) -> int:
        return self.eval_samples

    def make_system(self) -> System:
        """The VAE as a :class:`~mcjax.core.system.System` (``mcjax.systems.vae.engine``)."""
        from mcjax.systems.vae.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "VAEHParams":
        return VAEHParams()

    def describe(self) -> dict[str, Any]:
        """``n_modes = k``: the active units are counted out of the latents."""
        return {"name": "linear-gaussian", "n_modes": self.latents,
                "eigenvalues": list(self.eigenvalues), "reference": "latent prior N(0, I)"}

    def replace(self, **changes: Any) -> "VAEConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["eigenvalues"] = list(self.eigenvalues)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VAEConfig":
        d = dict(d)
        d["eigenvalues"] = tuple(d.get("eigenvalues", ()))
        return cls(**d)


class VAEHParams(NamedTuple):
    """Swept values, traced (float32 scalars; a leading axis stacks settings).

    Attributes:
      lr: Adam's learning rate at the start.
      lr_decay: the share of ``lr`` shed linearly over the run: ``lr_t = lr (1 - lr_decay
        min(t / steps, 1))`` (a constant step makes Adam hover ~``lr`` around the optimum).
      sigma2: the decoder's noise variance (its starting value with ``learn_sigma``).
      beta: weight of the KL term (beta-VAE; ``< 1`` a remedy).
      warmup: KL annealing: ``beta_t = beta min(1, t / warmup)`` (``0``: none).
      cycle: cyclical annealing (Fu et al. 2019): within each cycle of ``cycle`` steps the weight
        rises linearly over the first ``ratio`` share, then stays at ``beta`` (``0``: none).
      ratio: share of a cycle spent rising.
      free_bits: ``lambda_fb``: the objective's ``KL_j`` is ``max(KL_j, lambda_fb)`` (nats).
      delta: the delta-VAE's KL floor (nats; with ``VAEConfig.delta_vae``).
      init_scale: standard deviation of the initial encoder and decoder weights.
    """

    lr: Any = 0.03
    lr_decay: Any = 0.9
    sigma2: Any = 1.0
    beta: Any = 1.0
    warmup: Any = 0.0
    cycle: Any = 0.0
    ratio: Any = 0.5
    free_bits: Any = 0.0
    delta: Any = 0.0
    init_scale: Any = 0.1


# (low, high, low open, high open)
_RANGES = {"lr": (0.0, math.inf, True, True), "lr_decay": (0.0, 1.0, False, False),
           "sigma2": (0.0, math.inf, True, True),
           "beta": (0.0, math.inf, True, True), "warmup": (0.0, math.inf, False, True),
           "cycle": (0.0, math.inf, False, True), "ratio": (0.0, 1.0, True, False),
           "free_bits": (0.0, math.inf, False, True), "delta": (0.0, math.inf, False, True),
           "init_scale": (0.0, math.inf, False, True)}


def make_vae_hparams(config: VAEConfig, **values: Any) -> VAEHParams:
    """Validated scalar ``VAEHParams`` for ``config``.

    Raises:
      ConfigError: an unknown name or a value outside its range (``lr, sigma2, beta > 0``,
        ``0 < ratio <= 1``, ``0 <= lr_decay <= 1``, the rest ``>= 0``).
    """
    for name in values:
        check_choice("VAE parameter", name, VAEHParams._fields)
    hp = config.default_hparams()._replace(**values)
    for name, v in zip(VAEHParams._fields, hp):
        try:
            x = float(np.asarray(v, np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        lo, hi, open_lo, open_hi = _RANGES[name]
        if not math.isfinite(x) or (x <= lo if open_lo else x < lo) or (x >= hi if open_hi else x > hi):
            interval = f"{'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
            raise ConfigError(f"{name} must be a number in {interval}, got {x!r}")
    return VAEHParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def stack_vae_hparams(settings: list[VAEHParams]) -> VAEHParams:
    """Stacks scalar ``VAEHParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
