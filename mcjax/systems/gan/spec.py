"""The GAN's run spec: what ``mcjax sweep`` trains, as one frozen, serialisable value.

Its fields are the command's options (``mcjax sweep --help``; a ``--config`` TOML file uses the
same names), so ``sweep.json`` and ``configs/*.toml`` say exactly what ran.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

from mcjax._validation import ConfigError
from mcjax.core.remedies import parse_sweep, value_labels
from mcjax.core.run import register_spec

__all__ = ["RunSpec", "DEFAULT_REMEDIES", "parse_sweep"]

DEFAULT_REMEDIES = ("gan", "wgan-gp")


@register_spec
@dataclasses.dataclass(frozen=True)
class RunSpec:
    """A GAN sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds on one target.

    Attributes:
      target: ``ring``, ``grid``, ``high_dim``, ``stacked-mnist`` or ``stacked-digits``.
      arch: the players' networks, ``mlp`` or ``dcgan`` (image targets; ``Config.arch``).
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies``), one compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of continuous parameters swept inside each program (their
        product).
      optimizer, steps, batch_size, width, depth, latent_dim, log_every, eval_samples: the base
        ``Config`` (``mcjax.systems.gan.config.Config``) every remedy changes.
      lr_g, lr_d: learning rates for every remedy (``None``: the remedy's default, 1e-3).
      keep_samples: final samples kept per run for figures (``None``: ``min(512, eval_samples)``,
        64 images on an image target).
      log_dynamics, dynamics_probes, lanczos_order: log rotation index, Hessian extremes and
        ``||xi||`` inside the scan (``Config.log_dynamics``).
      metrics: feature metrics measured on the final generators, ``frechet`` and/or ``prdc``
        (``Config.feature_metrics``), shown as table columns.
      log_collapse, collapse_samples: log mode flux, critic field and generator stretch
        (``Config.log_collapse``), the first two on ``collapse_samples`` points.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "gan"

    target: str = "ring"
    arch: str = "mlp"
    remedy: tuple = DEFAULT_REMEDIES
    sweep: tuple = ()
    optimizer: str = "adam"
    seeds: int = 16
    steps: int = 4000
    batch_size: int = 128
    width: int = 64
    depth: int = 2
    latent_dim: int = 16
    lr_g: float | None = None
    lr_d: float | None = None
    log_every: int = 200
    eval_samples: int = 2500
    keep_samples: int | None = None
    log_dynamics: bool = False
    log_collapse: bool = False
    dynamics_probes: int = 4
    lanczos_order: int = 10
    collapse_samples: int = 2048
    metrics: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "remedy", tuple(self.remedy or DEFAULT_REMEDIES))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))
        metrics = self.metrics
        if isinstance(metrics, str):  # the CLI's "frechet,prdc"
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        object.__setattr__(self, "metrics", tuple(metrics or ()))

    def name(self) -> str:
        return self.target

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"], d["sweep"], d["metrics"] = list(self.remedy), list(self.sweep), list(self.metrics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        d = dict(d)
        # saved before collapse_samples existed: the collapse log used every evaluation sample
        d.setdefault("collapse_samples", d.get("eval_samples", cls.eval_samples))
        return cls(**d)

    def base_config(self):
        from mcjax.systems.gan.config import Config

        return Config(
            target=self.target, arch=self.arch, optimizer=self.optimizer, steps=self.steps,
            batch_size=self.batch_size, width=self.width, depth=self.depth,
            latent_dim=self.latent_dim, log_every=self.log_every, eval_samples=self.eval_samples,
            log_dynamics=self.log_dynamics, log_collapse=self.log_collapse,
            dynamics_probes=self.dynamics_probes,
            lanczos_order=self.lanczos_order, collapse_samples=self.collapse_samples,
            feature_metrics=self.metrics,
            keep_samples=(self.keep_samples if self.keep_samples is not None else
                          min(self._default_keep(), self.eval_samples) if self.eval_samples > 0 else 1),
        )

    def _default_keep(self) -> int:
        """512 kept points per run; 64 images (a 28x28x3 image is 1,176 points' worth)."""
        from mcjax.systems.gan.config import Config
        from mcjax.targets.registry import is_image_target

        return 64 if is_image_target(self.target) else Config().keep_samples

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.systems.gan.config import make_hparams, stack_hparams
        from mcjax.systems.gan.remedies import REMEDIES, apply_remedy, parse_spec, resolve_key
        from mcjax.core.sweep import Experiment

        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        base = self.base_config()
        if len(set(self.remedy)) != len(self.remedy):
            raise ConfigError(f"--remedy lists a remedy twice: {list(self.remedy)}")
        overrides = {}
        for flag, name in (("--lr-g", "lr_g"), ("--lr-d", "lr_d")):
            v = getattr(self, name)
            if v is not None:
                if not v > 0:
                    raise ConfigError(f"{flag} must be a positive number, got {v!r}")
                overrides[name] = v
        sweeps = [parse_sweep(text) for text in self.sweep]
        exps = []
        for spec in self.remedy:
            cfg, hp = apply_remedy(spec, base, overrides)
            remedy = REMEDIES[parse_spec(spec)[0]]
            axes = []
            for key, values in sweeps:
                kind, field = resolve_key(remedy, key)
                if kind != "traced":
                    raise ConfigError(
                        f"--sweep {key}: {field} is static (it changes shapes or branches, so each "
                        f"value is its own compilation); give one --remedy per value instead, e.g. "
                        f"--remedy {remedy.name}:{key}={values[0]:g}")
                axes.append([(field, key, v, t) for v, t in zip(values, value_labels(values))])
            settings, labels = [], []
            for combo in itertools.product(*axes):
                settings.append(make_hparams(**{**hp, **{field: v for field, _, v, _ in combo}}))
                labels.append(",".join(f"{key}={t}" for _, key, _, t in combo))
            exps.append(Experiment(spec, cfg, stack_hparams(settings), tuple(labels)))
        return exps
