"""The ``lines`` target (parallel segments), the closed forms of the pull toward a missed mode
(mcjax.analysis.gradients), and the vanishing-gradient study's smoke."""
import os

import jax
import numpy as np
import pytest

from mcjax import Config, mode_stats
from mcjax._validation import ConfigError
from mcjax.analysis.gradients import logistic_margin, two_point_pull
from mcjax.targets import Target, make_target
from mcjax.targets.mixtures import lines, lines_hq_fraction

_sample = jax.jit(lambda t, key, n: t.sample(key, n), static_argnums=2)
_assign = jax.jit(lambda t, x: t.assign(x))


def test_lines_geometry_and_description():
    t = lines()
    assert isinstance(t, Target) and t.n_modes == 4 and t.event_shape == (2,)
    # multiples of 0.5: exact in float32
    np.testing.assert_array_equal(t.xs, [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_array_equal(t.means, [[-1.5, 0], [-0.5, 0], [0.5, 0], [1.5, 0]])
    d = t.describe()
    assert d["name"] == "lines" and d["n_modes"] == 4 and d["hq_threshold"] == 3.0
    assert d["params"] == {"n_lines": 4, "spacing": 1.0, "length": 2.0, "std": 0.02}
    assert make_target("lines", n_lines=3, spacing=2.0).xs.tolist() == [-2.0, 0.0, 2.0]
    assert Config(target="lines", target_params=(("n_lines", 2),)).describe()["n_modes"] == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_lines=0), "n_lines"), (dict(length=-1.0), "length"), (dict(std=0.0), "std"),
    (dict(spacing=0.1, std=0.02), "6 std")])
def test_lines_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        lines(**kwargs)


def test_samples_lie_along_their_segment():
    t = lines(n_lines=3, spacing=2.0, length=2.0, std=0.05)
    n = 60_000
    x = np.asarray(_sample(t, jax.random.key(0), n), np.float64)
    idx, score = (np.asarray(a) for a in _assign(t, x))
    for k in range(3):
        xk = x[idx == k]
        # x: mean x_k, std sigma; 5 standard errors (sigma / sqrt(~20000) = 3.5e-4)
        assert abs(xk[:, 0].mean() - t.xs[k]) < 5 * 0.05 / np.sqrt(len(xk))
        assert abs(xk[:, 0].std() - 0.05) < 0.05 * 0.02  # ~0.5 % standard error of a std
        # y: uniform on [-1, 1] plus noise, variance L^2 / 12 + sigma^2; 2 % (se ~1 %)
        assert xk[:, 1].var() == pytest.approx(4 / 12 + 0.05**2, rel=0.02)
        assert abs(len(xk) / n - 1 / 3) < 0.01  # modes equally likely; se 0.002
    assert mode_stats(jax.numpy.asarray(x, jax.numpy.float32), t).modes_covered == 3


def test_exact_segment_points_are_assigned_with_score_zero_and_ends_count():
    t = lines(n_lines=4, spacing=1.0, length=2.0, std=0.1)
    y = np.linspace(-1.0, 1.0, 9)
    pts = np.array([[xk, yy] for xk in t.xs for yy in y], np.float32)
    idx, score = _assign(t, pts)
    np.testing.assert_array_equal(idx, np.repeat(np.arange(4), 9))
    np.testing.assert_allclose(score, 0.0, atol=1e-6)  # on the segment: distance 0 (float32)
    # 0.3 beyond the top end and 0.4 to the side of segment 2: distance 0.5, score 5
    idx, score = _assign(t, np.array([[0.5 + 0.4, 1.3]], np.float32))
    assert int(idx[0]) == 2
    np.testing.assert_allclose(score, [5.0], rtol=1e-5)  # float32 rounding of 0.5 / 0.1


def test_hq_fraction_of_real_samples_matches_the_closed_form():
    t = lines(n_lines=2, spacing=1.0, length=0.1, std=0.1)  # short segments: a large end effect
    x = _sample(t, jax.random.key(1), 400_000)
    got = float(np.mean(np.asarray(_assign(t, x)[1]) < 3.0))
    want = lines_hq_fraction(0.1, 0.1)
    se = np.sqrt(want * (1 - want) / 400_000)  # binomial standard error, ~1.2e-4
    assert abs(got - want) < 4 * se
    assert 0.9973 - want > 20 * se  # the end effect is real: no end effect is far off
    assert lines_hq_fraction(1.0, 1e-6) == pytest.approx(0.99730, abs=1e-5)  # P(|n| < 3)


def test_logistic_closed_form_equals_a_numerical_optimum():
    from scipy.optimize import minimize

    lam = 0.05
    for d in (0.3, 2.0, 6.0):
        def loss(p):
            a, b = p
            return np.logaddexp(0, -(a * d + b)) + np.logaddexp(0, b) + 0.5 * lam * a * a

        a, b = minimize(loss, [0.0, 0.0], method="BFGS", options={"gtol": 1e-10}).x
        eps = 1e-5
        for form, gen in (("minimax-l2", lambda f: -np.logaddexp(0, f)),
                          ("non-saturating-l2", lambda f: np.logaddexp(0, -f))):
            pull = -(gen(a * eps + b) - gen(-a * eps + b)) / (2 * eps)
            # BFGS to gtol 1e-10 and a central difference: agreement to ~1e-6 relative
            assert two_point_pull(np.array([d]), form, lam)[0] == pytest.approx(pull, rel=1e-4)
    s = logistic_margin(np.array([1e3]), 1.0)[0]
    # large d: s + ln s = 2 ln d - ln(2 lambda) up to ln(1 + e^-s) ~ e^-s = 2e-5 (s ~ 2 ln d)
    assert s + np.log(s) == pytest.approx(2 * np.log(1e3) - np.log(2.0), abs=1e-4)
    assert s + np.log(s) + np.log1p(np.exp(-s)) == pytest.approx(
        2 * np.log(1e3) - np.log(2.0), abs=1e-9)  # the exact root: bisection to float64


def test_other_closed_forms():
    d = np.array([0.5, 2.0, 8.0])
    np.testing.assert_array_equal(two_point_pull(d, "optimal-js"), 0.0)
    np.testing.assert_array_equal(two_point_pull(d, "wasserstein-1"), 1.0)
    np.testing.assert_allclose(two_point_pull(d, "wgan-gp", 10.0), [1.025, 1.1, 1.4])
    with pytest.raises(ConfigError, match="closed form"):
        two_point_pull(d, "js")


def test_vanishing_gradient_smoke(tmp_path):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "experiments", "vanishing_gradient.py")
    spec = importlib.util.spec_from_file_location("vanishing_gradient", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    s = mod.main(["--smoke", "--out", str(tmp_path)])
    p = s["pull"]
    assert p["distances"] == [0.5, 2.0, 8.0]
    # WGAN-GP after 100 critic steps: within 15 % of 1 + d/20 (not converged, 2 seeds)
    np.testing.assert_allclose(p["wasserstein"], p["wgan_gp_closed"], rtol=0.15)
    # same critic, f < 0 at the generated line: the non-saturating pull exceeds the minimax one
    assert all(ns > mm > 0 for ns, mm in zip(p["non-saturating"], p["minimax"]))
    assert p["minimax"][2] < p["minimax"][0]  # the minimax pull falls with distance
    for label in ("gan", "wgan-gp"):
        assert sum(s["coverage"][label]["final_hist"]) == 4  # 4 seeds, 0..4 modes each
    for name in ("pull", "pull_steps", "coverage", "samples"):
        assert os.path.getsize(tmp_path / f"study2_{name}.png") > 5000
