"""The remedies for model collapse under recursive training by name (compared in one table, as
the GAN's are).

A spec ``NAME[:key=value,...]`` (``real-mix:alpha=0.1``, ``none:fit=weights,samples=1000``) is
parsed and applied by :data:`RECURSIVE_REMEDIES` (a :class:`~mcjax.core.remedies.RemedyTable`).
Keys are the remedy's own parameter names or any ``RecursiveHParams`` field (traced: sweepable
inside one program, ``alpha`` and ``samples``) or ``RecursiveConfig`` field (static: one
compilation per value, ``fit`` among them). More samples per generation is a sweep axis
(``--sweep samples=100,1000``), not a remedy of its own.
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.recursive.config import RecursiveConfig, RecursiveHParams

__all__ = ["RECURSIVE_REMEDIES", "DEFAULT_RECURSIVE_REMEDIES", "describe_remedies"]

_LIST = [
    Remedy("none", (), (), (),
           "each generation fitted to M samples of the previous model alone: modes are lost "
           "(weights drift as Wright-Fisher with N = M; a Gaussian's variance shrinks as "
           "((M - 1) / M)^g)", "Shumailov et al. 2024, Nature 631"),
    Remedy("real-mix", (), (("alpha", 0.1),), (("alpha", "alpha"),),
           "a share alpha of each generation's M samples drawn from the true data: lost modes "
           "come back, the weights' homozygosity stays below a fixed point",
           "Shumailov et al. 2024; Gerstgrasser et al. 2024 (accumulating real data)"),
]

RECURSIVE_REMEDIES = RemedyTable("recursive", _LIST, RecursiveConfig, RecursiveHParams)
DEFAULT_RECURSIVE_REMEDIES = RECURSIVE_REMEDIES.names


def describe_remedies() -> str:
    """Every remedy with its parameters, defaults and reference (``mcjax remedies --system
    recursive``)."""
    return (RECURSIVE_REMEDIES.describe() + "\nalso accepted by every remedy: samples (M, "
            "sweepable), fit=em|weights|gaussian and the other RecursiveConfig fields (static)")
