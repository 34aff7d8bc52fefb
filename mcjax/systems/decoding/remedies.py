"""The decoders by name: beam search collapses onto the most probable topic, the others keep
diversity (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``sample:temperature=0.7``, ``diverse-beam:lambda=2,groups=4``)
is parsed by :func:`parse_spec` and applied to a base ``DecodeConfig`` by :func:`apply_remedy`.
Keys are the decoder's own parameter names or any ``DecodeHParams`` field (traced: sweepable
inside one program) or ``DecodeConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.decoding.config import DecodeConfig, DecodeHParams

__all__ = ["Decoder", "DECODE_REMEDIES", "parse_spec", "resolve_key", "apply_remedy",
           "describe_remedies", "DEFAULT_DECODE_REMEDIES"]


class Decoder(NamedTuple):
    """A named decoder.

    Attributes:
      name: the name on the command line (``DecodeConfig.decoder``).
      hparams: ``DecodeHParams`` defaults it sets (traced).
      params: its own parameter names, ``((alias, field), ...)``.
      description: one line.
      reference: where it comes from.
    """

    name: str
    hparams: tuple
    params: tuple
    description: str
    reference: str


_LIST = [
    Decoder("greedy", (), (), "the most probable token at each position (beam search, B = 1), "
            "repeated B times", "-"),
    Decoder("beam", (), (("width", "width"),),
            "keeps the B most probable prefixes: the exact top-B when B covers every prefix; "
            "collapses onto the top topic when the chains are flat",
            "Lowerre 1976; Meister et al. 2020"),
    Decoder("sample", (), (("temperature", "temperature"),),
            "B independent draws of p^(1/temperature): E D0 = sum_k [1 - (1 - pi_k)^B] at T = 1",
            "Ackley et al. 1985"),
    Decoder("nucleus", (), (("top_p", "top_p"), ("temperature", "temperature")),
            "B independent draws from the top-p nucleus of each next-token distribution",
            "Holtzman et al. 2020"),
    Decoder("stochastic-beam", (), (("temperature", "temperature"), ("width", "width")),
            "Gumbel-top-k: B sequences without replacement; its first step draws B distinct "
            "topics with Plackett-Luce probabilities", "Kool et al. 2019"),
    Decoder("diverse-beam", (), (("lambda", "diversity"), ("groups", "groups")),
            "G groups of B / G beams, each penalised by lambda per earlier group's beam with the "
            "same token (Hamming); G = B leaves the top topic when lambda > log(pi_1 / pi_2)",
            "Vijayakumar et al. 2018"),
]

DECODE_REMEDIES: dict[str, Decoder] = {r.name: r for r in _LIST}
DEFAULT_DECODE_REMEDIES = tuple(DECODE_REMEDIES)
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(DecodeConfig)}
_ALIASES = {"lambda": "diversity"}  # accepted by every decoder (so --sweep lambda=... works)


def resolve_key(remedy: Decoder, key: str) -> tuple[str, str]:
    """``(kind, field)`` of a spec key: ``"traced"`` (a ``DecodeHParams`` field) or ``"static"``
    (a ``DecodeConfig`` field); an unknown key raises ``ConfigError`` listing the allowed ones."""
    aliases = {**_ALIASES, **dict(remedy.params)}
    field = aliases.get(key, key)
    if field in DecodeHParams._fields:
        return "traced", field
    if field in _CONFIG_FIELDS and field != "decoder":
        return "static", field
    allowed = list(aliases) + list(DecodeHParams._fields) + list(_CONFIG_FIELDS)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"remedy {remedy.name!r} has no parameter {key!r}{hint}; its parameters: "
                      f"{', '.join(dict(remedy.params)) or 'none of its own'}; also accepted: "
                      f"{', '.join(DecodeHParams._fields)} or a DecodeConfig field")


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
    """``"diverse-beam:lambda=2"`` -> ``("diverse-beam", {"lambda": "2"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, DECODE_REMEDIES)
    values: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
        if key in values:
            raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
        values[key] = value
    return name, values


def apply_remedy(spec: str, base: DecodeConfig) -> tuple[DecodeConfig, dict[str, float]]:
    """The decoder's ``DecodeConfig`` and ``DecodeHParams`` values for ``NAME[:key=value,...]``.

    Example:
      >>> cfg, hp = apply_remedy("diverse-beam:lambda=2", DecodeConfig())
      >>> cfg.decoder, hp
      ('diverse-beam', {'diversity': 2.0})
    """
    name, values = parse_spec(spec)
    r = DECODE_REMEDIES[name]
    changes, hparams = {"decoder": name}, dict(r.hparams)
    for key, text in values.items():
        kind, field = resolve_key(r, key)
        (hparams if kind == "traced" else changes)[field] = _convert(field, text)
    return base.replace(**changes), hparams


def describe_remedies() -> str:
    """Every decoder with its parameters, defaults and reference (``mcjax remedies --system
    decoding``)."""
    lines = []
    for r in DECODE_REMEDIES.values():
        params = []
        for alias, field in r.params:
            traced = field in DecodeHParams._fields
            default = getattr(DecodeHParams() if traced else DecodeConfig(), field)
            params.append(f"{alias}={default} ({'sweepable' if traced else 'static'})")
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    reference: {r.reference}")
    return "\n".join(lines)
