"""The decoding part of the command line: ``mcjax sweep --system decoding`` options and their
run spec."""
from __future__ import annotations

import argparse

from mcjax.core.remedies import spec_from_options
from mcjax.systems.decoding import config as _config  # noqa: F401  (registers the config, so
from mcjax.systems.decoding import spec as _spec  # noqa: F401  results load and resume by name)
from mcjax.systems.decoding.remedies import DEFAULT_DECODE_REMEDIES, describe_remedies
from mcjax.systems.registry import SystemEntry, register_system

__all__ = ["add_arguments", "spec_from_args"]

FLAG_NAMES = ("vocab", "topics", "length", "width", "groups", "log_every",
              "concentration", "zipf")


def add_arguments(s: argparse.ArgumentParser) -> None:
    """The decoding options of ``mcjax sweep`` (``DecodeSpec``'s fields)."""
    from mcjax.systems.decoding.spec import DecodeSpec

    d = DecodeSpec()
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"decoder to run, e.g. sample:temperature=0.7 or diverse-beam:lambda=2; "
                   f"repeat for several (default: {' '.join(DEFAULT_DECODE_REMEDIES)}); `mcjax "
                   "remedies --system decoding` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary temperature, top_p, lambda (diversity), concentration or zipf inside "
                   "one compiled program per decoder, e.g. concentration=0,2,8")
    s.add_argument("--seeds", type=int, default=d.seeds,
                   help=f"seeds per decoder, one random topic model each (default {d.seeds})")
    s.add_argument("--vocab", type=int, default=d.vocab, help=f"V, tokens (default {d.vocab})")
    s.add_argument("--topics", type=int, default=d.topics,
                   help=f"K <= V topics, the first token (default {d.topics})")
    s.add_argument("--length", type=int, default=d.length,
                   help=f"L, tokens per sequence, the topic token included (default {d.length})")
    s.add_argument("--width", type=int, default=d.width,
                   help=f"B, sequences per decode (beam width) (default {d.width})")
    s.add_argument("--groups", type=int, default=d.groups,
                   help=f"G, diverse beam search's groups; divides --width (default {d.groups})")
    s.add_argument("--concentration", type=float, default=d.concentration,
                   help=f"peakedness of the topic chains, 0 uniform (default {d.concentration:g})")
    s.add_argument("--zipf", type=float, default=d.zipf,
                   help=f"topic prior pi_k ∝ (k+1)^-zipf (default {d.zipf:g})")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help="positions between logged measurements (one position decoded per step); "
                   f"must divide --length (default {d.log_every})")


def spec_from_args(args: argparse.Namespace):
    """The :class:`~mcjax.systems.decoding.spec.DecodeSpec` of ``mcjax sweep``'s parsed options."""
    from mcjax.systems.decoding.spec import DecodeSpec

    return spec_from_options(DecodeSpec, args)


register_system(SystemEntry(
    name="decoding",
    description="decoders (greedy, beam, sampling, nucleus, stochastic and diverse beam search) of "
    "a topic Markov language model: beam search collapses onto the top topic; topics covered "
    "(Hill numbers D0-D2), reverse KL to the topic prior, distinct-n, Hamming, log p",
    add_arguments=add_arguments,
    spec_from_args=spec_from_args,
    describe_remedies=describe_remedies,
    remedy_names=lambda: list(DEFAULT_DECODE_REMEDIES),
    references=("Holtzman et al. 2020", "Kool et al. 2019", "Vijayakumar et al. 2018",
                "Li et al. 2016", "Meister et al. 2020", "Hill 1973"),
    flag_names=FLAG_NAMES,
))
