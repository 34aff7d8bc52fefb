"""Remedies by name: each a change of the training program (``Config``) and of its defaults (``HParams``).

``REMEDIES[name]`` gives a :class:`Remedy`; :func:`apply_remedy` turns a base ``Config`` into the
remedy's ``Config``. Continuous knobs stay in ``HParams`` so they can be swept without recompiling.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from mcjax._validation import check_choice
from mcjax.config import Config

__all__ = ["Remedy", "REMEDIES", "apply_remedy", "remedy_names"]


class Remedy(NamedTuple):
    """A named training recipe.

    Attributes:
      name: the name used on the command line.
      config: ``Config`` fields the remedy sets (static: shapes and branches).
      hparams: ``HParams`` defaults the remedy sets (traced: sweepable).
      description: one line.
      reference: the paper.
    """

    name: str
    config: tuple
    hparams: tuple
    description: str
    reference: str


_LIST = [
    Remedy("gan", (("loss", "non-saturating"),), (),
           "non-saturating GAN, nothing else (the baseline)", "Goodfellow et al. 2014, Sec. 3"),
    Remedy("minimax", (("loss", "minimax"),), (),
           "original saturating minimax GAN", "Goodfellow et al. 2014, Eq. 1"),
    Remedy("wgan", (("loss", "wasserstein"), ("clip", True), ("n_critic", 5)), (("clip_value", 0.01),),
           "Wasserstein GAN, critic weights clipped to [-clip_value, clip_value], 5 critic steps",
           "Arjovsky et al. 2017, Alg. 1"),
    Remedy("wgan-gp", (("loss", "wasserstein"), ("penalty", "gp"), ("n_critic", 5)), (("penalty_weight", 10.0),),
           "Wasserstein GAN with gradient penalty of weight penalty_weight, 5 critic steps",
           "Gulrajani et al. 2017, Alg. 1"),
    Remedy("hinge", (("loss", "hinge"),), (),
           "hinge loss", "Lim & Ye 2017; Miyato et al. 2018"),
    Remedy("lsgan", (("loss", "least-squares"),), (),
           "least-squares GAN (a=0, b=c=1)", "Mao et al. 2017, Eq. 2"),
]

REMEDIES: dict[str, Remedy] = {r.name: r for r in _LIST}


def remedy_names() -> list[str]:
    return list(REMEDIES)


def apply_remedy(name: str, base: Config) -> tuple[Config, dict[str, Any]]:
    """The remedy's ``Config`` (``base`` with the remedy's fields set) and its ``HParams`` defaults."""
    check_choice("remedy", name, REMEDIES)
    r = REMEDIES[name]
    return base.replace(**dict(r.config)), dict(r.hparams)
