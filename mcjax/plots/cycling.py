"""Figures of the mode-cycling study (issue 17, study 1): per-run occupancy heatmaps, hop counts
and dwell times over all runs, and the critic's value at a mode aligned on the log it is left.

Built without pyplot, like :mod:`mcjax.plots`; artists that carry data have a ``gid``.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from mcjax.analysis.cycling import Hops

__all__ = ["occupancy_heatmaps", "hop_histograms", "chase_plot"]


def occupancy_heatmaps(counts: np.ndarray, steps: np.ndarray, hops: Sequence[Hops],
                       titles: Sequence[str]) -> Figure:
    """One panel per run: each mode's share of the HQ samples (modes x logged step), the hops
    marked by ticks above the panel.

    Args:
      counts: ``[n, T, K]`` the runs' ``mode_counts``.
      steps: ``[T]`` generator steps of the logs.
      hops: the runs' :class:`~mcjax.analysis.cycling.Hops`.
      titles: one title per run.
    """
    n, T, K = counts.shape
    fig = Figure(figsize=(10, 1.2 + 1.6 * n), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False, sharex=True)[:, 0]
    total = np.maximum(counts.sum(axis=-1, keepdims=True), 1)
    dt = float(steps[1] - steps[0]) if T > 1 else 1.0
    for ax, c, h, title in zip(axes, counts / total, hops, titles):
        im = ax.imshow(c.T, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1,
                       extent=(steps[0] - dt / 2, steps[-1] + dt / 2, -0.5, K - 0.5),
                       interpolation="nearest", gid="occupancy")
        for t in h.times:
            ax.axvline(steps[t] - dt / 2, color="w", lw=0.8, ls=":")
        ax.set_ylabel("mode")
        ax.set_yticks(range(K))
        ax.set_title(title, fontsize=9, loc="left")
    axes[-1].set_xlabel("generator step (dotted: accepted hops)")
    fig.colorbar(im, ax=list(axes), label="share of HQ samples", shrink=0.8)
    return fig


def hop_histograms(hop_counts: np.ndarray, dwell: np.ndarray, censored: np.ndarray,
                   log_every: int) -> Figure:
    """Left: runs by number of hops after burn-in. Right: completed dwell times (and, stacked,
    the censored last dwells), in generator steps."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    a, b = fig.subplots(1, 2)
    top = int(hop_counts.max()) if len(hop_counts) else 0
    a.hist(hop_counts, bins=np.arange(-0.5, top + 1.5), color="C0", rwidth=0.85, gid="hops")
    a.set_xlabel("hops after burn-in")
    a.set_ylabel("runs")
    a.set_title(f"{len(hop_counts)} runs", fontsize=9)
    longest = max([1, *dwell, *censored]) * log_every
    bins = np.linspace(0, longest, 25)
    b.hist([np.asarray(dwell) * log_every, np.asarray(censored) * log_every], bins=bins,
           stacked=True, color=["C1", "0.7"], gid="dwell",
           label=[f"completed ({len(dwell)})", f"cut by the end ({len(censored)})"])
    b.set_xlabel("dwell time of an occupied set (generator steps)")
    b.set_ylabel("sets")
    b.legend(fontsize=8)
    return fig


def chase_plot(left: np.ndarray, kept: np.ndarray, log_every: int) -> Figure:
    """The critic's logit at a mode's centre aligned on the log the mode is left (mean +- one
    standard error over exits), beside the mean over the modes kept across the same hop; right:
    their difference per exit."""
    w = (left.shape[1] - 1) // 2
    x = np.arange(-w, w + 1) * log_every
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    a, b = fig.subplots(1, 2)

    def band(ax, v, color, label, gid):
        n = np.sum(np.isfinite(v), axis=0)
        with warnings.catch_warnings():  # an offset with no exit in range: NaN, drawn as a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(v, axis=0)
            se = np.nanstd(v, axis=0) / np.sqrt(np.maximum(n, 1))
        ax.plot(x, m, color=color, label=label, gid=gid)
        ax.fill_between(x, m - se, m + se, color=color, alpha=0.25)

    band(a, left, "C3", f"mode left ({len(left)} exits)", "left")
    band(a, kept, "C0", "modes kept (mean)", "kept")
    a.set_ylabel("critic logit at the mode centre")
    b_ok = np.all(np.isfinite(left - kept), axis=1)
    band(b, (left - kept)[b_ok], "C2", f"left - kept ({int(b_ok.sum())} exits)", "diff")
    b.axhline(0, color="0.6", lw=0.8)
    b.set_ylabel("difference of logits")
    for ax in (a, b):
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_xlabel("generator steps from the hop")
        ax.legend(fontsize=8)
    return fig
