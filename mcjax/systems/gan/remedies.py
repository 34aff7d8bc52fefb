"""Remedies by name: each a change of the training program (``Config``) and of its defaults (``HParams``).

``REMEDIES[name]`` is a :class:`Remedy`. A remedy spec ``NAME[:key=value,...]`` (as typed on the
command line, e.g. ``pacgan:pack=3`` or ``entropy:weight=0.1``) is parsed by :func:`parse_spec` and
applied to a base ``Config`` by :func:`apply_remedy`. Keys are the remedy's own parameter names
(``pack``, ``weight``, ...) or any ``Config`` / ``HParams`` field. Static keys (``Config``) change
shapes or branches: one compilation each. Traced keys (``HParams``) can be swept inside one program.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, NamedTuple

from mcjax._validation import ConfigError, check_choice
from mcjax.systems.gan.config import Config, HParams

__all__ = ["Remedy", "REMEDIES", "apply_remedy", "parse_spec", "resolve_key",
           "describe_remedies"]


class Remedy(NamedTuple):
    """A named training recipe.

    Attributes:
      name: the name used on the command line.
      config: ``Config`` fields the remedy sets (static: shapes and branches).
      hparams: ``HParams`` defaults the remedy sets (traced: sweepable).
      params: the remedy's own parameter names, ``((alias, field), ...)``.
      description: one line.
      reference: the paper.
    """

    name: str
    config: tuple
    hparams: tuple
    params: tuple
    description: str
    reference: str


def _r(name, config=(), hparams=(), params=(), description="", reference=""):
    return Remedy(name, tuple(config), tuple(hparams), tuple(params), description, reference)


_LIST = [
    _r("gan", [("loss", "non-saturating")], description="non-saturating GAN, nothing else (the baseline)",
       reference="Goodfellow et al. 2014, Sec. 3"),
    _r("minimax", [("loss", "minimax")], description="original saturating minimax GAN",
       reference="Goodfellow et al. 2014, Eq. 1"),
    _r("wgan", [("loss", "wasserstein"), ("clip", True), ("n_critic", 5)], [("clip_value", 0.01)],
       [("clip", "clip_value")], "Wasserstein GAN, critic weights clipped to [-clip, clip], 5 critic steps",
       "Arjovsky et al. 2017, Alg. 1"),
    _r("wgan-gp", [("loss", "wasserstein"), ("penalty", "gp"), ("n_critic", 5)], [("penalty_weight", 10.0)],
       [("weight", "penalty_weight")], "Wasserstein GAN with gradient penalty, 5 critic steps",
       "Gulrajani et al. 2017, Alg. 1"),
    _r("hinge", [("loss", "hinge")], description="hinge loss", reference="Lim & Ye 2017; Miyato et al. 2018"),
    _r("lsgan", [("loss", "least-squares")], description="least-squares GAN (a=0, b=c=1)",
       reference="Mao et al. 2017, Eq. 2"),
    _r("r1", [("penalty", "r1")], [("penalty_weight", 1.0)], [("weight", "penalty_weight")],
       "non-saturating GAN + R1 penalty weight/2 E_real ||grad D||^2", "Mescheder et al. 2018, Eq. 9"),
    _r("r2", [("penalty", "r2")], [("penalty_weight", 1.0)], [("weight", "penalty_weight")],
       "non-saturating GAN + R2 penalty weight/2 E_fake ||grad D||^2", "Mescheder et al. 2018, Eq. 10"),
    _r("dragan", [("terms", ("dragan",))], [("penalty_weight", 10.0)], [("weight", "penalty_weight")],
       "non-saturating GAN + weight * E (||grad D||-1)^2 at perturbed real points",
       "Kodali et al. 2017 (DRAGAN), Sec. 5"),
    _r("instance-noise", [("instance_noise", True)], [("noise_std", 0.1)], [("std", "noise_std")],
       "Gaussian noise on the critic's inputs, std annealed linearly to 0", "Sonderby et al. 2017"),
    _r("spectral-norm", [("spectral_norm", True)], description="critic kernels divided by their spectral norm",
       reference="Miyato et al. 2018"),
    _r("pacgan", [("pack", 2)], params=[("pack", "pack")],
       description="the critic sees `pack` samples concatenated", reference="Lin et al. 2018"),
    _r("mbd", [("mbd_kernels", 16), ("mbd_dim", 5)], params=[("kernels", "mbd_kernels"), ("dim", "mbd_dim")],
       description="minibatch discrimination features before the critic's output layer",
       reference="Salimans et al. 2016, Sec. 3.2"),
    _r("mbstd", [("mbstd", True)], description="minibatch standard-deviation feature in the critic",
       reference="Karras et al. 2018, Sec. 3"),
    _r("feature-matching", [("feature_matching", True)],
       description="generator matches the mean of the critic's last hidden features",
       reference="Salimans et al. 2016, Sec. 3.1"),
    _r("entropy", [("terms", ("entropy",))], [("entropy_weight", 0.1)], [("weight", "entropy_weight"), ("k", "entropy_k")],
       "generator loss - weight * k-NN (Kozachenko-Leonenko) entropy of its batch",
       "Kozachenko & Leonenko 1987; cf. Dieng et al. 2019"),
    _r("msgan", [("terms", ("mode-seeking",))], [("ms_weight", 1.0)], [("weight", "ms_weight")],
       "generator loss + weight * mode-seeking term", "Mao et al. 2019 (MSGAN), Eq. 3"),
    _r("unrolled", [("unroll", 5)], params=[("steps", "unroll")],
       description="generator differentiates through `steps` critic updates (optimizer state included)",
       reference="Metz et al. 2017"),
    _r("consensus", [("update", "consensus")], [("consensus_gamma", 1.0)],
       [("gamma", "consensus_gamma")], "simultaneous step on xi + gamma J^T xi",
       "Mescheder et al. 2017, Alg. 2"),
    _r("sga", [("update", "sga")], [("sga_lambda", 1.0)], [("lambda", "sga_lambda")],
       "simultaneous step on xi + lambda A^T xi, lambda's sign aligned", "Balduzzi et al. 2018, Alg. 1"),
    _r("extragradient", [("update", "extragradient")], description="look-ahead step, then update with its gradient",
       reference="Korpelevich 1976; Gidel et al. 2019"),
    _r("optimistic", [("update", "optimistic")], description="simultaneous step on 2 xi_t - xi_{t-1}",
       reference="Daskalakis et al. 2018"),
    _r("simultaneous", [("update", "simultaneous")], description="plain simultaneous gradient steps",
       reference="Mescheder et al. 2017"),
    _r("ttur", hparams=[("lr_g", 2.5e-4), ("lr_d", 1e-3)],
       description="two time-scales: critic learning rate 4x the generator's", reference="Heusel et al. 2017"),
    _r("ema", [("ema", True)], [("ema_decay", 0.999)], [("decay", "ema_decay")],
       "exponential moving average of generator weights, evaluated beside the raw generator (ema_*)",
       reference="Yazici et al. 2019"),
]

REMEDIES: dict[str, Remedy] = {r.name: r for r in _LIST}
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def resolve_key(remedy: Remedy, key: str) -> tuple[str, str]:
    """``(kind, field)`` for a spec key: ``kind`` is ``"static"`` (a ``Config`` field) or ``"traced"``
    (an ``HParams`` field). Unknown keys raise ``ConfigError`` listing the allowed ones."""
    aliases = dict(remedy.params)
    field = aliases.get(key, key)
    if field in HParams._fields:
        return "traced", field
    if field in _CONFIG_FIELDS and field not in ("target", "target_params"):
        return "static", field
    allowed = list(aliases) + list(HParams._fields) + [f for f in _CONFIG_FIELDS if f not in ("target", "target_params")]
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    own = ", ".join(aliases) or "none of its own"
    raise ConfigError(
        f"remedy {remedy.name!r} has no parameter {key!r}{hint}; its parameters: {own}; also "
        f"accepted: any HParams field ({', '.join(HParams._fields)}) or Config field"
    )


def _convert(field: str, text: str) -> Any:
    if field in HParams._fields:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{field} takes a number, got {text!r}") from None
    ftype = _CONFIG_FIELDS[field].type
    if ftype in ("int", int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{field} takes an integer, got {text!r}") from None
    if ftype in ("bool", bool):
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{field} takes true/false, got {text!r}")
    if ftype in ("tuple", tuple):  # names joined by '+', e.g. terms=dragan+mode-seeking
        return tuple(text.split("+"))
    return text


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"pacgan:pack=3,weight=1"`` -> ``("pacgan", {"pack": "3", "weight": "1"})``."""
    name, _, rest = spec.partition(":")
    check_choice("remedy", name, REMEDIES)
    values: dict[str, str] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key or not value:
                raise ConfigError(f"bad remedy parameter {item!r} in {spec!r}; expected key=value")
            if key in values:
                raise ConfigError(f"parameter {key!r} given twice in {spec!r}")
            values[key] = value
    return name, values


def apply_remedy(spec: str, base: Config, overrides: dict[str, float] | None = None
                 ) -> tuple[Config, dict[str, float]]:
    """The remedy's ``Config`` and its ``HParams`` values for a spec ``NAME[:key=value,...]``.

    Hyperparameters are taken from, in increasing priority: the remedy's defaults, ``overrides``
    (e.g. global command-line flags), the spec's own values.

    Example:
      >>> cfg, hp = apply_remedy("pacgan:pack=3", Config())
      >>> cfg.pack
      3
    """
    name, values = parse_spec(spec)
    r = REMEDIES[name]
    config_changes = dict(r.config)
    hparams = {**dict(r.hparams), **(overrides or {})}
    for key, text in values.items():
        kind, field = resolve_key(r, key)
        value = _convert(field, text)
        (hparams if kind == "traced" else config_changes)[field] = value
    return base.replace(**config_changes), hparams


def describe_remedies() -> str:
    """Every remedy with its parameters, defaults and reference (``mcjax remedies``)."""
    lines = []
    for r in REMEDIES.values():
        cfg, hp = dict(r.config), dict(r.hparams)
        params = []
        for alias, field in r.params:
            default = hp.get(field, cfg.get(field, getattr(Config(), field, None)))
            kind = "sweepable" if field in HParams._fields else "static"
            params.append(f"{alias}={default} ({field}, {kind})")
        sets = ", ".join(f"{k}={v}" for k, v in r.config)
        lines.append(f"{r.name}\n    {r.description}\n    parameters: {', '.join(params) or '-'}"
                     f"\n    sets: {sets or '-'}\n    reference: {r.reference}")
    return "\n".join(lines)
