"""The remedies of sequential Monte Carlo by name: resampling every step collapses the particles
onto few ancestors (path degeneracy) and few modes; these keep them diverse (compared in one table
as the GAN's remedies are).

Specs ``NAME[:key=value,...]`` (``ess-threshold:threshold=0.3``, ``resample-move:moves=10``),
parsed and applied by :data:`SMC_REMEDIES` (a :class:`~mcjax.core.remedies.RemedyTable`).
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.smc.config import SMCConfig, SMCHParams

__all__ = ["SMC_REMEDIES", "DEFAULT_SMC_REMEDIES", "FILTER_REMEDIES"]

_LIST = [
    Remedy("multinomial", (("scheme", "multinomial"),), (("threshold", 1.0),), (),
           "multinomial resampling every step: the baseline (the same draw as neutral "
           "Wright-Fisher reproduction and roulette selection)", "Gordon, Salmond & Smith 1993"),
    Remedy("systematic", (("scheme", "systematic"),), (("threshold", 1.0),), (),
           "systematic resampling every step (= stochastic universal sampling): copies floor/ceil "
           "of N W_i", "Kitagawa 1996; Baker 1987 (SUS)"),
    Remedy("stratified", (("scheme", "stratified"),), (("threshold", 1.0),), (),
           "stratified resampling every step: one uniform per stratum of width 1/N",
           "Kitagawa 1996"),
    Remedy("residual", (("scheme", "residual"),), (("threshold", 1.0),), (),
           "residual resampling every step: floor(N W_i) copies, the rest multinomially",
           "Liu & Chen 1998"),
    Remedy("ess-threshold", (("scheme", "systematic"),), (("threshold", 0.5),),
           (("threshold", "threshold"),),
           "resample (systematically) only when ESS < threshold N: fewer resampling events, less "
           "drift", "Liu & Chen 1995; Kong, Liu & Wong 1994"),
    Remedy("resample-move", (("scheme", "systematic"), ("moves", 5)), (("threshold", 0.5),),
           (("moves", "moves"), ("step", "step_size"), ("threshold", "threshold")),
           "after resampling, `moves` random-walk Metropolis steps on the current tempered target "
           "rejuvenate the copies (tempered model only)", "Gilks & Berzuini 2001"),
    Remedy("adaptive", (("scheme", "systematic"), ("moves", 5), ("adaptive", True)),
           (("threshold", 0.5), ("ess_target", 0.5)),
           (("ess", "ess_target"), ("moves", "moves"), ("step", "step_size")),
           "resample-move with each next temperature chosen by bisection so the conditional ESS "
           "is ess N (tempered model only)", "Jasra et al. 2011; Zhou, Johansen & Aston 2016"),
]

SMC_REMEDIES = RemedyTable("smc", _LIST, SMCConfig, SMCHParams)
DEFAULT_SMC_REMEDIES = ("multinomial", "systematic", "ess-threshold", "resample-move", "adaptive")
FILTER_REMEDIES = ("multinomial", "systematic", "stratified", "residual", "ess-threshold")
