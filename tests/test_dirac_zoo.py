"""The Dirac-GAN zoo (study 4): mcjax's update rules on the Dirac-GAN against their closed forms.

The update matrix is ``jax.jacobian`` of one step of mcjax's own rule code (float64); its eigenvalues
must equal the closed forms of ``mcjax.analysis.dirac_zoo``, which are checked here in turn against
hand-computed moduli. The script's ``--smoke`` run is called once.
"""
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax._validation import ConfigError
from mcjax.analysis import dirac_zoo as zoo
from mcjax.analysis.games import dirac_gan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import dirac_zoo as script
    finally:
        sys.path.pop(0)
    out = tmp_path_factory.mktemp("zoo")
    return script.main(["--smoke", "--out", str(out)]), out


def test_smoke_table_matches_closed_forms_and_the_papers(smoke):
    rows, out = smoke
    assert sorted(os.listdir(out)) == ["study4_dirac_zoo.json", "study4_dirac_zoo_portraits.png",
                                       "study4_dirac_zoo_spectra.png"]
    h, a = 0.1, 0.5
    expected = {  # hand-computed moduli at h = 0.1, f'(0) = 1/2, R1 0.3, consensus/SGA 1, k = 5
        "simultaneous": math.sqrt(1 + h * h * a * a),
        "alternating": 1.0,
        "consensus": math.hypot(1 - h * a * a, h * a),
        "sga": math.hypot(1 - h * a * a, h * a),
        "extragradient": math.sqrt(1 - h * h * a * a + h**4 * a**4),
        "unrolled": math.sqrt(1 - 2 * 5 * h * h * a * a),
        "simultaneous+r1": abs(1 - h * (0.15 + 1j * math.sqrt(0.25 - 0.0225))),
        "alternating+r1": math.sqrt(1 - h * 0.3),  # complex pair: |lambda|^2 = det = 1 - h gamma
    }
    for rule, r in rows.items():
        # autodiff of the rule code in float64 against the closed form: rounding only
        np.testing.assert_allclose(r["eig_measured"], r["eig_closed_form"], atol=1e-12, err_msg=rule)
        if rule in expected:
            # closed form against the hand-computed modulus: rounding only
            assert r["rho_closed_form"] == pytest.approx(expected[rule], abs=1e-12), rule
    verdicts = {rule: r["verdict"] for rule, r in rows.items()}
    assert verdicts["simultaneous"] == "diverges" and verdicts["alternating"] == "orbits"
    assert all(v == "converges" for k, v in verdicts.items() if k not in ("simultaneous", "alternating"))
    # the nonlinear iterates from |z| = 1.41: consensus (rho^200 ~ 0.008) nearly reaches the
    # equilibrium in 200 steps, extragradient (rho^200 ~ 0.78) does not; bounds well apart from both
    assert rows["consensus"]["distance_end"] < 0.05 and rows["extragradient"]["distance_end"] > 0.3


def test_update_matrix_matches_closed_form_elsewhere():
    """A large step, f'(0) = 1 (WGAN) and real R1 eigenvalues (gamma > 2 f'(0)): the forms hold."""
    s = zoo.ZooSetting(h=0.7, loss="wasserstein", r1=2.5, consensus_gamma=0.4, sga_lambda=0.7,
                       unroll=3)
    for rule in zoo.ZOO_RULES:
        cf = zoo.closed_form_eigenvalues(rule, s)
        measured = zoo.match_eigenvalues(np.linalg.eigvals(zoo.update_matrix(rule, s)), cf)
        # float64 eigen-solver on a 2x2 / 4x4 matrix of entries O(1): rounding only
        np.testing.assert_allclose(measured, cf, atol=1e-10, err_msg=rule)


def test_dirac_game_field_is_games_dirac_gan():
    game = zoo.dirac_game("non-saturating", 0.3)
    rng = np.random.default_rng(0)
    for theta, psi in rng.normal(size=(3, 2)):
        z = (jnp.float32(theta), jnp.float32(psi))
        got = game.xi(z, None, jax.random.key(0))
        want = dirac_gan("non-saturating", 0.3)(z)
        np.testing.assert_allclose(got, want, rtol=1e-6)  # float32 autodiff vs closed form


def test_bad_input_is_one_clear_line():
    with pytest.raises(ConfigError, match="unknown rule 'simultanous'.*simultaneous"):
        zoo.update_matrix("simultanous")
    with pytest.raises(ConfigError, match="h must be a positive"):
        zoo.closed_form_eigenvalues("sga", zoo.ZooSetting(h=0.0))
    with pytest.raises(ConfigError, match="unroll must be a positive integer"):
        zoo.zoo_step("unrolled", zoo.ZooSetting(unroll=0))


def _numpy_update_matrix(rule, s):
    """Each rule's one-step linear map written out by hand from J (independent of the closed forms)."""
    h, a, g, I = s.h, s.f_prime_0, s.gamma(rule), np.eye(2)
    J = np.array([[0.0, -a], [a, g]])  # xi = J z near (0, 0), z = (theta, psi)
    base = rule.split("+")[0]
    if base == "simultaneous":
        return I - h * J
    if base == "alternating":  # critic first, then the generator at the new critic
        critic = np.array([[1.0, 0.0], [-h * a, 1 - h * g]])
        return np.array([[1.0, h * a], [0.0, 1.0]]) @ critic
    if rule == "consensus":
        return I - h * (I + s.consensus_gamma * J.T) @ J
    if rule == "sga":
        A = (J - J.T) / 2  # antisymmetric part; alignment sign +1 since <xi, J^T xi> >= 0
        return I - h * (I + s.sga_lambda * A.T) @ J
    if rule == "extragradient":
        return I - h * J @ (I - h * J)
    if rule == "optimistic":  # state (z_t, xi_{t-1}): z <- z - h (2 J z - xi_prev), xi_prev <- J z
        return np.block([[I - 2 * h * J, h * I], [J, np.zeros((2, 2))]])
    k = s.unroll  # psi_k = psi - k h a theta, so the generator's gradient is -a psi + 2 k h a^2 theta
    critic = np.array([[1.0, 0.0], [-h * a, 1.0]])
    return np.array([[1 - 2 * k * h * h * a * a, h * a], [0.0, 1.0]]) @ critic


def test_closed_forms_match_hand_built_numpy_matrices():
    """A third source: M built by hand in NumPy, at an unremarkable setting (minimax, h = 0.37).

    (mcjax's rule code is held to the same closed forms by the two tests above.)
    """
    s = zoo.ZooSetting(h=0.37, loss="minimax", r1=0.8, consensus_gamma=0.6, sga_lambda=1.3, unroll=4)
    for rule in zoo.ZOO_RULES:
        cf = zoo.closed_form_eigenvalues(rule, s)
        numpy_eigs = zoo.match_eigenvalues(np.linalg.eigvals(_numpy_update_matrix(rule, s)), cf)
        # float64 eigen-solver on a 2x2 / 4x4 matrix of entries O(1): rounding only
        np.testing.assert_allclose(numpy_eigs, cf, atol=1e-10, err_msg=rule)


def test_script_refuses_bad_input_before_writing(tmp_path, capsys):
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import dirac_zoo as script
    finally:
        sys.path.pop(0)
    out = tmp_path / "never"
    for argv, message in ((["--h", "0"], "h must be a positive"),
                          (["--steps", "0"], "steps must be a positive integer, got 0")):
        with pytest.raises(SystemExit):
            script.main(argv + ["--out", str(out)])
        assert message in capsys.readouterr().err
    assert not out.exists()
