"""The ``mcjax`` command: bad input exits 2 with one clear line; --json; results never overwritten."""
import json
import os
import subprocess
import sys

import pytest

from mcjax.cli import main

TINY_ARGS = ["--steps", "20", "--log-every", "10", "--seeds", "2", "--width", "16", "--depth", "1",
             "--batch-size", "32", "--latent-dim", "4", "--eval-samples", "200", "--no-progress"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--target", "rng"], "unknown target 'rng' (did you mean 'ring'?); allowed: ring, grid"),
        (["--remedy", "wgn"], "unknown remedy 'wgn' (did you mean 'wgan'?)"),
        (["--steps", "-5"], "--steps must be a positive integer, got -5"),
        (["--seeds", "0"], "--seeds must be a positive integer, got 0"),
        (["--batch-size", "0"], "--batch-size must be a positive integer, got 0"),
        (["--steps", "100", "--log-every", "30"], "log_every=30 does not divide steps=100"),
        (["--lr-d", "0"], "--lr-d must be a positive number, got 0.0"),
        (["--lr-g=-1e-3"], "--lr-g must be a positive number"),
        (["--remedy", "gan", "--remedy", "gan"], "lists a remedy twice"),
    ],
)
def test_bad_input_exits_2_with_message(args, expected, capsys, tmp_path):
    rc = main(["sweep", "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_argparse_type_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--width", "x"])
    assert e.value.code == 2
    assert "invalid int value: 'x'" in capsys.readouterr().err


def test_sweep_json_then_show_and_no_overwrite(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mcjax.cli", "sweep", *TINY_ARGS, "--remedy", "gan", "--remedy", "lsgan",
           "--out", str(out), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)  # stdout holds only the JSON
    assert set(summary["remedies"]) == {"gan", "lsgan"}
    for row in summary["remedies"].values():
        assert len(row["modes_covered"]) == 2 and len(row["hq_fraction"]) == 2 and len(row["reverse_kl"]) == 2
        assert all(0 <= m <= 8 for m in row["modes_covered"])
    assert summary["compile_s"] > 0 and summary["run_s"] > 0
    assert summary["run_steps_per_s"] == pytest.approx(2 * 2 * 20 / summary["run_s"], rel=1e-6)
    # where the runs trained is recorded, and survives save + load (a table may mix machines)
    import jax
    from mcjax import SweepResult
    # ... on one CPU device per core (the CLI's default): a CLI that starts JAX before splitting
    # the CPU into devices runs on one and fails here
    cores = len(os.sched_getaffinity(0))
    assert summary["platforms"] == [f"cpu x{cores}, jax {jax.__version__}"]
    assert [g.platform for g in SweepResult.load(str(out)).groups] == summary["platforms"] * 2
    assert "modes covered" in p.stderr  # the table went to stderr
    for f in ("results.npz", "config.json", "summary.json", "samples.png", "coverage.png",
              "coverage_over_training.png"):
        assert os.path.getsize(out / f) > 0, f

    before = {f: os.path.getmtime(out / f) for f in os.listdir(out)}
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already holds results" in again.stderr
    assert before == {f: os.path.getmtime(out / f) for f in os.listdir(out)}

    shown = subprocess.run([sys.executable, "-m", "mcjax.cli", "show", str(out), "--json"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["remedies"] == summary["remedies"]


def test_sweep_runs_on_the_cpu_devices_asked_for(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, MCJAX_CPU_DEVICES="3")
    p = subprocess.run([sys.executable, "-m", "mcjax.cli", "sweep", *TINY_ARGS, "--seeds", "3",
                        "--remedy", "gan", "--no-figures", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["platforms"][0].startswith("cpu x3,")


def test_show_missing_folder(capsys, tmp_path):
    assert main(["show", str(tmp_path)]) == 2
    assert "holds no complete mcjax result" in capsys.readouterr().err


def test_remedies_lists_all(capsys):
    from mcjax.systems.gan.remedies import REMEDIES

    assert main(["remedies"]) == 0
    out = capsys.readouterr().out
    for name in REMEDIES:
        assert name in out
