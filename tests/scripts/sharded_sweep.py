"""Runs one tiny sweep on 8 virtual CPU devices and on 1, prints the largest difference (JSON)."""
import json
import sys

import jax

jax.config.update("jax_num_cpu_devices", 8)

import numpy as np  # noqa: E402

from mcjax import Experiment, make_hparams, run_sweep, stack_hparams  # noqa: E402
from tests.helpers import TINY  # noqa: E402

exp = Experiment("gan", TINY, stack_hparams([make_hparams(lr_d=1e-3), make_hparams(lr_d=3e-4),
                                             make_hparams(lr_d=1e30, lr_g=1e30)]), ("a", "b", "bad"))
seeds = [0, 1]  # 3 settings x 2 seeds = 6 runs, padded to 8 on 8 devices
many = run_sweep([exp], seeds, progress=False)["gan"]
one = run_sweep([exp], seeds, progress=False, devices=jax.devices()[:1])["gan"]
out = {
    "n_devices": len(jax.devices()),
    "max_abs_diff": {k: float(np.max(np.abs(many.history[k] - one.history[k])))
                     for k in ("d_loss", "g_loss", "hq_fraction") if np.all(np.isfinite(one.history[k]))},
    "modes_equal": bool(np.array_equal(many.history["modes_covered"], one.history["modes_covered"])),
    "diverged_many": many.diverged.tolist(),
    "diverged_one": one.diverged.tolist(),
    "shape": list(many.history["d_loss"].shape),
}
json.dump(out, sys.stdout)
