"""The linear VAE against its closed forms (``mcjax.systems.vae.theory``), checked three ways:
the closed forms against a direct NumPy maximisation, the JAX loss's gradient at the closed-form
point, and training from a random start reaching it; then the remedies and the command line.

Eigenvalues ``(4, 2, 0.5, 0.25)`` straddle ``sigma^2 = 1``: at ``beta = 1`` latents on 4 and 2
are active, those on 0.5 and 0.25 collapse.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from mcjax.cli import main
from mcjax.core.system import check_system
from mcjax.systems.vae import theory
from mcjax.systems.vae.config import VAEConfig, make_vae_hparams, stack_vae_hparams
from mcjax.systems.vae.engine import make_system
from mcjax.systems.vae.model import VAEParams, delta_cap, make_data, measure
from mcjax.systems.vae.objective import kl_weight, loss

LAM = (4.0, 2.0, 0.5, 0.25)
TRAIN = VAEConfig(eigenvalues=LAM, latents=4, n_data=64, steps=3000, log_every=1000)


@functools.lru_cache(maxsize=None)
def _program(cfg: VAEConfig, runs: int):
    system = make_system(cfg)
    train = lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)
    hp = jax.tree.map(lambda v: jax.ShapeDtypeStruct((runs,), jnp.float32), cfg.default_hparams())
    seeds = jax.ShapeDtypeStruct((runs,), jnp.uint32)
    return jax.jit(jax.vmap(train)).lower(hp, seeds).compile()


def train(cfg: VAEConfig, settings: list[dict], seeds: int = 2):
    """``(state, history)`` of every setting x seed (run ``i * seeds + s``), one program."""
    hp = stack_vae_hparams([make_vae_hparams(cfg, **kw) for kw in settings])
    hp = jax.tree.map(lambda v: jnp.repeat(v, seeds), hp)
    seed = jnp.tile(jnp.arange(seeds, dtype=jnp.uint32), len(settings))
    state, hist = _program(cfg, len(settings) * seeds)(hp, seed)
    return state, {k: np.asarray(v) for k, v in hist.items()}


def _aligned_params(cfg: VAEConfig, opt: dict) -> VAEParams:
    W, V, s2 = theory.optimum_weights(cfg.eigenvalues, opt)
    if cfg.delta_vae:  # s^2 = c exp(min(raw, 0)): raw = 1 sits past the cap's kink
        c = theory.delta_variance_cap(float(opt["delta"]))
        raw = np.where(s2 >= c * (1 - 1e-9), 1.0, np.log(s2 / c))
    else:
        raw = np.log(s2)
    f = lambda a: jnp.asarray(a, jnp.float32)
    return VAEParams(f(W), jnp.zeros(cfg.dim), f(V), f(raw), jnp.log(jnp.float32(1.0)))


@pytest.mark.parametrize("beta, delta", [(1.0, 0.0), (0.4, 0.0), (2.5, 0.0), (1.0, 0.3), (0.5, 0.3)])
def test_closed_forms_equal_a_numpy_maximisation(beta, delta):
    """Each eigen-direction's (w, v, s^2) maximised by BFGS from 6 starts, against `optimum`."""
    c = theory.delta_variance_cap(delta)
    opt = theory.optimum(LAM, 1.0, 4, beta=beta, delta=delta)
    for j, lam in enumerate(opt["lam"]):
        def neg(p):
            s2 = np.exp(p[2]) if delta == 0 else c * np.exp(min(p[2], 0.0))
            rec = -((1 - p[0] * p[1]) ** 2 * lam + p[0] ** 2 * s2) / 2.0
            return -(rec - beta * 0.5 * (s2 + p[1] ** 2 * lam - 1 - np.log(s2)))
        rng = np.random.default_rng(j)
        best = min((minimize(neg, rng.normal(size=3), method="Nelder-Mead",
                             options=dict(xatol=1e-10, fatol=1e-14, maxiter=20000))
                    for _ in range(6)), key=lambda r: r.fun)
        w, v, r = best.x
        s2 = np.exp(r) if delta == 0 else c * np.exp(min(r, 0.0))
        kl = 0.5 * (s2 + v**2 * lam - 1 - np.log(s2))
        # 1e-5: Nelder-Mead's tolerance on the parameters (1e-10) leaves ~1e-7 in these values
        np.testing.assert_allclose([kl, v**2 * lam, s2],
                                   [opt["kl"][j], opt["mean_var"][j], opt["post_var"][j]], atol=1e-5)
    np.testing.assert_allclose(1 - theory.optimum(LAM, 1.0, 4)["mean_var"][:2], [1 / 4, 1 / 2])


def test_free_bits_aligned_closed_form_equals_a_numpy_maximisation():
    """Aligned free bits: KL_j = max(1/2 ln(lambda_j / sigma^2)_+, lambda_fb)."""
    fb = 0.5
    ref = theory.free_bits_aligned(LAM, 1.0, 4, fb)
    np.testing.assert_allclose(ref["kl"], [0.5 * np.log(4), 0.5, 0.5, 0.5])
    for j, lam in enumerate(ref["lam"]):
        def neg(p):
            s2 = np.exp(p[2])
            kl = 0.5 * (s2 + p[1] ** 2 * lam - 1 - p[2])
            return ((1 - p[0] * p[1]) ** 2 * lam + p[0] ** 2 * s2) / 2.0 + max(kl, fb)
        rng = np.random.default_rng(j)
        best = min((minimize(neg, rng.normal(size=3), method="Nelder-Mead",
                             options=dict(xatol=1e-10, fatol=1e-14, maxiter=20000))
                    for _ in range(8)), key=lambda r: r.fun)
        w, v, r = best.x
        # 1e-5: Nelder-Mead's parameter tolerance, as above
        np.testing.assert_allclose([0.5 * (np.exp(r) + v**2 * lam - 1 - r), np.exp(r)],
                                   [ref["kl"][j], ref["post_var"][j]], atol=1e-5)


def test_contract_data_and_seeds():
    check_system(make_system(TRAIN), make_vae_hparams(TRAIN))
    a, b = (make_data(TRAIN, jax.random.key(s)) for s in (0, 1))
    assert not np.allclose(a, b)  # each seed its own data set
    # 1e-5: float32 QR and products of 64 points of size ~2
    np.testing.assert_allclose(np.asarray(a).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(a).T @ np.asarray(a) / 64, np.diag(LAM), atol=1e-5)
    c = [float(delta_cap(jnp.float32(d))) for d in (0.0, 0.01, 0.3, 2.0)]
    # 1e-6: float32 Newton iterates against SciPy's float64 root
    np.testing.assert_allclose(c, [theory.delta_variance_cap(d) for d in (0.0, 0.01, 0.3, 2.0)], rtol=1e-5)


@pytest.mark.parametrize("beta, delta", [(1.0, 0.0), (0.4, 0.0), (1.0, 0.3)])
def test_closed_form_optimum_is_stationary_and_measured_exactly(beta, delta):
    cfg = TRAIN.replace(delta_vae=delta > 0)
    hp = make_vae_hparams(cfg, beta=beta, delta=delta)
    opt = dict(theory.optimum(LAM, 1.0, 4, beta=beta, delta=delta), delta=delta)
    p = _aligned_params(cfg, opt)
    data = make_data(cfg, jax.random.key(3))
    grads = jax.grad(lambda q: loss(cfg, hp, q, data, jax.random.key(0), jnp.int32(10**6)))(p)
    # 2e-6: float32 sums over 64 points of terms ~4 (the gradient away from it is ~0.1-1)
    assert max(float(jnp.abs(g).max()) for g in grads) < 2e-6
    m = jax.jit(lambda q: measure(cfg, hp, q, data))(p)
    recon, kl = theory.aligned_elbo_terms(LAM, 1.0, opt["w"], opt["v"], opt["post_var"])
    # 1e-5: float32 rounding of the data set's exact moments (checked to 1e-5 above)
    np.testing.assert_allclose(m["kl_dims"], opt["kl"], atol=1e-5)
    np.testing.assert_allclose(m["mean_var"], opt["mean_var"], atol=1e-5)
    np.testing.assert_allclose([m["elbo"], m["mi"]], [recon - kl.sum(), opt["mi"]], atol=1e-5)
    np.testing.assert_allclose([m["D0"], m["D1"], m["D2"]],
                               theory.kl_hill(opt["kl"], opt["active"]), rtol=1e-5)
    assert m["active"] == opt["active"].sum()


def test_trained_linear_vae_reaches_the_closed_forms():
    """From a random start: beta = 1 (2 active), beta = 0.4 (threshold 0.4: 3 active), beta = 2.5
    (threshold 2.5: 1 active), sigma^2 = 0.3 (3 active) - one program, 2 seeds each."""
    settings = [dict(), dict(beta=0.4), dict(beta=2.5), dict(sigma2=0.3)]
    _, h = train(TRAIN, settings)
    for i, kw in enumerate(settings):
        opt = theory.optimum(LAM, kw.get("sigma2", 1.0), 4, beta=kw.get("beta", 1.0))
        for s in range(2):
            r = i * 2 + s
            kl = np.sort(h["kl_dims"][r, -1])[::-1]  # latents come out permuted: compare sorted
            mv = np.sort(h["mean_var"][r, -1])[::-1]
            # 1e-4: Adam (lr 0.03 decaying to 0.003) ends within ~1e-6 of this optimum (a
            # collapsed latent's origin is a strict maximum); the rest is float32 rounding
            np.testing.assert_allclose(kl, opt["kl"], atol=1e-4, err_msg=str(kw))
            np.testing.assert_allclose(mv, opt["mean_var"], atol=1e-4, err_msg=str(kw))
            np.testing.assert_allclose(h["mi"][r, -1], opt["mi"], atol=1e-4, err_msg=str(kw))
            assert h["active"][r, -1] == opt["active"].sum(), kw
    assert not np.allclose(h["kl_dims"][0], h["kl_dims"][1])  # seeds differ on the way


def test_free_bits_keeps_every_kl_above_the_floor_and_delta_vae_its_floor():
    fb = [0.1, 0.25, 0.5, 1.0]  # 4 settings x 2 seeds: the program of the test above
    _, h = train(TRAIN, [dict(free_bits=f) for f in fb])
    for i, f in enumerate(fb):
        # 5e-3: Adam's steps (lr 0.03 decaying to 0.003) cross the kink of max(KL_j, lambda_fb)
        # back and forth; the excursions measured are below 1e-3
        assert h["kl_dims"][2 * i:2 * i + 2, -1].min() >= f - 5e-3, (f, h["kl_dims"][2 * i:2 * i + 2, -1])
        assert (h["active"][2 * i:2 * i + 2, -1] == 4).all()  # no latent left collapsed
    cfg = TRAIN.replace(delta_vae=True)
    state, h = train(cfg, [dict(delta=0.3)])
    assert h["kl_dims"][:, -1].min() >= 0.3 - 1e-5  # by construction; 1e-5: float32
    opt = dict(theory.optimum(LAM, 1.0, 4, delta=0.3), delta=0.3)
    hp = make_vae_hparams(cfg, delta=0.3)
    for r in range(2):
        run = jax.tree.map(lambda a: a[r], state)
        f = lambda q: float(loss(cfg, hp, q, run.data, jax.random.key(0), jnp.int32(10**6)))
        # training never beats the closed form (capped latents are rotation-degenerate, so only
        # the loss is compared); 1e-5: float32
        assert f(run.params) >= f(_aligned_params(cfg, opt)) - 1e-5


def test_learned_sigma_reaches_the_ppca_maximum_likelihood():
    """k = 2 < d = 4 with sigma^2 learned: sigma^2 -> mean(0.5, 0.25) = 0.375 (Tipping & Bishop)."""
    cfg = TRAIN.replace(latents=2, learn_sigma=True)
    _, h = train(cfg, [dict(sigma2=2.0)], seeds=1)
    s2 = theory.sigma2_mle(LAM, 2)
    # 1e-3: sigma^2 starts at 2 and converges geometrically; 3000 steps leave < 1e-4
    np.testing.assert_allclose(h["sigma2"][0, -1], s2, atol=1e-3)
    np.testing.assert_allclose(np.sort(h["kl_dims"][0, -1])[::-1], 0.5 * np.log(np.array([4.0, 2.0]) / s2),
                               atol=1e-3)


def test_kl_weight_schedules():
    hp = make_vae_hparams(TRAIN, beta=0.5, warmup=100.0)
    np.testing.assert_allclose([kl_weight(hp, t) for t in (0, 50, 100, 500)], [0, 0.25, 0.5, 0.5])
    hp = make_vae_hparams(TRAIN, cycle=100.0, ratio=0.5)
    np.testing.assert_allclose([kl_weight(hp, t) for t in (0, 25, 50, 99, 100, 125)],
                               [0, 0.5, 1, 1, 0, 0.5])


def test_chunked_advance_equals_one_call():
    cfg = TRAIN.replace(steps=40, log_every=10, batch=16, estimator="sample")
    system = make_system(cfg)
    hp = make_vae_hparams(cfg, warmup=20.0, free_bits=0.1)
    s0 = system.init(hp, jax.random.key(5))
    whole, hw = jax.jit(lambda s: system.advance(hp, s, 4))(s0)
    half = jax.jit(lambda s: system.advance(hp, s, 2))
    a, h1 = half(s0)
    b, h2 = half(a)
    np.testing.assert_array_equal(whole.params.W, b.params.W)
    np.testing.assert_array_equal(hw["elbo"], np.concatenate([h1["elbo"], h2["elbo"]]))


VAE = ["sweep", "--system", "vae", "--steps", "600", "--log-every", "300", "--seeds", "2",
       "--n-data", "32", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--latents", "0"], "--latents must be a positive integer, got 0"),
    (["--eigenvalues", "1,-2"], "--eigenvalues must be positive finite numbers"),
    (["--eigenvalues", "1,x"], "--eigenvalues '1,x': expected numbers"),
    (["--n-data", "4"], "--n-data must exceed d=4"),
    (["--batch", "99"], "--batch must be an integer in [0, n_data=32]"),
    (["--remedy", "frebits"], "unknown remedy 'frebits' (did you mean 'free-bits'?)"),
    (["--remedy", "beta:beta=0"], "beta must be a number in (0, inf), got 0.0"),
    (["--remedy", "free-bits:fbb=1"], "remedy 'free-bits' has no parameter 'fbb'"),
    (["--sweep", "delta_vae=0,1"], "--sweep delta_vae: delta_vae is static"),
    (["--steps", "650"], "log_every=300 does not divide steps=650"),
    (["--population", "10"], "--population is an option of --system wright-fisher, not of --system vae"),
])
def test_bad_vae_input_exits_2_in_one_line_before_writing(args, expected, capsys, tmp_path):
    assert main([*VAE, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_sweep_writes_the_table(tmp_path, capsys):
    out = tmp_path / "vae"
    assert main([*VAE, "--remedy", "vae", "--sweep", "sigma2=1,0.3", "--sweep", "free_bits=0,0.1",
                 "--out", str(out)]) == 0  # one program: 4 settings x 2 seeds
    table = capsys.readouterr().out
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]]
             for line in table.splitlines() if " | " in line}
    assert cells["remedy"] == ["active units", "D1 (KL)", "D2 (KL)", "KL", "I(x;z)", "ELBO",
                               "sigma^2", "diverged"]
    # the collapsed latents' Cov_x(E_q z_j) falls below 0.01 within 600 steps: exact counts
    assert cells["vae[sigma2=1,free_bits=0]"][0] == "2.0 (2.0-2.0) of 4"
    assert cells["vae[sigma2=0.3,free_bits=0]"][0] == "3.0 (3.0-3.0) of 4"
    assert cells["vae[sigma2=1,free_bits=0.1]"][0] == "4.0 (4.0-4.0) of 4"
    assert (out / "diversity.png").stat().st_size > 0 and (out / "summary.json").exists()
    assert main(["show", str(out)]) == 0
    assert capsys.readouterr().out.strip() in table


def test_mixture_vae_weak_decoder_needs_z_strong_decoder_needs_less():
    """Ring of 8: a one-Gaussian decoder can only place a sample on its mode through z, so z
    carries nearly the mode's log 8 = 2.08 nats; a mixture decoder can model the ring alone and
    its latents carry less (its ELBO optimum ignores z; Chen et al. 2017); both cover the modes."""
    from mcjax.systems.vae.mixture_config import MixVAEConfig, make_mix_hparams

    out = {}
    for decoder in ("gaussian", "mixture"):
        cfg = MixVAEConfig(decoder=decoder, width=16, depth=1, batch=64, steps=1000, log_every=500,
                           eval_samples=256)
        out[decoder] = _train_mix(cfg, make_mix_hparams(cfg))
    g, m = out["gaussian"], out["mixture"]
    # I(x; z) <= log 8 + the estimator's bias (log-mean-exp over 256 points: < 0.1 nat here)
    assert (g["mi"][:, -1] > 1.5).all() and (g["mi"][:, -1] < np.log(8) + 0.1).all(), g["mi"]
    assert (m["kl"][:, -1] < g["kl"][:, -1] - 1.0).all(), (m["kl"], g["kl"])
    # HQ (within 3 std of a mode) > 0.6: after 1000 steps the components are still sharpening
    assert (m["modes"][:, -1] == 8).all() and (m["hq"][:, -1] > 0.6).all()


def _train_mix(cfg, hp, seeds: int = 2):
    system = cfg.make_system()
    hps = jax.tree.map(lambda v: jnp.full((seeds,), v), hp)
    run = jax.jit(jax.vmap(lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)))
    _, hist = run(hps, jnp.arange(seeds, dtype=jnp.uint32))
    return {k: np.asarray(v) for k, v in hist.items()}
