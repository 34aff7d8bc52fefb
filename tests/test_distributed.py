"""Many hosts: two processes on 127.0.0.1 joined by jax.distributed give the single-process result."""
import json
import os
import socket
import subprocess
import sys

import numpy as np

from mcjax import Experiment, make_hparams, run_sweep, stack_hparams
from tests.helpers import TINY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # loopback only
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    out = tmp_path / "gathered.json"
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = os.path.join(ROOT, "tests", "scripts", "two_process_sweep.py")
    procs = [subprocess.Popen([sys.executable, script, str(port), str(i), str(out)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    try:
        errs = [p.communicate(timeout=600)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), "\n".join(e[-2000:] for e in errs)
    gathered = json.loads(out.read_text())

    exp = Experiment("gan", TINY, stack_hparams([make_hparams(lr_d=1e-3), make_hparams(lr_d=3e-4)]), ("a", "b"))
    single = run_sweep([exp], [0, 1, 2], progress=False)["gan"]
    # each process compiles its own shard's program: float32 reassociation only (see test_scale)
    np.testing.assert_allclose(gathered["d_loss"], single.history["d_loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gathered["g_loss"], single.history["g_loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(gathered["modes_covered"], single.history["modes_covered"])
