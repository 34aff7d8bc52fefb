"""The recursive-training run spec: what ``mcjax sweep --system recursive`` runs, as one frozen,
serialisable value (its fields are the command's options)."""
from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, ClassVar

from mcjax._validation import ConfigError
from mcjax.core.run import register_spec
from mcjax.systems.gan.spec import parse_sweep, value_labels
from mcjax.systems.recursive.remedies import DEFAULT_RECURSIVE_REMEDIES

__all__ = ["RecursiveSpec"]


@register_spec
@dataclasses.dataclass(frozen=True)
class RecursiveSpec:
    """A recursive-training sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system recursive``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``RecursiveHParams`` fields (``alpha``, ``samples``) swept
        inside each program (their product).
      fit, modes, spacing, std, weights, generations, log_every, em_iters: the base
        ``RecursiveConfig`` (``generations`` is its ``steps``) that each remedy changes.
      samples: ``M``, samples per generation (a remedy's or a sweep's values win); each
        program's ``capacity`` is the largest ``M`` it runs.
      seeds: seeds ``0..seeds-1`` per setting.
    """

    system: ClassVar[str] = "recursive"

    remedy: tuple = DEFAULT_RECURSIVE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    fit: str = "em"
    modes: int = 8
    spacing: float = 10.0
    std: float = 1.0
    weights: tuple = ()
    samples: int = 100
    generations: int = 100
    log_every: int = 5
    em_iters: int = 10

    def __post_init__(self):
        object.__setattr__(self, "remedy", tuple(self.remedy or DEFAULT_RECURSIVE_REMEDIES))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))
        weights = self.weights
        if isinstance(weights, str):  # the CLI's "4,3,2,1"
            try:
                weights = [float(v) for v in weights.split(",") if v.strip()]
            except ValueError:
                raise ConfigError(f"--weights {self.weights!r}: expected numbers W1,W2,...") from None
        object.__setattr__(self, "weights", tuple(float(w) for w in weights or ()))

    def name(self) -> str:
        return self.system

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["remedy"], d["sweep"], d["weights"] = list(self.remedy), list(self.sweep), list(self.weights)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RecursiveSpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        return cls(**d)

    def base_config(self):
        from mcjax.systems.recursive.config import RecursiveConfig

        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 2:
            raise ConfigError(f"samples must be an integer >= 2, got {self.samples!r}")
        return RecursiveConfig(modes=self.modes, spacing=self.spacing, std=self.std,
                               weights=self.weights, fit=self.fit, capacity=self.samples,
                               em_iters=self.em_iters, steps=self.generations,
                               log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps; each program draws as many points a generation as its largest ``M``.

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.sweep import Experiment
        from mcjax.systems.recursive.config import make_recursive_hparams, stack_recursive_hparams
        from mcjax.systems.recursive.remedies import (RECURSIVE_REMEDIES, apply_remedy, parse_spec,
                                                      resolve_key)

        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if len(set(self.remedy)) != len(self.remedy):
            raise ConfigError(f"--remedy lists a remedy twice: {list(self.remedy)}")
        base = self.base_config()
        sweeps = [parse_sweep(text) for text in self.sweep]
        exps = []
        for spec in self.remedy:
            cfg, hp = apply_remedy(spec, base)
            remedy = RECURSIVE_REMEDIES[parse_spec(spec)[0]]
            axes = []
            for key, values in sweeps:
                kind, field = resolve_key(remedy, key)
                if kind != "traced":
                    raise ConfigError(f"--sweep {key}: {field} is static (a shape or a branch: one "
                                      f"compilation per value); give one --remedy per value instead, "
                                      f"e.g. --remedy {remedy.name}:{key}={values[0]:g}")
                axes.append([(field, key, v, t) for v, t in zip(values, value_labels(values))])
            combos = [{f: v for f, _, v, _ in combo} for combo in itertools.product(*axes)]
            values = [{"samples": self.samples, **hp, **c} for c in combos]
            largest = max(v["samples"] for v in values)
            if math.isfinite(largest) and largest > cfg.capacity:
                cfg = cfg.replace(capacity=math.ceil(largest))
            settings = [make_recursive_hparams(cfg, **v) for v in values]
            labels = [",".join(f"{key}={t}" for _, key, _, t in combo)
                      for combo in itertools.product(*axes)]
            exps.append(Experiment(spec, cfg, stack_recursive_hparams(settings), tuple(labels)))
        return exps
