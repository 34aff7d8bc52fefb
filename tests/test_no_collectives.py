"""No collective operation in any sweep program sharded over two CPU devices: runs are
independent, and a collective inside one device's loop waits on the other device (a 40 s
rendezvous timeout killed a stacked-digits sweep when PRDC's top-k was gathered across devices)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sweep_programs_hold_no_collectives(tmp_path):
    env = dict(os.environ, MCJAX_CACHE_DIR=str(tmp_path / "cache"), JAX_PLATFORMS="cpu",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MCJAX_CPU_DEVICES", None)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "scripts", "collectives.py")],
                       capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    counts = json.loads(p.stdout)
    assert len(counts) == 6  # init, advance, evaluate of both specs
    lapack = {k: v.pop("lapack") for k, v in counts.items()}
    devices = {k: v.pop("devices") for k, v in counts.items()}
    assert {k: v for k, v in counts.items() if any(v.values())} == {}
    # LAPACK (the Frechet distance's QR and SVD) only in the final evaluation, and that on one
    # device: jaxlib's CPU LAPACK kernels wait on the thread pool that the devices' programs run
    # on, and two devices calling them at once hung a sweep
    assert [k for k, n in lapack.items() if n] == [k for k in lapack if k.endswith("evaluate")]
    assert {k: d for k, d in devices.items() if k.endswith("evaluate")} == {
        k: 1 for k in devices if k.endswith("evaluate")}
    assert devices["ring, every log and metric: advance"] == 2  # training stays sharded
