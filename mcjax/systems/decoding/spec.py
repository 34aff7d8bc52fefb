"""The decoding run spec: what ``mcjax sweep --system decoding`` runs, as one frozen, serialisable
value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

from mcjax._validation import ConfigError
from mcjax.core.run import register_spec
from mcjax.systems.decoding.remedies import DEFAULT_DECODE_REMEDIES
from mcjax.systems.gan.spec import parse_sweep, value_labels

__all__ = ["DecodeSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class DecodeSpec:
    """A decoding sweep: every decoder (remedy) x every ``--sweep`` setting x ``seeds`` seeds
    (one random topic model per seed).

    Attributes:
      remedy: decoder specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system decoding``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``DecodeHParams`` fields (``temperature``, ``top_p``,
        ``diversity`` or ``lambda``, ``concentration``, ``zipf``) swept inside each program.
      vocab, topics, length, width, groups, log_every: the base ``DecodeConfig`` (a run's steps
        are its ``length`` positions).
      concentration, zipf: base values of those ``DecodeHParams`` (a remedy's or a sweep's win).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "decoding"

    remedy: tuple = DEFAULT_DECODE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    vocab: int = 6
    topics: int = 4
    length: int = 4
    width: int = 4
    groups: int = 2
    log_every: int = 1
    concentration: float = 2.0
    zipf: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "remedy", tuple(self.remedy or DEFAULT_DECODE_REMEDIES))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))

    def name(self) -> str:
        return self.system

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"], d["sweep"] = list(self.remedy), list(self.sweep)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DecodeSpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        return cls(**d)

    def base_config(self):
        from mcjax.systems.decoding.config import DecodeConfig

        return DecodeConfig(vocab=self.vocab, topics=self.topics, length=self.length,
                            width=self.width, groups=self.groups,
                            log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per decoder, its settings the product of the
        sweeps.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.sweep import Experiment
        from mcjax.systems.decoding.config import make_decode_hparams, stack_decode_hparams
        from mcjax.systems.decoding.remedies import DECODE_REMEDIES, apply_remedy, parse_spec, resolve_key

        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if len(set(self.remedy)) != len(self.remedy):
            raise ConfigError(f"--remedy lists a remedy twice: {list(self.remedy)}")
        base = self.base_config()
        sweeps = [parse_sweep(text) for text in self.sweep]
        exps = []
        for spec in self.remedy:
            cfg, hp = apply_remedy(spec, base)
            remedy = DECODE_REMEDIES[parse_spec(spec)[0]]
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
                values = {"concentration": self.concentration, "zipf": self.zipf, **hp,
                          **{f: v for f, _, v, _ in combo}}
                settings.append(make_decode_hparams(cfg, **values))
                labels.append(",".join(f"{key}={t}" for _, key, _, t in combo))
            exps.append(Experiment(spec, cfg, stack_decode_hparams(settings), tuple(labels)))
        return exps
