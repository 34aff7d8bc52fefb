"""The Wright-Fisher part of the command line: ``mcjax sweep --system wright-fisher`` options and
their run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.registry import SystemEntry, register_system
from mcjax.systems.wright_fisher.remedies import DEFAULT_WF_REMEDIES, describe_remedies

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("population", "alleles", "demes", "log_every", "generations")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The Wright-Fisher options of ``mcjax sweep`` (``WFSpec``'s fields)."""
    from mcjax.systems.wright_fisher.spec import WFSpec

    d = WFSpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"force to run, e.g. mutation:mu=0.01 or migration:m=0.05,demes=8; repeat "
                   f"for several (default: {' '.join(DEFAULT_WF_REMEDIES)}); `mcjax remedies "
                   "--system wright-fisher` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary s, mu, m, t, c or p0 inside one compiled program per remedy, e.g. "
                   "s=0,0.01,0.1; repeat for a grid")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per remedy (default {d.seeds}): seeds 0..N-1")
    s.add_argument("--population", type=int, default=d.population,
                   help=f"N, haploid individuals in all, split equally over the demes "
                   f"(default {d.population})")
    s.add_argument("--alleles", type=int, default=d.alleles,
                   help=f"K, allele types, all equally frequent at the start (default {d.alleles})")
    s.add_argument("--demes", type=int, default=d.demes,
                   help=f"islands of N / demes individuals (default {d.demes}; the migration "
                   "remedy sets 4)")
    s.add_argument("--generations", type=int, default=d.generations,
                   help=f"generations per run (default {d.generations})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"generations between logged measurements; must divide --generations "
                   f"(default {d.log_every})")
    s.add_argument("--sampling", default=d.sampling, choices=("multinomial", "deterministic"),
                   help="multinomial (drift) or deterministic (expected counts: no drift) "
                   f"(default {d.sampling})")
    s.add_argument("--fitness", default="", metavar="F0,F1,...",
                   help="a haploid fitness per allele multiplying every other fitness (default: all 1)")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.wright_fisher.spec.WFSpec` of ``mcjax sweep``'s parsed options."""
    from mcjax.systems.wright_fisher.spec import WFSpec

    return spec_from_options(WFSpec, args)


register_system(SystemEntry(
    name="wright-fisher",
    description="a Wright-Fisher population of N haploid individuals with K alleles: drift and "
    "selection fix one allele; Hill numbers D0-D2 of the allele counts",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: list(DEFAULT_WF_REMEDIES),
    references=("Wright 1931", "Kimura 1962", "Ewens 2004, Mathematical Population Genetics I",
                "Hill 1973"),
    flag_names=FLAG_NAMES,
))
