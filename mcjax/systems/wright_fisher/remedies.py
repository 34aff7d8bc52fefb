"""The forces of a Wright-Fisher population by name: drift and selection collapse it, the others
keep its diversity (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``mutation:mu=0.01``, ``migration:m=0.05,demes=8``) is parsed by
:func:`parse_spec` and applied to a base ``WFConfig`` by :func:`apply_remedy`. Keys are the
remedy's own parameter names or any ``WFHParams`` field (traced: sweepable inside one program)
or ``WFConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.wright_fisher.config import WFConfig, WFHParams

__all__ = ["WFRemedy", "WF_REMEDIES", "WF_TABLE", "parse_spec", "resolve_key",
           "apply_remedy", "describe_remedies", "DEFAULT_WF_REMEDIES"]

WFRemedy = Remedy  # the fields of :class:`~mcjax.core.remedies.Remedy`

_LIST = [
    Remedy("drift", (), (), (), "neutral drift alone: nothing keeps diversity (the baseline); "
           "E H_t = H_0 (1 - 1/N)^t", "Wright 1931; Fisher 1930; Ewens 2004, Sec. 1.4"),
    Remedy("selection", (), (("s", 0.05),), (("s", "s"),),
           "allele 0 has fitness 1 + s: a selective sweep, the collapsing force",
           "Haldane 1924; Kimura 1962 (fixation probability)"),
    Remedy("mutation", (), (("mu", 0.01),), (("mu", "mu"),),
           "each individual mutates with probability mu to one of the other K - 1 alleles",
           "Kimura & Crow 1964; Ewens 2004, Sec. 3.5"),
    Remedy("migration", (("demes", 4),), (("m", 0.002),), (("m", "m"), ("demes", "demes")),
           "N split over `demes` islands exchanging a share m of migrants a generation",
           "Wright 1931 (island model); Whitlock & Barton 1997"),
    Remedy("overdominance", (("overdominance", True),), (("s", 0.2), ("t", 0.2)),
           (("s", "s"), ("t", "t")),
           "heterozygote advantage: diploid genotypes, homozygote fitness 1 - s (allele 0) and "
           "1 - t (others); p* = t / (s + t) for K = 2",
           "Fisher 1922; Hartl & Clark 2007, Ch. 3"),
    Remedy("frequency-dependence", (), (("c", 2.0),), (("c", "c"),),
           "negative frequency dependence: allele i's fitness times exp(-c p_i) (rare-allele "
           "advantage); p* = 1/2 + log(1 + s) / (2 c) for K = 2",
           "Clarke & O'Donald 1964; Ayala & Campbell 1974"),
]

WF_TABLE = RemedyTable("wright-fisher", _LIST, WFConfig, WFHParams)
WF_REMEDIES: dict[str, Remedy] = WF_TABLE.remedies
DEFAULT_WF_REMEDIES = WF_TABLE.names
parse_spec = WF_TABLE.parse
resolve_key = WF_TABLE.resolve_key
apply_remedy = WF_TABLE.apply
describe_remedies = WF_TABLE.describe
