"""Figures read back: the plotted data must equal the result's numbers (no training needed)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from mcjax.systems.gan.config import Config
from mcjax.plots import coverage_distribution, coverage_over_training, sample_grid, save_figures, wrap_label
from mcjax.core.results import GroupResult, SweepResult


def make_group(label, *, target="ring", settings=("",), n_seeds=4, n_logs=5, diverged=None,
               seed=0):
    """A ``GroupResult`` of synthetic numbers, shaped as ``run_sweep`` shapes them."""
    rng = np.random.default_rng(seed)
    cfg = Config(target=target, steps=100 * n_logs, log_every=100, eval_samples=100,
                 keep_samples=50)
    t = cfg.make_target()
    k, S, N = t.n_modes, len(settings), n_seeds
    means = np.asarray(t.means)
    idx = rng.integers(0, k, size=(S, N, 50))
    samples = means[idx] + float(t.std) * rng.normal(size=(S, N, 50, 2))
    covered = rng.integers(0, k + 1, size=(S, N, n_logs))
    div = np.zeros((S, N), bool) if diverged is None else np.asarray(diverged, bool)
    return GroupResult(
        label=label,
        config=cfg,
        setting_labels=list(settings),
        hparams={"lr_d": np.full(S, 1e-3, np.float32)},
        seeds=np.arange(N),
        log_steps=100 * np.arange(1, n_logs + 1),
        history={
            "modes_covered": covered.astype(np.int32),
            "hq_fraction": rng.uniform(size=(S, N, n_logs)).astype(np.float32),
            "reverse_kl": rng.uniform(size=(S, N, n_logs)).astype(np.float32),
        },
        samples=samples.astype(np.float32),
        diverged=div,
        diverged_step=np.where(div, 37, -1).astype(np.int32),
        target=t.describe(),
        compile_s=1.0,
        run_s=2.0,
    )


@pytest.fixture
def result():
    return SweepResult(groups=[
        make_group("gan", diverged=[[False, True, False, False]], seed=1),
        make_group("wgan", settings=("lr_d=1e-3", "lr_d=3e-4"), seed=2),
        make_group("dead", diverged=np.ones((1, 4), bool), seed=3),
    ])


def _by_gid(artists, gid):
    found = [a for a in artists if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def test_sample_grid_has_rows_times_seeds_panels(result):
    fig = sample_grid(result, n_seeds=3)
    assert isinstance(fig, Figure)
    assert len(_visible_axes(fig)) == 4 * 3  # gan, wgan[x2], dead: 4 rows
    titles = [ax.get_title() for ax in fig.axes]
    g = result["gan"]
    assert titles[1].startswith(f"seed 1: {g.final('modes_covered')[0, 1]}/8 modes")
    assert "diverged" in titles[1] and "diverged" not in titles[0]
    # all panels share one window
    assert len({(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes}) == 1


def test_sample_grid_scatters_the_kept_samples(result):
    fig = sample_grid(result["wgan"], n_seeds=2)
    ax = fig.axes[2 + 1]  # setting 1, seed 1
    pts = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 50]
    assert len(pts) == 1
    np.testing.assert_array_equal(np.asarray(pts[0]), result["wgan"].samples[1, 1])
    assert ax.get_ylabel() == "wgan[lr_d=3e-4]" or fig.axes[2].get_ylabel() == "wgan[lr_d=3e-4]"


def test_long_row_labels_wrap_at_their_separators():
    # a vertical label longer than one row of panels was clipped by the figure's edge
    assert wrap_label("unrolled:steps=5,loss=minimax,lr_d=1e-4") == "unrolled:steps=5,\nloss=minimax,lr_d=1e-4"
    assert wrap_label("wgan[lr_d=3e-4]") == "wgan[lr_d=3e-4]"
    assert wrap_label("x" * 30) == "x" * 30  # nothing to break at: left whole
    g = make_group("unrolled:steps=5,loss=minimax,lr_d=1e-4", n_seeds=1)
    assert sample_grid(g).axes[0].get_ylabel() == "unrolled:steps=5,\nloss=minimax,lr_d=1e-4"


def test_sample_grid_clips_seeds_and_handles_one_seed_and_grid_target():
    g = make_group("one", target="grid", n_seeds=1)
    fig = sample_grid(g, n_seeds=4)
    assert len(fig.axes) == 1
    means = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 25]
    assert len(means) == 1
    lo, hi = fig.axes[0].get_xlim()
    assert lo < -4 and hi > 4  # the 5 x 5 grid spans [-4, 4]
    with pytest.raises(ValueError):
        sample_grid(g, n_seeds=0)


def test_coverage_distribution_plots_final_coverage_without_diverged(result):
    fig = coverage_distribution(result)
    (ax,) = fig.axes
    g = result["gan"]
    ys = _by_gid(ax.collections, "seeds/gan").get_offsets()[:, 1]
    np.testing.assert_array_equal(np.sort(ys), np.sort(g.final("modes_covered")[0, [0, 2, 3]]))
    w = result["wgan"]
    for s, lab in enumerate(w.setting_labels):
        ys = _by_gid(ax.collections, f"seeds/wgan[{lab}]").get_offsets()[:, 1]
        np.testing.assert_array_equal(np.sort(ys), np.sort(w.final("modes_covered")[s]))
    assert not [c for c in ax.collections if c.get_gid() == "seeds/dead"]
    median = _by_gid(ax.lines, "median/gan").get_ydata()
    np.testing.assert_allclose(median, np.median(g.final("modes_covered")[0, [0, 2, 3]]))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["gan (1 diverged)", "wgan[lr_d=1e-3]", "wgan[lr_d=3e-4]",
                      "dead (all 4 diverged)"]
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 8
    ticks = ax.get_yticks()
    np.testing.assert_array_equal(ticks, np.round(ticks))


def test_coverage_over_training_median_and_band(result):
    fig = coverage_over_training(result)
    (ax,) = fig.axes
    w = result["wgan"]
    line = _by_gid(ax.lines, "median/wgan[lr_d=3e-4]")
    np.testing.assert_array_equal(line.get_xdata(), w.log_steps)
    np.testing.assert_allclose(line.get_ydata(), np.median(w.history["modes_covered"][1], axis=0))
    g = result["gan"]
    ok = g.history["modes_covered"][0, [0, 2, 3]]
    np.testing.assert_allclose(_by_gid(ax.lines, "median/gan").get_ydata(), np.median(ok, axis=0))
    assert not [l for l in ax.lines if l.get_gid() == "median/dead"]
    seed_lines = [l for l in ax.lines if (l.get_gid() or "").startswith("seed/")]
    assert len(seed_lines) == 4 + 2 * 4 + 4  # every run, diverged ones included
    dead = _by_gid(ax.lines, "seed/dead/2")
    assert dead.get_linestyle() == ":"
    np.testing.assert_array_equal(dead.get_ydata(), result["dead"].history["modes_covered"][0, 2])
    assert _by_gid(ax.lines, "seed/gan/0").get_linestyle() == "-"


def test_coverage_over_training_percentile_band():
    g = make_group("gan", n_seeds=10)
    fig = coverage_over_training(g, band=(10, 90), panels=True)
    (ax,) = fig.axes
    (band,) = ax.collections
    y = band.get_paths()[0].vertices[:, 1]
    h = g.history["modes_covered"][0]
    expected = np.concatenate([np.percentile(h, 10, axis=0), np.percentile(h, 90, axis=0)])
    assert np.all(np.isin(np.round(expected, 6), np.round(y, 6)))
    with pytest.raises(ValueError):
        coverage_over_training(g, band=(90, 10))


def test_many_rows_go_to_panels():
    groups = [make_group(f"r{i}", seed=i) for i in range(5)]
    fig = coverage_over_training(SweepResult(groups=groups))
    assert len([ax for ax in fig.axes if ax.axison]) == 5


def test_empty_result_is_refused():
    with pytest.raises(ValueError):
        coverage_distribution(SweepResult(groups=[]))


def test_figures_need_no_pyplot(tmp_path):
    """Axes.boxplot or pyplot would resolve a backend; a library figure should not."""
    code = (
        "import os, sys\n"
        "sys.path[:0] = [sys.argv[1], os.path.dirname(sys.argv[1])]\n"
        "from test_plots import make_group\n"
        "from mcjax.plots import save_figures\n"
        "from mcjax.core.results import SweepResult\n"
        "save_figures(SweepResult(groups=[make_group('g')]), sys.argv[2])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__), str(tmp_path)],
                   check=True)


def test_save_figures_writes_three_pngs(result, tmp_path):
    out = str(tmp_path / "figs")
    paths = save_figures(result, out)
    assert [os.path.basename(p) for p in paths] == [
        "samples.png", "coverage.png", "coverage_over_training.png"]
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in paths)  # no temp files
