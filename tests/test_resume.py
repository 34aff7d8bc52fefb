"""Nothing lost: a sweep killed with SIGKILL after a checkpoint resumes to the uninterrupted result."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mcjax import SweepResult
from mcjax.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--steps", "1000", "--log-every", "10", "--seeds", "2", "--remedy", "gan", "--remedy", "lsgan",
        "--width", "32", "--batch-size", "64",
        "--eval-samples", "200", "--no-progress", "--no-figures", "--no-cache"]


def _cmd(*extra):
    return [sys.executable, "-m", "mcjax.cli", "sweep", *extra]


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    p = subprocess.run(_cmd(*ARGS, "--out", str(whole)), capture_output=True, text=True, timeout=900,
                       env=_env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]

    proc = subprocess.Popen(_cmd(*ARGS, "--out", str(cut)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env(), cwd=ROOT)
    first = cut / "checkpoints" / "experiment-000.npz"
    deadline = time.time() + 600
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (cut / "summary.json").exists()  # it really was cut short

    p = subprocess.run(_cmd("--resume", str(cut), "--no-progress", "--no-figures", "--no-cache"),
                       capture_output=True, text=True, timeout=900, env=_env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "resuming" in p.stderr
    a, b = SweepResult.load(str(whole)), SweepResult.load(str(cut))
    for ga, gb in zip(a.groups, b.groups):
        assert ga.label == gb.label
        for k in ga.history:  # same compiled programs, state restored exactly: bitwise on CPU
            np.testing.assert_array_equal(ga.history[k], gb.history[k], err_msg=k)
        np.testing.assert_array_equal(ga.samples, gb.samples)


def test_resume_refuses_other_sweep_and_bad_folders(tmp_path, capsys):
    out = tmp_path / "o"
    small = ["--steps", "20", "--log-every", "10", "--seeds", "2", "--width", "8", "--depth", "1",
             "--batch-size", "16", "--eval-samples", "100", "--no-progress", "--no-figures", "--no-cache",
             "--remedy", "gan"]
    assert main(["sweep", *small, "--out", str(out)]) == 0
    capsys.readouterr()
    # a complete sweep cannot be resumed, and a fresh sweep never writes over it
    assert main(["sweep", "--resume", str(out)]) == 2
    assert "complete" in capsys.readouterr().err
    assert main(["sweep", *small, "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err
    # an unfinished sweep: a fresh sweep into it is refused, pointing at --resume
    os.unlink(out / "summary.json")
    os.unlink(out / "results.npz")
    os.unlink(out / "config.json")
    assert main(["sweep", *small, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    # a checkpoint of another sweep (edited sweep file: other seeds) is refused, naming the field
    sweep_file = out / "sweep.json"
    saved = json.loads(sweep_file.read_text())
    saved["args"]["lr_d"] = 5e-4
    sweep_file.write_text(json.dumps(saved))
    assert main(["sweep", "--resume", str(out)]) == 2
    assert "another sweep: hparams" in capsys.readouterr().err
    # another mcjax version
    saved["mcjax_version"] = "99.0"
    sweep_file.write_text(json.dumps(saved))
    assert main(["sweep", "--resume", str(out)]) == 2
    assert "mcjax 99.0" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ("lr-dd = 3", "did you mean 'lr-d'"),
    ("steps = 'x'", "steps must be an integer, got 'x'"),
    ("remedy = 3", "remedy must be a string or a list"),
    ("steps = [", "not valid TOML"),
])
def test_config_file_errors(tmp_path, capsys, content, message):
    f = tmp_path / "c.toml"
    f.write_text(content)
    assert main(["sweep", "--config", str(f), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_config_file_values_and_command_line_precedence(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('remedy = ["gan"]\nsteps = 20\nlog-every = 10\nseeds = 1\nwidth = 8\ndepth = 1\n'
                 'batch-size = 16\neval-samples = 100\nlr-d = 3e-4\n')
    out = tmp_path / "o"
    assert main(["sweep", "--config", str(f), "--lr-d", "7e-4", "--out", str(out), "--no-progress",
                 "--no-figures", "--no-cache"]) == 0
    meta = json.loads((out / "config.json").read_text())
    g = meta["groups"][0]
    assert g["config"]["steps"] == 20 and g["config"]["width"] == 8
    assert g["hparams"]["lr_d"] == [pytest.approx(7e-4)]  # the command line wins over the file


def test_ctrl_c_checkpoints_and_prints_resume_command(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(_cmd(*ARGS, "--out", str(out)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    first = out / "checkpoints" / "experiment-000.npz"
    deadline = time.time() + 600
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err[-2000:]
    assert f"mcjax sweep --resume {out}" in err
    assert not (out / "summary.json").exists()
    p = subprocess.run(_cmd("--resume", str(out), "--no-progress", "--no-figures", "--no-cache"),
                       capture_output=True, text=True, timeout=900, env=_env(), cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (out / "summary.json").exists()


def test_loader_refuses_unknown_format_version_and_incomplete_results(tmp_path):
    out = tmp_path / "o"
    assert main(["sweep", "--steps", "10", "--log-every", "10", "--seeds", "1", "--width", "8", "--depth", "1",
                 "--batch-size", "16", "--eval-samples", "100", "--no-progress", "--no-figures",
                 "--no-cache", "--remedy", "gan", "--out", str(out)]) == 0
    meta = json.loads((out / "config.json").read_text())
    meta["format_version"] = 99
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(Exception, match="format version 99; this mcjax reads version 1"):
        SweepResult.load(str(out))
    assert main(["show", str(out)]) == 2
    from mcjax.core.results import present_result_files
    assert present_result_files(str(out)) == ["results.npz", "config.json", "summary.json"]
    (out / "summary.json").unlink()  # a save cut short before its last file
    assert present_result_files(str(out)) == ["results.npz", "config.json"]
    with pytest.raises(Exception, match="holds no complete mcjax result \\(missing summary.json\\)"):
        SweepResult.load(str(out))
    assert present_result_files(str(tmp_path / "nowhere")) == []


def test_checkpoint_from_before_a_new_config_field_still_loads(tmp_path):
    import jax

    from mcjax.core.checkpoint import load_checkpoint, save_checkpoint
    from mcjax.systems.gan.config import Config, ConfigError

    state = {"w": np.arange(3, dtype=np.float32)}
    abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)
    meta = {"config": Config().to_dict(), "n_runs": 1, "chunk": 1}
    older = {"config": {k: v for k, v in meta["config"].items() if k != "reuse_fake"}, "n_runs": 1,
             "chunk": 1}
    path = str(tmp_path / "c.npz")
    history = {"step": np.full((1, 1), 200)}  # 1 run, 1 chunk of 1 log
    save_checkpoint(path, state, history, 1, older, run_s=12.5)
    leaves, _, done, run_s = load_checkpoint(path, abstract, meta)  # the missing field reads as its default
    assert done == 1 and np.array_equal(leaves[0], state["w"]) and run_s == 12.5
    with pytest.raises(ConfigError, match="another sweep: config"):
        load_checkpoint(path, abstract, {"config": Config(steps=400).to_dict(), "n_runs": 1,
                                         "chunk": 1})
