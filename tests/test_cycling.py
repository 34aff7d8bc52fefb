"""Mode cycling (mcjax.analysis.cycling): hop, dwell and class definitions on hand-made occupancy
sequences with known answers; the critic trace against the engine's own history; the study's smoke."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import Config, make_hparams, make_train
from mcjax._validation import ConfigError
from mcjax.analysis.cycling import (chase_windows, classify_runs, find_hops, occupied,
                                    trace_critic_at_modes)

A, B, AB, NONE = [10, 0, 0], [0, 10, 0], [5, 5, 0], [0, 0, 0]


def test_occupied_uses_the_share_of_hq_samples_and_is_empty_without_any():
    c = np.array([[95, 5, 0], [96, 4, 0], NONE])
    np.testing.assert_array_equal(occupied(c, 0.05), [[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    with pytest.raises(ConfigError, match="share"):
        occupied(c, 0.0)


def test_hops_dwell_and_censoring_on_a_known_sequence():
    # A A A B B AB AB AB : hops at 3 (A -> B, a swap) and 5 (B -> AB, a gain)
    h = find_hops(np.array([A, A, A, B, B, AB, AB, AB]), 0.25, 2)
    assert h.times == (3, 5)
    assert h.exits == ((0,), ()) and h.entries == ((1,), (0,))
    assert h.dwell == ((0, 3), (3, 2)) and h.censored == (5, 3)
    np.testing.assert_array_equal(h.accepted[4], [0, 1, 0])


def test_flicker_shorter_than_min_dwell_is_not_a_hop():
    seq = np.array([A, A, B, A, A, A])  # one-log excursion to B
    h2 = find_hops(seq, 0.25, 2)
    assert h2.times == () and h2.censored == (0, 6)
    np.testing.assert_array_equal(h2.accepted[2], [1, 0, 0])  # the flicker keeps the set A
    h1 = find_hops(seq, 0.25, 1)
    assert h1.times == (2, 3) and h1.dwell == ((0, 2), (2, 1))
    # a flicker back to the same set between two accepted runs: still one set, no hop
    assert find_hops(np.array([A, A, NONE, A, A]), 0.25, 2).times == ()


def test_before_the_first_accepted_run_nothing_is_accepted():
    h = find_hops(np.array([B, A, A, A]), 0.25, 2)
    assert h.times == () and h.censored == (1, 3)
    assert not h.accepted[0].any()


def test_classes_count_hops_after_burn_in_only():
    hopper = find_hops(np.array([A, A, B, B, A, A, B, B]), 0.25, 2)  # hops at 2, 4, 6
    mover = find_hops(np.array([A, A, A, A, A, A, B, B]), 0.25, 2)   # one hop at 6
    settler = find_hops(np.array([A, A, B, B, B, B, B, B]), 0.25, 2)  # hop at 2 only
    got = classify_runs([hopper, mover, settler], 8, burn_in=0.5, min_hops=2)
    assert got.tolist() == ["hopper", "mover", "settler"]  # burn-in: logs >= 4 count
    assert classify_runs([settler], 8, burn_in=0.0).tolist() == ["mover"]


def test_chase_windows_align_on_the_hop_and_pad_with_nan():
    # D_t(mode k) = 10 t + k; modes 0 and 1 occupied, then mode 0 left at log 2
    critic = (10.0 * np.arange(4)[:, None] + np.arange(3)[None, :])[None]
    h = find_hops(np.array([AB, AB, B, B]), 0.25, 1)
    left, kept = chase_windows(critic, [h], 2)
    np.testing.assert_array_equal(left, [[0.0, 10.0, 20.0, 30.0, np.nan]])
    np.testing.assert_array_equal(kept, [[1.0, 11.0, 21.0, 31.0, np.nan]])
    assert chase_windows(critic, [h], 2, t0=3)[0].shape == (0, 5)  # burn-in past the hop


def test_critic_trace_equals_the_engines_history_and_its_critic():
    cfg = Config(width=8, depth=1, latent_dim=2, batch_size=16, steps=20, log_every=10,
                 eval_samples=64, keep_samples=8)
    trace = trace_critic_at_modes(cfg, {}, [3])
    _, hist = jax.jit(make_train(cfg))(make_hparams(), jax.random.key(3))
    # the same program, interval by interval: equal bit for bit on one CPU
    np.testing.assert_array_equal(trace.mode_counts[0], np.asarray(hist["mode_counts"]))
    np.testing.assert_array_equal(trace.steps, [10, 20])
    from mcjax.systems.gan.engine import make_trainer

    tr = make_trainer(cfg)
    state, _ = jax.jit(lambda k: tr.advance(make_hparams(), tr.init(make_hparams(), k), 2))(
        jax.random.key(3))
    centres = jnp.asarray(cfg.make_target().means)
    # same arithmetic, possibly fused differently under jit/vmap: float32 rounding only
    np.testing.assert_allclose(trace.critic[0, -1], tr.critic_logits(state.d_params)(centres),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="pack=1"):
        trace_critic_at_modes(cfg.replace(pack=2), {}, [0])


def test_mode_cycling_smoke(tmp_path):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "experiments", "mode_cycling.py")
    spec = importlib.util.spec_from_file_location("mode_cycling", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    s = mod.main(["--smoke", "--out", str(tmp_path)])
    assert s["seeds"] == 8 and sum(s["classes"].values()) == 8 - s["diverged"]
    assert s["steps"] == 200 and s["n_logs"] == 20 and s["burn_in_log"] == 5
    n_hops = sum(s["hop_kinds"].values())
    # every run's hops after burn-in are one of swap / loss / gain
    assert n_hops == pytest.approx(s["hops_mean"] * (8 - s["diverged"]))
    assert 0 <= s["final_modes_min"] <= s["final_modes_mean"] <= s["final_modes_max"] <= 8
    trace = np.load(tmp_path / "trace.npz")
    assert trace["critic"].shape == (8, 20, 8) and np.isfinite(trace["critic"]).all()
    hq = trace["mode_counts"].sum(-1)
    assert (hq <= 256).all() and hq[:, -1].max() > 0  # at most eval_samples HQ points, some late
    for name in ("occupancy", "hops", "chase"):
        assert os.path.getsize(tmp_path / f"study1_{name}.png") > 5000
