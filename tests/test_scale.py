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
