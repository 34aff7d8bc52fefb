"""Study 3 (diversity against fidelity): the trade-off summaries against NumPy and hand-made
curves, and experiments/diversity_fidelity.py at its smoke size (one program per remedy)."""
import importlib.util
import json
import math
import os

import numpy as np
import pytest

from mcjax._validation import ConfigError
from mcjax.analysis.tradeoff import (Summary, TradeoffPoint, exchange_rates, knee, seed_summary,
                                     weight_sweep)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    spec = importlib.util.spec_from_file_location(
        "diversity_fidelity", os.path.join(ROOT, "experiments", "diversity_fidelity.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    mod = _script()
    out = tmp_path_factory.mktemp("df")
    return mod, mod.main(["--smoke", "--out", str(out), "--no-figures"]), out


def test_smoke_has_one_row_per_weight_with_values_in_range(smoke):
    mod, res, out = smoke
    rows = res["rows"]
    assert [(r["remedy"], r["weight"]) for r in rows] == \
        [(rem, float(np.float32(w))) for rem in mod.REMEDIES for w in mod.WEIGHTS]  # trained in float32
    for r in rows:
        assert r["seeds"] == mod.SMOKE["seeds"] and 0 <= r["diverged"] <= r["seeds"]
        if r["diverged"] < r["seeds"]:
            assert 0 <= r["modes_covered_q1"] <= r["modes_covered_median"] <= r["modes_covered_q3"] <= 8
            assert 0 <= r["hq_fraction_median"] <= 1
            assert 0 <= r["reverse_kl_median"] <= math.log(8) + 1e-6  # float32 log K
    assert sum(r["knee"] for r in rows) == len(mod.REMEDIES)  # one knee per curve
    with open(out / "tradeoff.json") as f:
        assert json.load(f)["rows"][0]["remedy"] == "entropy"


def test_each_remedy_is_one_program_and_new_weights_do_not_recompile(smoke):
    mod, res, _ = smoke
    for remedy in mod.REMEDIES:
        assert res["programs"][remedy]["experiments"] == 1
        assert res["programs"][remedy]["settings_per_program"] == len(mod.WEIGHTS)
    from mcjax.core.sweep import compiled_programs, run_sweep

    before = compiled_programs.cache_info().misses
    other = [0.0, 0.02, 0.05, 0.2, 0.5, 2.0, 5.0, 20.0]  # other values, same count of runs
    result = run_sweep(weight_sweep("msgan", other, **mod.SMOKE).experiments(), mod.SMOKE["seeds"],
                       progress=False)
    assert compiled_programs.cache_info().misses == before
    np.testing.assert_array_equal(result.groups[0].hparams["ms_weight"], np.float32(other))


def test_seed_summary_matches_numpy():
    x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]
    s = seed_summary(x)
    assert s.n == 6 and s.median == 3.5 and s.min == 1.0 and s.max == 9.0
    assert (s.q1, s.q3) == tuple(np.percentile(x, [25, 75]))
    assert s.se == pytest.approx(np.std(x, ddof=1) / math.sqrt(6), rel=1e-12)  # float64 rounding
    assert seed_summary([2.0]).se == 0.0 and seed_summary([]).n == 0


def test_knee_and_exchange_rate_on_hand_made_curves():
    # rescaled points (0,0) (.25,.75) (.5,.875) (.75,.95) (1,1): farthest from the diagonal is #1
    assert knee([0, 1, 2, 3, 4], [0, 3, 3.5, 3.8, 4]) == 1
    assert knee([0, 1, 2], [0, 1, 2]) == 0  # a straight line has no knee: every distance is 0
    assert knee([0, 1], [0, 5]) == 0

    def point(w, modes, hq):
        st = lambda v: Summary(4, v, v, v, v, 0.0, v, v)
        return TradeoffPoint("entropy", w, 0, 4, {"modes_covered": st(modes), "hq_fraction": st(hq),
                                                  "reverse_kl": st(0.0)})

    rates = exchange_rates([point(0, 3.0, 0.50), point(1, 5.0, 0.40), point(2, 3.0, 0.60)])
    assert rates[0] != rates[0] and rates[2] != rates[2]  # NaN: HQ did not fall
    assert rates[1] == pytest.approx(2.0 / 10.0, rel=1e-9)  # 2 modes for 10 HQ points; float rounding


def test_bad_weights_and_remedies_are_one_line_errors():
    with pytest.raises(ConfigError, match="weights must be >= 0"):
        weight_sweep("entropy", [0.0, -1.0])
    with pytest.raises(ConfigError, match="at least 2 weights"):
        weight_sweep("entropy", [1.0])
    with pytest.raises(ConfigError, match="weight"):  # the plain GAN has no weight to sweep
        weight_sweep("gan", [0.0, 1.0])
