"""Figures of :mod:`mcjax.analysis.across_fields`: one drift, several fields, over the closed forms.

Built without pyplot; each system's line has ``gid="h/<system>"`` or ``gid="cdf/<system>"`` so
that a test can read what was drawn.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

__all__ = ["identity_figure", "remedies_figure"]


def identity_figure(found: Mapping[str, tuple], exact, title: str = "") -> Figure:
    """Left: mean heterozygosity over generations per system (+- 2 SE band) over the exact
    ``H_0 (1 - 1/N)^t``; right: the fixation-time CDF per system over the exact one.

    ``found``: ``name -> (steps, h [runs, T], fixation [runs])``; ``exact``:
    :class:`~mcjax.analysis.across_fields.ClosedForms`.
    """
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_h, ax_c = fig.subplots(1, 2)
    t = np.arange(len(exact.heterozygosity))
    ax_h.plot(t, exact.heterozygosity, "k--", lw=2.5, alpha=0.6, label="exact H_0 (1 - 1/N)^t")
    ax_c.plot(t, exact.fixation_cdf, "k--", lw=2.5, alpha=0.6, label="exact (Wright-Fisher chain)")
    for name, (steps, h, fix) in found.items():
        h = np.asarray(h, np.float64)
        mean, se = h.mean(0), h.std(0, ddof=1) / np.sqrt(h.shape[0])
        (line,) = ax_h.plot(steps, mean, lw=1.2, label=f"{name} ({h.shape[0]} runs)", gid=f"h/{name}")
        ax_h.fill_between(steps, mean - 2 * se, mean + 2 * se, color=line.get_color(), alpha=0.2)
        t_fix = np.where(np.asarray(fix) < 0, len(t), fix)
        ecdf = (t_fix[None, :] <= t[:, None]).mean(1)
        ax_c.step(t, ecdf, where="post", lw=1.2, color=line.get_color(), label=name,
                  gid=f"cdf/{name}")
    ax_h.set(xlabel="generation t", ylabel="heterozygosity 1 - sum p^2 (mean, 2 SE band)",
             title="diversity decay")
    ax_c.set(xlabel="generation t", ylabel="P(one type left by t)", title="fixation time")
    for ax in (ax_h, ax_c):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def remedies_figure(panels: Mapping[str, Mapping[str, tuple]], metric: str = "D2",
                    xlabel: str = "generation") -> Figure:
    """One panel per system: ``metric`` over generations, median over seeds with the
    interquartile band, one line per remedy. ``panels``: ``system -> remedy -> (steps, values
    [runs, T])``."""
    fig = Figure(figsize=(4.2 * len(panels), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (system, lines) in zip(axes, panels.items()):
        for remedy, (steps, values) in lines.items():
            v = np.asarray(values, np.float64)
            q1, med, q3 = np.percentile(v, [25, 50, 75], axis=0)
            (line,) = ax.plot(steps, med, lw=1.3, label=f"{remedy} ({v.shape[0]})",
                              gid=f"{system}/{remedy}")
            ax.fill_between(steps, q1, q3, color=line.get_color(), alpha=0.15)
        ax.set(title=system, xlabel=xlabel, ylabel=f"{metric} (median, IQR band)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig
