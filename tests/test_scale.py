"""Scale-out: the run axis sharded over 8 virtual devices equals one device."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sharded_equals_unsharded():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "scripts", "sharded_sweep.py")],
                       capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    assert out["n_devices"] == 8
    assert out["shape"] == [3, 2, 2]  # padding runs were dropped
    # per-device programs may fuse and sum in another order: float32 reassociation (~5e-7 per
    # step, JAX-NOTES) over 20 steps stays far below 1e-4
    for k, v in out["max_abs_diff"].items():
        assert v < 1e-4, (k, v)
    assert out["modes_equal"]
    assert out["diverged_many"] == out["diverged_one"] == [[False, False], [False, False], [True, True]]


_CORES = """
import os, sys, json
os.environ.pop("XLA_FLAGS", None)
from mcjax.core.sharding import use_cpu_cores
asked = use_cpu_cores({n})
import jax
jax.numpy.zeros(1).block_until_ready()  # backends are up now
print(json.dumps(dict(asked=asked, devices=jax.device_count(), later=use_cpu_cores(5))))
"""


def _cores(n, **env_extra):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **env_extra)
    p = subprocess.run([sys.executable, "-c", _CORES.format(n=n)], capture_output=True, text=True,
                       timeout=120, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def test_use_cpu_cores_makes_one_device_per_core_before_jax_starts():
    assert _cores(3) == dict(asked=3, devices=3, later=0)  # later calls leave the backend alone
    assert _cores(0) == dict(asked=0, devices=1, later=0)  # 0: JAX's default
    assert _cores(None, MCJAX_CPU_DEVICES="2")["devices"] == 2
    default = _cores(None)
    assert default["devices"] == len(os.sched_getaffinity(0)) == default["asked"]


def test_use_cpu_cores_refuses_bad_counts():
    import pytest

    from mcjax._validation import ConfigError
    from mcjax.core.sharding import use_cpu_cores

    with pytest.raises(ConfigError, match="-1"):
        use_cpu_cores(-1)
    os.environ["MCJAX_CPU_DEVICES"] = "two"
    try:
        with pytest.raises(ConfigError, match="MCJAX_CPU_DEVICES.*'two'"):
            use_cpu_cores()
    finally:
        del os.environ["MCJAX_CPU_DEVICES"]


def test_pad_runs_repeats_the_last_run():
    import numpy as np

    from mcjax.core.sharding import pad_runs

    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(pad_runs(a, 5), [[0, 1], [2, 3], [4, 5], [4, 5], [4, 5]])
    np.testing.assert_array_equal(pad_runs(a, 3), a)  # nothing to pad


def test_place_runs_pads_to_the_mesh_and_shards_by_run():
    import numpy as np

    from mcjax.core.sharding import pad_runs, padded_runs, place_runs, run_mesh, run_sharding

    mesh = run_mesh()
    a = np.arange(6.0).reshape(3, 2)
    x = place_runs(a, mesh)
    n_pad = padded_runs(3, mesh)
    assert x.shape == (n_pad, 2) and x.sharding == run_sharding(mesh)
    np.testing.assert_array_equal(np.asarray(x), pad_runs(a, n_pad))


_FEW_RUNS = """
import json, os, signal
import jax
jax.config.update("jax_num_cpu_devices", 3)
import numpy as np
from mcjax import SweepResult, WFSpec
from mcjax.core import sweep
from mcjax.core.checkpoint import checkpoint_path, read_meta
from mcjax.core.run import run
from mcjax.core.sharding import run_mesh

out = dict(sizes=[run_mesh(None, n).size for n in (None, 1, 2, 3, 7)])
spec = WFSpec(remedy=("drift",), seeds=1, population=20, alleles=4, generations=40, log_every=10)
kw = dict(progress=False, figures=False, cache=False)
whole = run(spec, "whole", **kw).result
out["n_pad_new"] = read_meta(checkpoint_path("whole/checkpoints", 0))["n_pad"]
# a checkpoint from before meshes shrank to the run count: every device, padded to 3
new_mesh = sweep.run_mesh
sweep.run_mesh = lambda devices=None, n_runs=None: new_mesh(devices)
try:
    run(spec, "cut", on_chunk=lambda report: os.kill(os.getpid(), signal.SIGINT), **kw)
except sweep.Interrupted:
    pass
sweep.run_mesh = new_mesh
out["n_pad_old"] = read_meta(checkpoint_path("cut/checkpoints", 0))["chunks_done"], \\
    read_meta(checkpoint_path("cut/checkpoints", 0))["n_pad"]
resumed = run(None, "cut", resume=True, **kw).result
out["n_pad_resumed"] = read_meta(checkpoint_path("cut/checkpoints", 0))["n_pad"]
out["equal"] = all(np.array_equal(whole.groups[0].history[k], resumed.groups[0].history[k])
                   for k in whole.groups[0].history)
print(json.dumps(out))
"""


def test_few_runs_take_few_devices_and_old_padded_checkpoints_resume(tmp_path):
    # 1 run on 3 devices used to pad to 3 runs, two of them thrown away: now a mesh of 1 device.
    # A checkpoint padded the old way resumes in its own layout (WF counts are integers: bitwise).
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MCJAX_CPU_DEVICES", None)
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if "xla_force_host_platform_device_count" not in f)
    p = subprocess.run([sys.executable, "-c", _FEW_RUNS], capture_output=True, text=True,
                       timeout=600, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["sizes"] == [3, 1, 2, 3, 3]
    assert out["n_pad_new"] == 1
    assert out["n_pad_old"] == [1, 3]  # interrupted after its first of 4 chunks, padded to 3
    assert out["n_pad_resumed"] == 3
    assert out["equal"]
