"""The experiment scripts run end to end at smoke size (their full runs are in docs/results.md)."""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_remedy_table_runs_resumes_and_reports(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MCJAX_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "remedy_table.py"), "--seeds", "2",
           "--steps", "20", "--targets", "ring", "--remedies", "gan", "pacgan:pack=2",
           "--width", "8", "--depth", "1", "--out", str(tmp_path / "t")]
    run = lambda *extra: subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=600,
                                        env=env, cwd=ROOT)
    p = run("--tensorboard", str(tmp_path / "tb"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "pacgan:pack=2 | " in p.stdout and "1x8 MLPs" in p.stdout
    from tests.test_writers import _events  # the table could be watched while it trained

    tags = {t for t, _, _ in _events(tmp_path / "tb" / "ring")}
    assert {"gan/modes_covered", "pacgan_pack_2/modes_covered"} <= tags  # tensorboardX tag characters
    with open(tmp_path / "t" / "ring" / "summary.json") as f:
        summary = json.load(f)
    assert list(summary["remedies"]) == ["gan", "pacgan:pack=2"]
    assert all(len(r["modes_covered"]) == 2 for r in summary["remedies"].values())
    # each remedy is saved on its own, in a portable folder name
    per = tmp_path / "t" / "ring" / "remedies"
    assert sorted(os.listdir(per)) == ["gan", "pacgan-pack=2"]
    with open(per / "pacgan-pack=2" / "summary.json") as f:
        assert list(json.load(f)["remedies"]) == ["pacgan:pack=2"]
    # finished remedies are loaded on --resume, not trained again; the merged table is the same
    p = run("--resume")
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.count("finished earlier") == 2 and "run-steps/s" not in p.stdout
    with open(tmp_path / "t" / "ring" / "summary.json") as f:
        assert json.load(f)["remedies"] == summary["remedies"]
    # without --resume or --overwrite a finished remedy is refused before any training
    p = run()
    assert p.returncode != 0 and "already holds results" in p.stderr
    # --report prints the finished part of an unfinished table and trains nothing
    shutil.rmtree(per / "gan")
    os.remove(tmp_path / "t" / "ring" / "coverage.png")
    p = run("--report")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "pacgan:pack=2 | " in p.stdout
    assert not any(line.startswith("gan ") for line in p.stdout.splitlines())
    assert "not finished yet: gan" in p.stdout and not (per / "gan").exists()
    assert (tmp_path / "t" / "ring" / "coverage.png").exists()  # drawn again, for the finished ones


def test_predict_collapse_smoke_runs_reports_and_reanalyses(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MCJAX_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "predict_collapse.py"), "--smoke",
           "--out", str(tmp_path / "p")]
    run = lambda: subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    p = run()
    assert p.returncode == 0, p.stderr[-2000:]
    folder = tmp_path / "p" / "smoke"
    with open(folder / "report.json") as f:
        summary = json.load(f)
    rep = summary["report"]
    # 18 features (no dynamics logged) at 3 times, and one coverage-gain row per time
    assert len(rep["features"]) == 18 * 3 and len(rep["gains"]) == 3
    assert 0 < summary["collapsed"] < summary["finished"] == 32
    assert rep["test_collapsed"] + rep["test_healthy"] == 16
    assert all(r["p_holm"] >= r["p_value"] for r in rep["features"])
    assert "held-out AUC" in p.stdout and "best: " in p.stdout
    for name in ("auc_over_time.png", "force_field.png", "mode_flux.png"):
        assert (folder / name).stat().st_size > 10_000
    # a finished study is analysed again without training, to the same report
    p = run()
    assert p.returncode == 0 and "finished earlier" in p.stderr and "compile" not in p.stderr
    with open(folder / "report.json") as f:
        assert json.load(f)["report"] == rep


def test_stacked_mnist_smoke_prints_the_table_with_feature_metrics(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MCJAX_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "stacked_mnist.py"), "--smoke",
           "--out", str(tmp_path / "s")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "pacgan:pack=2 | " in p.stdout and "Frechet dist." in p.stdout and "+-" in p.stdout
    with open(tmp_path / "s" / "smoke" / "summary.json") as f:
        rows = json.load(f)["remedies"]
    assert list(rows) == ["gan", "pacgan:pack=2"]
    for r in rows.values():  # modes of 1000 on 200 samples; PRDC shares in [0, 1]
        assert all(1 <= m <= 200 for m in r["modes_covered"])
        assert all(0.0 <= c <= 1.0 for c in r["coverage"] + r["precision"])
    assert os.path.getsize(tmp_path / "s" / "smoke" / "samples.png") > 1000
