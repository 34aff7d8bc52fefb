"""What a finished sweep leaves for a paper: metrics.csv, provenance, table formats, figure
formats (issue 15)."""
import csv
import io
import json
import subprocess

import numpy as np
import pytest

from mcjax import RunSpec, SweepResult, run
from mcjax.cli import main
from mcjax.core.tables import render_table

TINY = RunSpec(remedy=("gan", "lsgan"), seeds=2, steps=20, log_every=10, width=8, depth=1,
               batch_size=16, latent_dim=4, eval_samples=100, keep_samples=7)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "o"
    run(TINY, str(out), progress=False, figures="svg", cache=False)
    return out


def test_every_sweep_writes_metrics_csv_that_pandas_reads(finished):
    pd = pytest.importorskip("pandas")  # in the test extra
    df = pd.read_csv(finished / "metrics.csv")
    result = SweepResult.load(str(finished))
    assert len(df) == 2 * 2 * 2  # remedies x seeds x logs
    for g in result.groups:
        part = df[df.remedy == g.label].sort_values(["seed", "step"])
        np.testing.assert_array_equal(part.modes_covered.to_numpy(),
                                      g.history["modes_covered"][0].reshape(-1))
        np.testing.assert_array_equal(part.reverse_kl.to_numpy(),
                                      g.history["reverse_kl"][0].reshape(-1).astype(np.float64))
        counts = part[[f"mode_counts_{k}" for k in range(8)]].to_numpy()
        np.testing.assert_array_equal(counts, g.history["mode_counts"][0].reshape(-1, 8))


def test_results_record_their_provenance(finished):
    import jax

    saved = SweepResult.load(str(finished)).provenance
    assert saved["versions"]["jax"] == jax.__version__
    assert saved["device_count"] == len(jax.devices())
    summary = json.loads((finished / "summary.json").read_text())
    assert summary["provenance"] == saved
    started = json.loads((finished / "sweep.json").read_text())["started"]
    assert started["versions"] == saved["versions"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=str(__import__("pathlib").Path(__file__).parent)).stdout.strip()
    except OSError:
        head = None
    if head:
        assert saved["git_commit"] == head  # run from this checkout


def test_figure_format(finished):
    for name in ("samples", "coverage", "coverage_over_training"):
        text = (finished / f"{name}.svg").read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        assert not (finished / f"{name}.png").exists()


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "csv"])
def test_show_formats_and_styles(finished, capsys, fmt):
    result = SweepResult.load(str(finished))
    assert main(["show", str(finished), "--format", fmt, "--style", "mean"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == result.table(style="mean", fmt=fmt)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0] == ["remedy", "modes covered", "HQ %", "reverse KL", "diverged"]
        assert [r[0] for r in rows[1:]] == ["gan", "lsgan"]
        assert all(" +- " in r[1] for r in rows[1:])  # the mean style
    if fmt == "latex":
        assert out.startswith(r"\begin{tabular}{lllll}") and r"$\pm$" in out and "HQ \\%" in out
    if fmt == "markdown":
        assert out.splitlines()[1].startswith("|--")


def test_render_table_escapes():
    tex = render_table(["a_b", "c"], [["x&y", "50%"]], fmt="latex")
    assert r"a\_b & c \\" in tex and r"x\&y & 50\% \\" in tex
    md = render_table(["a"], [["x|y"]], fmt="markdown")
    assert r"x\|y" in md
    with pytest.raises(ValueError, match="fmt must be one of"):
        render_table(["a"], [["1"]], fmt="html")
