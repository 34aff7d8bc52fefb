"""The VAE part of the command line: ``mcjax sweep --system vae`` options and their run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.registry import SystemEntry, register_system
from mcjax.systems.vae import config as _config  # noqa: F401  (the imports register both systems'
from mcjax.systems.vae import mixture_config as _mixture_config  # noqa: F401  configs and specs,
from mcjax.systems.vae import mixture_spec as _mixture_spec  # noqa: F401  so results and sweep
from mcjax.systems.vae import spec as _spec  # noqa: F401  folders load and resume by system name)
from mcjax.systems.vae.remedies import DEFAULT_VAE_REMEDIES, describe_remedies

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("eigenvalues", "latents", "n_data", "batch", "estimator", "steps", "log_every",
              "sigma2", "lr")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The VAE options of ``mcjax sweep`` (``VAESpec``'s fields)."""
    from mcjax.systems.vae.spec import VAESpec

    d = VAESpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"remedy to run, e.g. free-bits:free_bits=0.5 or beta:beta=0.3; repeat for "
                   f"several (default: {' '.join(DEFAULT_VAE_REMEDIES)}); `mcjax remedies --system "
                   "vae` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary lr, lr_decay, sigma2, beta, warmup, cycle, ratio, free_bits, delta or "
                   "init_scale inside one compiled program per remedy, e.g. beta=0.25,0.5,1")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per remedy (default {d.seeds}): seeds 0..N-1")
    s.add_argument("--eigenvalues", default=",".join(f"{v:g}" for v in d.eigenvalues),
                   metavar="L1,L2,...", help="the data covariance's eigenvalues, d of them "
                   f"(default {','.join(f'{v:g}' for v in d.eigenvalues)})")
    s.add_argument("--latents", type=int, default=d.latents, help=f"k (default {d.latents})")
    s.add_argument("--n-data", type=int, default=d.n_data,
                   help=f"points per run's data set, exact mean and covariance (default {d.n_data})")
    s.add_argument("--batch", type=int, default=d.batch,
                   help="points per Adam step (default 0: the whole data set)")
    s.add_argument("--estimator", default=d.estimator, choices=("analytic", "sample"),
                   help="ELBO expectation over q in closed form or by one reparameterised sample "
                   f"(default {d.estimator})")
    s.add_argument("--learn-sigma", action="store_true", help="learn the decoder's sigma^2")
    s.add_argument("--sigma2", type=float, default=d.sigma2,
                   help=f"decoder noise variance (its start with --learn-sigma; default {d.sigma2:g})")
    s.add_argument("--lr", type=float, default=d.lr, help=f"Adam's learning rate (default {d.lr:g})")
    s.add_argument("--steps", type=int, default=d.steps, help=f"Adam steps per run (default {d.steps})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"steps between logged measurements; must divide --steps (default {d.log_every})")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.vae.spec.VAESpec` of ``mcjax sweep``'s parsed options."""
    from mcjax.systems.vae.spec import VAESpec

    return spec_from_options(VAESpec, args)


register_system(SystemEntry(
    name="vae",
    description="a linear VAE (probabilistic PCA, diagonal Gaussian encoder) on Gaussian data: "
    "latents whose eigenvalue is below sigma^2 collapse to the prior; active units, per-latent KL, "
    "I(x;z), Hill numbers D0-D2 of the KL shares",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: list(DEFAULT_VAE_REMEDIES),
    references=("Tipping & Bishop 1999", "Lucas et al. 2019", "Burda et al. 2016",
                "Hoffman & Johnson 2016", "Kingma et al. 2016", "Fu et al. 2019",
                "Razavi et al. 2019"),
    flag_names=FLAG_NAMES,
))


MIX_FLAG_NAMES = ("target", "target_std", "decoder", "components", "latents", "width", "depth",
                  "batch", "steps", "log_every", "eval_samples", "lr")


def add_mixture_arguments(s: argparse.ArgumentParser) -> None:
    """The mixture VAE's options of ``mcjax sweep --system vae-mixture`` (``MixVAESpec``'s fields)."""
    from mcjax.systems.vae.mixture_spec import DEFAULT_MIX_REMEDIES, MixVAESpec

    d = MixVAESpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"remedy to run (default: {' '.join(DEFAULT_MIX_REMEDIES)}); those of `mcjax "
                   "remedies --system vae` but delta-vae")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary lr, lr_decay, beta, warmup, cycle, ratio or free_bits in one program")
    s.add_argument("--seeds", type=int, default=d.seeds, help=f"seeds per remedy (default {d.seeds})")
    s.add_argument("--target", default=d.target, choices=("ring", "grid"),
                   help=f"2-D mixture: ring of 8 or 5x5 grid (default {d.target})")
    s.add_argument("--target-std", type=float, default=d.target_std,
                   help=f"each mode's standard deviation (default {d.target_std:g})")
    s.add_argument("--decoder", default=d.decoder, choices=("gaussian", "mixture"),
                   help="one Gaussian per z (z must name the mode) or a mixture of --components "
                   f"Gaussians per z (strong enough to ignore z) (default {d.decoder})")
    s.add_argument("--components", type=int, default=d.components,
                   help=f"the mixture decoder's Gaussians (default {d.components})")
    s.add_argument("--latents", type=int, default=d.latents, help=f"k (default {d.latents})")
    s.add_argument("--width", type=int, default=d.width, help=f"MLP hidden units (default {d.width})")
    s.add_argument("--depth", type=int, default=d.depth, help=f"MLP hidden layers (default {d.depth})")
    s.add_argument("--batch", type=int, default=d.batch, help=f"target samples per step (default {d.batch})")
    s.add_argument("--lr", type=float, default=d.lr, help=f"Adam's learning rate (default {d.lr:g})")
    s.add_argument("--steps", type=int, default=d.steps, help=f"Adam steps per run (default {d.steps})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"steps between measurements; must divide --steps (default {d.log_every})")
    s.add_argument("--eval-samples", type=int, default=d.eval_samples,
                   help=f"target points and decoded samples measured (default {d.eval_samples})")


def mixture_spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.vae.mixture_spec.MixVAESpec` of the parsed options."""
    from mcjax.systems.vae.mixture_spec import MixVAESpec

    return spec_from_options(MixVAESpec, args)


register_system(SystemEntry(
    name="vae-mixture",
    description="a VAE (MLP encoder; one-Gaussian or mixture decoder) on a 2-D Gaussian mixture: a "
    "decoder that can model every mode alone lets the posterior collapse; KL, active units, I(x;z), "
    "and the mode histogram of decoded samples (Hill numbers D0-D2, reverse KL)",
    add_arguments=add_mixture_arguments,
    spec_from_args=mixture_spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: [r for r in DEFAULT_VAE_REMEDIES if r != "delta-vae"],
    references=("Chen et al. 2017", "Bowman et al. 2016", "Hoffman & Johnson 2016",
                "Burda et al. 2016", "Kingma et al. 2016", "Fu et al. 2019"),
    flag_names=MIX_FLAG_NAMES,
))
