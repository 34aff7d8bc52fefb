"""The recursive-training part of the command line: ``mcjax sweep --system recursive`` options
and their run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.recursive import config as _config  # noqa: F401  (registers the config and
from mcjax.systems.recursive import spec as _spec  # noqa: F401  the spec: folders load by name)
from mcjax.systems.recursive.config import FITS
from mcjax.systems.recursive.remedies import (
    DEFAULT_RECURSIVE_REMEDIES,
    describe_remedies,
)
from mcjax.systems.registry import SystemEntry, register_system

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("fit", "modes", "spacing", "std", "weights", "samples", "generations", "log_every",
              "em_iters")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The recursive-training options of ``mcjax sweep`` (``RecursiveSpec``'s fields)."""
    from mcjax.systems.recursive.spec import RecursiveSpec

    d = RecursiveSpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"remedy to run, e.g. real-mix:alpha=0.1 or none:fit=weights; repeat for "
                   f"several (default: {' '.join(DEFAULT_RECURSIVE_REMEDIES)}); `mcjax remedies "
                   "--system recursive` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary alpha (share of real data) or samples (M) inside one compiled "
                   "program per remedy, e.g. samples=100,1000; repeat for a grid")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per remedy (default {d.seeds}): seeds 0..N-1")
    s.add_argument("--fit", default=d.fit, choices=FITS,
                   help="em (a K-component mixture by EM), weights (the mixture weights alone: "
                   f"Wright-Fisher with N = M) or gaussian (one Gaussian) (default {d.fit})")
    s.add_argument("--modes", type=int, default=d.modes,
                   help=f"K, the true mixture's modes (default {d.modes})")
    s.add_argument("--spacing", type=float, default=d.spacing,
                   help=f"distance between neighbouring true means (default {d.spacing:g})")
    s.add_argument("--std", type=float, default=d.std,
                   help=f"each true mode's standard deviation (default {d.std:g})")
    s.add_argument("--weights", default="", metavar="W1,W2,...",
                   help="the true weights, one per mode (default: equal)")
    s.add_argument("--samples", type=int, default=d.samples,
                   help=f"M, samples drawn per generation (default {d.samples})")
    s.add_argument("--generations", type=int, default=d.generations,
                   help=f"generations per run (default {d.generations})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"generations between logged measurements; must divide --generations "
                   f"(default {d.log_every})")
    s.add_argument("--em-iters", type=int, default=d.em_iters,
                   help=f"EM iterations per generation with --fit em (default {d.em_iters})")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.recursive.spec.RecursiveSpec` of ``mcjax sweep``'s parsed
    options."""
    from mcjax.systems.recursive.spec import RecursiveSpec

    return spec_from_options(RecursiveSpec, args)


register_system(SystemEntry(
    name="recursive",
    description="a 1-D Gaussian mixture refitted each generation to M samples of the previous "
    "generation's model (EM, weights alone, or one Gaussian): modes are lost, variance shrinks; "
    "Hill numbers D0-D2 of the model's mass per true mode, reverse KL, modes lost",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: list(DEFAULT_RECURSIVE_REMEDIES),
    references=("Shumailov et al. 2024, Nature 631", "Dempster, Laird & Rubin 1977",
                "Ewens 2004, Mathematical Population Genetics I", "Hill 1973"),
    flag_names=FLAG_NAMES,
))
