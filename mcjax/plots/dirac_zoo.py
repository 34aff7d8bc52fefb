"""Figures of the Dirac-GAN zoo (:mod:`mcjax.analysis.dirac_zoo`): phase portraits and spectra.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot. Artists that carry
data have a ``gid`` (``"path/<rule>/<i>"``, ``"eigs/<rule>"``, ``"rho/<rule>"``) so tests and
notebooks can read the plotted numbers back.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
from matplotlib.figure import Figure

__all__ = ["zoo_portraits", "zoo_spectra"]

_STYLE = ("-", "--", ":", "-.")


def zoo_portraits(paths: Mapping[str, np.ndarray], fields: Mapping[str, Callable],
                  titles: Mapping[str, str] | None = None, *, extent: float = 2.0,
                  n_grid: int = 21, ncols: int = 3) -> Figure:
    """One phase portrait per rule: the game's field and the rule's iterates from a few starts.

    Args:
      paths: ``rule -> [n, T + 1, 2]`` iterates ``(theta, psi)``.
      fields: ``rule -> xi_fn`` drawn as grey streamlines of ``-xi`` (the continuous-time field of
        the game the rule trains on; the rule's discrete steps are the coloured lines).
      titles: ``rule -> panel title`` (default: the rule).
      extent: half-width of each square window.
      n_grid: grid points per axis of the field.
      ncols: panels per row.

    Returns:
      The figure; iterates from start ``i`` are the line ``gid="path/<rule>/<i>"``.
    """
    import jax.numpy as jnp

    if not paths:
        raise ValueError("no trajectories to plot")
    rules = list(paths)
    nrows = math.ceil(len(rules) / ncols)
    fig = Figure(figsize=(3.4 * ncols, 3.4 * nrows + 0.3), layout="constrained")
    axes = np.ravel(fig.subplots(nrows, ncols, squeeze=False))
    axis = np.linspace(-extent, extent, n_grid)
    T, P = np.meshgrid(axis, axis)
    for ax, rule in zip(axes, rules):
        g_t, g_p = fields[rule]((jnp.asarray(T, jnp.float32), jnp.asarray(P, jnp.float32)))
        U, V = -np.asarray(g_t, np.float64), -np.asarray(g_p, np.float64)
        ax.streamplot(axis, axis, U, V, color="0.75", density=0.8, linewidth=0.7, arrowsize=0.7,
                      zorder=1)
        for i, path in enumerate(np.asarray(paths[rule])):
            ax.plot(path[:, 0], path[:, 1], color=f"C{i}", linewidth=1.0, zorder=3,
                    gid=f"path/{rule}/{i}")
            ax.plot(path[:1, 0], path[:1, 1], marker="o", color=f"C{i}", markersize=4, zorder=4)
        ax.plot([0.0], [0.0], marker="*", markersize=10, color="#e67e22", linestyle="none", zorder=5)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title((titles or {}).get(rule, rule), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(rules):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("ψ (critic slope)", fontsize=8)
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("θ (generator point)", fontsize=8)
    return fig


def zoo_spectra(eigs: Mapping[str, np.ndarray], rho_curves: Mapping[str, tuple],
                measured: Mapping[str, tuple] | None = None, *, h: float,
                window: tuple = (0.95, 1.01, 0.06)) -> Figure:
    """Update-matrix eigenvalues in the complex plane (left) and spectral radius against ``h`` (right).

    Args:
      eigs: ``rule -> eigenvalues`` of the update matrix at step size ``h``.
      rho_curves: ``rule -> (hs, rho)`` closed-form spectral radius over step sizes.
      measured: ``rule -> (hs, rho)`` spectral radius measured from mcjax's rule code (markers).
      h: the step size of ``eigs`` (marked on the right panel).
      window: ``(re_min, re_max, im_half)`` of the complex-plane panel (the eigenvalues of small
        steps crowd near 1).

    Returns:
      The figure; the eigenvalues of a rule are the offsets of ``gid="eigs/<rule>"``, its curve
      the line ``gid="rho/<rule>"``.
    """
    if not eigs:
        raise ValueError("no eigenvalues to plot")
    fig = Figure(figsize=(12.5, 5.4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.25))
    markers = ("o", "s", "^", "v", "D", "P", "X", "*", "h")
    t = np.linspace(0, 2 * np.pi, 2000)
    left.plot(np.cos(t), np.sin(t), color="0.2", linewidth=1.0, label="unit circle")
    for i, (rule, lam) in enumerate(eigs.items()):
        lam = np.asarray(lam, np.complex128).ravel()
        left.scatter(lam.real, lam.imag, marker=markers[i % len(markers)], s=46, facecolors="none",
                     edgecolors=f"C{i}", linewidths=1.3, label=rule, zorder=3, gid=f"eigs/{rule}")
    re_min, re_max, im = window
    left.set_xlim(re_min, re_max)
    left.set_ylim(-im, im)
    left.set_aspect("equal", adjustable="box")
    left.set_xlabel("Re λ")
    left.set_ylabel("Im λ")
    left.grid(alpha=0.25)
    left.legend(fontsize=7.5, loc="center left", framealpha=0.9)
    left.set_title(f"eigenvalues of the update matrix, h = {h:g} (inside the circle: converges)",
                   fontsize=9.5)
    for i, (rule, (hs, rho)) in enumerate(rho_curves.items()):
        right.plot(hs, rho, color=f"C{i}", linestyle=_STYLE[i % len(_STYLE)], linewidth=1.4,
                   label=rule, gid=f"rho/{rule}")
        if measured and rule in measured:
            mh, mr = measured[rule]
            right.plot(mh, mr, marker=markers[i % len(markers)], color=f"C{i}", linestyle="none",
                       markersize=5, markerfacecolor="none")
    right.axhline(1.0, color="0.2", linewidth=0.9)
    right.axvline(h, color="0.5", linewidth=0.8, linestyle=":")
    right.set_xscale("log")
    right.set_ylim(0.0, 2.0)
    right.set_xlabel("step size h")
    right.set_ylabel("spectral radius ρ(M)")
    right.grid(alpha=0.25, which="both")
    right.legend(fontsize=7.5, ncol=2, loc="upper left", framealpha=0.9)
    right.set_title("ρ(M): closed form (lines), mcjax's rule code (markers); ρ < 1 converges",
                    fontsize=9.5)
    return fig
