"""Figures of the vanishing-gradient study (issue 17, study 2): the generator's pull toward a
missed mode against distance, measured and closed form, and against the critic's training steps.

Built without pyplot, like :mod:`mcjax.plots`; artists that carry data have a ``gid``.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mcjax.analysis.gradients import PullScan, two_point_pull

__all__ = ["pull_vs_distance", "pull_vs_steps"]

STYLE = {"minimax": "C3", "non-saturating": "C1", "wasserstein": "C0"}


def _band(ax, x, v, color, label, gid):
    """Mean over seeds (axis 1 of ``v [D, S]``) with the min-max range shaded, log-scale safe."""
    tiny = 1e-8
    ax.plot(x, np.maximum(v.mean(axis=1), tiny), "o-", ms=3, color=color, label=label, gid=gid)
    ax.fill_between(x, np.maximum(v.min(axis=1), tiny), np.maximum(v.max(axis=1), tiny),
                    color=color, alpha=0.2)


def pull_vs_distance(js: PullScan, wgp: PullScan, l2_weight: float) -> Figure:
    """Log-log pull after the critic's last step against ``d``, measured (mean, min-max over
    seeds) for the minimax and non-saturating losses (GAN critic) and WGAN-GP, with the closed
    forms for two point masses: W1 (1), WGAN-GP (``1 + d / 20``), the L2-penalised logistic
    critic of weight ``l2_weight``; the optimal JS critic's pull, 0, is stated in the title."""
    d = js.distances
    dd = np.geomspace(d.min(), d.max(), 200)
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for name, scan in (("minimax", js), ("non-saturating", js), ("wasserstein", wgp)):
        label = {"wasserstein": "WGAN-GP critic"}.get(name, f"GAN critic, {name} loss")
        _band(ax, d, scan.pull[name][:, :, -1], STYLE[name], f"measured: {label}", f"pull/{name}")
    ax.plot(dd, two_point_pull(dd, "wasserstein-1"), "k:", lw=1, label="closed: W1 critic (1)")
    ax.plot(dd, two_point_pull(dd, "wgan-gp", 10.0), "--", color="C0", lw=1,
            label="closed: WGAN-GP, w = 10 (1 + d/20)")
    for form, name in (("minimax-l2", "minimax"), ("non-saturating-l2", "non-saturating")):
        ax.plot(dd, np.maximum(two_point_pull(dd, form, l2_weight), 1e-8), "--",
                color=STYLE[name], lw=1,
                label=f"closed: linear logistic critic, L2 {l2_weight:g}, {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo = min(1e-4, float(np.nanmin(np.maximum(js.pull["minimax"][:, :, -1], 1e-8))))
    ax.set_ylim(max(lo / 2, 1e-8), None)
    ax.set_xlabel("distance d to the missed line")
    ax.set_ylabel("pull toward the missed line  -d loss / dx")
    ax.set_title(f"after {int(js.steps[-1])} critic steps; optimal JS critic: pull 0 at every d",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def pull_vs_steps(js: PullScan) -> Figure:
    """The GAN critic's pull (minimax and non-saturating losses; mean over seeds) against the
    critic's training steps, one line per distance."""
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    colors = [f"C{i % 10}" for i in range(len(js.distances))]
    for ax, name in zip(axes, ("minimax", "non-saturating")):
        for i, (d, c) in enumerate(zip(js.distances, colors)):
            if i % 2 and i != len(js.distances) - 1:
                continue  # every other distance, so the legend stays readable
            v = np.maximum(js.pull[name][i].mean(axis=0), 1e-8)
            ax.plot(js.steps, v, color=c, label=f"d = {d:.3g}", gid=f"steps/{name}/{i}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("critic steps")
        ax.set_title(f"GAN critic, {name} loss", fontsize=9)
    axes[0].set_ylabel("pull toward the missed line")
    axes[1].legend(fontsize=7, ncol=2)
    return fig
