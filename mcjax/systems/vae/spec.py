"""The VAE run spec: what ``mcjax sweep --system vae`` runs, as one frozen, serialisable value
(its fields are the command's options)."""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

from mcjax._validation import ConfigError
from mcjax.core.run import register_spec
from mcjax.systems.gan.spec import parse_sweep, value_labels
from mcjax.systems.vae.remedies import DEFAULT_VAE_REMEDIES

__all__ = ["VAESpec"]


def _numbers(text: Any, what: str) -> tuple:
    if isinstance(text, str):  # the CLI's "4,2,0.5,0.25"
        try:
            text = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--{what} {text!r}: expected numbers L1,L2,...") from None
    return tuple(float(v) for v in text or ())


@register_spec
@dataclasses.dataclass(frozen=True)
class VAESpec:
    """A linear-VAE sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system vae``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``VAEHParams`` fields (``lr``, ``lr_decay``, ``sigma2``, ``beta``,
        ``warmup``, ``cycle``, ``ratio``, ``free_bits``, ``delta``, ``init_scale``) swept inside
        each program (their product).
      eigenvalues, latents, n_data, batch, estimator, learn_sigma, steps, log_every: the base
        ``VAEConfig`` that each remedy changes.
      sigma2, lr: base values of those ``VAEHParams`` (a remedy's or a sweep's values win).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "vae"

    remedy: tuple = DEFAULT_VAE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    eigenvalues: tuple = (4.0, 2.0, 0.5, 0.25)
    latents: int = 4
    n_data: int = 256
    batch: int = 0
    estimator: str = "analytic"
    learn_sigma: bool = False
    steps: int = 2000
    log_every: int = 100
    sigma2: float = 1.0
    lr: float = 0.03

    def __post_init__(self):
        object.__setattr__(self, "remedy", tuple(self.remedy or DEFAULT_VAE_REMEDIES))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))
        object.__setattr__(self, "eigenvalues", _numbers(self.eigenvalues, "eigenvalues"))

    def name(self) -> str:
        return self.system

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"], d["sweep"], d["eigenvalues"] = list(self.remedy), list(self.sweep), list(self.eigenvalues)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VAESpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        return cls(**d)

    def base_config(self):
        from mcjax.systems.vae.config import VAEConfig

        return VAEConfig(eigenvalues=self.eigenvalues, latents=self.latents, n_data=self.n_data,
                         batch=self.batch, estimator=self.estimator, learn_sigma=self.learn_sigma,
                         steps=self.steps, log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.sweep import Experiment
        from mcjax.systems.vae.config import make_vae_hparams, stack_vae_hparams
        from mcjax.systems.vae.remedies import VAE_REMEDIES, apply_remedy, parse_spec, resolve_key

        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if len(set(self.remedy)) != len(self.remedy):
            raise ConfigError(f"--remedy lists a remedy twice: {list(self.remedy)}")
        base = self.base_config()
        sweeps = [parse_sweep(text) for text in self.sweep]
        exps = []
        for spec in self.remedy:
            cfg, hp = apply_remedy(spec, base)
            remedy = VAE_REMEDIES[parse_spec(spec)[0]]
            axes = []
            for key, values in sweeps:
                kind, field = resolve_key(remedy, key)
                if kind != "traced":
                    raise ConfigError(f"--sweep {key}: {field} is static (a shape or a branch: one "
                                      f"compilation per value); give one --remedy per value instead, "
                                      f"e.g. --remedy {remedy.name}:{key}={values[0]:g}")
                axes.append([(field, key, v, t) for v, t in zip(values, value_labels(values))])
            settings, labels = [], []
            for combo in itertools.product(*axes):
                values = {"sigma2": self.sigma2, "lr": self.lr, **hp, **{f: v for f, _, v, _ in combo}}
                settings.append(make_vae_hparams(cfg, **values))
                labels.append(",".join(f"{key}={t}" for _, key, _, t in combo))
            exps.append(Experiment(spec, cfg, stack_vae_hparams(settings), tuple(labels)))
        return exps
