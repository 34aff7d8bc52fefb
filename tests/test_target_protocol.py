"""The Target protocol: mixtures satisfy it, metrics run on a target that is not a mixture and whose
samples are not flat, and building targets never starts a JAX backend."""
import math
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.spatial.distance
from flax import struct

import mcjax
from mcjax.metrics import hill_numbers, mode_stats
from mcjax.targets import MIXTURES, GaussianMixture, Target, grid, high_dim, make_target, ring


@struct.dataclass
class OneHot2x2:
    """A non-mixture toy target on 2x2 matrices: mode ``a(x) = argmax_j vec(x)_j`` (4 modes), score
    ``s(x) = ||x - E_a(x)||_F`` with ``E_k`` the one-hot matrix of mode ``k``; HQ when ``s < 0.5``.
    ``sample`` draws ``E_k + std * Z``, ``k`` uniform and ``Z`` standard normal."""

    std: float = struct.field(pytree_node=False, default=0.05)
    hq_threshold: float = struct.field(pytree_node=False, default=0.5)

    @property
    def event_shape(self):
        return (2, 2)

    @property
    def dim(self):
        return math.prod(self.event_shape)

    @property
    def n_modes(self):
        return 4

    def sample(self, key, n):
        k_mode, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_mode, (n,), 0, self.n_modes)
        onehot = jax.nn.one_hot(idx, self.n_modes).reshape(n, *self.event_shape)
        return onehot + self.std * jax.random.normal(k_noise, (n, *self.event_shape))

    def assign(self, x):
        flat = x.reshape(x.shape[0], self.dim)
        idx = jnp.argmax(flat, axis=1)
        score = jnp.sqrt(jnp.sum((flat - jax.nn.one_hot(idx, self.n_modes)) ** 2, axis=1))
        return idx.astype(jnp.int32), score

    def describe(self):
        return {"name": "onehot2x2", "n_modes": 4, "hq_threshold": self.hq_threshold}


TOY = OneHot2x2()
_stats = jax.jit(mode_stats)
_batched_stats = jax.jit(jax.vmap(mode_stats, in_axes=(0, None)))


def _e(k, scale=1.0):
    return scale * np.eye(4, dtype=np.float32)[k].reshape(2, 2)


def _mixed_set():
    """12 hand-made 2x2 samples whose statistics have a closed form.

    HQ (8): mode 0 four times (exact, or 0.3 off in one entry), modes 1 and 2 twice each. Not HQ
    (4): ``2 E_3`` (mode 3, score 1), ``E_0 + 0.6 E_1`` (mode 0, score 0.6), a NaN matrix and one
    with entries +-inf. So ``p_hat = (1/2, 1/4, 1/4, 0)`` and the HQ share is 8/12.
    """
    hq = [_e(0), _e(0), _e(0) + 0.3 * _e(1), _e(0) - 0.3 * _e(3), _e(1), _e(1), _e(2),
          _e(2) - 0.3 * _e(3)]
    bad = [_e(3, 2.0), _e(0) + 0.6 * _e(1), np.full((2, 2), np.nan), np.array([[-np.inf, np.inf], [0, 0]])]
    return np.stack(hq + bad).astype(np.float32)


def _js_to_uniform(p):
    return scipy.spatial.distance.jensenshannon(p, np.full(len(p), 1 / len(p))) ** 2


# ------------------------------------------------------------------------------ conformance


@pytest.mark.parametrize("target", [ring(), grid(), high_dim(), make_target("grid", side=3), TOY],
                         ids=["ring", "grid", "high_dim", "grid3", "toy"])
def test_targets_satisfy_protocol(target):
    assert isinstance(target, Target)
    assert target.dim == math.prod(target.event_shape)
    d = target.describe()
    assert d["name"] and d["n_modes"] == target.n_modes and d["hq_threshold"] == target.hq_threshold
    x = jax.jit(lambda t, k: t.sample(k, 5))(target, jax.random.key(0))
    assert x.shape == (5, *target.event_shape)
    idx, score = jax.jit(lambda t, x: t.assign(x))(target, x)
    assert idx.shape == (5,) and idx.dtype == jnp.int32 and score.shape == (5,)


def test_mixtures_are_flat_and_hold_numpy_constants():
    for build in MIXTURES.values():
        t = build()
        assert isinstance(t, GaussianMixture) and t.event_shape == (t.means.shape[1],)
        leaves = jax.tree.leaves(t)
        assert leaves and all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in leaves)


def test_target_name_is_the_protocol():
    assert mcjax.Target is Target
    assert not isinstance(object(), Target)
    assert not isinstance({"n_modes": 4}, Target)


# ------------------------------------------------------------- metrics on a non-flat toy target


def test_mode_stats_on_toy_matches_closed_form_under_jit():
    s = _stats(_mixed_set(), TOY)
    # Counts are exact integer sums; the HQ share is one correctly rounded float32 division 8 / 12.
    np.testing.assert_array_equal(np.asarray(s.mode_counts), [4.0, 2.0, 2.0, 0.0])
    assert int(s.modes_covered) == 3
    assert float(s.hq_fraction) == np.float32(8) / np.float32(12)
    p = np.array([0.5, 0.25, 0.25, 0.0])
    # H(p) = 1.5 log 2 and KL(p || u) = log 4 - 1.5 log 2 = 0.5 log 2; float32 logs: ~1e-7 abs.
    np.testing.assert_allclose(float(s.occupancy_entropy), 1.5 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(s.reverse_kl), 0.5 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(s.js_to_uniform), _js_to_uniform(p), rtol=1e-5)  # float32 logs.
    # D_0 = 3 modes, D_1 = exp(1.5 log 2) = 2^1.5, D_2 = 1 / (1/4 + 1/16 + 1/16) = 8/3.
    np.testing.assert_allclose(np.asarray(hill_numbers(s.mode_counts)), [3.0, 2**1.5, 8 / 3],
                               rtol=1e-6)  # float32 powers and exp of exact dyadic p: ~1 ulp.


def test_mode_stats_on_toy_vmapped_over_runs():
    collapsed = np.broadcast_to(_e(2), (12, 2, 2))
    nan = np.full((12, 2, 2), np.nan, np.float32)
    batch = np.stack([_mixed_set(), collapsed, nan]).astype(np.float32)
    b = _batched_stats(batch, TOY)
    np.testing.assert_array_equal(np.asarray(b.modes_covered), [3, 1, 0])
    np.testing.assert_array_equal(np.asarray(b.hq_fraction), np.float32([8 / 12, 1.0, 0.0]))
    np.testing.assert_array_equal(np.asarray(b.mode_counts), [[4, 2, 2, 0], [0, 0, 12, 0], [0, 0, 0, 0]])
    # One-mode and no-HQ runs both give KL = log 4 (the documented convention), entropy 0 exactly.
    log4 = math.log(4)
    # float32 logs: ~1e-7 relative.
    np.testing.assert_allclose(np.asarray(b.reverse_kl), [0.5 * math.log(2), log4, log4], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(b.occupancy_entropy)[1:], 0.0)
    ref_js = [_js_to_uniform(np.array(p)) for p in ([0.5, 0.25, 0.25, 0], [0, 0, 1, 0], [1, 0, 0, 0])]
    np.testing.assert_allclose(np.asarray(b.js_to_uniform), ref_js, rtol=1e-5)  # float32 logs.
    for r in range(len(batch)):
        single = _stats(batch[r], TOY)
        for name, v in single._asdict().items():
            # Same float32 kernels with a batch axis: logs may differ in the last ulp after fusion.
            np.testing.assert_allclose(np.asarray(getattr(b, name))[r], v, rtol=1e-6, err_msg=name)


def test_toy_samples_cover_every_mode():
    x = jax.jit(TOY.sample, static_argnums=1)(jax.random.key(0), 400)
    assert x.shape == (400, 2, 2)
    s = _stats(x, TOY)
    assert int(s.modes_covered) == 4
    # score = 0.05 chi_4: P(score >= 0.5) = P(chi2_4 >= 100) = 51 e^-50 ~ 1e-20 per sample, and
    # argmax errs only if a noise difference exceeds 1 (20 std): every sample is HQ.
    assert float(s.hq_fraction) == 1.0
    assert float(np.sum(s.mode_counts)) == 400


# ------------------------------------------------------------- no JAX backend at construction

_BUILD = """
from mcjax.systems.gan.config import Config
from mcjax.targets import MIXTURES, make_target
targets = [build() for build in MIXTURES.values()] + [make_target("grid", side=3)]
configs = [Config()] + [Config(target=name) for name in MIXTURES]
"""
_CHECK = """
import jax
jax.config.update("jax_num_cpu_devices", 3)
assert len(jax.devices()) == 3, jax.devices()
print("devices:", len(jax.devices()))
"""


def _run(code):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("MCJAX_CPU_DEVICES", None)
    flags = env.get("XLA_FLAGS", "").split()
    env["XLA_FLAGS"] = " ".join(f for f in flags if "xla_force_host_platform_device_count" not in f)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=300)


def test_building_targets_and_config_starts_no_backend():
    out = _run(_BUILD + _CHECK)
    assert out.returncode == 0, out.stderr
    assert "devices: 3" in out.stdout


def test_backend_check_detects_a_started_backend():
    # Control: one JAX computation before the device-count update makes the same check fail.
    out = _run(_BUILD + "import jax.numpy as jnp\njnp.zeros(1).block_until_ready()\n" + _CHECK)
    assert out.returncode != 0 and "devices: 3" not in out.stdout
