"""experiments/collapse_across_fields.py at its smoke size: the three fields' neutral drift
against the exact curves, and each field's remedies."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import collapse_across_fields as script
    finally:
        sys.path.pop(0)
    return script


def test_smoke_three_fields_agree_with_the_closed_forms(tmp_path):
    out = _script().main(["--smoke", "--out", str(tmp_path)])
    assert [r[0] for r in out["rows"]] == ["wright-fisher", "ga (roulette)", "particles (multinomial)"]
    exact = out["data"]["exact_mean_fixation"]
    for name in ("wright-fisher", "ga (roulette)", "particles (multinomial)"):
        c = out["data"][name]
        assert c["runs"] == 300 and c["h_max_z"] < 4.5  # 4.5 SE over the generations compared
        assert c["ks"] < c["ks_crit"]  # Kolmogorov distance to the exact fixation-time CDF, 5 %
        assert abs(c["mean_fixation"] - exact) < 4.5 * c["mean_fixation_se"]
    finals = out["data"]["remedies_final_D2_median"]
    ga = finals["genetic algorithm (N = 100, 5 peaks)"]
    assert ga["sharing"] > 4 > ga["none"]  # sharing keeps the five peaks, plain roulette does not
    particles = finals["particles, equal weights (N = 100, 9 types)"]
    assert particles["systematic"] == pytest.approx(1 / (8 * 0.12 ** 2 + 0.04 ** 2), rel=1e-5)
    assert particles["multinomial"] < 4  # multinomial resampling drifts; the others never do
    assert sorted(os.path.basename(f) for f in out["figures"]) == ["identity.png", "remedies.png"]
    assert os.path.exists(tmp_path / "identity.md")


def test_bad_seeds_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _script().main(["--seeds", "1", "--out", str(tmp_path / "x")])
    assert e.value.code == 2 and "--seeds must be >= 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
