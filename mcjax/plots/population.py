"""Figures of a sweep whose system declares its table (``config.TABLE``, e.g. a Wright-Fisher
population): each declared metric over time, one panel per metric, one colour per row.

A *row* is one (group, setting) pair, as in :mod:`mcjax.plots.coverage`; the median over its
non-diverged seeds is a thick line (``gid`` ``"median/<metric>/<row label>"``) and the min-max over
seeds a shaded band. Figures are built without pyplot.

Example:
  >>> result = SweepResult.load("out/wf")
  >>> metrics_over_time(result).savefig("out/wf/diversity.png")
"""
from __future__ import annotations

import io
import math
import os

import numpy as np
from matplotlib.figure import Figure

from mcjax._validation import ConfigError
from mcjax.core.results import GroupResult, SweepResult, atomic_write
from mcjax.plots.coverage import FIGURE_FORMATS, _colors, _diverged_note, _groups, _rows

__all__ = ["metrics_over_time", "save_population_figures", "declares_table", "POPULATION_FIGURES"]

POPULATION_FIGURES = ("diversity.png",)
_PLOTTED_KINDS = ("value", "of_modes")


def declares_table(result: SweepResult | GroupResult) -> bool:
    """Whether the result's system declares its own table columns (``config.TABLE``)."""
    return any(g.columns is not None for g in _groups(result))


def _metrics(rows: list[tuple[GroupResult, int]]) -> list:
    """The declared columns logged over time by every row's group, in declaration order."""
    columns = next(g.columns for g, _ in rows if g.columns is not None)
    return [c for c in columns if c.kind in _PLOTTED_KINDS and all(c.metric in g.history for g, _ in rows)]


def metrics_over_time(result: SweepResult | GroupResult, *, log_x: bool = False) -> Figure:
    """Each declared metric (``config.TABLE`` columns logged over time) against the step.

    Args:
      result: a sweep result or one group of a system that declares its table.
      log_x: a logarithmic step axis.

    Returns:
      A ``Figure`` with one panel per metric (up to three a line) and one legend.
    """
    rows = _rows(result)
    metrics = _metrics(rows)
    if not metrics:
        raise ValueError("the result declares no metric logged over time")
    colors = _colors(len(rows))
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = Figure(figsize=(3.6 * ncols + 2.2, 2.8 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_axis_off()
    for ax, col in zip(axes.ravel(), metrics):
        for i, (g, s) in enumerate(rows):
            x = np.asarray(g.log_steps, np.float64)
            h = np.asarray(g.history[col.metric][s], np.float64)
            ok = ~np.asarray(g.diverged[s], bool)
            if not ok.any():
                continue
            lo, hi = h[ok].min(axis=0), h[ok].max(axis=0)
            ax.fill_between(x, lo, hi, color=colors[i], alpha=0.12, linewidth=0)
            label = g.row_label(s) + _diverged_note(int((~ok).sum()), len(ok))
            ax.plot(x, np.median(h[ok], axis=0), color=colors[i], linewidth=2.0, label=label,
                    gid=f"median/{col.metric}/{g.row_label(s)}")
        if col.kind == "of_modes":
            k = max(int(g.target["n_modes"]) for g, _ in rows)
            ax.axhline(k, color="0.5", linestyle="--", linewidth=0.8, zorder=0)
            ax.set_ylim(0, k + 0.5)
        ax.set_title(col.header, fontsize=10)
        if log_x:
            ax.set_xscale("log")
        ax.grid(alpha=0.25)
        ax.tick_params(labelbottom=True)
    fig.supxlabel("step (generation)")
    fig.suptitle("median over seeds (line), min-max (band)", fontsize=9.5)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8.5, frameon=False)
    return fig


def save_population_figures(result: SweepResult | GroupResult, out_dir: str, *, dpi: int = 120,
                            fmt: str = "png") -> list[str]:
    """Writes :func:`metrics_over_time` as ``diversity.<fmt>`` atomically; returns its path."""
    if fmt not in FIGURE_FORMATS:
        raise ConfigError(f"unknown figure format {fmt!r}; allowed: {', '.join(FIGURE_FORMATS)}")
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, fig in zip(POPULATION_FIGURES, (metrics_over_time(result),)):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi)
        path = os.path.join(out_dir, os.path.splitext(name)[0] + "." + fmt)
        atomic_write(path, buf.getvalue())
        paths.append(path)
    return paths
