"""The SMC part of the command line: ``mcjax sweep --system smc`` options and their run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.registry import SystemEntry, register_system

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("particles", "modes", "steps", "log_every", "model")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The SMC options of ``mcjax sweep`` (``SMCSpec``'s fields)."""
    from mcjax.systems.smc.remedies import DEFAULT_SMC_REMEDIES, FILTER_REMEDIES
    from mcjax.systems.smc.spec import SMCSpec

    d = SMCSpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help="resampling remedy to run, e.g. ess-threshold:threshold=0.3 or "
                   f"resample-move:moves=10; repeat for several (default: tempered "
                   f"{' '.join(DEFAULT_SMC_REMEDIES)}; filter {' '.join(FILTER_REMEDIES)}); "
                   "`mcjax remedies --system smc` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary an SMCHParams field (threshold, ess_target, step_size, a, q, r, sep, "
                   "prior_scale) inside one compiled program per remedy, e.g. threshold=0.2,0.5; "
                   "repeat for a grid")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per remedy (default {d.seeds}): seeds 0..N-1")
    s.add_argument("--model", default=d.model,
                   help="tempered (tempered SMC from a broad prior to a K-mode mixture: modes "
                   "covered) or filter (bootstrap filter on a linear-Gaussian model: founders "
                   f"left and the log-likelihood error against Kalman) (default {d.model})")
    s.add_argument("--particles", type=int, default=d.particles,
                   help=f"N particles per run (default {d.particles})")
    s.add_argument("--modes", type=int, default=d.modes,
                   help=f"K, modes of the tempered target (default {d.modes})")
    s.add_argument("--steps", type=int, default=d.steps,
                   help=f"SMC steps: temperatures or observations (default {d.steps})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"steps between logged measurements; must divide --steps "
                   f"(default {d.log_every})")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.smc.spec.SMCSpec` of ``mcjax sweep``'s parsed options."""
    from mcjax.systems.smc.spec import SMCSpec

    return spec_from_options(SMCSpec, args)


def _describe_remedies() -> str:
    from mcjax.systems.smc.remedies import SMC_REMEDIES

    return SMC_REMEDIES.describe()


def _remedy_names() -> list:
    from mcjax.systems.smc.remedies import SMC_REMEDIES

    return list(SMC_REMEDIES.names)


register_system(SystemEntry(
    name="smc",
    description="sequential Monte Carlo: a bootstrap particle filter (founders left, log-likelihood "
    "error against Kalman) and tempered SMC on a K-mode mixture; Hill numbers D0-D2, ESS/N",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=_describe_remedies,
    remedy_names=_remedy_names,
    references=("Gordon, Salmond & Smith 1993", "Kitagawa 1996", "Liu & Chen 1998",
                "Del Moral, Doucet & Jasra 2006", "Gilks & Berzuini 2001", "Jasra et al. 2011",
                "Kong, Liu & Wong 1994"),
    flag_names=FLAG_NAMES,
))
