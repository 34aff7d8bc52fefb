"""Dynamics figures read back: the plotted numbers must equal the inputs (synthetic data, no training)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from mcjax.analysis import PathAngle, SpectralDensity, dirac_gan
from mcjax.plots.dynamics import (
    dirac_phase_portrait,
    dynamics_scatter,
    eigenvalues_complex,
    path_angle_plot,
    rotation_over_training,
    spectral_density_plot,
)
from mcjax.core.results import SweepResult
from tests.test_plots import make_group


def _by_gid(fig, gid):
    found = [a for ax in fig.axes for a in (*ax.lines, *ax.collections) if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def _gids(fig, prefix):
    return sorted(a.get_gid() for ax in fig.axes for a in (*ax.lines, *ax.collections)
                  if (a.get_gid() or "").startswith(prefix))


def test_eigenvalues_complex_plots_real_and_imaginary_parts():
    eigs = {"no penalty": np.array([0.5j, -0.5j]),
            "gamma=1": np.array([[0.5 + 0.0j, 0.5 - 0.0j]]),  # any shape: flattened
            "real": np.array([-0.25, 1.5])}
    fig = eigenvalues_complex(eigs)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    for label, lam in eigs.items():
        lam = np.asarray(lam, complex).ravel()
        off = _by_gid(fig, f"eigs/{label}").get_offsets()
        np.testing.assert_array_equal(off, np.stack([lam.real, lam.imag], axis=1))
    markers = {_by_gid(fig, f"eigs/{k}").get_paths()[0].vertices.tobytes() for k in eigs}
    assert len(markers) == 3  # one marker style per label
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo == -hi and ax.get_ylim() == (lo, hi) and hi >= 1.5  # 0 at the centre, all inside
    assert ax.get_aspect() == 1.0
    split = eigenvalues_complex(eigs, panels=True)
    assert len(split.axes) == 3
    for ax, (label, lam) in zip(split.axes, eigs.items()):  # one label per panel, own window
        (coll,) = ax.collections
        assert coll.get_gid() == f"eigs/{label}"
        assert ax.get_xlim()[1] == pytest.approx(1.2 * np.abs(lam).max())
    with pytest.raises(ValueError, match="convention"):
        eigenvalues_complex(eigs, convention="w")


def test_spectral_density_plot_draws_each_density():
    grid = np.linspace(-1.0, 3.0, 50)
    sds = {}
    for i, label in enumerate(["collapsed", "healthy"]):
        dens = np.exp(-((grid - i) ** 2)) / np.sqrt(np.pi)
        nodes = np.array([[-0.5 + i, 2.0 + i]])
        sds[label] = SpectralDensity(grid=grid, density=dens, nodes=nodes,
                                     weights=np.array([[0.5, 0.5]]), sigma=np.array(0.1))
    fig = spectral_density_plot(sds)
    for label, sd in sds.items():
        line = _by_gid(fig, f"density/{label}")
        np.testing.assert_array_equal(line.get_xdata(), sd.grid)
        np.testing.assert_array_equal(line.get_ydata(), sd.density)
        # the legend reports the extreme quadrature nodes (SLQ's extreme eigenvalue estimates)
        assert f"[{sd.nodes.min():.3g}, {sd.nodes.max():.3g}]" in line.get_label()
    assert fig.axes[0].get_yscale() == "log"
    assert spectral_density_plot(sds, log=False).axes[0].get_yscale() == "linear"


@pytest.mark.parametrize("many", [False, True])
def test_path_angle_plot_has_cosine_and_norm_panels(many):
    a = np.linspace(-0.1, 1.1, 13)
    pas = {"run 0": PathAngle(alphas=a, cosine=np.cos(3 * a), norm=1.0 + a**2),
           "run 1": PathAngle(alphas=a, cosine=-np.ones_like(a), norm=np.exp(-a))}
    fig = path_angle_plot(pas if many else pas["run 0"])
    assert len(fig.axes) == 2
    for label, p in (pas.items() if many else [("", pas["run 0"])]):
        cos, norm = _by_gid(fig, f"cosine/{label}"), _by_gid(fig, f"norm/{label}")
        np.testing.assert_array_equal(cos.get_xdata(), a)
        np.testing.assert_array_equal(cos.get_ydata(), p.cosine)
        np.testing.assert_array_equal(norm.get_xdata(), a)
        np.testing.assert_array_equal(norm.get_ydata(), p.norm)
    for ax in fig.axes:  # alpha = 0 and alpha = 1 are marked in both panels
        marks = {ln.get_gid(): ln.get_xdata()[0] for ln in ax.lines if ln.get_gid() in ("alpha=0", "alpha=1")}
        assert marks == {"alpha=0": 0.0, "alpha=1": 1.0}
    lo, hi = fig.axes[0].get_ylim()  # symmetric about 0, fitted to the largest |cosine|
    top = max(np.abs(p.cosine).max() for p in (pas.values() if many else [pas["run 0"]]))
    assert lo == -hi and top <= hi <= 1.05
    x0, x1 = fig.axes[0].get_xlim()  # the data's range, whatever the marks
    assert x0 < -0.1 < 1.1 < x1 < 1.2
    zoom = path_angle_plot(PathAngle(alphas=a / 10 + 0.95, cosine=a, norm=a + 1))
    assert 0.9 < zoom.axes[1].get_xlim()[0] < 0.95


def _np_dirac_xi(theta, psi, gamma):
    """Non-saturating Dirac-GAN field in NumPy (Mescheder et al. 2018), float64."""
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))
    h = psi * theta
    return -psi * sig(-h), theta * sig(h) + gamma * psi


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_dirac_phase_portrait_field_and_trajectory(gamma):
    fig = dirac_phase_portrait(dirac_gan(gp_weight=gamma), extent=1.5, n_grid=7, start=(0.2, 0.1),
                               lr=0.2, steps=60, kind="quiver")
    q = _by_gid(fig, "field")
    axis = np.linspace(-1.5, 1.5, 7)
    T, P = np.meshgrid(axis, axis)
    g_t, g_p = _np_dirac_xi(T, P, gamma)
    # float32 field against float64 NumPy: a few ulps of values of size <= 3
    np.testing.assert_allclose(q.U, -g_t.ravel(), atol=1e-6)
    np.testing.assert_allclose(q.V, -g_p.ravel(), atol=1e-6)

    p = np.array([0.2, 0.1])
    path = [p]
    for _ in range(60):
        p = p - 0.2 * np.array(_np_dirac_xi(p[0], p[1], gamma))
        path.append(p)
    path = np.array(path)
    traj = _by_gid(fig, "trajectory")
    # 60 float32 steps of a map with |Jacobian| ~ 1: rounding grows to ~1e-6 relative
    np.testing.assert_allclose(traj.get_xdata(), path[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(traj.get_ydata(), path[:, 1], rtol=1e-5, atol=1e-5)
    r0, r1 = np.hypot(*path[0]), np.hypot(*path[-1])
    # near (0, 0), without penalty discrete simultaneous descent spirals out (|eig(I - lr J)| > 1);
    # with the R1 penalty it converges to (0, 0)
    assert (r1 > r0) if gamma == 0 else (r1 < 0.5 * r0)
    np.testing.assert_array_equal(_by_gid(fig, "equilibrium").get_xydata(), [[0.0, 0.0]])


def test_dirac_phase_portrait_draws_into_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = dirac_phase_portrait(dirac_gan(), ax=axes[1], start=None, n_grid=5)
    assert out is fig
    assert axes[1].collections and not axes[0].collections  # streamlines in the panel asked for


def _dynamics_group(label="r1", settings=("w=0", "w=1"), n_seeds=6, n_logs=5, seed=0):
    """A group whose history holds logged dynamics; seed 0 diverged in the first setting."""
    rng = np.random.default_rng(seed)
    g = make_group(label, settings=settings, n_seeds=n_seeds, n_logs=n_logs, seed=seed,
                   diverged=[[True] + [False] * (n_seeds - 1)] + [[False] * n_seeds] * (len(settings) - 1))
    shape = (len(settings), n_seeds, n_logs)
    g.history["modes_covered"][:, :, -1] = [[8, 8, 3, 8, 5, 7][:n_seeds], [8, 2, 8, 8, 8, 6][:n_seeds]]
    for k in ("rotation_index", "grad_norm", "d_hessian_max", "g_hessian_max"):
        g.history[k] = rng.uniform(0.0, 1.0, size=shape).astype(np.float32)
    return g


def test_rotation_over_training_splits_collapsed_from_healthy():
    g = _dynamics_group()
    fig = rotation_over_training(SweepResult(groups=[g]),
                                 metrics=("rotation_index", "d_hessian_max", "modes_covered"),
                                 log_metrics=("d_hessian_max",))
    assert len(fig.axes) == 3 * 2
    final = g.final("modes_covered")
    for s in range(2):
        label = g.row_label(s)
        ok = ~g.diverged[s]
        classes = {"collapsed": ok & (final[s] < 8), "healthy": ok & (final[s] == 8)}
        for m in ("rotation_index", "d_hessian_max", "modes_covered"):
            runs = _gids(fig, f"run/{label}/{m}/")
            assert runs == sorted(f"run/{label}/{m}/{n}" for n in np.flatnonzero(ok))  # diverged left out
            for name, mask in classes.items():
                med = _by_gid(fig, f"median/{label}/{m}/{name}")
                np.testing.assert_array_equal(med.get_xdata(), g.log_steps)
                np.testing.assert_allclose(med.get_ydata(), np.median(g.history[m][s][mask], axis=0),
                                           rtol=1e-6)
            line = _by_gid(fig, f"run/{label}/{m}/4")
            np.testing.assert_allclose(line.get_ydata(), g.history[m][s, 4], rtol=1e-6)
    # setting 0: run 0 diverged; runs 2, 4, 5 cover 3, 5, 7 modes; runs 1, 3 all 8
    assert fig.axes[0].get_title() == "r1[w=0]: 3 collapsed, 2 healthy, 1 diverged"
    assert fig.axes[1].get_title() == "r1[w=1]: 2 collapsed, 4 healthy"
    assert fig.axes[2].get_yscale() == "log"
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()  # one scale per metric
    unshared = rotation_over_training(g, metrics=("rotation_index",), sharey=False)
    assert unshared.axes[0].get_shared_y_axes().get_siblings(unshared.axes[0]) == [unshared.axes[0]]


def test_rotation_over_training_needs_logged_dynamics():
    g = make_group("plain")
    with pytest.raises(ValueError, match="log_dynamics"):
        rotation_over_training(g)


def _analysis(g):
    """The dict ``analyze_sweep`` returns, from a group's final logged values."""
    entry = {k: g.final(k) for k in ("rotation_index", "grad_norm", "d_hessian_max", "g_hessian_max")}
    entry.update(modes_covered=g.final("modes_covered"), diverged=g.diverged,
                 n_modes=int(g.target["n_modes"]),
                 row_labels=[g.row_label(s) for s in range(g.n_settings)])
    return {g.label: entry}


def test_dynamics_scatter_places_each_run_at_its_measurements():
    g = _dynamics_group()
    analysis = _analysis(g)
    fig = dynamics_scatter(analysis)
    e = analysis["r1"]
    for s, label in enumerate(e["row_labels"]):
        ok = ~e["diverged"][s]
        for name, mask in (("collapsed", ok & (e["modes_covered"][s] < 8)),
                           ("healthy", ok & (e["modes_covered"][s] == 8))):
            coll = _by_gid(fig, f"runs/{label}/{name}")
            np.testing.assert_allclose(
                coll.get_offsets(),
                np.stack([e["rotation_index"][s][mask], e["d_hessian_max"][s][mask]], axis=1), rtol=1e-6)
            np.testing.assert_array_equal(coll.get_array(), e["modes_covered"][s][mask])
            assert coll.norm.vmin == 0 and coll.norm.vmax == 8  # one colour scale for all panels
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()  # shared axes
    other = dynamics_scatter(analysis, x="grad_norm", y="g_hessian_max", logy=True)
    assert other.axes[0].get_yscale() == "log"
    np.testing.assert_allclose(_by_gid(other, "runs/r1[w=1]/healthy").get_offsets()[:, 0],
                               e["grad_norm"][1][e["modes_covered"][1] == 8], rtol=1e-6)
    with pytest.raises(ValueError, match="no 'nope'"):
        dynamics_scatter(analysis, y="nope")


def test_save_analysis_writes_the_scatter(tmp_path):
    from mcjax.systems.gan.analyze import save_analysis

    paths = save_analysis(_analysis(_dynamics_group()), str(tmp_path))
    with open(paths[1], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_dynamics_figures_need_no_pyplot(tmp_path):
    code = (
        "import sys\n"
        "sys.path[:0] = [sys.argv[1]]\n"
        "import numpy as np\n"
        "from mcjax.analysis import dirac_gan\n"
        "from mcjax.plots.dynamics import dirac_phase_portrait, eigenvalues_complex\n"
        "eigenvalues_complex({'a': np.array([0.5j])}).savefig(sys.argv[2] + '/e.png')\n"
        "dirac_phase_portrait(dirac_gan(), n_grid=5, steps=3).savefig(sys.argv[2] + '/d.png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code, root, str(tmp_path)], check=True, timeout=120)
