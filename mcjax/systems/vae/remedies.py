"""The remedies for posterior collapse by name (compared in one table, as the GAN's are).

A spec ``NAME[:key=value,...]`` (``free-bits:free_bits=0.25``, ``cyclical:cycle=400,ratio=0.5``)
is parsed by :func:`parse_spec` and applied to a base ``VAEConfig`` by :func:`apply_remedy`.
Keys are the remedy's own parameter names or any ``VAEHParams`` field (traced: sweepable inside
one program) or ``VAEConfig`` field (static: one compilation per value). Every remedy but the
delta-VAE is a setting of the same traced objective (:mod:`mcjax.systems.vae.objective`).
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.vae.config import VAEConfig, VAEHParams

__all__ = ["VAERemedy", "VAE_REMEDIES", "DEFAULT_VAE_REMEDIES", "parse_spec", "resolve_key",
           "apply_remedy", "describe_remedies"]


class VAERemedy(NamedTuple):
    """A named remedy: ``config`` (static ``VAEConfig`` fields it sets), ``hparams``
    (``VAEHParams`` defaults it sets), ``params`` (its own parameter names, ``((alias, field),
    ...)``), a one-line description and the reference."""

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


_LIST = [
    VAERemedy("vae", (), (), (), "the plain ELBO (beta = 1): latent j collapses exactly when "
              "lambda_j <= sigma^2", "Kingma & Welling 2014; Lucas et al. 2019"),
    VAERemedy("beta", (), (("beta", 0.4),), (("beta", "beta"),),
              "KL weight beta < 1: the collapse threshold moves to beta sigma^2",
              "Higgins et al. 2017 (beta-VAE)"),
    VAERemedy("kl-annealing", (), (("warmup", 500.0),), (("warmup", "warmup"),),
              "KL weight rising linearly from 0 to beta over `warmup` steps",
              "Bowman et al. 2016"),
    VAERemedy("cyclical", (), (("cycle", 500.0), ("ratio", 0.5)),
              (("cycle", "cycle"), ("ratio", "ratio")),
              "KL weight rising from 0 to beta over the first `ratio` of every `cycle` steps",
              "Fu et al. 2019"),
    VAERemedy("free-bits", (), (("free_bits", 0.25),), (("free_bits", "free_bits"), ("fb", "free_bits")),
              "per-dimension KL_j replaced by max(KL_j, free_bits) in the objective: every "
              "KL_j >= free_bits at the optimum", "Kingma et al. 2016"),
    VAERemedy("delta-vae", (("delta_vae", True),), (("delta", 0.25),), (("delta", "delta"),),
              "posterior variances capped so that every KL_j >= delta; the threshold moves to "
              "c(delta) sigma^2", "Razavi et al. 2019"),
]

VAE_REMEDIES: dict[str, VAERemedy] = {r.name: r for r in _LIST}
DEFAULT_VAE_REMEDIES = tuple(VAE_REMEDIES)


def resolve_key(remedy: VAERemedy, key: str, hparams_cls=VAEHParams, config_cls=VAEConfig) -> tuple[str, str]:
    """``(kind, field)`` of a spec key: ``"traced"`` (a ``hparams_cls`` field) or ``"static"`` (a
    ``config_cls`` field); an unknown key raises ``ConfigError`` listing the allowed ones."""
    aliases = dict(remedy.params)
    field = aliases.get(key, key)
    config_fields = [f.name for f in dataclasses.fields(config_cls)]
    if field in hparams_cls._fields:
        return "traced", field
    if field in config_fields:
        return "static", field
    allowed = list(aliases) + list(hparams_cls._fields) + config_fields
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"remedy {remedy.name!r} has no parameter {key!r}{hint}; allowed: "
                      f"{', '.join(dict.fromkeys(allowed))}")


def _convert(field: str, text: str, config_cls=VAEConfig) -> Any:
    default = getattr(config_cls(), field, None)
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, tuple):
            return tuple(float(v) for v in text.split("+"))
        if isinstance(default, str):
            return text
        return float(text)
    except ValueError:
        raise ConfigError(f"{field} takes {type(default).__name__ if default is not None else 'float'}, "
                          f"got {text!r}") from None


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"cyclical:cycle=400,ratio=0.5"`` -> ``("cyclical", {"cycle": "400", "ratio": "0.5"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, VAE_REMEDIES)
    values: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
        if key in values:
            raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
        values[key] = value
    return name, values


def apply_remedy(spec: str, base, hparams_cls=VAEHParams) -> tuple[Any, dict[str, float]]:
    """The remedy's config (``base``, a ``VAEConfig`` or another VAE config, changed) and
    hyperparameter values (fields of ``hparams_cls``) for ``NAME[:key=value,...]``.

    Example:
      >>> cfg, hp = apply_remedy("delta-vae:delta=0.1", VAEConfig())
      >>> cfg.delta_vae, hp
      (True, {'delta': 0.1})
    """
    name, values = parse_spec(spec)
    r = VAE_REMEDIES[name]
    config_cls = type(base)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    missing = [f for f, _ in r.config if f not in fields]
    if missing:
        raise ConfigError(f"remedy {name!r} needs {', '.join(missing)}, which --system "
                          f"{config_cls.system} does not have")
    changes, hparams = dict(r.config), dict(r.hparams)
    for key, text in values.items():
        kind, field = resolve_key(r, key, hparams_cls, config_cls)
        (hparams if kind == "traced" else changes)[field] = _convert(field, text, config_cls)
    return base.replace(**changes), hparams


def describe_remedies() -> str:
    """Every remedy with its parameters, defaults and reference (``mcjax remedies --system vae``)."""
    lines = []
    for r in VAE_REMEDIES.values():
        cfg, hp = dict(r.config), dict(r.hparams)
        params = []
        for alias, field in r.params:
            default = hp.get(field, cfg.get(field, getattr(VAEConfig(), field, None)))
            kind = "sweepable" if field in VAEHParams._fields else "static"
            params.append(f"{alias}={default} ({kind})")
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    reference: {r.reference}")
    return "\n".join(lines)
