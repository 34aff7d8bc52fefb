"""Named remedies of any system, and the sweep's experiments built from them.

A system lists its remedies as :class:`Remedy` values in a :class:`RemedyTable` over its static
config class and its traced hyperparameter class. A spec ``NAME[:key=value,...]``
(``mutation:mu=0.01``, ``sharing:sigma=0.05``) is parsed by :meth:`RemedyTable.parse`, applied to
a base config by :meth:`RemedyTable.apply`; keys are the remedy's own parameter names or any
hyperparameter field (traced: sweepable inside one program) or config field (static: one
compilation per value). :func:`remedy_experiments` turns a spec's ``--remedy`` and ``--sweep``
options into one :class:`~mcjax.core.sweep.Experiment` per remedy, as every non-GAN spec does;
:func:`spec_from_options` builds such a spec from ``mcjax sweep``'s parsed options.
"""
from __future__ import annotations

import dataclasses
import difflib
import itertools
from typing import Any, Callable, NamedTuple

import numpy as np

from mcjax._validation import ConfigError, check_choice

__all__ = ["Remedy", "RemedyTable", "remedy_experiments", "parse_sweep", "value_labels",
           "spec_from_options"]


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``"weight=0.01,0.1,1"`` -> ``("weight", [0.01, 0.1, 1.0])``."""
    key, eq, rest = text.partition("=")
    if not eq or not key or not rest:
        raise ConfigError(f"--sweep {text!r}: expected KEY=V1,V2,...")
    try:
        values = [float(v) for v in rest.split(",")]
    except ValueError:
        raise ConfigError(f"--sweep {text!r}: values must be numbers") from None
    if len(set(values)) != len(values):
        raise ConfigError(f"--sweep {text!r}: values must be distinct")
    as32 = np.asarray(values, np.float64).astype(np.float32)
    if len(set(as32.tolist())) != len(values):
        raise ConfigError(f"--sweep {text!r}: values must be distinct in float32, the precision "
                          "training runs in")
    return key, values


def value_labels(values: list[float]) -> list[str]:
    """Shortest ``%g`` labels (6 significant digits or more) that tell ``values`` apart."""
    for digits in range(6, 18):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(float(v)) for v in values]


class Remedy(NamedTuple):
    """A named remedy (or force, decoder, niching method).

    Attributes:
      name: the name on the command line.
      config: config fields it sets, ``((field, value), ...)`` (static).
      hparams: hyperparameter defaults it sets, ``((field, value), ...)`` (traced).
      params: its own parameter names, ``((alias, field), ...)``.
      description: one line.
      reference: where it and its closed form come from.
    """

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


class RemedyTable:
    """The remedies of one system.

    Args:
      system: its ``--system`` name (for messages).
      remedies: the :class:`Remedy` values, in listing order.
      config_cls, hparams_cls: its static config dataclass and traced hyperparameter NamedTuple.
      aliases: ``{alias: field}`` every remedy accepts (``lambda`` for ``diversity``).
      fixed: config fields a key may not set (the one the remedy's name chooses).
    """

    def __init__(self, system: str, remedies: list, config_cls: type, hparams_cls: type,
                 aliases: dict | None = None, fixed: tuple = ()):
        self.system = system
        self.remedies = {r.name: r for r in remedies}
        self.config_cls = config_cls
        self.hparams_cls = hparams_cls
        self.aliases = dict(aliases or {})
        self._config_fields = {f.name for f in dataclasses.fields(config_cls)} - set(fixed)

    @property
    def names(self) -> tuple:
        return tuple(self.remedies)

    def __getitem__(self, name: str) -> Remedy:
        check_choice("remedy", name, self.remedies)
        return self.remedies[name]

    def resolve_key(self, remedy: Remedy, key: str) -> tuple[str, str]:
        """``(kind, field)`` of a spec key: ``"traced"`` (a hyperparameter) or ``"static"`` (a
        config field); an unknown key raises ``ConfigError`` listing the allowed ones."""
        aliases = {**self.aliases, **dict(remedy.params)}
        field = aliases.get(key, key)
        if field in self.hparams_cls._fields:
            return "traced", field
        if field in self._config_fields:
            return "static", field
        allowed = list(aliases) + list(self.hparams_cls._fields) + sorted(self._config_fields)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"remedy {remedy.name!r} has no parameter {key!r}{hint}; its parameters: "
                          f"{', '.join(dict(remedy.params)) or 'none of its own'}; also accepted: "
                          f"{', '.join(self.hparams_cls._fields)} or a config field")

    def convert(self, field: str, text: str) -> Any:
        """``text`` as the type of ``field``'s default (a float for hyperparameters)."""
        default = getattr(self.config_cls(), field, None) if field in self._config_fields else 0.0
        try:
            if isinstance(default, bool):
                low = text.lower()
                if low not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError
                return low in ("1", "true", "yes", "on")
            if isinstance(default, int):
                return int(text)
            if isinstance(default, tuple):  # fitness=1+1.1+1
                return tuple(float(v) for v in text.split("+"))
            if isinstance(default, str):
                return text
            return float(text)
        except ValueError:
            raise ConfigError(f"{field} takes {type(default).__name__}, got {text!r}") from None

    def parse(self, spec: str) -> tuple[str, dict[str, str]]:
        """``"migration:m=0.05,demes=8"`` -> ``("migration", {"m": "0.05", "demes": "8"})``."""
        name, _, rest = spec.partition(":")
        check_choice("remedy", name, self.remedies)
        values: dict[str, str] = {}
        for item in rest.split(",") if rest else ():
            key, eq, value = item.partition("=")
            if not eq or not key or not value:
                raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
            if key in values:
                raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
            values[key] = value
        return name, values

    def apply(self, spec: str, base) -> tuple[Any, dict[str, Any]]:
        """The remedy's config (``base`` changed) and hyperparameter values for ``spec`` (the
        spec's values over the remedy's defaults)."""
        name, values = self.parse(spec)
        r = self.remedies[name]
        fields = {f.name for f in dataclasses.fields(type(base))}
        missing = [f for f, _ in r.config if f not in fields]
        if missing:
            raise ConfigError(f"remedy {name!r} needs {', '.join(missing)}, which --system "
                              f"{self.system} does not have")
        changes, hparams = dict(r.config), dict(r.hparams)
        for key, text in values.items():
            kind, field = self.resolve_key(r, key)
            (hparams if kind == "traced" else changes)[field] = self.convert(field, text)
        return base.replace(**changes), hparams

    def describe(self) -> str:
        """Every remedy with its parameters, defaults and reference (``mcjax remedies --system``)."""
        lines, base = [], self.config_cls()
        for r in self.remedies.values():
            cfg, hp = dict(r.config), dict(r.hparams)
            params = []
            for alias, field in r.params:
                default = hp.get(field, cfg.get(field, getattr(
                    self.hparams_cls() if field in self.hparams_cls._fields else base, field, None)))
                kind = "sweepable" if field in self.hparams_cls._fields else "static"
                params.append(f"{alias}={default} ({kind})")
            lines.append(f"{r.name}\n    {r.description}\n    parameters: "
                         f"{', '.join(params) or '-'}\n    reference: {r.reference}")
        return "\n".join(lines)


def remedy_experiments(table: RemedyTable, base, remedies: tuple, sweeps: tuple, seeds,
                       make_hparams: Callable, stack_hparams: Callable,
                       base_hparams: dict | None = None) -> list:
    """One :class:`~mcjax.core.sweep.Experiment` per remedy spec, its settings the product of the
    ``KEY=V1,V2,...`` sweeps (each a traced field), on config ``base``.

    ``make_hparams(config, **values)`` validates one setting; ``stack_hparams(list)`` stacks them;
    ``base_hparams`` are values that a remedy's and a sweep's override (the spec's own ``--lr``).

    Raises:
      ConfigError: a bad value, naming it and the allowed ones.
    """
    from mcjax.core.sweep import Experiment
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds <= 0:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds!r}")
    if len(set(remedies)) != len(remedies):
        raise ConfigError(f"--remedy lists a remedy twice: {list(remedies)}")
    parsed = [parse_sweep(text) for text in sweeps]
    exps = []
    for spec in remedies:
        cfg, hp = table.apply(spec, base)
        remedy = table.remedies[table.parse(spec)[0]]
        axes = []
        for key, values in parsed:
            kind, field = table.resolve_key(remedy, key)
            if kind != "traced":
                raise ConfigError(f"--sweep {key}: {field} is static (a shape or a branch: one "
                                  f"compilation per value); give one --remedy per value instead, "
                                  f"e.g. --remedy {remedy.name}:{key}={values[0]:g}")
            axes.append([(field, key, v, t) for v, t in zip(values, value_labels(values))])
        settings, labels = [], []
        for combo in itertools.product(*axes):
            values = {**(base_hparams or {}), **hp, **{f: v for f, _, v, _ in combo}}
            settings.append(make_hparams(cfg, **values))
            labels.append(",".join(f"{key}={t}" for _, key, _, t in combo))
        exps.append(Experiment(spec, cfg, stack_hparams(settings), tuple(labels)))
    return exps


def spec_from_options(spec_cls: type, args) -> Any:
    """The run spec ``spec_cls`` (a dataclass) of ``mcjax sweep``'s parsed options ``args``: each
    field is the option of its name; ``--remedy`` and ``--sweep`` (``None`` when not given) become
    tuples."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(spec_cls)}
    values["remedy"] = tuple(values["remedy"] or ())
    values["sweep"] = tuple(values["sweep"] or ())
    return spec_cls(**values)
