"""Per-chunk metrics writers (``mcjax.core.writers``) and the ``on_chunk`` report they read."""
import glob
import struct
import sys
import types

import numpy as np
import pytest

from mcjax import RunSpec, run
from mcjax.cli import main
from mcjax.core.sweep import ChunkReport
from mcjax.core.writers import TensorBoardWriter, WandbWriter, chunk_scalars

TINY = RunSpec(remedy=("gan",), seeds=3, steps=30, log_every=10, width=8, depth=1, batch_size=16,
               latent_dim=4, eval_samples=100, keep_samples=7)
SMALL = ["--steps", "30", "--log-every", "10", "--seeds", "3", "--width", "8", "--depth", "1",
         "--batch-size", "16", "--latent-dim", "4", "--eval-samples", "100", "--no-progress",
         "--no-figures", "--no-cache", "--remedy", "gan"]


def _report():
    """2 settings x 3 seeds, 4 logs so far of which the chunk added the last 2."""
    loss = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    loss[1, 0, 3] = np.nan
    return ChunkReport("gan", 0, ("w=1", "w=2"), (0, 1, 2), 2, 2, np.array([10, 20, 30, 40]), 2,
                       {"d_loss": loss, "mode_counts": np.ones((2, 3, 4, 8))})


def test_chunk_scalars_are_the_new_logs_medians_and_runs():
    got = {(tag, step): v for tag, step, v in chunk_scalars(_report(), per_run=True)}
    loss = _report().history["d_loss"]
    assert {step for _, step in got} == {30, 40}  # only the logs this chunk added
    assert got[("gan[w=1]/d_loss", 30)] == np.median(loss[0, :, 2])
    assert got[("gan[w=2]/d_loss", 40)] == np.median([loss[1, 1, 3], loss[1, 2, 3]])  # NaN left out
    assert np.isnan(got[("gan[w=2]/d_loss/seed0", 40)])
    assert got[("gan[w=1]/d_loss/seed2", 30)] == loss[0, 2, 2]
    assert not any("mode_counts" in tag for tag, _ in got)  # vectors go to metrics.csv
    assert len(got) == 2 * 2 * (1 + 3)  # settings x new logs x (median + 3 runs)


def _events(folder):
    """``(tag, step, value)`` of every scalar in a TensorBoard folder: TFRecord frames (length,
    crc, data, crc) of ``Event`` protos."""
    from tensorboardX.proto import event_pb2

    out = []
    for path in glob.glob(f"{folder}/events.out.tfevents.*"):
        data = open(path, "rb").read()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                out.append((v.tag, event.step, v.simple_value))
    return out


def test_tensorboard_writer_through_run_matches_the_history(tmp_path):
    pytest.importorskip("tensorboardX")  # in the test extra, so this runs in CI
    writer = TensorBoardWriter(str(tmp_path / "tb"))
    assert not (tmp_path / "tb").exists()  # nothing written before the first chunk
    result = run(TINY, str(tmp_path / "o"), on_chunk=writer, progress=False, figures=False,
                 cache=False).result
    writer.close()
    events = _events(tmp_path / "tb")
    g = result["gan"]
    for name in ("modes_covered", "d_loss", "reverse_kl"):
        got = sorted((s, v) for t, s, v in events if t == f"gan/{name}")
        want = [(int(s), float(np.float32(np.median(g.history[name][0, :, t]))))
                for t, s in enumerate(g.log_steps)]
        assert [s for s, _ in got] == [s for s, _ in want], name
        # the event proto holds float32: equal to the float32 median
        assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6), name


def test_wandb_writer_logs_one_dict_per_step(monkeypatch):
    logged, inits = [], []
    fake_run = types.SimpleNamespace(log=logged.append, finish=lambda: logged.append("finished"))
    fake = types.SimpleNamespace(init=lambda **kw: inits.append(kw) or fake_run)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    w = WandbWriter(project="p")
    assert inits == []  # started at the first chunk
    w(_report())
    w.close()
    assert inits[0]["mode"] == "offline" and inits[0]["project"] == "p"
    assert [d["step"] for d in logged[:-1]] == [30, 40] and logged[-1] == "finished"
    assert logged[0]["gan[w=1]/d_loss"] == np.median(_report().history["d_loss"][0, :, 2])


def test_cli_tensorboard_and_missing_packages(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tensorboardX")
    assert main(["sweep", *SMALL, "--tensorboard", str(tmp_path / "tb"), "--out",
                 str(tmp_path / "o")]) == 0
    assert {t for t, _, _ in _events(tmp_path / "tb")} >= {"gan/modes_covered", "gan/g_loss"}
    monkeypatch.setitem(sys.modules, "wandb", None)  # not installed
    capsys.readouterr()
    assert main(["sweep", *SMALL, "--wandb", "--out", str(tmp_path / "o2")]) == 2
    assert 'needs the wandb package: pip install "mcjax[wandb]"' in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
