"""Figures of the game's local dynamics: eigenvalues, spectra, path-angles, phase portraits, rotation.

The measurements come from :mod:`mcjax.analysis` (one state at a time) and from the training
history of a sweep run with ``Config(log_dynamics=True)`` (every run, along training). Every
function returns a :class:`matplotlib.figure.Figure` built without pyplot, like :mod:`mcjax.plots`.

Conventions (:mod:`mcjax.analysis.dynamics`): ``xi`` is the simultaneous gradient that each player
*descends*, ``J = d xi``; simultaneous gradient descent contracts along eigenvalues of ``J`` with
positive real part and rotates along their imaginary part. Mescheder et al. (2017, 2018) plot the
update field ``v = -xi``, whose Jacobian has the negated eigenvalues.

A run is *collapsed* when it covers fewer modes than the target has at the last logged step, and
*healthy* when it covers all of them; diverged runs are neither and are left out of every statistic
(as in ``SweepResult.table``).

Artists that carry data have a ``gid`` (e.g. ``"eigs/<label>"``), so tests and notebooks can read
the plotted numbers back.

Example:
  >>> from mcjax.analysis import dirac_gan
  >>> fig = dirac_phase_portrait(dirac_gan(gp_weight=0.3), start=(1.0, 1.0))
  >>> fig.savefig("dirac.png")
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mcjax.analysis.curvature import SpectralDensity
from mcjax.analysis.dynamics import PathAngle
from mcjax.core.results import GroupResult, SweepResult
from mcjax.metrics import collapse_classes

__all__ = [
    "eigenvalues_complex",
    "spectral_density_plot",
    "path_angle_plot",
    "dirac_phase_portrait",
    "rotation_over_training",
    "dynamics_scatter",
    "METRIC_LABELS",
]

METRIC_LABELS = {
    "rotation_index": "rotation index ||A||²/||J||²",
    "grad_norm": "||ξ||",
    "g_hessian_max": "generator: top Hessian eigenvalue",
    "g_hessian_min": "generator: bottom Hessian eigenvalue",
    "d_hessian_max": "critic: top Hessian eigenvalue",
    "d_hessian_min": "critic: bottom Hessian eigenvalue",
    "modes_covered": "modes covered",
}
_MARKERS = ("o", "x", "s", "^", "D", "v", "+", "P")
_CLASS_COLORS = {"collapsed": "#c0392b", "healthy": "#2471a3"}


def _label(name: str) -> str:
    return METRIC_LABELS.get(name, name)


def eigenvalues_complex(eigs: Mapping[str, Any], *, convention: str = "xi", panels: bool = False,
                        title: str | None = None) -> Figure:
    """Eigenvalues of game Jacobians in the complex plane, one marker style per label.

    The half plane where simultaneous gradient descent contracts is shaded: ``Re > 0`` for the
    Jacobian of the descended field ``xi`` (``convention="xi"``, :mod:`mcjax.analysis`'s),
    ``Re < 0`` for that of the update field ``v = -xi`` (``convention="v"``, Mescheder et al.'s).
    Purely imaginary eigenvalues (``Re = 0``) are the rotation that simultaneous descent does not
    damp (Mescheder et al. 2017, Sec. 3). The axes pass through 0 and have equal aspect, so the
    angle of an eigenvalue is its ratio of rotation to contraction.

    Args:
      eigs: ``label -> array`` of eigenvalues (complex or real, any shape; flattened), e.g.
        ``{"no penalty": jacobian_eigenvalues(J0), "gamma=1": jacobian_eigenvalues(J1)}``.
      convention: ``"xi"`` or ``"v"`` (see above); only the shading and the axis note depend on it.
      panels: one axes per label, each with its own window (for spectra of different scales),
        instead of all labels on one axes.
      title: the title; default names the convention.

    Returns:
      A ``Figure`` with one axes (or one per label); the eigenvalues of each label are the offsets
      ``(Re, Im)`` of the collection with ``gid`` ``"eigs/<label>"``.

    Example:
      >>> J = game_jacobian(dirac_gan(), (jnp.zeros(()), jnp.zeros(())))
      >>> eigenvalues_complex({"no penalty": jacobian_eigenvalues(J)})
    """
    if convention not in ("xi", "v"):
        raise ValueError(f"convention must be 'xi' or 'v', got {convention!r}")
    if not eigs:
        raise ValueError("no eigenvalues to plot")
    values = {k: np.asarray(v).astype(np.complex128).ravel() for k, v in eigs.items()}
    n_ax = len(values) if panels else 1
    fig = Figure(figsize=(5.4 if n_ax == 1 else 4.4 * n_ax, 5.0 if n_ax == 1 else 5.0),
                 layout="constrained")
    axes = list(np.ravel(fig.subplots(1, n_ax, squeeze=False)))
    groups = [[k] for k in values] if panels else [list(values)]
    for ax, labels in zip(axes, groups):
        everything = np.concatenate([values[k] for k in labels])
        r = float(np.max(np.abs(everything))) if everything.size else 0.0
        r = 1.2 * r if r > 0 else 1.0
        for label in labels:
            i = list(values).index(label)
            lam = values[label]
            marker = _MARKERS[i % len(_MARKERS)]
            filled = marker not in ("x", "+")
            ax.scatter(lam.real, lam.imag, marker=marker, s=70 if filled else 80, linewidths=1.6,
                       facecolors="none" if filled else None,
                       edgecolors=f"C{i}" if filled else None, color=None if filled else f"C{i}",
                       label=label, zorder=3, gid=f"eigs/{label}")
        ax.axhline(0.0, color="0.3", linewidth=0.8, zorder=1)
        ax.axvline(0.0, color="0.3", linewidth=0.8, zorder=1)
        ax.axvspan(0.0, r if convention == "xi" else -r, color="#27ae60", alpha=0.08,
                   linewidth=0, zorder=0)
        ax.set_xlim(-r, r)
        ax.set_ylim(-r, r)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("Re λ")
        ax.set_ylabel("Im λ")
        ax.legend(loc="upper left", fontsize=8.5 if n_ax == 1 else 7.5, framealpha=0.9)
        ax.grid(alpha=0.25)
    field = "J = ∂ξ (descended field ξ)" if convention == "xi" else "∂v, v = -ξ (update field)"
    side = "Re λ > 0" if convention == "xi" else "Re λ < 0"
    text = title or f"eigenvalues of {field}\nshaded: {side}, where simultaneous descent contracts"
    if n_ax == 1:
        axes[0].set_title(text, fontsize=9.5)
    else:
        fig.suptitle(text, fontsize=10)
    return fig


def spectral_density_plot(densities: Mapping[str, SpectralDensity], *, log: bool = True,
                          title: str | None = None) -> Figure:
    """Hessian eigenvalue densities from stochastic Lanczos quadrature, one line per label.

    Each line is ``density`` against ``grid`` of a :class:`~mcjax.analysis.SpectralDensity`
    (:func:`mcjax.analysis.spectral_density`): a Gaussian-broadened (std ``sigma``) average of the
    probes' quadrature measures. The legend gives the smallest and largest quadrature node, the
    SLQ estimates of the extreme eigenvalues. The bulk of a network's Hessian sits near 0 and its
    outliers hold orders of magnitude less mass, hence the default log scale (floored at ``1e-7``
    of the peak; Ghorbani et al. 2019, Fig. 1).

    Args:
      densities: ``label -> SpectralDensity``.
      log: log-scaled density axis.
      title: the axes title.

    Returns:
      A ``Figure`` with one axes; the line with ``gid`` ``"density/<label>"`` holds
      ``(grid, density)``.
    """
    if not densities:
        raise ValueError("no densities to plot")
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.subplots()
    peak = 0.0
    for i, (label, sd) in enumerate(densities.items()):
        grid = np.asarray(sd.grid, dtype=np.float64)
        dens = np.asarray(sd.density, dtype=np.float64)
        nodes = np.asarray(sd.nodes, dtype=np.float64)
        peak = max(peak, float(np.max(dens)))
        ax.plot(grid, dens, color=f"C{i}", linewidth=1.4, gid=f"density/{label}",
                label=f"{label}: λ in [{nodes.min():.3g}, {nodes.max():.3g}]")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=peak * 1e-7 if peak > 0 else None)
    ax.axvline(0.0, color="0.5", linewidth=0.8, linestyle="--", zorder=0)
    ax.set_xlabel("Hessian eigenvalue λ")
    ax.set_ylabel("density" + (" (log)" if log else ""))
    ax.set_title(title or "Hessian eigenvalue density (stochastic Lanczos quadrature)", fontsize=9.5)
    ax.legend(fontsize=8.5, loc="upper right", framealpha=0.9)
    ax.grid(alpha=0.25)
    return fig


def path_angle_plot(pa: PathAngle | Mapping[str, PathAngle], *, title: str | None = None
                    ) -> Figure:
    """Path-angle profiles (Berard et al. 2020, Fig. 2): cosine and ``||xi||`` along a segment.

    Top: ``cos(xi(theta(a)), theta_2 - theta_1)`` against ``a`` (limits symmetric about 0, fitted
    to the largest ``|cosine|``: in many dimensions it stays far from +-1); bottom: ``||xi(theta(a))||`` (log
    scale), on ``theta(a) = (1 - a) theta_1 + a theta_2`` (:func:`mcjax.analysis.path_angle`).
    Dotted verticals mark ``a = 0`` (``theta_1``, e.g. an early iterate) and ``a = 1``
    (``theta_2``, e.g. the end of training). Near a locally stable point of a potential-like game
    the cosine jumps from -1 to +1 at ``a = 1`` while ``||xi||`` dips to ~0; a rotational end point
    shows a bump of the cosine around ``a = 1`` and ``||xi||`` stays away from 0.

    Args:
      pa: one :class:`~mcjax.analysis.PathAngle`, or ``label -> PathAngle``.
      title: the figure title.

    Returns:
      A ``Figure`` with two axes (cosine, norm); lines with ``gid`` ``"cosine/<label>"`` and
      ``"norm/<label>"`` hold ``(alphas, cosine)`` and ``(alphas, norm)`` (label ``""`` for a
      single profile).
    """
    profiles = {"": pa} if isinstance(pa, PathAngle) else dict(pa)
    if not profiles:
        raise ValueError("no path-angle profiles to plot")
    lo = min(float(np.min(p.alphas)) for p in profiles.values())
    hi = max(float(np.max(p.alphas)) for p in profiles.values())
    fig = Figure(figsize=(6.8, 5.4), layout="constrained")
    ax_c, ax_n = fig.subplots(2, 1, sharex=True)
    for i, (label, p) in enumerate(profiles.items()):
        a = np.asarray(p.alphas, dtype=np.float64)
        kw = dict(color=f"C{i}", linewidth=1.5, marker=".", markersize=3)
        ax_c.plot(a, np.asarray(p.cosine, dtype=np.float64), gid=f"cosine/{label}",
                  label=label or None, **kw)
        ax_n.plot(a, np.asarray(p.norm, dtype=np.float64), gid=f"norm/{label}", **kw)
    for ax in (ax_c, ax_n):
        for x in (0.0, 1.0):
            ax.axvline(x, color="0.35", linestyle=":", linewidth=1.0, zorder=0,
                       gid=f"alpha={x:g}")
        ax.grid(alpha=0.25)
    ax_c.axhline(0.0, color="0.5", linewidth=0.8, zorder=0)
    pad = 0.02 * (hi - lo)
    ax_c.set_xlim(lo - pad, hi + pad)  # a zoomed segment keeps its range; 0 and 1 stay marked
    top = max(float(np.nanmax(np.abs(np.asarray(p.cosine, np.float64)))) for p in profiles.values())
    ax_c.set_ylim(-min(1.05, 1.2 * top + 1e-3), min(1.05, 1.2 * top + 1e-3))
    ax_c.set_ylabel("cos(ξ, θ₂ - θ₁)")
    ax_n.set_yscale("log")
    ax_n.set_ylabel("||ξ||")
    ax_n.set_xlabel("α   (θ = (1-α) θ₁ + α θ₂;  α=0: θ₁,  α=1: θ₂)")
    if any(profiles):
        ax_c.legend(fontsize=8.5, loc="best", framealpha=0.9)
    fig.suptitle(title or "path-angle along the segment θ₁ → θ₂ (Berard et al. 2020)",
                 fontsize=10)
    return fig


def _simulate(xi_fn: Callable, start: Sequence[float], lr: float, steps: int) -> np.ndarray:
    """``[steps + 1, 2]`` iterates of simultaneous gradient descent ``p <- p - lr xi(p)``."""
    import jax
    import jax.numpy as jnp

    @jax.jit
    def run(p0):
        def step(p, _):
            g = xi_fn(p)
            nxt = (p[0] - lr * g[0], p[1] - lr * g[1])
            return nxt, jnp.stack(nxt)

        _, path = jax.lax.scan(step, p0, None, length=steps)
        return jnp.concatenate([jnp.stack(p0)[None], path])

    p0 = (jnp.asarray(start[0], jnp.float32), jnp.asarray(start[1], jnp.float32))
    return np.asarray(run(p0), dtype=np.float64)


def dirac_phase_portrait(xi_fn: Callable, *, extent: float = 2.0, n_grid: int = 21,
                         start: Sequence[float] | None = (1.0, 1.0), lr: float = 0.1,
                         steps: int = 300, kind: str = "stream", ax: Axes | None = None,
                         title: str | None = None) -> Figure:
    """Phase portrait of a two-parameter game (the Dirac-GAN) and one descent trajectory.

    The field drawn is the update direction ``-xi(theta, psi)`` on an ``n_grid x n_grid`` grid of
    ``[-extent, extent]^2`` (streamlines coloured by ``||xi||``, or arrows), and the trajectory is
    simultaneous gradient descent ``(theta, psi) <- (theta, psi) - lr xi(theta, psi)`` from
    ``start`` for ``steps`` steps. For the Dirac-GAN without penalty the continuous flow circles
    the equilibrium ``(0, 0)`` and the discrete iterates spiral outwards (the eigenvalues of
    ``I - lr J`` have modulus ``sqrt(1 + lr^2 f'(0)^2) > 1``); with an R1 penalty ``gamma > 0``
    they spiral in (Mescheder et al. 2018, Fig. 1 and Sec. 4).

    Args:
      xi_fn: ``(theta, psi) -> (xi_theta, xi_psi)`` acting elementwise on equally shaped arrays,
        e.g. :func:`mcjax.analysis.dirac_gan`; jittable (the trajectory is a ``lax.scan``).
      extent: half-width of the square window.
      n_grid: grid points per axis.
      start: first iterate of the trajectory; ``None`` for no trajectory.
      lr: step size of the trajectory.
      steps: number of steps of the trajectory.
      kind: ``"stream"`` (streamplot) or ``"quiver"`` (arrows, ``gid`` ``"field"``, ``U, V`` =
        ``-xi`` on the grid).
      ax: draw into this axes (e.g. one panel of a larger figure) instead of a new figure.
      title: the axes title.

    Returns:
      The ``Figure`` drawn into. The trajectory is the line with ``gid`` ``"trajectory"``
      (``(theta_t, psi_t)``, ``t = 0..steps``), the equilibrium the marker with ``gid``
      ``"equilibrium"``.
    """
    import jax.numpy as jnp

    if kind not in ("stream", "quiver"):
        raise ValueError(f"kind must be 'stream' or 'quiver', got {kind!r}")
    if ax is None:
        fig = Figure(figsize=(5.0, 4.8), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    axis = np.linspace(-extent, extent, n_grid)
    T, P = np.meshgrid(axis, axis)  # rows: psi, columns: theta
    g_t, g_p = xi_fn((jnp.asarray(T, jnp.float32), jnp.asarray(P, jnp.float32)))
    U, V = -np.asarray(g_t, np.float64), -np.asarray(g_p, np.float64)
    speed = np.hypot(U, V)
    if kind == "stream":
        ax.streamplot(axis, axis, U, V, color=speed, cmap="Greys", density=1.1, linewidth=0.9,
                      arrowsize=0.9, zorder=1)
    else:
        ax.quiver(T, P, U, V, speed, cmap="Greys", angles="xy", zorder=1, gid="field")
    ax.plot([0.0], [0.0], marker="*", markersize=12, color="#e67e22", linestyle="none", zorder=4,
            gid="equilibrium")
    if start is not None:
        path = _simulate(xi_fn, start, lr, steps)
        ax.plot(path[:, 0], path[:, 1], color="#c0392b", linewidth=1.3, zorder=3,
                gid="trajectory", label=f"descent, lr={lr:g}, {steps} steps")
        ax.plot(path[:1, 0], path[:1, 1], marker="o", color="#c0392b", markersize=5,
                linestyle="none", zorder=4)
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("θ (generator: fake point)")
    ax.set_ylabel("ψ (critic: slope)")
    ax.set_title(title or "field -ξ (grey: ||ξ||) and a descent trajectory", fontsize=9.5)
    return fig


def _rows(result: SweepResult | GroupResult) -> list[tuple[GroupResult, int]]:
    groups = [result] if isinstance(result, GroupResult) else list(result.groups)
    if not groups:
        raise ValueError("the result holds no groups to plot")
    return [(g, s) for g in groups for s in range(g.n_settings)]


def _classes(covered: np.ndarray, diverged: np.ndarray, n_modes: int) -> dict[str, np.ndarray]:
    return collapse_classes(covered, n_modes, diverged)


def rotation_over_training(result: SweepResult | GroupResult,
                           metrics: Sequence[str] = ("rotation_index", "modes_covered"),
                           *, log_metrics: Sequence[str] = (), sharey: bool = True) -> Figure:
    """Logged dynamics along training, collapsed runs against healthy ones.

    One column per row of the result (group, setting), one panel per metric. The row's runs are
    split by their modes covered at the last logged step: *collapsed* (fewer than the target's
    ``n_modes``, red) and *healthy* (all, blue); diverged runs are left out. Every run is a faint
    line (``gid`` ``"run/<row label>/<metric>/<n>"``), and each class's median over its runs a
    thick one (``gid`` ``"median/<row label>/<metric>/<class>"``).

    Args:
      result: a sweep (or one group) trained with ``Config(log_dynamics=True)``.
      metrics: history keys to plot, top to bottom: ``rotation_index``, ``grad_norm``,
        ``g_hessian_max``, ``g_hessian_min``, ``d_hessian_max``, ``d_hessian_min`` (logged with
        ``log_dynamics``), ``modes_covered`` or any other logged statistic.
      log_metrics: metrics drawn on a log scale (e.g. ``("grad_norm",)``).
      sharey: one y scale per metric across the columns, so that rows can be compared.

    Returns:
      A ``Figure`` with ``len(metrics) x rows`` axes.

    Raises:
      ValueError: a metric is not in the history (e.g. the sweep ran without ``log_dynamics``).
    """
    rows = _rows(result)
    metrics = list(metrics)
    if not metrics:
        raise ValueError("no metrics to plot")
    for g, _ in rows:
        missing = [m for m in metrics if m not in g.history]
        if missing:
            raise ValueError(f"group {g.label!r} has no logged {missing}; train with "
                             "Config(log_dynamics=True) to log the dynamics")
    ncols = len(rows)
    fig = Figure(figsize=(3.6 * ncols + 0.6, 2.2 * len(metrics) + 0.9), layout="constrained")
    axes = fig.subplots(len(metrics), ncols, squeeze=False, sharex="col",
                        sharey="row" if sharey else False)
    for c, (g, s) in enumerate(rows):
        k = int(g.target["n_modes"])
        x = np.asarray(g.log_steps)
        cls = _classes(g.final("modes_covered")[s], g.diverged[s], k)
        label = g.row_label(s)
        for r, m in enumerate(metrics):
            ax = axes[r, c]
            h = np.asarray(g.history[m][s], dtype=np.float64)
            for name, mask in cls.items():
                color = _CLASS_COLORS[name]
                for n in np.flatnonzero(mask):
                    ax.plot(x, h[n], color=color, alpha=0.25, linewidth=0.7, zorder=1,
                            gid=f"run/{label}/{m}/{n}")
                if mask.any():
                    ax.plot(x, np.median(h[mask], axis=0), color=color, linewidth=2.2, zorder=2,
                            gid=f"median/{label}/{m}/{name}",
                            label=f"{name} ({int(mask.sum())})" if r == 0 else None)
            if m == "modes_covered":
                ax.axhline(k, color="0.5", linestyle="--", linewidth=0.8, zorder=0)
                ax.set_ylim(-0.5, k + 0.5)
            if m in log_metrics:
                ax.set_yscale("log")
            if c == 0:
                ax.set_ylabel(_label(m), fontsize=8.5)
            ax.grid(alpha=0.25)
            ax.tick_params(labelsize=7.5)
        n_div = int(np.asarray(g.diverged[s], bool).sum())
        note = f", {n_div} diverged" if n_div else ""
        axes[0, c].set_title(f"{label}: {int(cls['collapsed'].sum())} collapsed, "
                             f"{int(cls['healthy'].sum())} healthy{note}", fontsize=9)
        axes[0, c].legend(fontsize=7.5, loc="best", framealpha=0.85)
        axes[-1, c].set_xlabel("generator step")
    fig.suptitle("logged dynamics over training; collapsed: < all modes covered at the last step"
                 "\nthick: median over the class's runs; thin: single runs", fontsize=9.5)
    return fig


def dynamics_scatter(analysis: Mapping[str, Mapping[str, Any]], x: str = "rotation_index",
                     y: str = "d_hessian_max", *, share: bool = True, logy: bool = False) -> Figure:
    """Final-state dynamics of every run, coloured by the modes it covers; one panel per row.

    For the dict of :func:`mcjax.systems.gan.analyze.analyze_sweep` (``{group: {metric: [S, N], "modes_covered":
    [S, N], "diverged": [S, N], "n_modes": K, "row_labels": [S]}}``): each panel is one row
    (group, setting), each dot one non-diverged run at ``(x, y)``, its colour the modes covered
    (shared scale ``0..K``), collapsed runs (fewer than ``K`` modes) as triangles and healthy runs
    as circles. If the collapsed and healthy runs of a row fall in separate regions, the
    measurements tell them apart there.

    Args:
      analysis: from :func:`mcjax.systems.gan.analyze.analyze_sweep`.
      x: measurement on the horizontal axis.
      y: measurement on the vertical axis.
      share: the same axis limits in every panel, so that rows can be compared.
      logy: log-scaled vertical axis (curvatures differ by orders of magnitude between remedies).

    Returns:
      A ``Figure``, one line of up to 4 panels (else 3 per line) and a colour bar; the collections with ``gid``
      ``"runs/<row label>/collapsed"`` and ``"runs/<row label>/healthy"`` have offsets ``(x, y)``
      and colour values (``get_array``) the modes covered of those runs, in seed order.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    rows = [(e, s) for e in analysis.values() for s in range(len(e["row_labels"]))]
    if not rows:
        raise ValueError("the analysis holds no rows to plot")
    for e, _ in rows:
        for key in (x, y):
            if key not in e:
                raise ValueError(f"the analysis has no {key!r}; have {sorted(e)}")
    k_max = max(int(e["n_modes"]) for e, _ in rows)
    norm = Normalize(vmin=0, vmax=k_max)
    cmap = colormaps["viridis"]
    ncols = len(rows) if len(rows) <= 4 else 3
    nrows = math.ceil(len(rows) / ncols)
    fig = Figure(figsize=(3.9 * ncols + 1.0, 3.4 * nrows + 0.7), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=share, sharey=share)
    for ax in axes.ravel()[len(rows):]:
        ax.set_axis_off()
    mappable = None
    for ax, (e, s) in zip(axes.ravel(), rows):
        label = e["row_labels"][s]
        covered = np.asarray(e["modes_covered"][s])
        cls = _classes(covered, np.asarray(e["diverged"][s]), int(e["n_modes"]))
        xs, ys = np.asarray(e[x][s], np.float64), np.asarray(e[y][s], np.float64)
        for name, marker in (("collapsed", "^"), ("healthy", "o")):
            m = cls[name]
            mappable = ax.scatter(xs[m], ys[m], c=covered[m], cmap=cmap, norm=norm, marker=marker,
                                  s=42, edgecolors="0.2", linewidths=0.5, zorder=2,
                                  gid=f"runs/{label}/{name}",
                                  label=f"{name} ({int(m.sum())})")
        n_div = int(np.asarray(e["diverged"][s], bool).sum())
        ax.set_title(label + (f" ({n_div} diverged, not shown)" if n_div else ""), fontsize=9)
        ax.set_xlabel(_label(x), fontsize=8.5)
        ax.set_ylabel(_label(y), fontsize=8.5)
        ax.tick_params(labelsize=7.5, labelleft=True, labelbottom=True)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7.5, loc="best", framealpha=0.85)
        if logy:
            ax.set_yscale("log")
    cbar = fig.colorbar(mappable, ax=axes.ravel().tolist(), shrink=0.9)
    cbar.set_label("modes covered at the end")
    fig.suptitle("every run at its final state (▲ collapsed, ● healthy)", fontsize=10)
    return fig
