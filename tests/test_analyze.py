"""`mcjax analyze`: the final states' dynamics, restored from checkpoints, equal a direct computation."""
import json

import jax
import numpy as np

from mcjax import SweepResult, make_hparams
from mcjax.cli import main
from mcjax.systems.gan.engine import make_trainer


def test_analyze_matches_direct_computation(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["sweep", "--steps", "20", "--log-every", "10", "--seeds", "2", "--width", "8", "--depth", "1",
            "--batch-size", "16", "--latent-dim", "2", "--eval-samples", "100", "--remedy", "gan",
            "--no-progress", "--no-figures", "--no-cache", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rotation_index" in printed and "gan" in printed
    data = json.loads((out / "analysis.json").read_text())["gan"]
    assert (out / "dynamics.png").stat().st_size > 0

    g = SweepResult.load(str(out))["gan"]
    trainer = make_trainer(g.config)
    hp = make_hparams()
    for n, seed in enumerate(g.seeds):
        state, _ = jax.jit(trainer.train)(hp, jax.random.key(int(seed)))
        direct = jax.jit(trainer.dynamics)(hp, state)
        # restored state is bitwise the trained one; vmapped vs single evaluation differ by float
        # reassociation only
        np.testing.assert_allclose(data["rotation_index"][0][n], float(direct["rotation_index"]), rtol=1e-3)
        np.testing.assert_allclose(data["grad_norm"][0][n], float(direct["grad_norm"]), rtol=1e-3)
    assert data["modes_covered"] == g.final("modes_covered").tolist()


def test_analyze_without_checkpoints(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no complete mcjax result" in capsys.readouterr().err
