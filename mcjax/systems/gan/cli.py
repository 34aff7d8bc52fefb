"""The GAN's part of the command line: its ``mcjax sweep`` options and their run spec
(registered as ``--system gan``, the default)."""
from __future__ import annotations

import argparse

from mcjax.systems.gan.spec import DEFAULT_REMEDIES
from mcjax.systems.registry import SystemEntry, register_system

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("steps", "batch_size", "width", "depth", "latent_dim", "log_every", "eval_samples",
              "keep_samples", "dynamics_probes", "lanczos_order", "collapse_samples")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The GAN's options of ``mcjax sweep`` (``RunSpec``'s fields)."""
    from mcjax.systems.gan.config import Config

    d = Config()
    s.add_argument("--target", default=d.target,
                   help=f"target distribution: ring, grid, high_dim, stacked-mnist (needs pip install "
                   f"\"mcjax[mnist]\") or stacked-digits (needs \"mcjax[digits]\") (default {d.target})")
    s.add_argument("--arch", default=d.arch,
                   help=f"the players' networks: mlp, or dcgan (image targets) (default {d.arch})")
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"remedy to train, e.g. pacgan:pack=3 or entropy:weight=0.1; repeat for several "
                   f"(default: {' '.join(DEFAULT_REMEDIES)}); `mcjax remedies` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary a continuous parameter (an HParams field or a remedy's sweepable "
                   "parameter, e.g. weight=0.01,0.1,1 or lr_d=1e-3,3e-4) inside one compiled program "
                   "per remedy; repeat for a grid")
    s.add_argument("--optimizer", default=d.optimizer,
                   help=f"adam, rmsprop, sgd, muon or kron (PSGD Kron, a Kronecker-factored "
                   f"preconditioner; needs pip install \"mcjax[kron]\") (default {d.optimizer})")
    s.add_argument("--seeds", type=int, default=16, help="seeds per remedy (default 16): seeds 0..N-1")
    s.add_argument("--steps", type=int, default=d.steps, help=f"generator steps (default {d.steps})")
    s.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    s.add_argument("--width", type=int, default=d.width, help=f"hidden units, both players (default {d.width})")
    s.add_argument("--depth", type=int, default=d.depth, help=f"hidden layers, both players (default {d.depth})")
    s.add_argument("--latent-dim", type=int, default=d.latent_dim, help=f"default {d.latent_dim}")
    s.add_argument("--lr-g", type=float, default=None, help="generator learning rate (default 1e-3)")
    s.add_argument("--lr-d", type=float, default=None, help="critic learning rate (default 1e-3)")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"steps between logged evaluations; must divide --steps (default {d.log_every})")
    s.add_argument("--eval-samples", type=int, default=d.eval_samples,
                   help=f"generated samples per evaluation (default {d.eval_samples}, as in VEEGAN/PacGAN)")
    s.add_argument("--log-dynamics", action="store_true",
                   help="also log rotation index, Hessian extremes and ||xi|| every --log-every steps")
    s.add_argument("--log-collapse", action="store_true",
                   help="also log mode flux, critic field and generator stretch every --log-every steps")
    s.add_argument("--metrics", default="", metavar="NAME[,NAME]",
                   help="also measure the final generators' Frechet distance and/or precision, "
                   "recall, density and coverage (k = 5) against --eval-samples real samples, in the "
                   "target's feature space: frechet, prdc (shown as table columns)")
    s.add_argument("--collapse-samples", type=int, default=d.collapse_samples,
                   help=f"points of the mode flux and critic field with --log-collapse "
                   f"(default {d.collapse_samples}; at most --eval-samples)")
    s.add_argument("--dynamics-probes", type=int, default=d.dynamics_probes,
                   help=f"probes of the rotation index with --log-dynamics (default {d.dynamics_probes})")
    s.add_argument("--lanczos-order", type=int, default=d.lanczos_order,
                   help=f"Lanczos order of the Hessian extremes (default {d.lanczos_order})")
    s.add_argument("--keep-samples", type=int, default=None,
                   help="final samples kept per run for the figures (default min(512, --eval-samples))")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.gan.spec.RunSpec` of ``mcjax sweep``'s parsed options."""
    import dataclasses

    from mcjax.systems.gan.spec import RunSpec

    fields = [f.name for f in dataclasses.fields(RunSpec)]
    values = {k: getattr(args, k) for k in fields}
    values["remedy"] = tuple(values["remedy"] or ())
    values["sweep"] = tuple(values["sweep"] or ())
    return RunSpec(**values)


def _describe_remedies() -> str:
    from mcjax.systems.gan.remedies import describe_remedies

    return describe_remedies()


def _remedy_names() -> list:
    from mcjax.systems.gan.remedies import REMEDIES

    return list(REMEDIES)


register_system(SystemEntry(
    name="gan",
    description="generative adversarial networks on mixtures and stacked digits: modes covered by "
    "the generator's samples",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=_describe_remedies,
    remedy_names=_remedy_names,
    references=("Goodfellow et al. 2014", "Srivastava et al. 2017 (VEEGAN)",
                "Lin et al. 2018 (PacGAN)"),
    flag_names=FLAG_NAMES,
))
