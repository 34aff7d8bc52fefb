"""One process of a two-process sweep on loopback: ``two_process_sweep.py PORT PROCESS_ID OUT``.

Process 0 writes the gathered history to OUT as JSON; process 1 writes nothing.
"""
import json
import sys

from mcjax.core.sharding import initialize_distributed, is_main_process

port, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
initialize_distributed(f"127.0.0.1:{port}", num_processes=2, process_id=pid, timeout_s=60)

import jax  # noqa: E402

from mcjax import Experiment, make_hparams, run_sweep, stack_hparams  # noqa: E402
from tests.helpers import TINY  # noqa: E402

assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
exp = Experiment("gan", TINY, stack_hparams([make_hparams(lr_d=1e-3), make_hparams(lr_d=3e-4)]), ("a", "b"))
result = run_sweep([exp], [0, 1, 2], progress=False)["gan"]  # 6 runs over 2 processes
if is_main_process():
    with open(out, "w") as f:
        json.dump({k: result.history[k].tolist() for k in ("d_loss", "g_loss", "modes_covered")}, f)
