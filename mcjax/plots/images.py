"""Figures of image targets (stacked MNIST / stacked digits): tiles of each run's final samples."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mcjax.core.results import GroupResult, SweepResult
from mcjax.plots.coverage import _DIVERGED_COLOR, _groups, _n_modes, _rows, wrap_label

__all__ = ["is_image_result", "tile", "image_tiles"]


def is_image_result(result: SweepResult | GroupResult) -> bool:
    """Whether the kept samples are images ``[S, N, keep, H, W, C]`` rather than points."""
    return all(np.ndim(g.samples) == 6 for g in _groups(result))


def tile(images: np.ndarray, cols: int) -> np.ndarray:
    """``[n, H, W, C]`` images in ``[-1, 1]`` as one ``[rows H + rows - 1, cols W + cols - 1, C]``
    mosaic in ``[0, 1]``, one-pixel white gutters, missing cells white; non-finite pixels black."""
    n, h, w, c = images.shape
    rows = max(1, -(-n // cols))
    out = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1, c))
    x = np.clip((np.nan_to_num(np.asarray(images, np.float64), nan=-1.0, posinf=-1.0,
                               neginf=-1.0) + 1.0) / 2.0, 0.0, 1.0)
    for i in range(n):
        r, q = divmod(i, cols)
        out[r * (h + 1): r * (h + 1) + h, q * (w + 1): q * (w + 1) + w] = x[i]
    return out


def image_tiles(result: SweepResult | GroupResult, n_seeds: int = 4, n_images: int = 16) -> Figure:
    """The first ``n_images`` kept samples of each run's final generator as a mosaic, one panel
    per (row, seed): rows are the result's rows, columns its first ``n_seeds`` seeds. Titles give
    the seed and the modes covered at the last logged step (diverged runs in red).

    Raises:
      ValueError: ``n_seeds`` or ``n_images`` below 1.
    """
    if n_seeds < 1 or n_images < 1:
        raise ValueError(f"n_seeds and n_images must be >= 1, got {n_seeds} and {n_images}")
    rows = _rows(result)
    ncols = min(n_seeds, max(len(g.seeds) for g in _groups(result)))
    panel = 2.3
    fig = Figure(figsize=(max(4.4, panel * ncols + 0.8), panel * len(rows) + 0.7),
                 layout="constrained")
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (g, s) in enumerate(rows):
        covered, k = g.final("modes_covered"), _n_modes(g)
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(wrap_label(g.row_label(s)), fontsize=10)
            if c >= len(g.seeds):
                ax.set_axis_off()
                continue
            images = np.asarray(g.samples[s, c][:n_images])
            mosaic = tile(images, int(np.ceil(np.sqrt(len(images)))))
            ax.imshow(mosaic if mosaic.shape[-1] == 3 else mosaic[..., 0], cmap="gray",
                      interpolation="nearest")
            bad = bool(g.diverged[s, c])
            title = f"seed {int(g.seeds[c])}: {int(covered[s, c])}/{k} modes"
            if bad:
                title += f"\ndiverged at step {int(g.diverged_step[s, c])}"
            ax.set_title(title, fontsize=8.5, color=_DIVERGED_COLOR if bad else "black")
    fig.suptitle("final generator samples (each channel one digit)", fontsize=10.5)
    return fig
