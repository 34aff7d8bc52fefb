"""The niching methods of a genetic algorithm by name: selection collapses the population onto few
peaks, these keep it on many (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``sharing:sigma=0.05``, ``islands:islands=8,every=20``) is parsed
by :func:`parse_spec` and applied to a base ``GAConfig`` by :func:`apply_remedy`. Keys are the
remedy's own parameter names or any ``GAHParams`` field (traced: sweepable inside one program) or
``GAConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.ga.config import GAConfig, GAHParams

__all__ = ["GARemedy", "GA_REMEDIES", "GA_TABLE", "parse_spec", "resolve_key",
           "apply_remedy", "describe_remedies", "DEFAULT_GA_REMEDIES"]

GARemedy = Remedy  # the fields of :class:`~mcjax.core.remedies.Remedy`

_LIST = [
    Remedy("none", (("niching", "none"),), (), (),
           "selection, crossover and mutation alone: nothing keeps diversity (the baseline); "
           "roulette on equal peaks is neutral Wright-Fisher drift",
           "Holland 1975; Goldberg 1989, Ch. 3"),
    Remedy("sharing", (("niching", "sharing"),), (("sigma_share", 0.1), ("alpha", 1.0)),
           (("sigma", "sigma_share"), ("alpha", "alpha")),
           "selection on f_i / m_i, m_i = sum_j (1 - (d_ij / sigma)^alpha)_+: n_k ∝ f_k at "
           "equilibrium", "Goldberg & Richardson 1987"),
    Remedy("crowding", (("niching", "crowding"),), (("crossover", 1.0),), (("pc", "crossover"),),
           "deterministic crowding: random pairs, children replace the closer parent if fitter "
           "(no selection operator)", "Mahfoud 1995, Ch. 4"),
    Remedy("clearing", (("niching", "clearing"),), (("clear_radius", 0.1), ("capacity", 1.0)),
           (("radius", "clear_radius"), ("capacity", "capacity")),
           "the capacity fittest within radius of each dominant keep their fitness, the rest "
           "get 0", "Petrowski 1996"),
    Remedy("islands", (("islands", 4),), (("migration_every", 10.0),),
           (("islands", "islands"), ("every", "migration_every"), ("migrants", "migrants")),
           "islands on a ring; every `every` generations each island's best replace the next "
           "one's worst", "Cantu-Paz 2000; Whitley, Rana & Heckendorn 1999"),
]

GA_TABLE = RemedyTable("ga", _LIST, GAConfig, GAHParams)
GA_REMEDIES: dict[str, Remedy] = GA_TABLE.remedies
DEFAULT_GA_REMEDIES = GA_TABLE.names
parse_spec = GA_TABLE.parse
resolve_key = GA_TABLE.resolve_key
apply_remedy = GA_TABLE.apply
describe_remedies = GA_TABLE.describe
