"""The remedies for model collapse under recursive training by name (compared in one table, as
the GAN's are).

A spec ``NAME[:key=value,...]`` (``real-mix:alpha=0.1``, ``none:fit=weights,samples=1000``) is
parsed by :func:`parse_spec` and applied to a base ``RecursiveConfig`` by :func:`apply_remedy`.
Keys are the remedy's own parameter names or any ``RecursiveHParams`` field (traced: sweepable
inside one program, ``alpha`` and ``samples``) or ``RecursiveConfig`` field (static: one
compilation per value, ``fit`` among them). More samples per generation is a sweep axis
(``--sweep samples=100,1000``), not a remedy of its own.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.recursive.config import RecursiveConfig, RecursiveHParams
from mcjax.systems.vae.remedies import resolve_key as _resolve_key

__all__ = ["RecursiveRemedy", "RECURSIVE_REMEDIES", "DEFAULT_RECURSIVE_REMEDIES", "parse_spec",
           "resolve_key", "apply_remedy", "describe_remedies"]


class RecursiveRemedy(NamedTuple):
    """A named remedy: ``config`` (static ``RecursiveConfig`` fields it sets), ``hparams``
    (``RecursiveHParams`` defaults it sets), ``params`` (its own parameter names, ``((alias,
    field), ...)``), a one-line description and the reference."""

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


_LIST = [
    RecursiveRemedy("none", (), (), (),
                    "each generation fitted to M samples of the previous model alone: modes are "
                    "lost (weights drift as Wright-Fisher with N = M; a Gaussian's variance "
                    "shrinks as ((M - 1) / M)^g)", "Shumailov et al. 2024, Nature 631"),
    RecursiveRemedy("real-mix", (), (("alpha", 0.1),), (("alpha", "alpha"),),
                    "a share alpha of each generation's M samples drawn from the true data: "
                    "lost modes come back, the weights' homozygosity stays below a fixed point",
                    "Shumailov et al. 2024; Gerstgrasser et al. 2024 (accumulating real data)"),
]

RECURSIVE_REMEDIES: dict[str, RecursiveRemedy] = {r.name: r for r in _LIST}
DEFAULT_RECURSIVE_REMEDIES = tuple(RECURSIVE_REMEDIES)


def resolve_key(remedy: RecursiveRemedy, key: str) -> tuple[str, str]:
    """``(kind, field)`` of a spec key: ``"traced"`` (a ``RecursiveHParams`` field) or
    ``"static"`` (a ``RecursiveConfig`` field); ``ConfigError`` listing the allowed ones."""
    return _resolve_key(remedy, key, RecursiveHParams, RecursiveConfig)


def _convert(field: str, text: str) -> Any:
    default = getattr(RecursiveConfig(), field, None)
    try:
        if isinstance(default, int):
            return int(text)
        if isinstance(default, tuple):  # weights=4+3+2+1
            return tuple(float(v) for v in text.split("+"))
        if isinstance(default, str):
            return text
        return float(text)
    except ValueError:
        kind = type(default).__name__ if default is not None else "float"
        raise ConfigError(f"{field} takes {kind}, got {text!r}") from None


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"real-mix:alpha=0.2"`` -> ``("real-mix", {"alpha": "0.2"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, RECURSIVE_REMEDIES)
    values: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
        if key in values:
            raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
        values[key] = value
    return name, values


def apply_remedy(spec: str, base: RecursiveConfig) -> tuple[RecursiveConfig, dict[str, float]]:
    """The remedy's ``RecursiveConfig`` and ``RecursiveHParams`` values for
    ``NAME[:key=value,...]`` (the spec's values over the remedy's defaults).

    Example:
      >>> cfg, hp = apply_remedy("real-mix:alpha=0.2,fit=weights", RecursiveConfig())
      >>> cfg.fit, hp
      ('weights', {'alpha': 0.2})
    """
    name, values = parse_spec(spec)
    r = RECURSIVE_REMEDIES[name]
    changes, hparams = dict(r.config), dict(r.hparams)
    for key, text in values.items():
        kind, field = resolve_key(r, key)
        (hparams if kind == "traced" else changes)[field] = _convert(field, text)
    return base.replace(**changes), hparams


def describe_remedies() -> str:
    """Every remedy with its parameters, defaults and reference (``mcjax remedies --system
    recursive``)."""
    lines = []
    for r in RECURSIVE_REMEDIES.values():
        params = [f"{alias}={dict(r.hparams).get(field)} (sweepable)" for alias, field in r.params]
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    reference: {r.reference}")
    lines.append("also accepted by every remedy: samples (M, sweepable), fit=em|weights|gaussian "
                 "and the other RecursiveConfig fields (static)")
    return "\n".join(lines)
