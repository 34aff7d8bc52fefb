"""`mcjax analyze`: the final states' dynamics, restored from checkpoints, equal a direct computation."""
import json

import jax
import numpy as np

from mcjax import SweepResult, make_hparams
from mcjax.cli import main
from mcjax.systems.gan.engine import make_trainer

TINY_SWEEP = ["--steps", "20", "--log-every", "10", "--seeds", "2", "--width", "8", "--depth", "1",
              "--batch-size", "16", "--latent-dim", "2", "--eval-samples", "100", "--remedy", "gan",
              "--no-progress", "--no-figures", "--no-cache"]


def test_analyze_matches_direct_computation(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["sweep", *TINY_SWEEP, "--out", str(out)]
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


def test_analyze_reads_a_sweep_saved_before_an_hparams_field_existed(tmp_path, capsys):
    import io

    out = tmp_path / "o"
    args = ["sweep", *TINY_SWEEP, "--out", str(out)]
    assert main(args) == 0
    assert main(["analyze", str(out)]) == 0
    want = json.loads((out / "analysis.json").read_text())["gan"]
    # the files as an older mcjax wrote them: no ema_decay hyperparameter anywhere
    with np.load(out / "results.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "gan/hparams/ema_decay"}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (out / "results.npz").write_bytes(buf.getvalue())
    meta = json.loads((out / "config.json").read_text())
    del meta["groups"][0]["hparams"]["ema_decay"]
    (out / "config.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["analyze", str(out)]) == 0  # the missing field takes its default, what it trained with
    got = json.loads((out / "analysis.json").read_text())["gan"]
    assert got["rotation_index"] == want["rotation_index"] and got["grad_norm"] == want["grad_norm"]
