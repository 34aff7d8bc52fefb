"""Figure of :mod:`mcjax.analysis.tradeoff`: diversity against fidelity, one curve per remedy.

Returns a :class:`matplotlib.figure.Figure` built without pyplot; each remedy's centre line has
``gid="curve/<metric>/<remedy>"`` (offsets: HQ %, metric) so a test can read what was drawn.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["tradeoff_figure"]

_YLABEL = {"modes_covered": "modes covered", "reverse_kl": "reverse KL (nats)"}


def _weight_label(w: float) -> str:
    return "0" if w == 0 else f"{w:g}"


def tradeoff_figure(curves: Mapping[str, Sequence], *, centre: str = "median",
                    metrics: Sequence[str] = ("modes_covered", "reverse_kl"),
                    n_modes: int | None = None, title: str = "") -> Figure:
    """HQ % (x) against each of ``metrics`` (one panel each), one curve per remedy.

    Each point is one weight: its ``centre`` (``median`` with an interquartile cross, or ``mean``
    with a +- standard-error cross) over seeds, joined in weight order and labelled with the weight;
    the knee (:func:`mcjax.analysis.tradeoff.knee`, on HQ against modes covered) is ringed.

    Args:
      curves: ``remedy -> [TradeoffPoint]`` in weight order.
      centre: ``"median"`` (IQR cross) or ``"mean"`` (+- SE cross).
      metrics: the y metrics, keys of ``TradeoffPoint.stats``.
      n_modes: the target's mode count (a dashed line on the modes panel).
      title: the figure's title.
    """
    from mcjax.analysis.tradeoff import knee

    if centre not in ("median", "mean"):
        raise ValueError(f"centre must be 'median' or 'mean', got {centre!r}")
    fig = Figure(figsize=(6.0 * len(metrics), 5.0), layout="constrained")
    axes = np.ravel(fig.subplots(1, len(metrics), squeeze=False))

    def cross(s):
        c = getattr(s, centre)
        lo, hi = (s.q1, s.q3) if centre == "median" else (s.mean - s.se, s.mean + s.se)
        return c, c - lo, hi - c

    for ax, metric in zip(axes, metrics):
        for i, (remedy, points) in enumerate(curves.items()):
            color = f"C{i % 10}"
            hq = np.array([cross(p.stats["hq_fraction"]) for p in points]) * [100, 100, 100]
            ys = np.array([cross(p.stats[metric]) for p in points])
            ax.errorbar(hq[:, 0], ys[:, 0], xerr=hq[:, 1:].T, yerr=ys[:, 1:].T, color=color,
                        marker="o", markersize=4, linewidth=1.4, elinewidth=0.8, capsize=2,
                        label=remedy)
            ax.lines[-1].set_gid(f"curve/{metric}/{remedy}")
            for p, x, y in zip(points, hq[:, 0], ys[:, 0]):
                ax.annotate(_weight_label(p.weight), (x, y), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=color)
            modes = [getattr(p.stats["modes_covered"], centre) for p in points]
            k = knee(hq[:, 0], modes)
            ax.scatter([hq[k, 0]], [ys[k, 0]], s=160, facecolors="none", edgecolors=color,
                       linewidths=1.4, zorder=4)
        if metric == "modes_covered" and n_modes:
            ax.axhline(n_modes, color="0.5", linestyle="--", linewidth=0.9)
            ax.set_ylim(0, n_modes + 0.6)
        ax.set_xlabel("high-quality samples, HQ % (fidelity)")
        ax.set_ylabel(_YLABEL.get(metric, metric))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=9, loc="best")
    what = "median, interquartile cross" if centre == "median" else "mean, +- SE cross"
    fig.suptitle((title + "\n" if title else "") + f"one point per weight ({what} over seeds; "
                 "labels: weight; open circle: knee)", fontsize=10)
    return fig
