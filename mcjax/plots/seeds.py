"""Figure of :mod:`mcjax.analysis.seeds`: how often an ``n``-seed ranking disagrees with all seeds'.

Returns a :class:`matplotlib.figure.Figure` built without pyplot; each curve is the line with
``gid="rate/<metric>/<pair>"``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = ["disagreement_plot"]


def disagreement_plot(curves: Mapping[str, Mapping[str, tuple]], *, mark_n: int = 5,
                      level: float = 0.95, n_total: int | None = None) -> Figure:
    """Disagreement rate against seeds per remedy (log x), one panel per metric, one line per pair.

    Args:
      curves: ``metric -> pair label -> (ns, rates, significant)``; pairs whose all-seed difference
        is not significant are drawn dashed. A pair has one colour in every panel (one legend).
      mark_n: the seed count a paper uses (vertical line).
      level: agreement target (horizontal line at ``1 - level``).
      n_total: seeds per remedy in the full run (for the title).

    Returns:
      The figure.
    """
    if not curves:
        raise ValueError("no curves to plot")
    metrics = list(curves)
    pairs = list(dict.fromkeys(p for m in metrics for p in curves[m]))  # one colour per pair
    fig = Figure(figsize=(5.2 * len(metrics), 6.4), layout="constrained")
    axes = np.ravel(fig.subplots(1, len(metrics), squeeze=False, sharey=True))
    for ax, metric in zip(axes, metrics):
        for pair, (ns, rates, significant) in curves[metric].items():
            i = pairs.index(pair)
            ax.plot(ns, rates, color=f"C{i % 10}", linewidth=1.6 if significant else 1.0,
                    linestyle="-" if significant else "--", marker="o" if significant else None,
                    markersize=2.5, label=pair, gid=f"rate/{metric}/{pair}")
        ax.axvline(mark_n, color="0.3", linewidth=0.9, linestyle=":")
        ax.axhline(1 - level, color="#c0392b", linewidth=0.9, linestyle=":")
        ax.text(mark_n * 1.04, 0.52, f"{mark_n} seeds", fontsize=8, color="0.3")
        ax.text(2.05, 1 - level + 0.008, f"{100 * (1 - level):.0f} %",
                fontsize=8, color="#c0392b")
        ax.set_xscale("log", base=2)
        ticks = [n for n in (2, 4, 8, 16, 32, 64, 128) if n <= max(max(c[0]) for c in
                                                                    curves[metric].values())]
        ax.set_xticks(ticks, [str(n) for n in ticks])
        ax.set_xlabel("seeds per remedy, n")
        ax.set_ylim(0, 0.6)
        ax.set_title(metric, fontsize=10)
        ax.grid(alpha=0.25, which="both")
    handles = [Line2D([], [], color=f"C{i % 10}", linewidth=1.6) for i in range(len(pairs))]
    fig.legend(handles, pairs, loc="outside lower center", ncol=min(5, len(pairs)), fontsize=8)
    axes[0].set_ylabel("P(n-seed ranking ≠ all-seed ranking)")
    total = f" {n_total}-seed" if n_total else " all-seed"
    fig.suptitle(f"How often an n-seed mean comparison disagrees with the{total} answer "
                 "(dashed: that answer is not significant, permutation p >= 0.05)", fontsize=10)
    return fig
