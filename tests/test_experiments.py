"""The experiment scripts run end to end at smoke size (their full runs are in docs/results.md)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_remedy_table_runs_and_resumes(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MCJAX_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, os.path.join(ROOT, "experiments", "remedy_table.py"), "--seeds", "2",
           "--steps", "20", "--targets", "ring", "--remedies", "gan", "pacgan:pack=2",
           "--width", "8", "--depth", "1", "--out", str(tmp_path / "t")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "pacgan:pack=2 | " in p.stdout and "1x8 MLPs" in p.stdout
    with open(tmp_path / "t" / "ring" / "summary.json") as f:
        summary = json.load(f)
    assert list(summary["remedies"]) == ["gan", "pacgan:pack=2"]
    assert all(len(r["modes_covered"]) == 2 for r in summary["remedies"].values())
    # a finished target is skipped on --resume, not trained again
    p = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0 and "is complete; skipped" in p.stdout, p.stderr[-2000:]
