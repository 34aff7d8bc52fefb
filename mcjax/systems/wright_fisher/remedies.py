"""The forces of a Wright-Fisher population by name: drift and selection collapse it, the others
keep its diversity (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``mutation:mu=0.01``, ``migration:m=0.05,demes=8``) is parsed by
:func:`parse_spec` and applied to a base ``WFConfig`` by :func:`apply_remedy`. Keys are the
remedy's own parameter names or any ``WFHParams`` field (traced: sweepable inside one program)
or ``WFConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.wright_fisher.config import WFConfig, WFHParams

__all__ = ["WFRemedy", "WF_REMEDIES", "parse_spec", "resolve_key", "apply_remedy",
           "describe_remedies", "DEFAULT_WF_REMEDIES"]


class WFRemedy(NamedTuple):
    """A named force.

    Attributes:
      name: the name on the command line.
      config: ``WFConfig`` fields it sets (static).
      hparams: ``WFHParams`` defaults it sets (traced).
      params: its own parameter names, ``((alias, field), ...)``.
      description: one line.
      reference: where the force and its closed form come from.
    """

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


_LIST = [
    WFRemedy("drift", (), (), (), "neutral drift alone: nothing keeps diversity (the baseline); "
             "E H_t = H_0 (1 - 1/N)^t", "Wright 1931; Fisher 1930; Ewens 2004, Sec. 1.4"),
    WFRemedy("selection", (), (("s", 0.05),), (("s", "s"),),
             "allele 0 has fitness 1 + s: a selective sweep, the collapsing force",
             "Haldane 1924; Kimura 1962 (fixation probability)"),
    WFRemedy("mutation", (), (("mu", 0.01),), (("mu", "mu"),),
             "each individual mutates with probability mu to one of the other K - 1 alleles",
             "Kimura & Crow 1964; Ewens 2004, Sec. 3.5"),
    WFRemedy("migration", (("demes", 4),), (("m", 0.002),), (("m", "m"), ("demes", "demes")),
             "N split over `demes` islands exchanging a share m of migrants a generation",
             "Wright 1931 (island model); Whitlock & Barton 1997"),
    WFRemedy("overdominance", (("overdominance", True),), (("s", 0.2), ("t", 0.2)),
             (("s", "s"), ("t", "t")),
             "heterozygote advantage: diploid genotypes, homozygote fitness 1 - s (allele 0) and "
             "1 - t (others); p* = t / (s + t) for K = 2",
             "Fisher 1922; Hartl & Clark 2007, Ch. 3"),
    WFRemedy("frequency-dependence", (), (("c", 2.0),), (("c", "c"),),
             "negative frequency dependence: allele i's fitness times exp(-c p_i) (rare-allele "
             "advantage); p* = 1/2 + log(1 + s) / (2 c) for K = 2",
             "Clarke & O'Donald 1964; Ayala & Campbell 1974"),
]

WF_REMEDIES: dict[str, WFRemedy] = {r.name: r for r in _LIST}
DEFAULT_WF_REMEDIES = tuple(WF_REMEDIES)
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(WFConfig)}


def resolve_key(remedy: WFRemedy, key: str) -> tuple[str, str]:
    """``(kind, field)`` of a spec key: ``"traced"`` (a ``WFHParams`` field) or ``"static"`` (a
    ``WFConfig`` field); an unknown key raises ``ConfigError`` listing the allowed ones."""
    aliases = dict(remedy.params)
    field = aliases.get(key, key)
    if field in WFHParams._fields:
        return "traced", field
    if field in _CONFIG_FIELDS:
        return "static", field
    allowed = list(aliases) + list(WFHParams._fields) + list(_CONFIG_FIELDS)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"remedy {remedy.name!r} has no parameter {key!r}{hint}; its parameters: "
                      f"{', '.join(aliases) or 'none of its own'}; also accepted: "
                      f"{', '.join(WFHParams._fields)} or a WFConfig field")


def _convert(field: str, text: str) -> Any:
    kind = _CONFIG_FIELDS[field].type if field in _CONFIG_FIELDS else "float"
    try:
        if kind in ("int", int):
            return int(text)
        if kind in ("bool", bool):
            low = text.lower()
            if low not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError
            return low in ("1", "true", "yes", "on")
        if kind in ("tuple", tuple):  # fitness=1+1.1+1
            return tuple(float(v) for v in text.split("+"))
        if kind in ("str", str):
            return text
        return float(text)
    except ValueError:
        raise ConfigError(f"{field} takes {kind}, got {text!r}") from None


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"migration:m=0.05,demes=8"`` -> ``("migration", {"m": "0.05", "demes": "8"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, WF_REMEDIES)
    values: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
        if key in values:
            raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
        values[key] = value
    return name, values


def apply_remedy(spec: str, base: WFConfig) -> tuple[WFConfig, dict[str, float]]:
    """The remedy's ``WFConfig`` and ``WFHParams`` values for ``NAME[:key=value,...]`` (the spec's
    values over the remedy's defaults).

    Example:
      >>> cfg, hp = apply_remedy("migration:m=0.05", WFConfig())
      >>> cfg.demes, hp
      (4, {'m': 0.05})
    """
    name, values = parse_spec(spec)
    r = WF_REMEDIES[name]
    changes, hparams = dict(r.config), dict(r.hparams)
    for key, text in values.items():
        kind, field = resolve_key(r, key)
        (hparams if kind == "traced" else changes)[field] = _convert(field, text)
    return base.replace(**changes), hparams


def describe_remedies() -> str:
    """Every force with its parameters, defaults and reference (``mcjax remedies --system
    wright-fisher``)."""
    lines = []
    for r in WF_REMEDIES.values():
        cfg, hp = dict(r.config), dict(r.hparams)
        params = []
        for alias, field in r.params:
            default = hp.get(field, cfg.get(field, getattr(WFConfig(), field, None)))
            kind = "sweepable" if field in WFHParams._fields else "static"
            params.append(f"{alias}={default} ({kind})")
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    reference: {r.reference}")
    return "\n".join(lines)
