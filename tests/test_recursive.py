"""Recursive training (model collapse) against its closed forms, and ``mcjax sweep --system
recursive`` through the table, checkpoints and resume.

Each stochastic check averages many seeds run in one vmapped program and allows ``Z`` standard
errors of the Monte-Carlo mean (the sample standard deviation over seeds / sqrt(seeds)).
"""
import functools
import json
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import RecursiveSpec, SweepResult
from mcjax._validation import ConfigError
from mcjax.cli import main
from mcjax.core.run import run
from mcjax.core.system import check_system
from mcjax.systems.recursive import theory
from mcjax.systems.recursive.config import RecursiveConfig, make_recursive_hparams
from mcjax.systems.recursive.engine import Mixture, make_system, model_stats

Z = 4.5  # standard errors allowed: a correct engine fails one such check with probability < 1e-5
# Shared programs (one compilation each; M and alpha are traced): four modes of unequal weight,
# refitted by EM, by one Gaussian, or in their weights alone (Wright-Fisher with N = M).
SMALL = dict(modes=4, capacity=20, em_iters=5)
EM = RecursiveConfig(fit="em", steps=20, log_every=5, **SMALL)
GAUSSIAN = RecursiveConfig(fit="gaussian", steps=20, log_every=5, **SMALL)
WEIGHTS = RecursiveConfig(fit="weights", weights=(4.0, 3.0, 2.0, 1.0), steps=80, log_every=10, **SMALL)


@functools.lru_cache(maxsize=None)
def _program(cfg: RecursiveConfig, runs: int):
    system = make_system(cfg)
    train = lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)
    hp = jax.tree.map(lambda v: jax.ShapeDtypeStruct((runs,), jnp.float32), cfg.default_hparams())
    return jax.jit(jax.vmap(train)).lower(hp, jax.ShapeDtypeStruct((runs,), jnp.uint32)).compile()


def simulate(cfg: RecursiveConfig, settings: list[tuple[dict, int]]) -> list[dict]:
    """One program for every ``(hparams, runs)`` setting; per setting, ``name -> [runs, n_logs,
    ...]`` (NumPy)."""
    hps = [make_recursive_hparams(cfg, **values) for values, _ in settings]
    sizes = [n for _, n in settings]
    stacked = jax.tree.map(lambda *vs: jnp.concatenate([jnp.full((n,), v) for v, n in zip(vs, sizes)]),
                           *hps)
    _, hist = _program(cfg, sum(sizes))(stacked, jnp.arange(sum(sizes), dtype=jnp.uint32))
    cut = np.cumsum([0, *sizes])
    return [{k: np.asarray(v)[a:b] for k, v in hist.items()} for a, b in zip(cut[:-1], cut[1:])]


def _close(measured: np.ndarray, exact, name: str):
    """Mean over seeds (axis 0) within Z standard errors of ``exact``, at every logged step."""
    mean = measured.mean(axis=0)
    se = measured.std(axis=0, ddof=1) / np.sqrt(measured.shape[0])
    assert np.all(np.abs(mean - exact) <= Z * se + 1e-5 * np.abs(exact)), (name, mean, exact, se)


def test_contract_seeds_differ_and_chunks_equal_one_call():
    check_system(make_system(EM), make_recursive_hparams(EM, alpha=0.1, samples=10))
    system = make_system(EM)
    hp = make_recursive_hparams(EM, alpha=0.1, samples=10)
    s0 = system.init(hp, jax.random.key(3))
    whole, hw = jax.jit(lambda s: system.advance(hp, s, 4))(s0)
    half = jax.jit(lambda s: system.advance(hp, s, 2))
    a, h1 = half(s0)
    b, h2 = half(a)
    np.testing.assert_array_equal(whole.model.means, b.model.means)
    np.testing.assert_array_equal(hw["variance"], np.concatenate([h1["variance"], h2["variance"]]))
    np.testing.assert_array_equal(hw["step"], [5, 10, 15, 20])
    other, _ = half(system.init(hp, jax.random.key(4)))
    assert not np.array_equal(a.model.means, other.model.means)  # each seed its own key


@pytest.mark.parametrize("cfg", [GAUSSIAN, EM], ids=["gaussian", "em"])
def test_fitted_variance_shrinks_as_m_minus_one_over_m_to_the_g(cfg):
    """Maximum likelihood on M samples keeps E var' = var (M - 1) / M whatever the distribution:
    a Gaussian's variance and, after every EM M-step, the mixture's (the M-step leaves the
    mixture's variance equal to the sample's, up to ``var_floor``)."""
    m, runs = 10, 3000
    (h,) = simulate(cfg, [(dict(samples=m), runs)])
    var0 = theory.mixture_variance(cfg.true_weights(), cfg.true_means(), [cfg.std**2] * cfg.modes)
    assert var0 == pytest.approx(1 + 100 * (16 - 1) / 12)  # 1 + spacing^2 (K^2 - 1) / 12
    exact = theory.variance_decay(var0, m, h["step"][0])
    # EM adds var_floor to each component (1e-4 against variances of ~10-100: below the noise)
    _close(h["variance"], exact, f"{cfg.fit} variance")
    assert exact[-1] / var0 < 0.15  # 20 generations of M = 10: the collapse is large


def test_weights_refit_is_wright_fisher_and_real_data_keep_every_mode():
    """``fit = weights``, alpha = 0: M w ~ Multinomial(M, w), so E H_t = H_0 (1 - 1/M)^t and
    mode k fixes with probability w_k (its starting share). alpha = 0.2: the exact recursion of
    E sum w^2 (:func:`~mcjax.systems.recursive.theory.real_mix_homozygosity`) and E w_t = w_true."""
    cfg, u = WEIGHTS, WEIGHTS.true_weights()
    drift, mixed = simulate(cfg, [(dict(samples=10), 2000), (dict(samples=20, alpha=0.2), 1000)])
    t = drift["step"][0]
    h0 = 1.0 - np.sum(u**2)
    early = t <= 40  # later E H_t < 0.01 rests on a few unfixed runs: the SE is unreliable
    _close(drift["heterozygosity"][:, early], theory.heterozygosity_decay(h0, 10, t[early]),
           "H_t, alpha = 0")
    final = drift["weights"][:, -1]
    # P(unfixed at 80) <= E H_80 / 0.18 (the least H short of fixation) = 0.7 0.9^80 / 0.18 < 1e-3
    assert np.mean(final.max(axis=1) == 1.0) > 0.995
    fixed_on = (final == 1.0).astype(np.float64)  # [runs, K]
    _close(fixed_on[:, None, :], u[None, :], "fixation probability = starting share")
    np.testing.assert_array_equal(drift["D0"][:, -1] == 1, final.max(axis=1) == 1.0)
    np.testing.assert_array_equal(drift["modes_lost"][:, -1], 4 - drift["D0"][:, -1])
    f = theory.real_mix_homozygosity(20, 0.2, u, cfg.steps, f0=np.sum(u**2))
    _close(1.0 - mixed["heterozygosity"], f[t - 1], "E sum w^2, alpha = 0.2")
    assert f[-1] < 0.5 and 1.0 - h0 < f[-1]  # a fixed point between the start and fixation
    _close(mixed["weights"], np.broadcast_to(u, mixed["weights"].shape[1:]), "E w_t = w_true")
    # M w_k >= Y_k ~ Bin(4, u_k), the real points of mode k: P(mode k lost) <= (1 - u_k)^4
    # at every generation (alpha = 0: every run has lost modes by generation 80)
    lost = (mixed["mass"] < cfg.min_mass).astype(np.float64)  # [runs, logs, K]
    bound = (1.0 - u) ** theory.real_count(20, 0.2)
    assert np.all(lost.mean(axis=0) <= bound + Z * np.sqrt(bound * (1 - bound) / lost.shape[0]))
    assert np.all(drift["D0"][:, -1] < 4) and lost.mean() < 0.15


def test_model_stats_against_numpy():
    """Component 0 fits mode 0 (mean 1 away, std 1), component 1 is too broad (std 4 > 3) to fit
    any, component 2 fits mode 2 (mean 2.5 away, std 2)."""
    cfg = RecursiveConfig(modes=3, spacing=10.0, weights=(1.0, 1.0, 2.0))
    model = Mixture(jnp.array([0.5, 0.3, 0.2]), jnp.array([-9.0, 1.0, 12.5]), jnp.array([1.0, 16.0, 4.0]))
    stats = jax.jit(lambda mix: model_stats(cfg, mix))
    st = stats(model)
    np.testing.assert_allclose(np.asarray(st["mass"]), [0.5, 0.0, 0.2], rtol=1e-6)
    p, u = np.array([5 / 7, 0.0, 2 / 7]), np.array([0.25, 0.25, 0.5])
    assert float(st["D0"]) == 2 and float(st["modes_lost"]) == 1
    np.testing.assert_allclose(float(st["D2"]), 1 / np.sum(p**2), rtol=1e-5)
    np.testing.assert_allclose(float(st["D1"]), np.exp(-np.sum(p[p > 0] * np.log(p[p > 0]))), rtol=1e-5)
    kl = np.sum(p[p > 0] * np.log(p[p > 0] / u[p > 0]))
    np.testing.assert_allclose(float(st["reverse_kl"]), kl, rtol=1e-5)
    assert float(st["fitted"]) == pytest.approx(0.7) and float(st["heterozygosity"]) == pytest.approx(0.62)
    w, m, v = (np.asarray(a, np.float64) for a in model)
    exact = np.sum(w * (v + (m - np.sum(w * m)) ** 2))
    assert float(st["variance"]) == pytest.approx(exact, rel=1e-6)
    assert theory.mixture_variance(w, m, v) == pytest.approx(exact, rel=1e-7)  # float32 w
    # one broad Gaussian over the modes fits none: no mode alive, KL as if all on mode 0
    blob = stats(Mixture(jnp.array([1.0, 0.0, 0.0]), jnp.zeros(3), jnp.full((3,), 100.0)))
    assert float(blob["D0"]) == 0 and float(blob["fitted"]) == 0
    assert float(blob["reverse_kl"]) == pytest.approx(np.log(4), rel=1e-6)


def test_changing_alpha_and_m_does_not_recompile():
    program = jax.jit(jax.vmap(lambda h, s: make_system(GAUSSIAN).init(h, jax.random.key(s)).model))
    for values in (dict(alpha=0.0), dict(alpha=0.3, samples=7)):
        hp = jax.tree.map(lambda v: v[None], make_recursive_hparams(GAUSSIAN, **values))
        program(hp, jnp.zeros(1, jnp.uint32))
    assert program._cache_size() == 1  # hparams are traced values, not static


@pytest.mark.parametrize("kwargs, message", [
    (dict(modes=1), "modes must be at least 2"),
    (dict(fit="mle"), "unknown fit 'mle'"),
    (dict(steps=10, log_every=3), "log_every=3 does not divide generations=10"),
    (dict(weights=(1.0, 0.0)), "weights must be 8 positive numbers"),
    (dict(spacing=-1.0), "spacing must be a positive finite number"),
])
def test_bad_configs_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        RecursiveConfig(**kwargs)


@pytest.mark.parametrize("values, message", [
    (dict(alpha=1.5), r"alpha must be a number in \[0, 1\]"),
    (dict(samples=101.0), r"samples must be an integer in \[2, capacity=100\]"),
    (dict(samples=2.5), "samples must be an integer"),
    (dict(share=0.1), "unknown recursive-training parameter 'share'"),
])
def test_bad_hparams_are_named(values, message):
    with pytest.raises(ConfigError, match=message):
        make_recursive_hparams(RecursiveConfig(), **values)


REC = ["sweep", "--system", "recursive", "--fit", "weights", "--modes", "4", "--samples", "20",
       "--generations", "40", "--log-every", "10", "--seeds", "3", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--modes", "0"], "--modes must be a positive integer, got 0"),
    (["--remedy", "realmix"], "unknown remedy 'realmix' (did you mean 'real-mix'?)"),
    (["--remedy", "real-mix:alpha=2"], "alpha must be a number in [0, 1], got 2.0"),
    (["--remedy", "real-mix:beta=2"], "remedy 'real-mix' has no parameter 'beta'"),
    (["--sweep", "fit=1,2"], "--sweep fit: fit is static"),
    (["--sweep", "samples=1,20"], "samples must be an integer in [2, capacity=20], got 1.0"),
    (["--weights", "1,x"], "--weights '1,x': expected numbers"),
    (["--generations", "45"], "log_every=10 does not divide generations=45"),
    (["--population", "10"], "--population is an option of --system wright-fisher, not of --system "
                             "recursive"),
])
def test_bad_input_exits_2_in_one_line_before_writing(args, expected, capsys, tmp_path):
    assert main([*REC, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_sweep_table_figures_and_listings(tmp_path, capsys):
    out = tmp_path / "rec"
    assert main([*REC, "--remedy", "none", "--remedy", "real-mix:alpha=0.5",
                 "--sweep", "samples=20,200", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]]
             for line in table.splitlines() if " | " in line}
    assert cells["remedy"] == ["D0 modes", "D1", "D2", "reverse KL", "H (weights)",
                               "fitted share", "variance",
                               "modes lost", "first loss gen.", "diverged"]
    assert set(cells) >= {"none[samples=20]", "none[samples=200]", "real-mix:alpha=0.5[samples=200]"}
    assert cells["real-mix:alpha=0.5[samples=200]"][0] == "4.0 (4.0-4.0) of 4"  # 100 real points
    result = SweepResult.load(str(out))
    assert result["none"].config.capacity == 200  # the largest M of the sweep
    assert (out / "diversity.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["remedies"]["none[samples=20]"]["D0"]) == 3
    assert main(["show", str(out)]) == 0
    assert capsys.readouterr().out.strip() == result.table()
    assert main(["systems"]) == 0 and "\nrecursive\n" in capsys.readouterr().out
    assert main(["remedies", "--system", "recursive"]) == 0
    assert "real-mix\n" in capsys.readouterr().out


def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, capsys):
    spec = RecursiveSpec(remedy=("none", "real-mix:alpha=0.2"), fit="em", modes=4, samples=20,
                         seeds=3, generations=20, log_every=5, em_iters=3)
    whole = run(spec, str(tmp_path / "whole"), progress=False, figures=False, cache=False)
    cut = str(tmp_path / "cut")
    from mcjax.core.sweep import Interrupted

    with pytest.raises(Interrupted):  # a SIGINT after the first chunk: stop at its checkpoint
        run(spec, cut, progress=False, figures=False, cache=False,
            on_chunk=lambda report: os.kill(os.getpid(), signal.SIGINT))
    capsys.readouterr()
    assert not os.path.exists(os.path.join(cut, "summary.json"))
    assert main(["sweep", "--resume", cut, "--no-progress", "--no-cache", "--no-figures"]) == 0
    assert "resuming" in capsys.readouterr().err
    resumed = SweepResult.load(cut)
    for a, b in zip(whole.result.groups, resumed.groups):
        assert a.label == b.label and a.config == b.config
        for k in a.history:  # the same programs, the state restored exactly: bitwise
            np.testing.assert_array_equal(a.history[k], b.history[k], err_msg=k)
        np.testing.assert_array_equal(a.samples, b.samples)
    assert resumed.table() == whole.result.table()
