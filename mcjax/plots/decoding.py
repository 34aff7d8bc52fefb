"""Figure of the decoding system against beam width: topics covered per decoder, over the closed
forms. Built without pyplot; each line has ``gid="width/<name>"``."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["width_figure"]


def width_figure(found: Mapping[str, Sequence[tuple]], exact: Mapping[str, Sequence[float]],
                 widths: Sequence[int], topics: int = 4) -> Figure:
    """Topics covered (mean +- 2 SE over seeds) against the width B, one panel per concentration
    named in ``found``'s keys (``"decoder (concentration c)"``), closed forms dashed.

    ``found``: ``name -> [(B, median, mean, SE)]``; ``exact``: ``name -> [value per width]``.
    """
    groups: dict[str, dict] = {}
    for name, vals in found.items():
        decoder, _, conc = name.partition(" (")
        groups.setdefault(conc.rstrip(")"), {})[decoder] = vals
    fig = Figure(figsize=(5 * len(groups), 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True))
    for ax, (conc, by) in zip(axes, groups.items()):
        for decoder, vals in by.items():
            w, _, mean, se = (np.asarray(v, np.float64) for v in zip(*vals))
            ax.errorbar(w, mean, yerr=2 * se, marker="o", capsize=3, label=decoder,
                        gid=f"width/{decoder} ({conc})")
        for name, vals in exact.items():
            if "(" not in name or conc in name:
                ax.plot(widths, vals, "k--", alpha=0.5, lw=1.5)
                ax.annotate(f"closed form: {name.split(' (')[0]}", (widths[-1], vals[-1]),
                            fontsize=7, ha="right", va="bottom")
        ax.axhline(topics, color="gray", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set(xticks=list(widths), xticklabels=[str(w) for w in widths],
               xlabel="width B (outputs)", title=conc, ylim=(0, topics + 0.3))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center right")
    axes[0].set_ylabel("topics covered D_0 (mean, 2 SE)")
    return fig
