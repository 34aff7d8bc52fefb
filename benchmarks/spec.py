"""The GAN every cell trains, and the sizes and run counts of the benchmark grid."""
from __future__ import annotations

from typing import NamedTuple

LATENT = 16
DATA_DIM = 2
DEPTH = 3
LR, BETA1, BETA2 = 1e-3, 0.5, 0.999
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.02
EVAL_SAMPLES = 256  # the like-for-like cell (c') evaluates once per block, on this many samples
CLI_LOG_EVERY = 200  # `mcjax sweep`'s default --log-every: whole-run steps are a multiple of it
CLI_STEPS = 4000  # `mcjax sweep`'s default --steps


class Size(NamedTuple):
    """One network/batch size of the benchmark."""

    width: int
    batch: int
    depth: int = DEPTH

    @property
    def label(self) -> str:
        return f"{self.depth}x{self.width}/b{self.batch}"


SIZES = (Size(32, 64), Size(128, 256))
RUNS = (1, 8, 64, 256)
ACCEPTANCE = (Size(32, 64).label, 64)  # the cell of the CLI-vs-programs check


def parse_size(text: str) -> Size:
    """``"WIDTH/BATCH"`` (3 hidden layers) as a :class:`Size`."""
    width, batch = text.split("/")
    return Size(int(width), int(batch))
