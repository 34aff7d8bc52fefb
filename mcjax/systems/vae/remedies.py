"""The remedies for posterior collapse by name (compared in one table, as the GAN's are).

A spec ``NAME[:key=value,...]`` (``free-bits:free_bits=0.25``, ``cyclical:cycle=400,ratio=0.5``)
is parsed by :func:`parse_spec` and applied to a base ``VAEConfig`` by :func:`apply_remedy`.
Keys are the remedy's own parameter names or any ``VAEHParams`` field (traced: sweepable inside
one program) or ``VAEConfig`` field (static: one compilation per value). Every remedy but the
delta-VAE is a setting of the same traced objective (:mod:`mcjax.systems.vae.objective`).
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.vae.config import VAEConfig, VAEHParams

__all__ = ["VAERemedy", "VAE_REMEDIES", "VAE_TABLE", "REMEDY_LIST", "DEFAULT_VAE_REMEDIES",
           "parse_spec", "resolve_key", "apply_remedy", "describe_remedies"]

VAERemedy = Remedy  # the fields of :class:`~mcjax.core.remedies.Remedy`

_LIST = [
    Remedy("vae", (), (), (), "the plain ELBO (beta = 1): latent j collapses exactly when "
           "lambda_j <= sigma^2", "Kingma & Welling 2014; Lucas et al. 2019"),
    Remedy("beta", (), (("beta", 0.4),), (("beta", "beta"),),
           "KL weight beta < 1: the collapse threshold moves to beta sigma^2",
           "Higgins et al. 2017 (beta-VAE)"),
    Remedy("kl-annealing", (), (("warmup", 500.0),), (("warmup", "warmup"),),
           "KL weight rising linearly from 0 to beta over `warmup` steps",
           "Bowman et al. 2016"),
    Remedy("cyclical", (), (("cycle", 500.0), ("ratio", 0.5)),
           (("cycle", "cycle"), ("ratio", "ratio")),
           "KL weight rising from 0 to beta over the first `ratio` of every `cycle` steps",
           "Fu et al. 2019"),
    Remedy("free-bits", (), (("free_bits", 0.25),), (("free_bits", "free_bits"), ("fb", "free_bits")),
           "per-dimension KL_j replaced by max(KL_j, free_bits) in the objective: every "
           "KL_j >= free_bits at the optimum", "Kingma et al. 2016"),
    Remedy("delta-vae", (("delta_vae", True),), (("delta", 0.25),), (("delta", "delta"),),
           "posterior variances capped so that every KL_j >= delta; the threshold moves to "
           "c(delta) sigma^2", "Razavi et al. 2019"),
]

REMEDY_LIST = tuple(_LIST)  # also the mixture VAE's (its table: ``mixture_spec``)
VAE_TABLE = RemedyTable("vae", _LIST, VAEConfig, VAEHParams)
VAE_REMEDIES: dict[str, Remedy] = VAE_TABLE.remedies
DEFAULT_VAE_REMEDIES = VAE_TABLE.names
parse_spec = VAE_TABLE.parse
resolve_key = VAE_TABLE.resolve_key
apply_remedy = VAE_TABLE.apply
describe_remedies = VAE_TABLE.describe
