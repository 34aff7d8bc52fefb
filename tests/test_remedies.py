"""Each remedy against its published definition, and its wiring into the trainer.

References are independent of the code under test: NumPy loops and expressions, central finite
differences (float64, ``jax.enable_x64`` scoped to the test), ``numpy.linalg.svd``, closed-form
entropies, and hand-rebuilt forward passes of the trainer's losses from the same keys. Consensus
and SGA are in ``test_game.py``.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import monitoring
from jax.flatten_util import ravel_pytree
from scipy.special import digamma, gammaln

from mcjax import REMEDIES, ConfigError, Experiment, apply_remedy, make_hparams, run_sweep, stack_hparams
from mcjax.systems.gan import losses, nets, objectives
from mcjax.systems.gan.config import Config
from mcjax.systems.gan.engine import make_train, make_trainer
from mcjax.systems.gan.terms import dragan_penalty
from mcjax.systems.gan.optimizers import make_optimizer

_compiles = []
monitoring.register_event_duration_secs_listener(
    lambda name, *a, **k: _compiles.append(name) if name.endswith("backend_compile_duration") else None
)

# Tiny: every distinct Config is one compilation of seconds on 2 CPU cores.
BASE = Config(width=8, depth=1, batch_size=16, latent_dim=2, steps=10, log_every=10,
              eval_samples=64, keep_samples=16)
# tanh where derivatives are taken numerically: smooth, so finite differences converge.
SMOOTH = BASE.replace(activation="tanh")


def _f64(tree):
    return jax.tree.map(lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a,
                        tree)


@functools.cache
def _train(cfg: Config):
    """The jitted training program of ``cfg``, compiled once per test session.

    Compiled with XLA's backend optimisation level 0 and without LLVM's expensive passes: the
    same program (same operations, same random numbers), only cheaper machine-code generation,
    which roughly halves compile time on CPU.
    """
    trainer = make_trainer(cfg)
    hp = make_hparams()
    compiled = jax.jit(trainer.train).lower(hp, jax.random.key(0)).compile(
        compiler_options={"xla_backend_optimization_level": 0,
                          "xla_llvm_disable_expensive_passes": True})
    return compiled


@pytest.fixture(scope="module")
def base():
    """An initial state of ``BASE`` and its jitted losses (the reference for remedies that add
    to them)."""
    trainer = make_trainer(BASE)
    state = jax.jit(trainer.init)(make_hparams(), jax.random.key(0))
    return dict(g=state.g_params, d=state.d_params, critic_loss=jax.jit(trainer.critic_loss),
                generator_loss=jax.jit(trainer.generator_loss))


def _np_mlp(params, x, act):
    """NumPy forward pass of ``nets.Critic`` / ``nets.MLP`` (one hidden layer), float64."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    h = act(x @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"])
    return h, h @ p["out"]["kernel"] + p["out"]["bias"]


def _split(key, n):
    return jax.random.split(jax.random.clone(key), n)


# ------------------------------------------------------------------------------------ PacGAN


@pytest.mark.parametrize("m", [1, 2, 3])
def test_pack_concatenates_m_consecutive_samples(m):
    x = np.random.default_rng(m).normal(size=(6 * m, 2)).astype(np.float32)
    got = jax.jit(objectives.pack, static_argnums=1)(x, m)
    # Lin et al. 2018, Sec. 3: row i is (x_{im}, x_{im+1}, ..., x_{im+m-1}) concatenated.
    want = np.stack([np.concatenate([x[i * m + j] for j in range(m)]) for i in range(6)])
    np.testing.assert_array_equal(got, want)


def test_trainer_critic_takes_packed_rows():
    cfg = BASE.replace(pack=3)
    trainer = make_trainer(cfg)
    hp = make_hparams()
    state = jax.jit(trainer.init)(hp, jax.random.key(0))
    d = state.d_params["params"]
    assert d["hidden_0"]["kernel"].shape == (3 * 2, cfg.width)  # input m * D
    assert state.g_params["params"]["out"]["kernel"].shape == (cfg.width, 2)  # G is unchanged

    # Rebuild both losses by hand from the trainer's keys: m * B samples, packed by a NumPy loop.
    B, m, target = cfg.batch_size, 3, cfg.make_target()
    gen = nets.generator(cfg.width, cfg.depth, 2)
    pack = lambda x: np.stack([np.concatenate([x[i * m + j] for j in range(m)]) for i in range(B)])
    relu = lambda v: np.maximum(v, 0.0)
    logit = lambda x: _np_mlp(state.d_params, pack(np.asarray(x, np.float64)), relu)[1][:, 0]
    softplus = lambda v: np.log1p(np.exp(v))

    key = jax.random.key(1)
    k_real, k_z, *_ = _split(key, 5)
    real = target.sample(k_real, m * B)
    fake = gen.apply(state.g_params, jax.random.normal(k_z, (m * B, cfg.latent_dim)))
    want = np.mean(softplus(-logit(real))) + np.mean(softplus(logit(fake)))
    got = jax.jit(trainer.critic_loss)(state.d_params, state.g_params, hp, key)
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 forward pass vs float64 NumPy

    key = jax.random.key(2)
    k_z, *_ = _split(key, 4)
    fake = gen.apply(state.g_params, jax.random.normal(k_z, (m * B, cfg.latent_dim)))
    want = np.mean(softplus(-logit(fake)))
    got = jax.jit(trainer.generator_loss)(state.g_params, state.d_params, hp, key)
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 forward pass vs float64 NumPy


# ----------------------------------------------------------- minibatch discrimination and stddev


def _np_mbd(h, T, n_kernels, kernel_dim):
    """Salimans et al. 2016, Sec. 3.2, as a double loop: o_b(x_i) = sum_{j != i} exp(-||M_ib - M_jb||_1)."""
    M = (h @ T).reshape(h.shape[0], n_kernels, kernel_dim)
    B = h.shape[0]
    o = np.zeros((B, n_kernels))
    for i in range(B):
        for j in range(B):
            if j != i:
                o[i] += np.exp(-np.abs(M[i] - M[j]).sum(axis=-1))
    return o


_mbd = jax.jit(nets.minibatch_discrimination, static_argnums=(2, 3))


def test_minibatch_discrimination_of_identical_samples_is_batch_size_minus_one():
    rng = np.random.default_rng(0)
    h = np.tile(rng.normal(size=(1, 6)), (10, 1)).astype(np.float32)
    T = rng.normal(size=(6, 4 * 3)).astype(np.float32)
    # every c_b(x_i, x_j) = exp(0) = 1: o_b = B - 1 exactly
    np.testing.assert_array_equal(_mbd(h, T, 4, 3), np.full((10, 4), 9.0))


def test_minibatch_discrimination_matches_numpy_double_loop():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(10, 6)).astype(np.float32)
    T = (0.3 * rng.normal(size=(6, 4 * 3))).astype(np.float32)
    want = _np_mbd(h.astype(np.float64), T.astype(np.float64), 4, 3)
    assert np.all(want > 1e-3) and np.all(want < 9.0)  # neither all-far nor all-identical
    np.testing.assert_allclose(_mbd(h, T, 4, 3), want, rtol=1e-5)  # float32 exp of O(1) L1 distances


def test_critic_with_minibatch_layers_is_the_published_forward_pass():
    crit = nets.critic(8, 1, mbd_kernels=4, mbd_dim=3, mbstd=True)
    x = np.random.default_rng(2).normal(size=(10, 2)).astype(np.float32)
    params = jax.jit(crit.init)(jax.random.key(0), x)
    assert params["params"]["mbd_T"].shape == (8, 4 * 3)
    apply = jax.jit(crit.apply)
    logits, feats = apply(params, x)
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    h = np.maximum(x @ p["hidden_0"]["kernel"] + p["hidden_0"]["bias"], 0.0)
    o = _np_mbd(h, p["mbd_T"], 4, 3)
    # Karras et al. 2018, Sec. 3: mean over features of the per-feature batch std (+1e-8 inside).
    sd = np.full((10, 1), np.mean(np.sqrt(np.var(h, axis=0) + 1e-8)))
    want = np.concatenate([h, o, sd], axis=1) @ p["out"]["kernel"][:, 0] + p["out"]["bias"][0]
    np.testing.assert_allclose(feats, h, rtol=1e-5, atol=1e-6)  # float32 vs float64 matmul
    np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-5)  # float32 vs float64
    # the output of sample 0 depends on the other samples (the point of minibatch layers)
    moved = x.copy()
    moved[1:] += 1.0
    assert abs(float(apply(params, moved)[0][0] - logits[0])) > 1e-3


# ------------------------------------------------------------------------------- R1, R2, GP


def test_r1_penalty_matches_finite_difference_gradient_norm():
    crit = nets.critic(8, 1, "tanh")
    x = np.random.default_rng(3).normal(size=(12, 3))
    with jax.enable_x64(True):
        params = _f64(crit.init(jax.random.key(0), jnp.zeros((1, 3))))
        got = float(jax.jit(lambda p, x: objectives.r1_penalty(lambda v: crit.apply(p, v)[0], x))(params, x))
    D = lambda x: _np_mlp(params, x, np.tanh)[1][:, 0]
    h = 1e-5
    grad = np.stack([(D(x + h * e) - D(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    want = np.mean(np.sum(grad**2, axis=1))  # Mescheder et al. 2018, Eq. 9 without gamma / 2
    assert want > 1e-3
    # central differences: O(h^2) ~ 1e-10 truncation, eps / h ~ 1e-11 rounding, in float64
    np.testing.assert_allclose(got, want, rtol=1e-7)


@pytest.mark.parametrize("penalty", ["r1", "r2", "gp", "dragan"])
def test_trainer_critic_loss_is_base_plus_weighted_penalty(base, penalty):
    cfg = BASE.replace(terms=("dragan",)) if penalty == "dragan" else BASE.replace(penalty=penalty)
    pen_loss = jax.jit(make_trainer(cfg).critic_loss)
    g, d, base_loss = base["g"], base["d"], base["critic_loss"]
    crit = nets.critic(BASE.width, BASE.depth)
    gen = nets.generator(BASE.width, BASE.depth, 2)
    logits = lambda x: crit.apply(d, x)[0]

    key = jax.random.key(4)
    k_real, k_z, k_pen, _, _ = _split(key, 5)
    real = BASE.make_target().sample(k_real, BASE.batch_size)
    fake = gen.apply(g, jax.random.normal(k_z, (BASE.batch_size, BASE.latent_dim)))
    if penalty == "gp":  # Gulrajani et al. 2017, Eq. 3: lambda E (||grad D(xhat)|| - 1)^2
        coef, value = 1.0, losses.gradient_penalty(logits, real, fake, k_pen)
    elif penalty == "dragan":  # Kodali et al. 2017: the same, around perturbed real points
        coef, value = 1.0, dragan_penalty(logits, real, k_pen)
    else:  # Mescheder et al. 2018, Eq. 9 / 10: gamma / 2 E ||grad D||^2 on real / generated data
        coef, value = 0.5, objectives.r1_penalty(logits, real if penalty == "r1" else fake)
    assert float(value) > 1e-4
    plain = float(base_loss(d, g, make_hparams(), jax.random.clone(key)))
    for w in (0.0, 3.0, 10.0):
        got = float(pen_loss(d, g, make_hparams(penalty_weight=w), jax.random.clone(key)))
        # float32 sum of two O(1) terms: a few ulps
        np.testing.assert_allclose(got, plain + coef * w * float(value), rtol=1e-6, atol=1e-6)


def test_dragan_penalty_against_its_definition():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(64, 3)), jnp.float32)
    w = jnp.asarray([0.3, -1.2, 2.0], jnp.float32)
    key = jax.random.key(5)
    # a linear critic has gradient w everywhere: the penalty is (||w|| - 1)^2 at any point
    got = float(jax.jit(lambda x: dragan_penalty(lambda v: v @ w, x, jax.random.clone(key)))(x))
    np.testing.assert_allclose(got, (np.linalg.norm(w) - 1.0) ** 2, rtol=1e-6)  # float32 ulps
    # D(x) = ||x||^2 / 2 has gradient x: the penalty is E (||xhat|| - 1)^2 at the interpolates
    # xhat = x + alpha (x_p - x), x_p = x + c std(x) u, rebuilt here in float64 from the same draws
    k_u, k_alpha = jax.random.split(jax.random.clone(key))
    u = np.asarray(jax.random.uniform(k_u, x.shape), np.float64)
    alpha = np.asarray(jax.random.uniform(k_alpha, (64, 1)), np.float64)
    x64 = np.asarray(x, np.float64)
    xhat = x64 + alpha * (0.5 * x64.std() * u)
    want = np.mean((np.linalg.norm(xhat, axis=1) - 1.0) ** 2)
    got = float(jax.jit(lambda x: dragan_penalty(lambda v: 0.5 * jnp.sum(v**2, axis=1), x,
                                                 jax.random.clone(key)))(x))
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 vs float64 of O(1) values
    assert 0.0 < float(np.max(xhat - x64)) <= 0.5 * x64.std()  # perturbed by at most c std(x)


def test_dragan_is_a_registered_remedy_that_trains():
    cfg, hp = apply_remedy("dragan:weight=3", BASE)
    assert cfg.terms == ("dragan",) and hp["penalty_weight"] == 3.0
    state, hist = jax.jit(make_train(cfg))(make_hparams(**hp), jax.random.key(0))
    assert hist["modes_covered"].shape == (cfg.n_logs,) and not bool(state.diverged)


def test_terms_combine_in_a_spec():
    cfg, _ = apply_remedy("gan:terms=dragan+mode-seeking", BASE)
    assert cfg.terms == ("dragan", "mode-seeking")
    with pytest.raises(ConfigError, match="unknown loss term 'x'; allowed: entropy, mode-seeking, dragan"):
        apply_remedy("entropy:terms=x", BASE)


def test_configs_saved_with_the_old_term_switches_load():
    old = {k: v for k, v in Config().to_dict().items() if k != "terms"}
    assert Config.from_dict({**old, "entropy": True, "mode_seeking": False}).terms == ("entropy",)
    assert Config.from_dict({**old, "mode_seeking": True}).terms == ("mode-seeking",)
    with pytest.raises(ConfigError, match="unknown loss term 'dragn' \\(did you mean 'dragan'\\?\\)"):
        Config(terms=("dragn",))


# ------------------------------------------------------------------------- spectral normalisation


def test_spectral_normalize_gives_unit_top_singular_value():
    crit = nets.critic(16, 2)
    params = crit.init(jax.random.key(0), jnp.zeros((1, 2)))
    u0 = nets.spectral_norm_init(params, jax.random.key(1))

    @jax.jit
    def carried(params, u):  # one power iteration per call, state carried (as the trainer does)
        u = jax.lax.fori_loop(0, 200, lambda _, u: nets.spectral_normalize(params, u)[1], u)
        return nets.spectral_normalize(params, u)[0]

    normed = carried(params, u0)
    kernels = 0
    for (path, w), n in zip(jax.tree_util.tree_leaves_with_path(params), jax.tree.leaves(normed)):
        if path[-1].key == "kernel":
            kernels += 1
            s = np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)
            assert abs(s[0] - 1.0) > 0.05  # the raw kernel is not already normalised
            # 200 iterations: the error in sigma ~ (s2/s1)^400; what is left is float32 rounding
            np.testing.assert_allclose(np.linalg.svd(np.asarray(n, np.float64), compute_uv=False)[0],
                                       1.0, rtol=1e-5)
        else:
            np.testing.assert_array_equal(n, w)  # biases untouched
    assert kernels == 3


# --------------------------------------------------------------------------- diversity terms


def _np_kl_entropy(x, k):
    """Kozachenko & Leonenko 1987 (Kraskov et al. 2004, Eq. 20), brute force over all pairs."""
    n, d = x.shape
    eps = np.empty(n)
    for i in range(n):
        dist = np.sqrt(((x - x[i]) ** 2).sum(axis=1))
        eps[i] = np.sort(np.delete(dist, i))[k - 1]
    log_vd = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
    return digamma(n) - digamma(k) + log_vd + d * np.mean(np.log(eps))


_kl = jax.jit(objectives.kl_entropy, static_argnums=1)


@pytest.mark.parametrize("k", [1, 3])
def test_kl_entropy_matches_numpy_brute_force(k):
    x = np.random.default_rng(k).normal(size=(40, 3))
    with jax.enable_x64(True):
        got = float(_kl(x, k))
    np.testing.assert_allclose(got, _np_kl_entropy(x, k), rtol=1e-12)  # one formula, float64 both


def test_kl_entropy_near_gaussian_entropy_and_exact_under_scaling():
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    x = np.random.default_rng(0).multivariate_normal(np.zeros(2), cov, size=1000).astype(np.float32)
    true = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    est = float(_kl(x, 3))
    # n = 1000: over 30 seeds the estimate had bias -0.02 and standard deviation 0.03 nats
    assert abs(est - true) < 0.15
    # H(a x) = H(x) + d log a holds exactly for the estimator (float32 logs of O(1) distances)
    np.testing.assert_allclose(float(_kl(2.0 * x, 3)) - est, 2 * np.log(2.0), rtol=1e-4)


def test_kl_entropy_gradient_finite_with_duplicate_points():
    x = np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32)
    x[1] = x[0]
    g = jax.jit(jax.grad(objectives.kl_entropy))(jnp.asarray(x))
    assert np.all(np.isfinite(g))


def test_mode_seeking_term_matches_numpy():
    rng = np.random.default_rng(5)
    x1, x2 = rng.normal(size=(2, 8, 2))
    z1, z2 = rng.normal(size=(2, 8, 3))
    # Mao et al. 2019, Eq. 3 as in their code: 1 / (mean|G(z1)-G(z2)| / mean|z1-z2| + 1e-5)
    want = 1.0 / (np.mean(np.abs(x1 - x2)) / np.mean(np.abs(z1 - z2)) + 1e-5)
    got = jax.jit(objectives.mode_seeking_term)(*(a.astype(np.float32) for a in (x1, x2, z1, z2)))
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 means of 16-24 O(1) terms


def test_feature_matching_loss_matches_numpy():
    rng = np.random.default_rng(6)
    fr, ff = rng.normal(size=(32, 8)), rng.normal(loc=0.3, size=(32, 8))
    want = np.sum((fr.mean(axis=0) - ff.mean(axis=0)) ** 2)  # Salimans et al. 2016, Sec. 3.1
    got = jax.jit(objectives.feature_matching_loss)(fr.astype(np.float32), ff.astype(np.float32))
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 means of 32 O(1) terms


# ------------------------------------------------------------------------------ unrolled GAN
# Metz et al. 2016: f_K(theta_G, theta_D) = f(theta_G, theta_D^K(theta_G, theta_D)), with theta_D^K
# K critic optimizer steps (Adam: its state included), differentiated through those steps.

UNROLL = 3
_LR_D = 0.05  # a large critic step, so that unrolling visibly changes the objective


@pytest.fixture(scope="module")
def unrolled():
    """Float64 trainers (unroll = 3 and 0), a state, and jitted losses and gradients."""
    with jax.enable_x64(True):
        trainer = make_trainer(SMOOTH.replace(unroll=UNROLL))
        trainer0 = make_trainer(SMOOTH)
        hp = _f64(make_hparams(lr_d=_LR_D))
        state = _f64(jax.jit(trainer.init)(hp, jax.random.key(0)))
        d_tx = make_optimizer("adam", hp.lr_d, hp, differentiable=True)

        # Fresh Adam state, and the state after 4 critic steps (count 4, moments non-zero).
        def warm(d, o, g):
            for i in range(4):
                grads = jax.grad(trainer0.critic_loss)(d, g, hp, jax.random.key(100 + i))
                u, o = d_tx.update(grads, o, d)
                d = optax.apply_updates(d, u)
            return o
        opt_warm = jax.jit(warm)(state.d_params, state.d_opt, state.g_params)

        @jax.jit
        def unrolled_loss(g, d, o, key):
            return jax.value_and_grad(trainer.generator_loss)(g, d, hp, key, d_opt=o)

        @jax.jit
        def by_hand(g, d, o, key):
            """K Adam steps of the critic rebuilt from optax and the critic loss, then the plain
            generator loss there; also its gradient with the unrolled critic held fixed."""
            k_unroll = _split(key, 4)[3]

            def at_unrolled(g):
                dk, ok = d, o
                for i in range(UNROLL):
                    grads = jax.grad(trainer0.critic_loss)(dk, g, hp, jax.random.fold_in(
                        jax.random.clone(k_unroll), i))
                    u, ok = d_tx.update(grads, ok, dk)
                    dk = optax.apply_updates(dk, u)
                return dk

            dk = at_unrolled(g)
            value = trainer0.generator_loss(g, dk, hp, jax.random.clone(key))
            fixed = jax.grad(trainer0.generator_loss)(g, jax.lax.stop_gradient(dk), hp,
                                                      jax.random.clone(key))
            one_step = jax.grad(trainer0.generator_loss)(g, d, hp, jax.random.clone(key))
            return value, fixed, one_step

    # jitted functions are traced at their first call; each test calls them under enable_x64
    return dict(state=state, opt_warm=opt_warm, loss=unrolled_loss, by_hand=by_hand)


def _flat(tree):
    return np.concatenate([np.ravel(np.asarray(x)) for x in jax.tree.leaves(tree)])


def test_unrolled_gradient_matches_finite_differences(unrolled):
    s, loss = unrolled["state"], unrolled["loss"]
    key = lambda: jax.random.key(7)
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(s.g_params)
        v = np.random.default_rng(0).normal(size=flat.shape)
        v /= np.linalg.norm(v)
        for opt in (s.d_opt, unrolled["opt_warm"]):
            _, grad = loss(s.g_params, s.d_params, opt, key())
            h = 1e-4
            plus, _ = loss(unravel(flat + h * v), s.d_params, opt, key())
            minus, _ = loss(unravel(flat - h * v), s.d_params, opt, key())
            fd = (float(plus) - float(minus)) / (2 * h)
            # float64 central differences: O(h^2) ~ 1e-9 relative truncation (measured 1.5e-9)
            np.testing.assert_allclose(_flat(grad) @ v, fd, rtol=1e-7)


def test_unrolled_objective_is_loss_after_k_critic_adam_steps_differentiated_through(unrolled):
    s, loss, by_hand = unrolled["state"], unrolled["loss"], unrolled["by_hand"]
    with jax.enable_x64(True):
        for opt in (s.d_opt, unrolled["opt_warm"]):
            value, grad = loss(s.g_params, s.d_params, opt, jax.random.key(7))
            want, fixed, one_step = by_hand(s.g_params, s.d_params, opt, jax.random.key(7))
            # the same float64 operations in two programs; XLA may fuse and sum in another order
            # (measured 7e-12 relative after 3 Adam steps)
            np.testing.assert_allclose(value, want, rtol=1e-10)
            grad, fixed, one_step = _flat(grad), _flat(fixed), _flat(one_step)
            scale = np.linalg.norm(grad)
            # Differs from the one-step (unroll = 0) gradient and from the gradient that treats
            # the unrolled critic as a constant (the bug of ports that detach the unrolled copy):
            assert np.linalg.norm(grad - one_step) > 0.1 * scale
            assert np.linalg.norm(grad - fixed) > 0.01 * scale


def test_unrolled_objective_uses_the_critic_optimizer_state(unrolled):
    s, loss = unrolled["state"], unrolled["loss"]
    with jax.enable_x64(True):
        fresh, g_fresh = loss(s.g_params, s.d_params, s.d_opt, jax.random.key(7))
        warm, g_warm = loss(s.g_params, s.d_params, unrolled["opt_warm"], jax.random.key(7))
    # Adam from count 0 takes ~lr-sized sign steps; from a warm state, other steps: the losses
    # differ by far more than float64 rounding (~1e-16).
    assert abs(float(fresh) - float(warm)) > 1e-4
    assert np.linalg.norm(_flat(g_fresh) - _flat(g_warm)) > 1e-3 * np.linalg.norm(_flat(g_fresh))


# ------------------------------------------------------------------------------ instance noise


def test_instance_noise_is_annealed_gaussian_noise_on_critic_inputs(base):
    cfg = BASE.replace(instance_noise=True)
    trainer = make_trainer(cfg)
    g, d = base["g"], base["d"]
    loss0, loss = base["critic_loss"], jax.jit(trainer.critic_loss)
    gloss0, gloss = base["generator_loss"], jax.jit(trainer.generator_loss)
    key = lambda: jax.random.key(5)
    step = lambda t: jnp.asarray(t, jnp.int32)
    hp0, hp1 = make_hparams(noise_std=0.0), make_hparams(noise_std=1.0)

    base = float(loss0(d, g, hp0, key()))
    np.testing.assert_array_equal(loss(d, g, hp0, key(), step(0)), base)  # std 0: no noise at all
    np.testing.assert_array_equal(gloss(g, d, hp0, key(), step(0)), gloss0(g, d, hp0, key()))
    # annealed linearly to 0 over cfg.steps (Sonderby et al. 2017): none left at the last step
    np.testing.assert_array_equal(loss(d, g, hp1, key(), step(cfg.steps)), base)
    # halfway: std noise_std / 2 on both real and generated inputs, drawn from the loss's own keys
    k_real, k_z, _, k_n1, k_n2 = _split(key(), 5)
    real = cfg.make_target().sample(k_real, cfg.batch_size)
    fake = nets.generator(cfg.width, cfg.depth, 2).apply(g, jax.random.normal(k_z, (cfg.batch_size, 2)))
    real = real + 0.5 * jax.random.normal(k_n1, real.shape)
    fake = fake + 0.5 * jax.random.normal(k_n2, fake.shape)
    crit = nets.critic(cfg.width, cfg.depth)
    want = losses.minimax_critic(crit.apply(d, real)[0], crit.apply(d, fake)[0])
    got = loss(d, g, hp1, key(), step(cfg.steps // 2))
    np.testing.assert_allclose(got, want, rtol=1e-6)  # same float32 operations, maybe fused differently
    assert abs(float(got) - base) > 1e-3


# --------------------------------------------------------------------------- EMA of the generator


def test_ema_with_zero_decay_is_the_raw_generator():
    cfg, _ = apply_remedy("ema", BASE)
    state, hist = _train(cfg)(make_hparams(ema_decay=0.0), jax.random.key(0))
    for e, p in zip(jax.tree.leaves(state.wrappers[0].average), jax.tree.leaves(state.g_params)):
        np.testing.assert_array_equal(e, p)  # 0 * e + 1 * p is exact
    ema_keys = [k for k in hist if k.startswith("ema_")]
    assert "ema_modes_covered" in ema_keys and "ema_hq_fraction" in ema_keys
    for k in ema_keys:
        np.testing.assert_array_equal(hist[k], hist[k[4:]])
    state, hist = _train(cfg)(make_hparams(ema_decay=0.9), jax.random.key(0))
    assert not np.allclose(_flat(state.wrappers[0].average), _flat(state.g_params))  # a real average otherwise


# ----------------------------------------------------------------------------- every remedy


def _smoke_tested_in_test_train() -> set:
    """The remedies ``test_train.py`` already trains (read from its parametrisation, so that a
    change there cannot silently drop one from both files)."""
    from tests import test_train

    marks = test_train.test_every_remedy_trains_and_improves_critic.pytestmark
    return set(next(m.args[1] for m in marks if m.name == "parametrize"))


_IN_TEST_TRAIN = _smoke_tested_in_test_train()


def test_every_remedy_is_smoke_tested():
    assert _IN_TEST_TRAIN <= set(REMEDIES)
    assert len(set(REMEDIES) - _IN_TEST_TRAIN) >= 15  # the rest run below


# Each is one compilation (~4 s of CPU): the remedies test_train.py trains are not repeated.
@pytest.mark.parametrize("name", sorted(set(REMEDIES) - _IN_TEST_TRAIN))
def test_every_remedy_trains_ten_steps_without_diverging(name):
    cfg, hp = apply_remedy(name, BASE)
    state, hist = _train(cfg)(make_hparams(**hp), jax.random.key(0))
    assert not bool(state.diverged), name
    assert int(state.step) == 10
    for k in ("d_loss", "g_loss", "hq_fraction"):
        assert np.all(np.isfinite(hist[k])), k
    assert np.all(np.isfinite(_flat(state.g_params))) and np.all(np.isfinite(_flat(state.d_params)))


# --------------------------------------------------------------------------------- sweeping


def test_sweeping_a_remedy_weight_over_four_values_is_one_compilation():
    cfg, _ = apply_remedy("entropy", BASE)
    exp = lambda ws: Experiment("entropy", cfg, stack_hparams([make_hparams(entropy_weight=w) for w in ws]),
                                tuple(f"w={w}" for w in ws))
    run_sweep([exp([0.0, 0.1, 1.0, 3.0])], 2, progress=False)
    before = len(_compiles)
    r = run_sweep([exp([0.05, 0.3, 2.0, 5.0])], 2, progress=False)["entropy"]
    assert len(_compiles) == before
    # the four settings are four different runs: the weight reaches the traced program
    g = r.history["g_loss"][:, 0, -1]
    assert len(set(np.round(g, 6))) == 4, g
    flat = r.samples.reshape(4, 2, -1)
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.allclose(flat[a], flat[b])


# ------------------------------------------------------------------------------ remedy specs


def test_apply_remedy_parses_specs():
    cfg, hp = apply_remedy("pacgan:pack=3", BASE)
    assert cfg.pack == 3 and cfg.replace(pack=1) == BASE
    cfg, hp = apply_remedy("unrolled:steps=5", BASE)
    assert cfg.unroll == 5
    cfg, hp = apply_remedy("wgan-gp:weight=10", BASE)
    assert (cfg.loss, cfg.penalty, cfg.n_critic, hp["penalty_weight"]) == ("wasserstein", "gp", 5, 10.0)
    cfg, hp = apply_remedy("entropy:weight=0.5,k=4", BASE, {"entropy_weight": 0.2, "lr_g": 1e-4})
    assert cfg.terms == ("entropy",) and cfg.entropy_k == 4 and hp == {"entropy_weight": 0.5, "lr_g": 1e-4}
    cfg, hp = apply_remedy("ttur", BASE)
    assert cfg == BASE and hp == {"lr_g": 2.5e-4, "lr_d": 1e-3}


@pytest.mark.parametrize("spec,hint", [
    ("pacgan:pakc=3", "did you mean 'pack'"),
    ("entropy:wieght=0.1", "did you mean 'weight'"),
    ("pacgam", "pacgan"),
])
def test_apply_remedy_bad_key_suggests(spec, hint):
    with pytest.raises(ConfigError, match=hint):
        apply_remedy(spec, BASE)


@pytest.mark.parametrize("spec", ["pacgan:pack=three", "pacgan:pack", "entropy:weight=x"])
def test_apply_remedy_bad_value_raises(spec):
    with pytest.raises(ConfigError):
        apply_remedy(spec, BASE)
