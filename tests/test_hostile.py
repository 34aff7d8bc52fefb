"""Hostile inputs (issue 15): every case that lost data, gave a silently wrong result or a
traceback; each answers in one ``mcjax: error:`` line with exit 2 and writes nothing, or keeps
every result."""
import dataclasses
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from mcjax import ConfigError, RunSpec, SweepResult, run
from mcjax.cli import given_options, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--steps", "20", "--log-every", "10", "--seeds", "2", "--width", "8", "--depth", "1",
         "--batch-size", "16", "--latent-dim", "4", "--eval-samples", "100", "--no-progress",
         "--no-figures", "--no-cache", "--remedy", "gan"]
TINY = RunSpec(remedy=("gan",), seeds=2, steps=20, log_every=10, width=8, depth=1, batch_size=16,
               latent_dim=4, eval_samples=100, keep_samples=7)
QUIET = dict(progress=False, figures=False, cache=False)


def _unfinish(out):
    """A finished folder made unfinished: its checkpoints and sweep.json, no results."""
    for name in ("summary.json", "results.npz", "config.json"):
        (out / name).unlink()


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [l for l in err.splitlines() if l.startswith("mcjax: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


# 1 --------------------------------------------------------------------------------------------
def test_resume_uses_the_folder_given_not_the_path_saved_in_it(tmp_path, monkeypatch, capsys):
    a = tmp_path / "a"
    first = run(TINY, str(a), **QUIET).result
    _unfinish(a)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    shutil.move(str(a), str(moved))
    shutil.copytree(str(moved), str(a))  # an unrelated folder now sits at the saved path
    (a / "unrelated.txt").write_text("keep me")
    before = sorted(os.listdir(a))
    monkeypatch.chdir(tmp_path / "elsewhere")  # another working directory
    assert main(["sweep", "--resume", "moved", "--no-progress", "--no-figures", "--no-cache"]) == 0
    assert "resuming" in capsys.readouterr().err
    assert sorted(os.listdir(a)) == before  # the saved path was not touched
    again = SweepResult.load(str(moved))
    np.testing.assert_array_equal(again["gan"].history["modes_covered"],
                                  first["gan"].history["modes_covered"])


# 2 --------------------------------------------------------------------------------------------
def test_a_second_process_into_a_folder_in_use_is_refused(tmp_path):
    out = tmp_path / "o"
    long = [a if a != "20" else "4000" for a in SMALL]  # the first sweep trains a while
    first = subprocess.Popen([sys.executable, "-m", "mcjax.cli", "sweep", *long, "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    try:
        deadline = time.time() + 300
        lock = out / ".mcjax.lock"
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "mcjax.cli", "sweep", *SMALL, "--out",
                                 str(out)], capture_output=True, text=True, env=_env(), cwd=ROOT,
                                timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"in use by another mcjax process (pid {first.pid})" in second.stderr
    finally:
        first.kill()
        first.wait()


# 3 --------------------------------------------------------------------------------------------
def test_an_interrupted_overwrite_leaves_no_old_results(tmp_path, capsys):
    from mcjax.core.sweep import Interrupted

    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    (out / "samples.png").write_bytes(b"old figure")
    (out / "analysis.json").write_text("{}")

    def stop(report):
        assert (report.label, report.chunk, report.n_chunks) == ("gan", 1, 2)
        raise Interrupted("stopped after chunk 1")

    with pytest.raises(Interrupted):
        run(dataclasses.replace(TINY, seeds=3), str(out), overwrite=True, on_chunk=stop, **QUIET)
    for name in ("summary.json", "results.npz", "config.json", "samples.png", "analysis.json"):
        assert not (out / name).exists(), name
    assert main(["show", str(out)]) == 2  # no old table printed as if it were this sweep's
    assert "no complete mcjax result" in _error(capsys)
    got = run(None, str(out), resume=True, **QUIET).result  # the resume hint works
    assert got["gan"].seeds.tolist() == [0, 1, 2]


# 4 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, message", [
    (["--lr-g", "1e39"], "lr_g=1e+39 is not a float32 number"),
    (["--sweep", "lr_d=1e-3,1e-50"], "lr_d=1e-50 is not a float32 number"),
    (["--remedy", "r1:weight=1e-45"], "penalty_weight=1e-45 is not a float32 number"),
])
def test_values_that_float32_cannot_hold_are_refused(tmp_path, capsys, flags, message):
    assert main(["sweep", *SMALL, *flags, "--out", str(tmp_path / "o")]) == 2
    assert message in _error(capsys)
    assert not (tmp_path / "o").exists()


# 5 --------------------------------------------------------------------------------------------
def test_close_sweep_values_keep_distinct_labels_and_rows(tmp_path):
    spec = dataclasses.replace(TINY, sweep=("lr_d=0.001,0.00100001",))
    (exp,) = spec.experiments()
    assert exp.setting_labels == ("lr_d=0.001", "lr_d=0.00100001")
    summary = run(spec, str(tmp_path / "o"), **QUIET).result.summary()
    assert set(summary["remedies"]) == {"gan[lr_d=0.001]", "gan[lr_d=0.00100001]"}
    with pytest.raises(ConfigError, match="distinct in float32"):  # one float32 number: refused
        dataclasses.replace(TINY, sweep=("lr_d=0.001,0.0010000000001",)).experiments()


# 6 --------------------------------------------------------------------------------------------
def test_a_flag_equal_to_its_default_beats_the_config_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("width = 16\nsteps = 30\n")
    out = tmp_path / "o"
    assert main(["sweep", "--config", str(f), *SMALL, "--width", "64", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())["groups"][0]["config"]
    assert cfg["width"] == 64  # 64 is the default, and it was written: the command line wins
    assert cfg["steps"] == 20
    assert given_options(["sweep", "--width", "64"]) == {"width"}


# 7 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, message", [
    ("steps = 20.7", "steps must be an integer, got 20.7"),
    ("seeds = true", "seeds must be an integer, got True"),
    ("lr-d = true", "lr-d must be a number, got True"),
    ("target = 3", "target must be a string, got 3"),
    ("log-dynamics = 1", "log-dynamics must be true or false, got 1"),
])
def test_config_file_values_of_the_wrong_type_are_refused(tmp_path, capsys, content, message):
    f = tmp_path / "c.toml"
    f.write_text(content)
    assert main(["sweep", "--config", str(f), "--out", str(tmp_path / "o")]) == 2
    assert message in _error(capsys)
    assert not (tmp_path / "o").exists()


# 8 --------------------------------------------------------------------------------------------
def _edit_meta(path, **changes):
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(bytes(data["meta"]).decode())
    meta.update(changes)
    data["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **data)
    path.write_bytes(buf.getvalue())


def test_a_chunk_count_that_disagrees_with_the_history_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    _unfinish(out)
    ckpt = out / "checkpoints" / "experiment-000.npz"
    _edit_meta(ckpt, chunks_done=3)  # 3 of the sweep's 2 chunks
    _no_compiling(monkeypatch)
    with pytest.raises(ConfigError, match=r"damaged: it says 3 of 2 chunks done"):
        run(None, str(out), resume=True, **QUIET)
    _edit_meta(ckpt, chunks_done=1)  # a count below what the history holds
    with pytest.raises(ConfigError, match=r"it says 1 of 2 chunks done .* holds \[\(2, 2\)\]"):
        run(None, str(out), resume=True, **QUIET)


# 9 --------------------------------------------------------------------------------------------
def test_resume_refuses_other_options_and_names_the_changed_field(tmp_path, capsys):
    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    _unfinish(out)
    assert main(["sweep", "--resume", str(out), "--steps", "4000", "--remedy", "hinge"]) == 2
    assert "drop --remedy, --steps" in _error(capsys)
    with pytest.raises(ConfigError, match=r"another sweep: seeds is 2 there, 3 here$"):
        run(dataclasses.replace(TINY, seeds=3), str(out), resume=True, **QUIET)


# tracebacks ------------------------------------------------------------------------------------
def _no_compiling(monkeypatch):
    import mcjax.core.sweep as sweep

    def fail(*a, **k):
        raise AssertionError("compiled before refusing")

    monkeypatch.setattr(sweep, "compiled_programs", fail)


def test_a_sweep_too_big_for_memory_is_refused_before_compiling(tmp_path, capsys, monkeypatch):
    from mcjax.core.run import check_memory

    _no_compiling(monkeypatch)
    assert main(["sweep", *SMALL, "--seeds", "100000000", "--out", str(tmp_path / "o")]) == 2
    assert "--seeds 100000000: gan needs at least" in _error(capsys)
    assert not (tmp_path / "o").exists()
    exps = TINY.experiments()
    per_run = exps[0].config.memory_per_run()
    check_memory(exps, 10, available=10 * per_run)  # fits exactly: accepted
    with pytest.raises(ConfigError, match="use at most about 10 seeds"):
        check_memory(exps, 11, available=10 * per_run)


def test_config_option_on_a_folder_or_a_binary_file(tmp_path, capsys):
    assert main(["sweep", "--config", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "is a folder" in _error(capsys)
    f = tmp_path / "b.toml"
    f.write_bytes(bytes(range(256)))
    assert main(["sweep", "--config", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in _error(capsys)
    assert not (tmp_path / "o").exists()


def test_read_toml_without_tomllib(tmp_path, monkeypatch):
    """Python 3.10 has no tomllib: the reader falls back to tomli (a dependency there)."""
    from mcjax._validation import read_toml

    pytest.importorskip("tomli")  # in the test extra, so this runs in CI
    monkeypatch.setitem(sys.modules, "tomllib", None)  # import tomllib -> ModuleNotFoundError
    f = tmp_path / "c.toml"
    f.write_text("steps = 20\n")
    assert read_toml(str(f)) == {"steps": 20}


def test_an_output_path_below_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["sweep", *SMALL, "--out", str(tmp_path / "afile" / "sub")]) == 2
    assert "cannot write output folder" in _error(capsys)
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("content", [b"", b"garbage", "truncated"])
def test_damaged_checkpoints_are_refused_before_compiling(tmp_path, monkeypatch, capsys, content):
    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    _unfinish(out)
    ckpt = out / "checkpoints" / "experiment-000.npz"
    ckpt.write_bytes(ckpt.read_bytes()[:-200] if content == "truncated" else content)
    _no_compiling(monkeypatch)
    assert main(["sweep", "--resume", str(out)]) == 2
    assert "experiment-000.npz' is damaged" in _error(capsys)


@pytest.mark.parametrize("content", ["", "garbage", "[]", '{"format_version": 1, "args": 3}',
                                     '{"format_version": 1, "args": {"remedy": 3}}'])
def test_damaged_sweep_files_are_refused(tmp_path, capsys, content):
    from mcjax import __version__

    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    _unfinish(out)
    content = content.replace('"format_version": 1', f'"format_version": 1, "mcjax_version": '
                              f'"{__version__}"')
    (out / "sweep.json").write_text(content)
    assert main(["sweep", "--resume", str(out)]) == 2
    message = _error(capsys)
    assert "sweep.json" in message and "is damaged" in message


@pytest.mark.parametrize("command", ["show", "analyze"])
@pytest.mark.parametrize("damage", ["config.json", "results.npz", "summary.json"])
def test_damaged_result_folders_in_show_and_analyze(tmp_path, capsys, command, damage):
    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    (out / damage).write_bytes(b"\x00garbage")
    assert main([command, str(out)]) == 2
    assert "damaged" in _error(capsys)


def test_show_into_a_closed_pipe_is_quiet(tmp_path):
    out = tmp_path / "o"
    run(TINY, str(out), **QUIET)
    p = subprocess.Popen([sys.executable, "-m", "mcjax.cli", "show", str(out), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    p.stdout.close()  # the reader (e.g. `head`) has gone before mcjax writes
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_disk_full_while_checkpointing_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    import mcjax.core.checkpoint as checkpoint

    out = tmp_path / "o"
    real, calls = checkpoint.atomic_write, []

    def full(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write", full)
    with pytest.raises(ConfigError, match=r"could not write checkpoint .*No space left on device.*"
                       r"the one before it is intact \(1 of 2 chunks\)"):
        run(TINY, str(out), **QUIET)
    monkeypatch.setattr(checkpoint, "atomic_write", real)
    with zipfile.ZipFile(out / "checkpoints" / "experiment-000.npz") as z:
        assert z.testzip() is None  # the first chunk's checkpoint is whole
    whole = run(TINY, str(tmp_path / "whole"), **QUIET).result
    got = run(None, str(out), resume=True, **QUIET).result
    np.testing.assert_array_equal(got["gan"].history["modes_covered"],
                                  whole["gan"].history["modes_covered"])


def test_sigterm_checkpoints_prints_a_quoted_resume_command_and_exits_143(tmp_path):
    out = tmp_path / "with space" / "o"
    long = [a if a != "20" else "2000" for a in SMALL]
    proc = subprocess.Popen([sys.executable, "-m", "mcjax.cli", "sweep", *long, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            cwd=ROOT)
    first = out / "checkpoints" / "experiment-000.npz"
    deadline = time.time() + 600
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 143, err[-2000:]
    assert f"mcjax sweep --resume '{out}'" in err
    assert not (out / "summary.json").exists()


def test_version_flag(capsys):
    from mcjax import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mcjax {__version__}"


@pytest.mark.parametrize("flags, message", [
    (["--out", ""], "--out '' is empty"),
    (["--out", "o", "--batch-size", "1000000000"], "gan: one run needs at least"),
])
def test_an_empty_out_and_a_batch_too_big_are_refused(tmp_path, monkeypatch, capsys, flags, message):
    monkeypatch.chdir(tmp_path)
    _no_compiling(monkeypatch)
    assert main(["sweep", *SMALL, *flags]) == 2
    assert message in _error(capsys)
    assert not os.listdir(tmp_path)  # nothing written, not even the default folder
