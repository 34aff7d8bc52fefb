"""The SMC system against its closed forms: one bootstrap step's ESS/N, the Kalman filter's exact
log-likelihood, unbiased normalising constants, frozen mode fractions without moves, adaptive
tempering's ESS target; and ``mcjax sweep --system smc`` (table, refusals, resume)."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp

from mcjax._validation import ConfigError
from mcjax.cli import main
from mcjax.systems.smc import theory
from mcjax.systems.smc.config import SMCConfig, make_smc_hparams
from mcjax.systems.smc.engine import (kalman_step, log_prior, log_target, make_system, mode_means,
                                      next_beta)


def _runs(cfg, runs, **hp):
    """``(initial states, final states, history)`` of ``runs`` seeds of ``cfg``."""
    system = make_system(cfg)
    h = make_smc_hparams(cfg, **hp)
    keys = jax.random.split(jax.random.key(0), runs)
    init = jax.jit(jax.vmap(lambda k: system.init(h, k)))(keys)
    final, hist = jax.jit(jax.vmap(lambda s: system.advance(h, s, cfg.n_logs)))(init)
    return init, final, jax.tree.map(np.asarray, hist)


def test_one_bootstrap_step_ess_matches_its_closed_form():
    """x ~ N(0, q) (a = 0) weighted by N(y; x, r): ESS/N -> (E w)^2 / E w^2 at each run's y."""
    q, r = 1.0, 0.5
    cfg = SMCConfig(model="filter", particles=8192, steps=1, log_every=1)
    _, final, hist = _runs(cfg, 64, a=0.0, q=q, r=r)
    exact = theory.bootstrap_ess_fraction(np.asarray(final.y), q, r)
    measured = hist["ess_frac"][:, 0]
    assert exact.min() < 0.4 and exact.max() > 0.7  # the y's span a range of degeneracy
    # the ratio-of-means estimator's sd at N = 8192 is about 0.006 here: 6 sd per run
    np.testing.assert_allclose(measured, exact, atol=0.035)
    assert abs(np.mean(measured - exact)) < 0.006  # its mean over 64 runs: about 8 sd / sqrt(64)


def test_closed_form_ess_is_the_one_in_the_issue():
    y, s2, r = np.linspace(-3, 3, 7), 2.0, 0.7
    issue = (np.sqrt(r * (r + 2 * s2)) / (r + s2)) * np.exp(-y ** 2 * s2 / ((r + s2) * (r + 2 * s2)))
    np.testing.assert_allclose(theory.bootstrap_ess_fraction(y, s2, r), issue, rtol=1e-12)
    # and by quadrature of E w and E w^2 under the prior
    x = np.linspace(-30, 30, 200001)
    prior = np.exp(-x ** 2 / (2 * s2)) / np.sqrt(2 * np.pi * s2)
    for yi, e in zip(y, issue):
        w = np.exp(-(yi - x) ** 2 / (2 * r))
        assert np.trapezoid(prior * w, x) ** 2 / np.trapezoid(prior * w * w, x) == pytest.approx(e, rel=1e-9)


def test_kalman_recursion_matches_the_joint_gaussian_density():
    a, q, r = 0.8, 0.5, 0.3
    ys = np.random.default_rng(0).normal(size=12) * 1.5
    hp = make_smc_hparams(SMCConfig(model="filter"), a=a, q=q, r=r)
    k = jnp.asarray([0.0, 1.0, 0.0], jnp.float32)
    for y in ys:
        k = kalman_step(k, jnp.float32(y), hp)
    # float32 recursion over 12 steps: a relative error of 1e-5 per step at most
    assert float(k[2]) == pytest.approx(theory.ar1_loglik(ys, a, q, r), rel=2e-5)


def test_particle_filter_likelihood_is_unbiased():
    """E[Zhat / Z] = 1 for every data set (Del Moral 2004); Z from the Kalman filter."""
    cfg = SMCConfig(model="filter", particles=32, steps=10, log_every=10, scheme="multinomial")
    _, _, hist = _runs(cfg, 4000, a=0.9, q=1.0, r=1.0)
    err = hist["loglik_err"][:, -1]
    ratio = np.exp(err)
    se = ratio.std() / np.sqrt(len(ratio))
    assert abs(ratio.mean() - 1.0) < 4 * se, (ratio.mean(), se)  # 4 standard errors
    assert err.mean() < -2 * err.std() / np.sqrt(len(err))  # Jensen: log Zhat is biased down


def test_tempered_normalising_constant_is_unbiased():
    """Prior and target are normalised: E Zhat = 1 (linear schedule, resample-move)."""
    cfg = SMCConfig(particles=32, modes=3, steps=10, log_every=10, moves=2, scheme="systematic")
    _, _, hist = _runs(cfg, 2000, threshold=0.5, sep=4.0, prior_scale=6.0)
    ratio = np.exp(hist["loglik_err"][:, -1])
    se = ratio.std() / np.sqrt(len(ratio))
    assert abs(ratio.mean() - 1.0) < 4 * se, (ratio.mean(), se)


def test_without_moves_or_resampling_the_modes_are_the_initial_draw_reweighted():
    k, sep, scale = 4, 5.0, 12.0
    cfg = SMCConfig(particles=200, modes=k, steps=8, log_every=4)
    init, final, hist = _runs(cfg, 3, threshold=0.0, sep=sep, prior_scale=scale)
    np.testing.assert_array_equal(final.x, init.x)  # nothing moves
    for x0, fr in zip(np.asarray(init.x, np.float64), hist["mode_fracs"][:, -1]):
        mus = (np.arange(k) - (k - 1) / 2) * sep
        logt = np.log(np.exp(-0.5 * (x0[:, None] - mus) ** 2).sum(1) / k / np.sqrt(2 * np.pi))
        logp = -0.5 * (x0 / scale) ** 2 - np.log(scale * np.sqrt(2 * np.pi))
        w = np.exp(logt - logp - (logt - logp).max())
        expected = np.bincount(np.abs(x0[:, None] - mus).argmin(1), weights=w, minlength=k)
        np.testing.assert_allclose(fr, expected / expected.sum(), atol=1e-5)  # float32 weights


def test_resampling_without_moves_can_only_lose_modes():
    cfg = SMCConfig(particles=16, modes=8, steps=60, log_every=3, scheme="multinomial")
    init, final, hist = _runs(cfg, 16, threshold=1.0, sep=5.0, prior_scale=20.0)
    d0 = hist["D0"]
    assert np.all(np.diff(d0, axis=-1) <= 0) and d0[:, -1].mean() < d0[:, 0].mean()
    for x0, x in zip(np.asarray(init.x), np.asarray(final.x)):
        assert np.isin(x, x0).all()  # copies of the initial draw only
    cfg = cfg.replace(moves=5)  # moves let particles reach modes they lost
    _, _, moved = _runs(cfg, 16, threshold=1.0, sep=5.0, prior_scale=20.0)
    assert np.any(np.diff(moved["D0"], axis=-1) > 0)


def test_filter_without_resampling_keeps_every_founder_and_degenerates_in_weight():
    """Never resampling: every founder stays, and the founder histogram's D_2 is the weights'
    ESS (Hill 1973: inverse Simpson = ESS); resampling every step: path degeneracy."""
    cfg = SMCConfig(model="filter", particles=50, steps=20, log_every=10)
    _, never_state, never = _runs(cfg, 4, threshold=0.0)
    _, always_state, always = _runs(cfg, 4, threshold=1.0)
    assert all(len(np.unique(f)) == 50 for f in np.asarray(never_state.founder))
    np.testing.assert_allclose(never["D2"], never["ess_frac"] * 50, rtol=1e-4)  # float32 sums
    assert np.all(never["ess_frac"][:, -1] < 0.5)  # weight degeneracy instead
    assert all(len(np.unique(f)) < 25 for f in np.asarray(always_state.founder))


def test_adaptive_temperature_hits_its_ess_target():
    rng = np.random.default_rng(1)
    logw = jnp.asarray(rng.normal(size=500) * 0.3, jnp.float32)
    logw = logw - jax.nn.logsumexp(logw)
    dlog = jnp.asarray(rng.normal(size=500) * 4.0, jnp.float32)
    w = np.exp(np.asarray(logw, np.float64))
    for beta, target in [(0.0, 0.5), (0.3, 0.8), (0.9, 0.2)]:
        b = float(next_beta(logw, dlog, jnp.float32(beta), jnp.float32(target)))
        u = np.exp((b - beta) * np.asarray(dlog, np.float64))
        cess = (w @ u) ** 2 / (w @ (u * u))
        if b < 1.0:
            assert beta < b and cess == pytest.approx(target, abs=2e-3)  # 30 bisection steps, f32
        else:
            assert cess >= target - 1e-6


def test_log_target_is_the_normalised_mixture():
    x = np.linspace(-40, 40, 160001)
    lt = np.asarray(log_target(jnp.asarray(x, jnp.float32), 5, jnp.float32(6.0)), np.float64)
    assert np.trapezoid(np.exp(lt), x) == pytest.approx(1.0, abs=1e-5)
    lp = np.asarray(log_prior(jnp.asarray(x, jnp.float32), jnp.float32(7.0)), np.float64)
    assert np.trapezoid(np.exp(lp), x) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(mode_means(4, jnp.float32(2.0)), [-3, -1, 1, 3])


@pytest.mark.parametrize("changes, expected", [
    (dict(model="filter", moves=2), "apply to model='tempered' only"),
    (dict(scheme="poisson"), "unknown scheme 'poisson'"),
    (dict(steps=10, log_every=3), "log_every=3 does not divide steps=10"),
])
def test_bad_configs_name_the_value(changes, expected):
    with pytest.raises(ConfigError, match=expected):
        SMCConfig(**changes)


SMC = ["sweep", "--system", "smc", "--particles", "16", "--modes", "4", "--steps", "20",
       "--log-every", "10", "--seeds", "2", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--model", "kalman"], "unknown model 'kalman'; allowed: tempered, filter"),
    (["--remedy", "sytematic"], "unknown remedy 'sytematic' (did you mean 'systematic'?)"),
    (["--remedy", "ess-threshold:threshold=-1"], "threshold must be a number in [0, inf], got -1.0"),
    (["--model", "filter", "--remedy", "resample-move"], "apply to model='tempered' only"),
    (["--sweep", "moves=1,2"], "--sweep moves: moves is static"),
    (["--population", "30"], "--population is an option of"),
])
def test_bad_smc_input_exits_2_before_writing(args, expected, capsys, tmp_path):
    assert main([*SMC, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_smc_sweep_table_and_resume(tmp_path, capsys):
    import os
    import signal

    from mcjax import SMCSpec, SweepResult
    from mcjax.core.run import run
    from mcjax.core.sweep import Interrupted

    out = tmp_path / "smc"
    assert main([*SMC, "--remedy", "multinomial", "--remedy", "resample-move",
                 "--sweep", "sep=4,8", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("remedy"))
    assert [c.strip() for c in header.split(" | ")[1:]] == [
        "D0", "D1", "D2", "ESS/N", "reverse KL", "log Zhat", "beta", "diverged"]
    result = SweepResult.load(str(out))
    assert result.table() in table and (out / "diversity.png").stat().st_size > 0
    assert result["resample-move"].history["D0"].shape == (2, 2, 2)  # settings, seeds, logs
    assert np.all(result["multinomial"].final("D0") <= 4)

    spec = SMCSpec(remedy=("adaptive",), seeds=2, particles=16, modes=4, steps=20, log_every=5)
    whole = run(spec, str(tmp_path / "whole"), progress=False, figures=False, cache=False)
    cut = str(tmp_path / "cut")
    with pytest.raises(Interrupted):
        run(spec, cut, progress=False, figures=False, cache=False,
            on_chunk=lambda report: os.kill(os.getpid(), signal.SIGINT))
    capsys.readouterr()
    assert main(["sweep", "--resume", cut, "--no-progress", "--no-cache", "--no-figures"]) == 0
    resumed = SweepResult.load(cut)
    for k, v in whole.result.groups[0].history.items():  # step t draws with fold_in(key, t)
        np.testing.assert_array_equal(v, resumed.groups[0].history[k], err_msg=k)
