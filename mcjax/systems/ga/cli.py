"""The genetic-algorithm part of the command line: ``mcjax sweep --system ga`` options and their
run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.ga.config import INITS, SELECTIONS
from mcjax.systems.ga.landscapes import LANDSCAPES
from mcjax.systems.ga.remedies import DEFAULT_GA_REMEDIES, describe_remedies
from mcjax.systems.registry import SystemEntry, register_system

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("population", "islands", "log_every", "generations", "tournament_size", "accuracy",
              "landscape", "selection", "init")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The GA options of ``mcjax sweep`` (``GASpec``'s fields)."""
    from mcjax.systems.ga.spec import GASpec

    d = GASpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"niching method to run, e.g. sharing:sigma=0.05 or clearing:capacity=2; "
                   f"repeat for several (default: {' '.join(DEFAULT_GA_REMEDIES)}); `mcjax remedies "
                   "--system ga` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary a GAHParams field (mutation_rate, mutation_scale, crossover, "
                   "sigma_share, alpha, clear_radius, capacity, migration_every, p0) inside one "
                   "compiled program per remedy, e.g. mutation_rate=0,0.1; repeat for a grid")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per remedy (default {d.seeds}): seeds 0..N-1")
    s.add_argument("--population", type=int, default=d.population,
                   help=f"N, individuals in all, split equally over the islands (default {d.population})")
    s.add_argument("--islands", type=int, default=d.islands,
                   help=f"islands of N / islands individuals (default {d.islands}; the islands "
                   "remedy sets 4)")
    s.add_argument("--generations", type=int, default=d.generations,
                   help=f"generations per run (default {d.generations})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"generations between logged measurements; must divide --generations "
                   f"(default {d.log_every})")
    s.add_argument("--landscape", default=d.landscape,
                   help=f"{' or '.join(LANDSCAPES)}: CEC 2013 equal maxima (F2) or uneven "
                   f"decreasing maxima (F3) (default {d.landscape})")
    s.add_argument("--selection", default=d.selection,
                   help=f"{', '.join(SELECTIONS)} (default {d.selection})")
    s.add_argument("--tournament-size", type=int, default=d.tournament_size,
                   help=f"k of tournament selection (default {d.tournament_size})")
    s.add_argument("--init", default=d.init,
                   help=f"{' or '.join(INITS)}: U[0, 1] or every individual on a peak top "
                   f"(default {d.init})")
    s.add_argument("--accuracy", type=float, default=d.accuracy,
                   help=f"eps of the CEC peak-found test (default {d.accuracy})")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.ga.spec.GASpec` of ``mcjax sweep``'s parsed options."""
    from mcjax.systems.ga.spec import GASpec

    return spec_from_options(GASpec, args)


register_system(SystemEntry(
    name="ga",
    description="a genetic algorithm on the CEC 2013 five-peak landscapes: selection collapses "
    "the population onto few peaks; Hill numbers D0-D2 of the peak histogram, peak ratio",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: list(DEFAULT_GA_REMEDIES),
    references=("Goldberg & Richardson 1987", "Mahfoud 1995", "Petrowski 1996",
                "Li, Engelbrecht & Epitropakis 2013 (CEC 2013 niching)", "Hill 1973"),
    flag_names=FLAG_NAMES,
))
