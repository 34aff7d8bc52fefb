"""The mixture-VAE run spec: what ``mcjax sweep --system vae-mixture`` runs (its fields are the
command's options)."""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

from mcjax._validation import ConfigError
from mcjax.core.run import register_spec
from mcjax.systems.gan.spec import parse_sweep, value_labels

__all__ = ["MixVAESpec", "DEFAULT_MIX_REMEDIES"]

DEFAULT_MIX_REMEDIES = ("vae", "beta", "kl-annealing", "cyclical", "free-bits")


@register_spec
@dataclasses.dataclass(frozen=True)
class MixVAESpec:
    """A mixture-VAE sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (those of ``mcjax remedies --system vae``
        but the delta-VAE), one compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``MixVAEHParams`` fields (``lr``, ``lr_decay``, ``beta``,
        ``warmup``, ``cycle``, ``ratio``, ``free_bits``).
      target, target_std, decoder, components, latents, width, depth, batch, steps, log_every,
        eval_samples: the base ``MixVAEConfig``.
      lr: base learning rate (a remedy's or a sweep's value wins).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "vae-mixture"

    remedy: tuple = DEFAULT_MIX_REMEDIES
    sweep: tuple = ()
    seeds: int = 8
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
    lr: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "remedy", tuple(self.remedy or DEFAULT_MIX_REMEDIES))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))

    def name(self) -> str:
        return f"{self.system}-{self.target}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"], d["sweep"] = list(self.remedy), list(self.sweep)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MixVAESpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        return cls(**d)

    def base_config(self):
        from mcjax.systems.vae.mixture_config import MixVAEConfig

        names = [f.name for f in dataclasses.fields(MixVAEConfig)]
        return MixVAEConfig(**{n: getattr(self, n) for n in names})

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy; ``ConfigError`` on bad values."""
        from mcjax.core.sweep import Experiment
        from mcjax.systems.vae.mixture_config import MixVAEConfig, MixVAEHParams, make_mix_hparams, stack_mix_hparams
        from mcjax.systems.vae.remedies import VAE_REMEDIES, apply_remedy, parse_spec, resolve_key

        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if len(set(self.remedy)) != len(self.remedy):
            raise ConfigError(f"--remedy lists a remedy twice: {list(self.remedy)}")
        base = self.base_config()
        sweeps = [parse_sweep(text) for text in self.sweep]
        exps = []
        for spec in self.remedy:
            cfg, hp = apply_remedy(spec, base, MixVAEHParams)
            remedy = VAE_REMEDIES[parse_spec(spec)[0]]
            axes = []
            for key, values in sweeps:
                kind, field = resolve_key(remedy, key, MixVAEHParams, MixVAEConfig)
                if kind != "traced":
                    raise ConfigError(f"--sweep {key}: {field} is static (a shape or a branch: one "
                                      f"compilation per value); give one --remedy per value instead")
                axes.append([(field, key, v, t) for v, t in zip(values, value_labels(values))])
            settings, labels = [], []
            for combo in itertools.product(*axes):
                settings.append(make_mix_hparams(cfg, **{"lr": self.lr, **hp, **{f: v for f, _, v, _ in combo}}))
                labels.append(",".join(f"{key}={t}" for _, key, _, t in combo))
            exps.append(Experiment(spec, cfg, stack_mix_hparams(settings), tuple(labels)))
        return exps
