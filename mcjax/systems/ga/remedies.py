"""The niching methods of a genetic algorithm by name: selection collapses the population onto few
peaks, these keep it on many (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``sharing:sigma=0.05``, ``islands:islands=8,every=20``) is parsed
by :func:`parse_spec` and applied to a base ``GAConfig`` by :func:`apply_remedy`. Keys are the
remedy's own parameter names or any ``GAHParams`` field (traced: sweepable inside one program) or
``GAConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.ga.config import GAConfig, GAHParams

__all__ = ["GARemedy", "GA_REMEDIES", "parse_spec", "resolve_key", "apply_remedy",
           "describe_remedies", "DEFAULT_GA_REMEDIES"]


class GARemedy(NamedTuple):
    """A named niching method (fields as :class:`~mcjax.systems.wright_fisher.remedies.WFRemedy`)."""

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


_LIST = [
    GARemedy("none", (("niching", "none"),), (), (),
             "selection, crossover and mutation alone: nothing keeps diversity (the baseline); "
             "roulette on equal peaks is neutral Wright-Fisher drift",
             "Holland 1975; Goldberg 1989, Ch. 3"),
    GARemedy("sharing", (("niching", "sharing"),), (("sigma_share", 0.1), ("alpha", 1.0)),
             (("sigma", "sigma_share"), ("alpha", "alpha")),
             "selection on f_i / m_i, m_i = sum_j (1 - (d_ij / sigma)^alpha)_+: n_k ∝ f_k at "
             "equilibrium", "Goldberg & Richardson 1987"),
    GARemedy("crowding", (("niching", "crowding"),), (("crossover", 1.0),), (("pc", "crossover"),),
             "deterministic crowding: random pairs, children replace the closer parent if fitter "
             "(no selection operator)", "Mahfoud 1995, Ch. 4"),
    GARemedy("clearing", (("niching", "clearing"),), (("clear_radius", 0.1), ("capacity", 1.0)),
             (("radius", "clear_radius"), ("capacity", "capacity")),
             "the capacity fittest within radius of each dominant keep their fitness, the rest "
             "get 0", "Petrowski 1996"),
    GARemedy("islands", (("islands", 4),), (("migration_every", 10.0),),
             (("islands", "islands"), ("every", "migration_every"), ("migrants", "migrants")),
             "islands on a ring; every `every` generations each island's best replace the next "
             "one's worst", "Cantu-Paz 2000; Whitley, Rana & Heckendorn 1999"),
]

GA_REMEDIES: dict[str, GARemedy] = {r.name: r for r in _LIST}
DEFAULT_GA_REMEDIES = tuple(GA_REMEDIES)
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(GAConfig)}


def resolve_key(remedy: GARemedy, key: str) -> tuple[str, str]:
    """``(kind, field)`` of a spec key: ``"traced"`` (a ``GAHParams`` field) or ``"static"`` (a
    ``GAConfig`` field); an unknown key raises ``ConfigError`` listing the allowed ones."""
    aliases = dict(remedy.params)
    field = aliases.get(key, key)
    if field in GAHParams._fields:
        return "traced", field
    if field in _CONFIG_FIELDS:
        return "static", field
    allowed = list(aliases) + list(GAHParams._fields) + list(_CONFIG_FIELDS)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"remedy {remedy.name!r} has no parameter {key!r}{hint}; its parameters: "
                      f"{', '.join(aliases) or 'none of its own'}; also accepted: "
                      f"{', '.join(GAHParams._fields)} or a GAConfig field")


def _convert(field: str, text: str) -> Any:
    kind = _CONFIG_FIELDS[field].type if field in _CONFIG_FIELDS else "float"
    try:
        if kind in ("int", int):
            return int(text)
        if kind in ("str", str):
            return text
        return float(text)
    except ValueError:
        raise ConfigError(f"{field} takes {kind}, got {text!r}") from None


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"sharing:sigma=0.05"`` -> ``("sharing", {"sigma": "0.05"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, GA_REMEDIES)
    values: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
        if key in values:
            raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
        values[key] = value
    return name, values


def apply_remedy(spec: str, base: GAConfig) -> tuple[GAConfig, dict[str, float]]:
    """The remedy's ``GAConfig`` and ``GAHParams`` values for ``NAME[:key=value,...]``.

    Example:
      >>> cfg, hp = apply_remedy("islands:every=5", GAConfig())
      >>> cfg.islands, hp
      (4, {'migration_every': 5.0})
    """
    name, values = parse_spec(spec)
    r = GA_REMEDIES[name]
    changes, hparams = dict(r.config), dict(r.hparams)
    for key, text in values.items():
        kind, field = resolve_key(r, key)
        (hparams if kind == "traced" else changes)[field] = _convert(field, text)
    return base.replace(**changes), hparams


def describe_remedies() -> str:
    """Every niching method with its parameters, defaults and reference (``mcjax remedies
    --system ga``)."""
    lines = []
    for r in GA_REMEDIES.values():
        cfg, hp = dict(r.config), dict(r.hparams)
        params = []
        for alias, field in r.params:
            default = hp.get(field, cfg.get(field, getattr(GAConfig(), field, None)))
            kind = "sweepable" if field in GAHParams._fields else "static"
            params.append(f"{alias}={default} ({kind})")
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    reference: {r.reference}")
    return "\n".join(lines)
