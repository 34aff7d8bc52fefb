"""experiments/generation_collapse.py at its smoke size: decoding against beam width, the
linear VAE's remedies and recursive training, with their closed forms."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import generation_collapse as script
    finally:
        sys.path.pop(0)
    return script


def test_smoke_tables_and_closed_forms(tmp_path):
    out = _script().main(["--smoke", "--out", str(tmp_path)])
    found = out["decoding"]["found"]
    assert [w for w, *_ in found["beam (concentration 0)"]] == [1, 4]
    # beam search on uniform chains: every output has the prior's top topic, in every seed
    assert all(mean == 1.0 and se == 0.0 for _, _, mean, se in found["beam (concentration 0)"])
    # diverse beam with G = B = 4 and lambda = 1 > log 2 leaves topic 1 from the first group on
    assert found["diverse-beam (concentration 0)"][1][2] >= 2
    assert out["decoding"]["exact"]["sample"][1] == pytest.approx(2.4958, abs=1e-3)  # sum 1-(1-pi)^4
    rows = out["vae"]["rows"]
    assert rows["vae"]["active"] == 2 and rows["beta"]["active"] == 3  # lambda_j > beta sigma^2
    assert rows["free-bits"]["active"] == 4  # every latent held at its KL floor
    assert out["vae"]["exact"]["vae"][0] == 2 and out["vae"]["exact"]["beta (0.4)"][0] == 3
    closed = {name: exact for name, _, exact in out["recursive"]["closed"]}
    assert closed["gaussian: variance / sigma_0^2, M = 20"] == pytest.approx([0.95**10, 0.95**20])
    assert closed["weights: H, alpha = 0, M = 20"] == pytest.approx([0.875 * 0.95**10, 0.875 * 0.95**20])
    modes = out["recursive"]["modes"]
    assert modes["weights, alpha = 0, M = 20"][-1][0] < 8  # M = 20: modes lost by generation 20
    assert modes["weights, alpha = 0.1, M = 100"][-1][1] == 1.0  # 10 real points a generation
    assert sorted(os.path.basename(f) for f in out["figures"]) == [
        "decoding_width.png", "generation_recursive.png", "vae_training.png"]


def test_bad_seeds_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _script().main(["--seeds", "0", "--out", str(tmp_path / "x")])
    assert e.value.code == 2 and "--seeds must be >= 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
