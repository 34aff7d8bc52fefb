"""The pre-registered collapse-prediction analysis (mcjax.analysis.study) and the GAN's per-run
features (mcjax.systems.gan.collapse_features), on synthetic features and a tiny logged sweep."""
import jax
import numpy as np
import pytest

from mcjax._validation import ConfigError
from mcjax.analysis.collapse import mode_hopping
from mcjax.analysis.prediction import auc
from mcjax.analysis.study import prediction_study

N = 240
GROUPS = {"covered": "coverage", "signal": "flux", "mirror": "critic", "noise": "stretch"}


def _synthetic(seed=0):
    rng = np.random.default_rng(seed)
    collapsed = rng.random(N) < 0.5
    latent = rng.normal(size=(N, 2)) + 1.5 * collapsed[:, None]
    features = {
        "covered": rng.normal(size=(N, 2)),  # coverage says nothing here
        "signal": latent,  # higher = collapsed
        "mirror": -latent + 0.1 * rng.normal(size=(N, 2)),  # lower = collapsed
        "noise": rng.normal(size=(N, 2)),
    }
    outcome = np.where(collapsed, 5.0, 8.0) + rng.normal(size=N)
    return features, collapsed, outcome


def test_study_finds_the_signal_in_both_directions_and_not_the_noise():
    features, collapsed, outcome = _synthetic()
    rep = prediction_study(features, collapsed, outcome, (0.1, 0.25), GROUPS, n_boot=300,
                           n_perm=400)
    row = {(r.feature, r.time): r for r in rep.features}
    assert rep.n_fit == rep.n_test == N // 2
    assert rep.test_collapsed == int(collapsed[1::2].sum())
    for t in (0.1, 0.25):
        s, m, n = row["signal", t], row["mirror", t], row["noise", t]
        assert s.direction == 1 and m.direction == -1  # chosen on the fit half
        # the reported AUC is the test half's, oriented: recomputed here from the odd positions
        j = (0.1, 0.25).index(t)
        assert s.auc == pytest.approx(auc(features["signal"][1::2, j], collapsed[1::2]), abs=1e-12)
        assert s.auc > 0.8 and m.auc > 0.8 and s.p_holm < 0.05 and m.p_holm < 0.05
        assert s.low < s.auc < s.high
        assert n.p_holm > 0.05 and s.rho < -0.3  # more collapse, fewer modes
    # Holm: no adjusted p-value below its raw one, all from one family of 8 + 2
    assert all(r.p_holm >= r.p_value for r in rep.features)
    assert len(rep.features) == 8 and len(rep.gains) == 2
    # coverage alone is noise, all features carry the signal: a clear held-out gain
    for g in rep.gains:
        assert g.gain > 0.2 and g.low > 0 and g.p_holm < 0.05 and g.n_features == 4
    assert rep.best().feature in ("signal", "mirror")
    assert 0.5 < rep.detectable < rep.detectable_holm < 1.0
    assert "held-out AUC" in rep.table() and "gain" in rep.table()
    # the report survives a JSON round trip
    import json

    again = type(rep).from_dict(json.loads(json.dumps(rep.to_dict())))
    assert again == rep


def test_study_skips_non_finite_features_and_refuses_one_class():
    features, collapsed, outcome = _synthetic(1)
    features["broken"] = np.full((N, 2), np.nan)
    rep = prediction_study(features, collapsed, outcome, (0.1, 0.25), dict(GROUPS, broken="critic"),
                           n_boot=50, n_perm=50)
    assert rep.skipped == ["broken"] and all(r.feature != "broken" for r in rep.features)
    with pytest.raises(ConfigError, match="one class only"):
        prediction_study(features, np.ones(N, bool), outcome, (0.1, 0.25), GROUPS)
    with pytest.raises(ConfigError, match="shape"):
        prediction_study({"covered": np.zeros((N, 3))}, collapsed, outcome, (0.1, 0.25), GROUPS)


@pytest.fixture(scope="module")
def tiny_sweep():
    from mcjax.core.sweep import Experiment, run_sweep
    from mcjax.systems.gan.config import Config, make_hparams, stack_hparams

    cfg = Config(steps=60, log_every=10, width=8, depth=1, batch_size=32, eval_samples=200,
                 keep_samples=8, log_collapse=True)
    hp = stack_hparams([make_hparams(), make_hparams(lr_d=3e-4)])
    return run_sweep([Experiment("gan", cfg, hp, ("a", "b"))], 3, progress=False).groups[0]


def test_features_and_outcome_are_the_logged_history_at_the_asked_times(tiny_sweep):
    from mcjax.systems.gan.collapse_features import collapse_outcome, log_index, run_features

    g = tiny_sweep
    assert [log_index(g, f) for f in (0.05, 1 / 6, 0.25, 0.5, 1.0)] == [0, 0, 0, 2, 5]
    feats = run_features(g, (0.25, 0.5))
    h = g.history
    np.testing.assert_array_equal(feats["modes_covered"][..., 1], h["modes_covered"][:, :, 2])
    np.testing.assert_array_equal(feats["between_modes"][..., 0], 1 - h["hq_fraction"][:, :, 0])
    missing = h["mode_counts"][:, :, 2] == 0
    np.testing.assert_allclose(feats["flux_uncovered"][..., 1],
                               np.sum(np.where(missing, h["mode_flux"][:, :, 2], 0), -1),
                               rtol=1e-6, atol=1e-8)  # float64 vs float32 sums of O(1e-3) fluxes
    hop = mode_hopping(h["mode_counts"][1, 2, :3])
    assert feats["hops"][1, 2, 1] == hop.changes
    assert "rotation_index" not in feats  # not logged without log_dynamics
    outcome, collapsed = collapse_outcome(g, last=0.2)  # logs at steps 50 and 60
    np.testing.assert_allclose(outcome, h["modes_covered"][:, :, 4:].mean(-1))
    np.testing.assert_array_equal(collapsed, outcome < 8)
    with pytest.raises(ConfigError, match="shares of training"):
        run_features(g, (0.0,))


def test_replay_gives_the_sweeps_run_at_a_logged_step(tiny_sweep):
    from mcjax.core.sweep import replay
    from mcjax.systems.gan.engine import make_trainer

    g = tiny_sweep
    hp, state = replay(g, 1, 2, 3)
    assert int(state.step) == 30
    stats, _ = jax.jit(make_trainer(g.config).evaluate)(state)
    # one run alone vs vmapped over six: float reassociation may move a sample across the HQ
    # radius, one sample in 200 at most here
    assert float(stats["hq_fraction"]) == pytest.approx(g.history["hq_fraction"][1, 2, 2], abs=1e-2)
    with pytest.raises(ConfigError, match="seed"):
        replay(g, 0, 99, 1)
    with pytest.raises(ConfigError, match="n_logs"):
        replay(g, 0, 0, 7)
