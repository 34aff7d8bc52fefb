"""Figures of the collapse-prediction study (issue 14): held-out AUC along training per feature, the
critic's force field for a collapsed and a healthy run, and the mode flux per mode along training.

Built without pyplot, like :mod:`mcjax.plots`; artists that carry data have a ``gid``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from mcjax.analysis.collapse import ForceField
from mcjax.analysis.study import StudyReport
from mcjax.core.results import GroupResult

__all__ = ["auc_over_time", "force_field_pair", "flux_over_training"]


def auc_over_time(report: StudyReport) -> Figure:
    """Held-out AUC (95 % bootstrap interval) of each feature against the share of training it was
    read at, one panel per feature group; a filled marker where the Holm-adjusted p < 0.05. Grey
    lines: chance (0.5) and the smallest AUC the test half detects at Holm's strictest level."""
    groups = list(dict.fromkeys(r.group for r in report.features))
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, group in zip(axes, groups):
        names = list(dict.fromkeys(r.feature for r in report.features if r.group == group))
        for k, name in enumerate(names):
            rs = sorted((r for r in report.features if r.feature == name), key=lambda r: r.time)
            t = np.array([100 * r.time for r in rs]) + 0.4 * (k - (len(names) - 1) / 2)
            a = np.array([r.auc for r in rs])
            err = np.array([[r.auc - r.low for r in rs], [r.high - r.auc for r in rs]])
            line = ax.errorbar(t, a, yerr=err, marker="o", ms=4, capsize=2, label=name,
                               mfc="none", gid=f"auc/{name}")
            sig = np.array([r.p_holm < 0.05 for r in rs])
            ax.plot(t[sig], a[sig], "o", ms=5, color=line[0].get_color())
        ax.axhline(0.5, color="0.6", lw=0.8)
        ax.axhline(report.detectable_holm, color="0.6", lw=0.8, ls="--")
        ax.set_xticks(sorted({100 * r.time for r in report.features}))
        ax.set_title(group)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("read at (% of training)")
        ax.set_ylabel("held-out AUC")
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(f"Which run collapses? held-out AUC on {report.n_test} runs "
                 f"({report.test_collapsed} collapsed); dashed: detectable at Holm's level")
    return fig


def force_field_pair(panels: Sequence[tuple[str, ForceField, np.ndarray, np.ndarray]]) -> Figure:
    """One panel per ``(title, field, samples [n, 2], means [K, 2])``: the critic's force
    ``grad_x D`` as unit arrows coloured by log-magnitude, the generator's samples and the modes."""
    fig = Figure(figsize=(4.6 * len(panels), 4.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, field, samples, means) in zip(axes, panels):
        xx, yy = np.meshgrid(field.x, field.y)
        u, v = field.force[..., 0], field.force[..., 1]
        mag = np.hypot(u, v)
        unit = np.where(mag > 0, mag, 1.0)
        ax.scatter(samples[:, 0], samples[:, 1], s=2, color="tab:red", alpha=0.3, zorder=1,
                   label="generated")
        q = ax.quiver(xx, yy, u / unit, v / unit, np.log10(mag + 1e-12), cmap="viridis", zorder=2,
                      gid=f"field/{title}")
        ax.scatter(means[:, 0], means[:, 1], s=60, facecolors="none", edgecolors="k", zorder=3,
                   label="modes")
        ax.set_xlim(field.x[0], field.x[-1])
        ax.set_ylim(field.y[0], field.y[-1])
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        fig.colorbar(q, ax=ax, shrink=0.7, label="log10 ||grad D||")
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def flux_over_training(group: GroupResult, setting: int, runs: Sequence[int],
                       titles: Sequence[str]) -> Figure:
    """Mode flux of each mode along training for the runs (seed positions) ``runs``: one line per
    mode, drawn dotted where the mode is not covered at that log (its HQ count is 0)."""
    steps = np.asarray(group.log_steps)
    fig = Figure(figsize=(5.0 * len(runs), 3.4), layout="constrained")
    axes = fig.subplots(1, len(runs), squeeze=False)[0]
    for ax, n, title in zip(axes, runs, titles):
        flux = np.asarray(group.history["mode_flux"][setting, n])  # [T, K]
        missing = np.asarray(group.history["mode_counts"][setting, n]) == 0
        for k in range(flux.shape[1]):
            line, = ax.plot(steps, flux[:, k], lw=1, gid=f"flux/{n}/{k}", label=f"mode {k}")
            ax.plot(steps[missing[:, k]], flux[missing[:, k], k], ".", ms=3, color=line.get_color())
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel("generator step")
        ax.set_ylabel("d occupancy / update")
        ax.set_title(title, fontsize=9)
    n_modes = flux.shape[1]
    if n_modes <= 12:
        axes[-1].legend(fontsize=6, ncol=2)
    else:  # a legend of many modes would hide the lines: put it beside the last panel
        axes[-1].legend(fontsize=6, ncol=2, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig
