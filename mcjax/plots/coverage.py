"""Figures of a sweep: final samples, final mode coverage, and coverage over training.

Every function takes a :class:`~mcjax.core.results.SweepResult` (or one
:class:`~mcjax.core.results.GroupResult`) and returns a :class:`matplotlib.figure.Figure` built without
pyplot, so no backend is selected and no global figure state is touched (safe in notebooks and in
headless jobs alike). A *row* is one (group, setting) pair, labelled by ``GroupResult.row_label``.

Diverged runs (``GroupResult.diverged``) are left out of every statistic, as in
``SweepResult.table``, and shown or counted separately.

Example:
  >>> result = SweepResult.load("out/ring")
  >>> save_figures(result, "out/ring")  # samples.png, coverage.png, coverage_over_training.png
"""
from __future__ import annotations

import io
import math
import os
import re
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from mcjax._validation import ConfigError
from mcjax.core.results import GroupResult, SweepResult, atomic_write

__all__ = ["sample_grid", "coverage_distribution", "coverage_over_training", "save_figures"]

FIGURE_FILES = ("samples.png", "coverage.png", "coverage_over_training.png")
_DIVERGED_COLOR = "#c0392b"
_MEAN_COLOR = "#e67e22"


def _groups(result: SweepResult | GroupResult) -> list[GroupResult]:
    groups = [result] if isinstance(result, GroupResult) else list(result.groups)
    if not groups:
        raise ValueError("the result holds no groups to plot")
    return groups


def wrap_label(label: str, width: int = 22) -> str:
    """Breaks a long row label after its ``:``, ``,`` or ``[`` so that a vertical axis label fits
    beside one row of panels: ``unrolled:steps=5,loss=minimax,lr_d=1e-4`` ->
    ``unrolled:steps=5,`` / ``loss=minimax,lr_d=1e-4``. Labels of ``width`` characters or fewer, and
    pieces with no separator, stay whole."""
    lines, cur = [], ""
    for piece in re.split(r"(?<=[:,\[])", label):
        if cur and len(cur) + len(piece) > width:
            lines.append(cur)
            cur = piece
        else:
            cur += piece
    return "\n".join(lines + [cur])


def _rows(result: SweepResult | GroupResult) -> list[tuple[GroupResult, int]]:
    """``(group, setting index)`` for every row, in table order."""
    return [(g, s) for g in _groups(result) for s in range(g.n_settings)]


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _n_modes(g: GroupResult) -> int:
    return int(g.target["n_modes"])


def _diverged_note(n_diverged: int, n_runs: int) -> str:
    if n_diverged == 0:
        return ""
    if n_diverged == n_runs:
        return f" (all {n_runs} diverged)"
    return f" ({n_diverged} diverged)"


def _integer_y(ax, k_max: int) -> None:
    ax.set_ylim(-0.5, k_max + 0.5)
    if k_max <= 12:
        ax.set_yticks(range(k_max + 1))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def _limits(groups: Sequence[GroupResult]) -> tuple[np.ndarray, float, dict[int, np.ndarray]]:
    """Square window holding every group's target means plus a margin; target means per group."""
    means = {}
    for g in groups:
        m = np.asarray(g.config.make_target().means, dtype=np.float64)[:, :2]
        means[id(g)] = m
    allm = np.concatenate(list(means.values()))
    lo, hi = allm.min(axis=0), allm.max(axis=0)
    span = float(np.max(hi - lo))
    std = max(float(g.target["std"]) for g in groups)
    half = span / 2 + max(0.25 * span, 20 * std)
    return (lo + hi) / 2, half, means


def sample_grid(result: SweepResult | GroupResult, n_seeds: int = 4) -> Figure:
    """Kept generated samples of each run's final generator, one panel per (row, seed).

    Rows are the result's rows, columns its first ``n_seeds`` seeds. Every panel shows the
    ``keep_samples`` points ``samples[s, n, :, :2]`` as dots over the target means (circles), on
    the same square window (all targets' means plus a margin); points outside it are counted in the
    panel's corner. Panel titles give the seed and the modes covered at the last logged step;
    diverged runs are titled in red with the step they diverged at.

    Args:
      result: a sweep result or one group.
      n_seeds: columns; clipped to the number of seeds.

    Returns:
      A ``Figure`` with ``rows x min(n_seeds, N)`` axes.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    rows = _rows(result)
    groups = _groups(result)
    ncols = min(n_seeds, max(len(g.seeds) for g in groups))
    center, half, means = _limits(groups)
    panel = 2.3
    fig = Figure(figsize=(max(4.4, panel * ncols + 0.8), panel * len(rows) + 0.7),
                 layout="constrained")
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (g, s) in enumerate(rows):
        covered = g.final("modes_covered")
        k = _n_modes(g)
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xlim(center[0] - half, center[0] + half)
            ax.set_ylim(center[1] - half, center[1] + half)
            ax.set_aspect("equal", adjustable="box")
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel(wrap_label(g.row_label(s)), fontsize=10)
            if c >= len(g.seeds):
                ax.set_axis_off()
                continue
            x = np.asarray(g.samples[s, c], dtype=np.float64)[:, :2]
            x = x[np.all(np.isfinite(x), axis=1)]
            m = means[id(g)]
            ax.scatter(m[:, 0], m[:, 1], s=40, marker="o", facecolors="none",
                       edgecolors=_MEAN_COLOR, linewidths=1.0, zorder=1)
            ax.scatter(x[:, 0], x[:, 1], s=2.5, color="C0", alpha=0.6, linewidths=0, zorder=2,
                       rasterized=True)
            outside = len(g.samples[s, c]) - int(np.sum(np.all(np.abs(x - center) <= half, axis=1)))
            if outside:
                ax.text(0.98, 0.02, f"{outside} outside", transform=ax.transAxes, ha="right",
                        va="bottom", fontsize=6.5, color="0.35",
                        bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=1))
            title = f"seed {int(g.seeds[c])}: {int(covered[s, c])}/{k} modes"
            if bool(g.diverged[s, c]):
                title += f"\ndiverged at step {int(g.diverged_step[s, c])}"
            ax.set_title(title, fontsize=8.5,
                         color=_DIVERGED_COLOR if bool(g.diverged[s, c]) else "black")
    for ax in axes[:-1].ravel():
        ax.tick_params(labelbottom=False)
    for ax in axes[:, 1:].ravel():
        ax.tick_params(labelleft=False)
    fig.suptitle("final generator samples (dots)\nand target means (circles)" if ncols == 1 else
                 "final generator samples (dots) and target means (circles)", fontsize=10.5)
    return fig


def _box(ax, x: float, vals: np.ndarray, gid: str, width: float = 0.55) -> None:
    """Box of the quartiles, min-max whiskers and a median line (``gid`` ``"median/<gid>"``).

    Drawn by hand rather than with ``Axes.boxplot``, which reads every rcParam and so makes
    matplotlib import pyplot and resolve a backend.
    """
    lo, q1, med, q3, hi = np.percentile(vals, [0, 25, 50, 75, 100])
    w = width / 2
    ax.add_patch(Rectangle((x - w, q1), width, q3 - q1, facecolor="none", edgecolor="0.3",
                           linewidth=1, zorder=2))
    ax.vlines([x, x], [lo, q3], [q1, hi], colors="0.3", linewidth=1, zorder=2)
    ax.hlines([lo, hi], x - w / 2, x + w / 2, colors="0.3", linewidth=1, zorder=2)
    ax.plot([x - w, x + w], [med, med], color="black", linewidth=2, zorder=2,
            solid_capstyle="butt", gid=f"median/{gid}")


def coverage_distribution(result: SweepResult | GroupResult) -> Figure:
    """Modes covered at the last logged step, one dot per seed, one column per row.

    Each column shows the non-diverged seeds as jittered dots (collection ``gid`` ``"seeds/<row
    label>"``, offsets ``(x, modes covered)``) over a box of their quartiles with min-max
    whiskers and the median as its line; a dashed segment marks the row's ``n_modes``. Diverged
    runs are left out and counted in the column's tick label, e.g. ``"wgan (1 diverged)"``.

    Args:
      result: a sweep result or one group.

    Returns:
      A ``Figure`` with one axes, y from 0 to the largest ``n_modes``.
    """
    rows = _rows(result)
    colors = _colors(len(rows))
    k_max = max(_n_modes(g) for g, _ in rows)
    rng = np.random.default_rng(0)
    labels = [g.row_label(s) + _diverged_note(int(g.diverged[s].sum()), len(g.seeds))
              for g, s in rows]
    rotate = len(rows) > 4 or max(len(l) for l in labels) > 14
    fig = Figure(figsize=(max(5.2, 1.0 * len(rows) + 1.8), 4.6), layout="constrained")
    ax = fig.subplots()
    for i, (g, s) in enumerate(rows):
        ok = ~np.asarray(g.diverged[s], dtype=bool)
        vals = np.asarray(g.final("modes_covered")[s], dtype=np.float64)[ok]
        k = _n_modes(g)
        ax.hlines(k, i - 0.42, i + 0.42, colors="0.5", linestyles="--", linewidth=1, zorder=1)
        if not len(vals):
            ax.text(i, k / 2, "all diverged", rotation=90, ha="center", va="center",
                    color=_DIVERGED_COLOR, fontsize=9)
            continue
        _box(ax, i, vals, gid=g.row_label(s))
        jitter = rng.uniform(-0.17, 0.17, size=len(vals)) if len(vals) > 1 else np.zeros(1)
        ax.scatter(i + jitter, vals, s=30, color=colors[i], edgecolors="white", linewidths=0.6,
                   alpha=0.9, zorder=3, gid=f"seeds/{g.row_label(s)}")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    _integer_y(ax, k_max)
    ax.grid(axis="y", alpha=0.3)
    steps = {int(g.log_steps[-1]) for g in _groups(result)}
    at = f"step {steps.pop()}" if len(steps) == 1 else "the last step"
    ax.set_ylabel(f"modes covered at {at}")
    n = sorted({len(g.seeds) for g in _groups(result)})
    seeds = f"{'/'.join(map(str, n))} seed{'s' if n != [1] else ''}"
    ax.set_title(f"final mode coverage, one dot per seed ({seeds})\nbox: quartiles and median; "
                 "whiskers: min-max\ndashed: all modes", fontsize=9)
    return fig


def coverage_over_training(result: SweepResult | GroupResult, *,
                           band: tuple[float, float] = (0.0, 100.0),
                           panels: bool | None = None) -> Figure:
    """Modes covered against generator step: median over seeds, a percentile band, every seed.

    For each row the median over its non-diverged seeds is a thick line (``gid``
    ``"median/<row label>"``), the ``band`` percentiles (default min-max) a shaded area, and each
    seed a thin faint line (``gid`` ``"seed/<row label>/<n>"``; dotted for diverged seeds, which
    the median and band leave out).

    Args:
      result: a sweep result or one group.
      band: lower and upper percentiles over seeds of the shaded area.
      panels: one panel per row instead of all rows on one axes; default when there are more
        than four rows.

    Returns:
      A ``Figure``: one axes with a legend, or one axes per row.
    """
    if not 0 <= band[0] <= band[1] <= 100:
        raise ValueError(f"band must be percentiles 0 <= lo <= hi <= 100, got {band}")
    rows = _rows(result)
    colors = _colors(len(rows))
    panels = len(rows) > 4 if panels is None else panels
    k_max = max(_n_modes(g) for g, _ in rows)
    if panels:
        ncols = min(3, len(rows))
        nrows = math.ceil(len(rows) / ncols)
        fig = Figure(figsize=(3.4 * ncols + 0.4, 2.6 * nrows + 0.8), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        for ax in axes.ravel()[len(rows):]:
            ax.set_axis_off()
        for ax in axes.ravel()[max(0, len(rows) - ncols):len(rows)]:
            ax.tick_params(labelbottom=True)
        row_axes = list(axes.ravel()[: len(rows)])
    else:
        fig = Figure(figsize=(7.5, 4.4), layout="constrained")
        ax = fig.subplots()
        row_axes = [ax] * len(rows)
    for i, (g, s) in enumerate(rows):
        ax = row_axes[i]
        x = np.asarray(g.log_steps)
        h = np.asarray(g.history["modes_covered"][s], dtype=np.float64)
        div = np.asarray(g.diverged[s], dtype=bool)
        for n in range(h.shape[0]):
            ax.plot(x, h[n], color=colors[i], linewidth=0.8 if div[n] else 0.7,
                    alpha=0.6 if div[n] else 0.35, linestyle=":" if div[n] else "-", zorder=1,
                    gid=f"seed/{g.row_label(s)}/{n}")
        label = g.row_label(s) + _diverged_note(int(div.sum()), len(div))
        if div.all():
            ax.plot([], [], color=colors[i], linestyle=":", label=label)
        else:
            ok = h[~div]
            lo, hi = np.percentile(ok, band, axis=0)
            ax.fill_between(x, lo, hi, color=colors[i], alpha=0.18, linewidth=0, zorder=0)
            ax.plot(x, np.median(ok, axis=0), color=colors[i], linewidth=2.2, zorder=2,
                    label=label, gid=f"median/{g.row_label(s)}")
        if panels:
            ax.set_title(label, fontsize=9)
    for ax in dict.fromkeys(row_axes):
        for k in sorted({_n_modes(g) for g, _ in rows}):
            ax.axhline(k, color="0.5", linestyle="--", linewidth=0.8, zorder=0, gid="n_modes")
        _integer_y(ax, k_max)
        ax.grid(alpha=0.25)
    what = "min-max" if tuple(band) == (0.0, 100.0) else f"{band[0]:g}-{band[1]:g} percentile"
    note = f"median over seeds (thick), {what} (band), single seeds (thin; dotted: diverged)"
    if panels:
        fig.supxlabel("generator step")
        fig.supylabel("modes covered")
        fig.suptitle(note, fontsize=9.5)
    else:
        ax = row_axes[0]
        ax.set_xlabel("generator step")
        ax.set_ylabel("modes covered")
        ax.set_title(note, fontsize=9.5)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    return fig


FIGURE_FORMATS = ("png", "pdf", "svg")


def save_figures(result: SweepResult | GroupResult, out_dir: str, *, dpi: int = 120,
                 n_seeds: int = 4, fmt: str = "png") -> list[str]:
    """Writes ``samples``, ``coverage`` and ``coverage_over_training`` figures atomically.

    Args:
      result: a sweep result or one group.
      out_dir: folder (created if needed); existing figures there are replaced.
      dpi: resolution of the PNG files.
      n_seeds: seed columns of the sample grid.
      fmt: ``png``, ``pdf`` or ``svg`` (vector formats for papers).

    Returns:
      The three paths written, in the order above (for a system that declares its table,
      ``mcjax.plots.population.save_population_figures``'s instead).
    """
    if fmt not in FIGURE_FORMATS:
        raise ConfigError(f"unknown figure format {fmt!r}; allowed: {', '.join(FIGURE_FORMATS)}")
    from mcjax.plots.population import declares_table, save_population_figures

    if declares_table(result):  # a system with its own metrics (config.TABLE), not mode coverage
        return save_population_figures(result, out_dir, dpi=dpi, fmt=fmt)
    os.makedirs(out_dir, exist_ok=True)
    from mcjax.plots.images import image_tiles, is_image_result

    samples = image_tiles if is_image_result(result) else sample_grid
    figures = (samples(result, n_seeds), coverage_distribution(result),
               coverage_over_training(result))
    paths = []
    for name, fig in zip(FIGURE_FILES, figures):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi)
        path = os.path.join(out_dir, os.path.splitext(name)[0] + "." + fmt)
        atomic_write(path, buf.getvalue())
        paths.append(path)
    return paths
