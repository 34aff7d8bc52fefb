"""Study 5 (optimizers): the tuning criterion and the tied-rate program against hand-made inputs,
and experiments/optimizers.py at its smoke size."""
import importlib.util
import os
import sys

import numpy as np
import pytest

from mcjax import RunSpec
from mcjax._validation import ConfigError
from mcjax.analysis.tuning import check_optimizer, pick_step_size, tied_lr_experiment, tuning_scores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    spec = importlib.util.spec_from_file_location(
        "optimizer_study", os.path.join(ROOT, "experiments", "optimizers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("opt")
    return mod, mod.main(["--smoke", "--out", str(out)]), out


def test_smoke_tunes_then_reports_one_row_per_optimizer(smoke):
    mod, res, out = smoke
    assert list(res["tuning"]) == list(mod.SMOKE_OPTIMIZERS)
    for opt, rows in res["tuning"].items():
        assert [r["lr"] for r in rows] == list(mod.LRS[opt][::2])
        chosen = [r for r in rows if r["chosen"]]
        assert len(chosen) == 1
        # the chosen rate is the argmax of the stated criterion (the mean score)
        assert chosen[0]["score_mean"] == max(r["score_mean"] for r in rows)
        assert all(0 <= r["score_mean"] <= 1 for r in rows)
    assert [r["optimizer"] for r in res["finals"]] == list(mod.SMOKE_OPTIMIZERS)
    for r, opt in zip(res["finals"], mod.SMOKE_OPTIMIZERS):
        assert r["lr"] == next(t["lr"] for t in res["tuning"][opt] if t["chosen"])
        assert r["seeds"] == 3 * mod.SMOKE_TUNE_SEEDS and len(r["modes_per_seed"]) == r["seeds"]
        assert all(0 <= m <= 25 for m in r["modes_per_seed"])
        if r["diverged"] < r["seeds"]:
            assert r["modes_covered"]["min"] <= r["modes_covered"]["median"] <= r["modes_covered"]["max"]
            assert 0 <= r["hq_fraction"]["mean"] <= 1 and np.isfinite(r["reverse_kl"]["mean"])
    assert os.path.exists(out / "modes_by_optimizer.png") and os.path.exists(out / "optimizers.md")


def test_pick_step_size_takes_the_highest_mean_and_the_smaller_rate_on_ties():
    lrs = [1e-3, 3e-3, 1e-4]
    scores = np.array([[0.1, 0.2], [0.3, 0.1], [0.2, 0.2]])  # means 0.15, 0.2, 0.2
    assert pick_step_size(lrs, scores) == 2
    assert pick_step_size(lrs, scores[[0, 1, 0]]) == 1
    with pytest.raises(ConfigError, match="one row per learning rate"):
        pick_step_size(lrs, scores[:2])


def test_tuning_score_is_coverage_times_quality_and_zero_when_diverged():
    s = tuning_scores([25, 5, 10], [0.02, 0.5, 0.9], [False, False, True], 25)
    np.testing.assert_allclose(s, [0.02, 0.1, 0.0], rtol=1e-12)  # float64 rounding only


def test_tied_rates_are_one_program_with_equal_player_steps():
    spec = RunSpec(target="grid", remedy=("gan",), optimizer="sgd", steps=20, log_every=10)
    exp = tied_lr_experiment(spec, [1e-3, 1e-2], label="sgd")
    assert exp.label == "sgd" and exp.setting_labels == ("lr=0.001", "lr=0.01")
    np.testing.assert_array_equal(exp.hparams.lr_g, np.float32([1e-3, 1e-2]))
    np.testing.assert_array_equal(exp.hparams.lr_d, exp.hparams.lr_g)
    np.testing.assert_array_equal(exp.hparams.beta1, np.float32([0.5, 0.5]))  # defaults kept
    with pytest.raises(ConfigError, match="distinct positive"):
        tied_lr_experiment(spec, [1e-3, -1.0])
    with pytest.raises(ConfigError, match="one remedy"):
        tied_lr_experiment(RunSpec(remedy=("gan", "r1")), [1e-3])


def test_optimizer_names_and_the_missing_kron_extra(monkeypatch):
    with pytest.raises(ConfigError, match="allowed: adam, rmsprop, sgd, muon, kron"):
        check_optimizer("shampoo")
    monkeypatch.setitem(sys.modules, "psgd_jax", None)  # makes `import psgd_jax...` fail
    monkeypatch.setitem(sys.modules, "psgd_jax.kron", None)
    with pytest.raises(ConfigError, match=r'mcjax\[kron\]'):
        check_optimizer("kron")
