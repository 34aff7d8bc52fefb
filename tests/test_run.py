"""The one run path, ``mcjax.run``: what the CLI, the remedy table and the notebooks call."""
import dataclasses
import json

import pytest

from mcjax import ConfigError, RunSpec, SweepResult, run
from mcjax.core.run import load_spec

TINY = RunSpec(remedy=("gan",), seeds=2, steps=20, log_every=10, width=8, depth=1, batch_size=16,
               latent_dim=4, eval_samples=100, keep_samples=7)


def test_run_writes_a_resumable_folder_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "o"
    got = run(TINY, str(out), progress=False, figures=False, cache=False)
    assert got.out_dir == str(out) and got.figures == []
    loaded = SweepResult.load(str(out))
    assert loaded.table() == got.result.table()
    assert loaded["gan"].samples.shape == (1, 2, 7, 2)  # keep_samples reaches the Config
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["system"] == "gan" and load_spec(str(out)) == TINY
    with pytest.raises(ConfigError, match="already holds results"):
        run(TINY, str(out), progress=False, figures=False, cache=False)
    with pytest.raises(ConfigError, match="complete"):
        run(None, str(out), resume=True, progress=False)


def test_resume_checks_the_spec_and_the_folder(tmp_path):
    out = tmp_path / "o"
    run(TINY, str(out), progress=False, figures=False, cache=False)
    (out / "summary.json").unlink()  # as if cut short before its last file
    with pytest.raises(ConfigError, match="holds another sweep"):
        run(dataclasses.replace(TINY, seeds=3), str(out), resume=True, progress=False)
    with pytest.raises(ConfigError, match="already holds results"):  # a partial save counts
        run(TINY, str(out), progress=False, figures=False, cache=False)
    saved = json.loads((out / "sweep.json").read_text())
    del saved["system"]  # sweep files written before other systems existed are GAN sweeps
    (out / "sweep.json").write_text(json.dumps(saved))
    assert load_spec(str(out)) == TINY
    (out / "sweep.json").write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        load_spec(str(out))
    with pytest.raises(ConfigError, match="no sweep.json"):
        load_spec(str(tmp_path / "nowhere"))


def test_resume_with_a_spec_and_nothing_there_starts_it(tmp_path):
    got = run(TINY, str(tmp_path / "new"), resume=True, progress=False, figures=False, cache=False)
    assert got.result["gan"].history["modes_covered"].shape == (1, 2, 2)


def test_bad_specs_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="needs a spec"):
        run(None, str(tmp_path / "a"))
    with pytest.raises(ConfigError, match="unknown remedy 'gn'"):
        run(dataclasses.replace(TINY, remedy=("gn",)), str(tmp_path / "b"))
    with pytest.raises(ConfigError, match="--seeds must be a positive integer, got 0"):
        run(dataclasses.replace(TINY, seeds=0), str(tmp_path / "c"))
    assert not any(tmp_path.iterdir())
    with pytest.raises(ConfigError, match=r"unknown run spec field\(s\) \['stesp'\]"):
        RunSpec.from_dict({"stesp": 3})


def test_a_folder_in_use_by_another_run_is_refused(tmp_path, capsys):
    import os

    from mcjax.cli import main
    from mcjax.core.run import FolderLock

    out = tmp_path / "o"
    with FolderLock(str(out)) as held:  # as another process's run holds it
        held.claim()
        with pytest.raises(ConfigError, match=rf"in use by another mcjax process \(pid {os.getpid()}\)"):
            run(TINY, str(out), progress=False, figures=False, cache=False)
        args = ["sweep", "--steps", "20", "--log-every", "10", "--seeds", "1", "--width", "8",
                "--depth", "1", "--batch-size", "16", "--eval-samples", "100", "--no-progress",
                "--no-figures", "--no-cache", "--remedy", "gan", "--out", str(out)]
        assert main(args) == 2
        assert "in use by another mcjax process" in capsys.readouterr().err
        assert not (out / "sweep.json").exists()  # the refused run wrote nothing
    assert main(args) == 0  # released: the folder is free again


def test_a_damaged_checkpoint_is_named_and_deleting_it_retrains(tmp_path):
    out = tmp_path / "o"
    first = run(TINY, str(out), progress=False, figures=False, cache=False).result
    (out / "summary.json").unlink()  # unfinished again
    ckpt = out / "checkpoints" / "experiment-000.npz"
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # cut short by something outside mcjax
    with pytest.raises(ConfigError, match="experiment-000.npz' is damaged .*delete it and resume"):
        run(None, str(out), resume=True, progress=False, figures=False, cache=False)
    ckpt.unlink()
    again = run(None, str(out), resume=True, progress=False, figures=False, cache=False).result
    assert again.table() == first.table()  # retrained from its start: the same runs


@pytest.mark.parametrize("name, content, message", [
    ("config.json", b"{", "config.json is damaged"),
    ("results.npz", b"PK\x03\x04 cut", "its results are damaged"),
])
def test_damaged_result_files_are_named(tmp_path, name, content, message):
    out = tmp_path / "o"
    run(TINY, str(out), progress=False, figures=False, cache=False)
    (out / name).write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        SweepResult.load(str(out))
