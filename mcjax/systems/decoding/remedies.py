"""The decoders by name: beam search collapses onto the most probable topic, the others keep
diversity (the system's *remedies*, compared in one table as the GAN's are).

A spec ``NAME[:key=value,...]`` (``sample:temperature=0.7``, ``diverse-beam:lambda=2,groups=4``)
is parsed by :func:`parse_spec` and applied to a base ``DecodeConfig`` by :func:`apply_remedy`.
Keys are the decoder's own parameter names or any ``DecodeHParams`` field (traced: sweepable
inside one program) or ``DecodeConfig`` field (static: one compilation per value).
"""
from __future__ import annotations

from mcjax.core.remedies import Remedy, RemedyTable
from mcjax.systems.decoding.config import DecodeConfig, DecodeHParams

__all__ = ["Decoder", "DECODE_REMEDIES", "DECODE_TABLE", "parse_spec", "resolve_key",
           "apply_remedy", "describe_remedies", "DEFAULT_DECODE_REMEDIES"]


def Decoder(name: str, hparams: tuple, params: tuple, description: str,  # noqa: N802
            reference: str) -> Remedy:
    """A named decoder: a :class:`~mcjax.core.remedies.Remedy` setting ``DecodeConfig.decoder``."""
    return Remedy(name, (("decoder", name),), hparams, params, description, reference)


_LIST = [
    Decoder("greedy", (), (), "the most probable token at each position (beam search, B = 1), "
            "repeated B times", "-"),
    Decoder("beam", (), (("width", "width"),),
            "keeps the B most probable prefixes: the exact top-B when B covers every prefix; "
            "collapses onto the top topic when the chains are flat",
            "Lowerre 1976; Meister et al. 2020"),
    Decoder("sample", (), (("temperature", "temperature"),),
            "B independent draws of p^(1/temperature): E D0 = sum_k [1 - (1 - pi_k)^B] at T = 1",
            "Ackley et al. 1985"),
    Decoder("nucleus", (), (("top_p", "top_p"), ("temperature", "temperature")),
            "B independent draws from the top-p nucleus of each next-token distribution",
            "Holtzman et al. 2020"),
    Decoder("stochastic-beam", (), (("temperature", "temperature"), ("width", "width")),
            "Gumbel-top-k: B sequences without replacement; its first step draws B distinct "
            "topics with Plackett-Luce probabilities", "Kool et al. 2019"),
    Decoder("diverse-beam", (), (("lambda", "diversity"), ("groups", "groups")),
            "G groups of B / G beams, each penalised by lambda per earlier group's beam with the "
            "same token (Hamming); G = B leaves the top topic when lambda > log(pi_1 / pi_2)",
            "Vijayakumar et al. 2018"),
]

DECODE_TABLE = RemedyTable("decoding", _LIST, DecodeConfig, DecodeHParams,
                           aliases={"lambda": "diversity"},  # so --sweep lambda=... works
                           fixed=("decoder",))
DECODE_REMEDIES: dict[str, Remedy] = DECODE_TABLE.remedies
DEFAULT_DECODE_REMEDIES = DECODE_TABLE.names
parse_spec = DECODE_TABLE.parse
resolve_key = DECODE_TABLE.resolve_key
apply_remedy = DECODE_TABLE.apply
describe_remedies = DECODE_TABLE.describe
