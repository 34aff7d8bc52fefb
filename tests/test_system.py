"""The System seam: a system that is not a GAN runs through the whole sweep machinery.

The toy system is a population of particles doing gradient descent on the potential
``U(x) = -log sum_k exp(-(x - mu_k)^2 / 2)`` of a 1-D mixture with modes at ``MEANS``; each particle
rolls into the basin it starts in, so a population started uniformly over the modes keeps them all.
It is swept (settings x seeds, vmapped), chunked, checkpointed, interrupted, resumed, tabled,
saved and loaded, with nothing in the engine knowing what it is.
"""
import dataclasses
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import Experiment, SweepResult, run_sweep
from mcjax._validation import ConfigError
from mcjax.core.system import System, SystemConfig, check_system, config_from_dict, register_config
from mcjax.core.sweep import Interrupted

MEANS = (-6.0, -2.0, 2.0, 6.0)


class ToyState(NamedTuple):
    x: jax.Array  # [P] particle positions
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def potential_grad(x):
    """dU/dx for unit-variance modes at MEANS: sum_k w_k(x) (x - mu_k), w the softmax responsibilities."""
    mu = jnp.asarray(MEANS)
    w = jax.nn.softmax(-0.5 * (x[:, None] - mu[None, :]) ** 2, axis=1)
    return jnp.sum(w * (x[:, None] - mu[None, :]), axis=1)


@register_config
@dataclasses.dataclass(frozen=True)
class ToyConfig:
    system: ClassVar[str] = "toy-gd"
    particles: int = 32
    steps: int = 40
    log_every: int = 10
    keep_samples: int = 8

    @property
    def n_logs(self):
        return self.steps // self.log_every

    def default_hparams(self):
        return {"lr": 0.1}

    def describe(self):
        return {"name": "line", "n_modes": len(MEANS), "means": list(MEANS)}

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)

    def make_system(self):
        return make_toy(self)


def toy_stats(x):
    mu = jnp.asarray(MEANS)
    x = jnp.nan_to_num(x, nan=1e30)
    idx = jnp.argmin(jnp.abs(x[:, None] - mu[None, :]), axis=1)
    hq = jnp.abs(x - mu[idx]) < 3.0
    counts = jnp.sum(jax.nn.one_hot(idx, len(MEANS)) * hq[:, None], axis=0)
    p = counts / jnp.maximum(jnp.sum(counts), 1.0)
    kl = jnp.log(len(MEANS)) + jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
    return {"modes_covered": jnp.sum(counts > 0).astype(jnp.int32),
            "hq_fraction": jnp.mean(hq.astype(jnp.float32)), "reverse_kl": kl}


def make_toy(cfg):
    def init(hp, key):
        x = jax.random.uniform(key, (cfg.particles,), minval=-8.0, maxval=8.0)
        return ToyState(x, jnp.zeros((), jnp.int32), jnp.zeros((), bool), jnp.full((), -1, jnp.int32))

    def one_step(hp, s):
        x = s.x - hp["lr"] * potential_grad(s.x)
        ok = jnp.all(jnp.isfinite(x)) & ~s.diverged
        bad = ~ok & ~s.diverged
        return ToyState(jnp.where(ok, x, s.x), s.step + 1, s.diverged | bad,
                        jnp.where(bad, s.step, s.diverged_step))

    def evaluate(s):
        return toy_stats(s.x), s.x[:, None]

    def advance(hp, s, n_logs):
        def interval(s, _):
            s = jax.lax.fori_loop(0, cfg.log_every, lambda i, s: one_step(hp, s), s)
            return s, dict(evaluate(s)[0], step=s.step, diverged=s.diverged)
        return jax.lax.scan(interval, s, None, length=n_logs)

    return System(init, advance, evaluate)


def _settings(*lrs):
    return {"lr": jnp.asarray(lrs, jnp.float32)}


def test_toy_satisfies_the_contract():
    assert isinstance(ToyConfig(), SystemConfig)
    check_system(ToyConfig().make_system(), ToyConfig().default_hparams())


def test_contract_violations_are_named():
    toy = ToyConfig().make_system()
    no_flag = System(lambda hp, k: {"x": jnp.zeros(3)}, toy.advance, toy.evaluate)
    with pytest.raises(ConfigError, match="diverged"):
        check_system(no_flag, ToyConfig().default_hparams())
    no_step = System(toy.init, lambda hp, s, n: (s, {"m": jnp.zeros((n,))}), toy.evaluate)
    with pytest.raises(ConfigError, match="'step'"):
        check_system(no_step, ToyConfig().default_hparams())


def test_toy_sweep_equals_numpy_gradient_descent():
    cfg = ToyConfig()
    seeds = [3, 4, 5]
    r = run_sweep([Experiment("gd", cfg, _settings(0.1, 0.5), ("lr=0.1", "lr=0.5"))], seeds,
                  progress=False, max_chunks=2)["gd"]
    assert r.history["modes_covered"].shape == (2, 3, cfg.n_logs)
    np.testing.assert_array_equal(r.log_steps, [10, 20, 30, 40])
    init = jax.jit(cfg.make_system().init)
    for s, lr in enumerate((0.1, 0.5)):
        for n, seed in enumerate(seeds):
            x = np.asarray(init({"lr": jnp.float32(lr)}, jax.random.key(seed)).x, np.float64)
            mu = np.asarray(MEANS)
            for _ in range(cfg.steps):  # the same descent in float64 NumPy
                w = np.exp(-0.5 * (x[:, None] - mu) ** 2)
                w /= w.sum(axis=1, keepdims=True)
                x = x - lr * np.sum(w * (x[:, None] - mu), axis=1)
            # float32 descent vs float64: 40 contracting steps keep the gap near float32 epsilon
            np.testing.assert_allclose(r.samples[s, n, :, 0], x[: cfg.keep_samples], atol=1e-4)
    # every particle ends in its own basin: all four modes kept, at every seed
    np.testing.assert_array_equal(r.final("modes_covered"), 4)
    assert not r.diverged.any()


def test_toy_divergence_is_isolated():
    r = run_sweep([Experiment("gd", ToyConfig(), _settings(0.1, 1e38), ("ok", "huge"))], [0, 1],
                  progress=False)["gd"]
    np.testing.assert_array_equal(r.diverged, [[False, False], [True, True]])
    assert np.all((r.diverged_step[1] >= 0) & (r.diverged_step[1] < 2))  # x ~ 1e39 overflows early
    assert np.all(np.isfinite(r.samples))  # frozen at its last finite state
    np.testing.assert_array_equal(r.final("modes_covered")[0], 4)


def test_toy_checkpoint_interrupt_resume_table_save_load(tmp_path):
    cfg = ToyConfig()
    exp = [Experiment("gd", cfg, _settings(0.1, 0.3), ("lr=0.1", "lr=0.3"))]
    whole = run_sweep(exp, [0, 1], progress=False, max_chunks=4)
    ckpt = str(tmp_path / "ckpt")
    with pytest.raises(Interrupted):
        run_sweep(exp, [0, 1], progress=False, max_chunks=4, checkpoint_dir=ckpt, stop=lambda: True)
    resumed = run_sweep(exp, [0, 1], progress=False, max_chunks=4, checkpoint_dir=ckpt, resume=True)
    for k in whole["gd"].history:  # the same programs, the state restored exactly: bitwise
        np.testing.assert_array_equal(whole["gd"].history[k], resumed["gd"].history[k], err_msg=k)
    np.testing.assert_array_equal(whole["gd"].samples, resumed["gd"].samples)

    table = resumed.table()
    assert "gd[lr=0.1] | 4 (4-4) of 4" in table and "gd[lr=0.3] | 4 (4-4) of 4" in table
    resumed.save(str(tmp_path / "out"))
    loaded = SweepResult.load(str(tmp_path / "out"))
    assert loaded["gd"].config == cfg and loaded["gd"].target == cfg.describe()
    assert loaded.table() == table
    assert config_from_dict(cfg.to_dict(), "toy-gd") == cfg


def test_a_builtin_system_config_loads_in_a_fresh_process():
    """``config_from_dict`` imports the registry's built-in systems when the system is not yet
    known, so ``SweepResult.load`` of e.g. a VAE sweep works without importing its package."""
    import json
    import subprocess
    import sys

    from mcjax.systems.vae.config import VAEConfig

    d = json.dumps(VAEConfig().to_dict())
    code = ("import json, sys; from mcjax.core.system import config_from_dict; "
            "c = config_from_dict(json.loads(sys.argv[1]), 'vae'); print(type(c).__name__, c.system)")
    out = subprocess.run([sys.executable, "-c", code, d], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["VAEConfig", "vae"]
    with pytest.raises(ConfigError, match="unknown system .no-such-system.; allowed: gan, "):
        config_from_dict({}, "no-such-system")
