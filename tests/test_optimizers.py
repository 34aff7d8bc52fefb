"""Every optimizer of ``Config.optimizer``: traced hyperparameters give the library's own update,
updates scale with the learning rate, a vmapped sweep of runs equals the runs trained one by one,
and ``kron`` (the optional package psgd-jax) explains itself when it is missing."""
import functools
import re
import importlib.util
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mcjax import ConfigError, make_hparams, stack_hparams
from mcjax.systems.gan.config import OPTIMIZERS, Config
from mcjax.systems.gan.engine import make_trainer
from mcjax.systems.gan.optimizers import make_optimizer
from tests.helpers import TINY

KRON_MISSING = 'optimizer \'kron\' needs the optional package psgd-jax: pip install "mcjax[kron]"'


def _psgd_kron():
    """``psgd_jax.kron``, or a skip when psgd-jax is not installed (the ``kron`` extra)."""
    if importlib.util.find_spec("psgd_jax") is None:
        pytest.skip("optional: pip install 'mcjax[kron]'")
    make_optimizer("kron", 1e-3, make_hparams())  # aliases optax._src.clipping (psgd imports it)
    import psgd_jax.kron

    return psgd_jax.kron


ALL = list(OPTIMIZERS)
LR, BETA1, BETA2 = 3e-2, 0.6, 0.95


def reference(kind):
    """The library's own optimizer for ``kind`` with Python-float hyperparameters: what
    ``make_optimizer`` is documented to build (see ``Config.optimizer``)."""
    if kind == "adam":
        return optax.adam(LR, b1=BETA1, b2=BETA2)
    if kind == "rmsprop":
        return optax.rmsprop(LR, decay=BETA2, eps=1e-8)
    if kind == "sgd":
        return optax.sgd(LR, momentum=BETA1)
    if kind == "muon":
        return optax.contrib.muon(LR, beta=BETA1, adam_b1=BETA1, adam_b2=BETA2)
    assert kind == "kron"
    return _psgd_kron().kron(LR, b1=BETA1, precond_update_precision="float32",
                             precond_grads_precision="float32")


# A two-layer MLP's parameters: [3, 5] and [5, 1] kernels (the size-1 dimension gets a diagonal
# Kronecker factor in kron), biases, and a scalar; gradients that vary from step to step.
PARAMS = {"k1": jnp.ones((3, 5)) * 0.3, "b1": jnp.zeros(5), "k2": jnp.ones((5, 1)) * -0.2,
          "b2": jnp.zeros(1), "s": jnp.asarray(0.5)}
N_STEPS = 4


def _grads(i):
    return jax.tree.map(
        lambda p: jnp.sin(jnp.arange(1.0, p.size + 1).reshape(p.shape) * (i + 1.3)), PARAMS)


def _updates(tx):
    """``N_STEPS`` updates of ``tx`` from ``PARAMS`` (parameters moved by each), stacked."""

    def step(carry, i):
        params, state = carry
        u, state = tx.update(_grads(i), state, params)
        return (optax.apply_updates(params, u), state), u

    return jax.lax.scan(step, (PARAMS, tx.init(PARAMS)), jnp.arange(N_STEPS, dtype=jnp.float32))[1]


@functools.lru_cache(maxsize=None)
def traced_updates(kind):
    """Jitted ``hp -> updates`` of ``make_optimizer(kind, hp.lr_d, hp)``: one program per kind."""
    return jax.jit(lambda hp: _updates(make_optimizer(kind, hp.lr_d, hp)))


# Same operations, but XLA folds Python-float hyperparameters into constants and cannot fold
# traced ones, so roundings differ:
RTOL = {
    "adam": 2e-6,  # ~1 float32 ulp (6e-8) per operation, a few operations a step, 4 steps
    "rmsprop": 2e-6,  # as adam
    "sgd": 2e-6,  # as adam
    # optax's 5 Newton-Schulz steps (coefficients tuned for speed, not contraction) amplify a 1-ulp
    # change ~1000x: the very same optax.contrib.muon jitted vs run eagerly differs by 1.3e-4
    "muon": 3e-4,
    "kron": 1e-5,  # triangular solves of the preconditioner fit: a few ulp
}


@pytest.mark.parametrize("kind", ALL)
def test_traced_hyperparameters_match_the_library_optimizer(kind):
    # psgd itself divides [n, 1] by [1] arrays, refused by the strict rank promotion of the tests
    # (make_optimizer allows it inside psgd only)
    with jax.numpy_rank_promotion("allow" if kind == "kron" else "raise"):
        want = jax.jit(lambda: _updates(reference(kind)))()
    got = traced_updates(kind)(make_hparams(lr_d=LR, beta1=BETA1, beta2=BETA2))
    for w, g in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
        assert np.all(np.abs(w) > 0)  # every coordinate moves: a real comparison
        # atol: only guards exact zeros, far below every update here (>= 1e-4)
        np.testing.assert_allclose(g, w, rtol=RTOL[kind], atol=1e-9)


@pytest.mark.parametrize("kind", ALL)
def test_update_is_linear_in_learning_rate(kind):
    run = traced_updates(kind)  # same compiled program, only the traced lr differs
    base = run(make_hparams(lr_d=LR, beta1=BETA1, beta2=BETA2))
    tripled = run(make_hparams(lr_d=3 * LR, beta1=BETA1, beta2=BETA2))
    for b, t in zip(jax.tree.leaves(base), jax.tree.leaves(tripled)):
        # every optimizer is -lr * direction, the direction independent of lr: one rounding of
        # the product (and of 3 * LR) apart
        np.testing.assert_allclose(t, 3 * b, rtol=1e-6)


def test_kron_preconditioner_schedule_under_vmap():
    """Past psgd's flat start the preconditioner is updated only every ~1/p steps; vmapped over
    learning rates and betas, each run follows the same schedule as alone."""
    _psgd_kron()
    hps = stack_hparams([make_hparams(lr_d=LR, beta1=BETA1), make_hparams(lr_d=1e-3, beta1=0.0)])

    def run(hp):
        tx = make_optimizer("kron", hp.lr_d, hp)
        ema, kron, lr_state = tx.init(PARAMS)
        # jump to step 2000: update probability exp(-0.001 * (2000 - 500)) = 0.22
        state = (ema, dict(kron, count=jnp.asarray(2000, jnp.int32)), lr_state)

        def step(state, g):
            u, new = tx.update(g, state, PARAMS)
            factor = lambda s: s[1]["Qs_preconditioners"]["k1"][0]  # k1's first Kronecker factor
            return new, (u, jnp.any(factor(new) != factor(state)))

        grads = jax.tree.map(lambda *x: jnp.stack(x), *map(_grads, range(12)))
        return jax.lax.scan(step, state, grads)[1]

    u, moved = jax.jit(jax.vmap(run))(hps)
    single = jax.jit(run)  # compiled once, run twice
    for r in range(2):
        # the counter schedule: updates at every ceil(1 / p) = 5th step (p ~ 0.22, slowly falling)
        np.testing.assert_array_equal(moved[r], [False, False, False, False, True] * 2 + [False] * 2)
        u_alone, moved_alone = single(jax.tree.map(lambda x: x[r], hps))
        np.testing.assert_array_equal(moved_alone, moved[r])
        for a, b in zip(jax.tree.leaves(u), jax.tree.leaves(u_alone)):
            # vmapped matmuls and triangular solves may sum in another order than single ones:
            # float32 reassociation, a few ulp over 12 steps; atol only guards exact zeros
            np.testing.assert_allclose(a[r], b, rtol=1e-5, atol=1e-9)
    assert not np.allclose(u["k1"][0], u["k1"][1])  # different lr and beta1: different runs


def test_gradients_through_kron_updates_match_finite_differences():
    """Unrolled GANs differentiate (reverse mode) through the critic's optimizer steps: through
    kron's preconditioner fit too (psgd's random probe vectors are fixed by the step count)."""
    _psgd_kron()
    with jax.enable_x64(True):
        params = {"k": jnp.full((3, 2), 0.3, jnp.float64), "b": jnp.zeros(2, jnp.float64)}
        grads = [{"k": jnp.sin(jnp.arange(1.0, 7.0).reshape(3, 2) * (i + 1.3)),
                  "b": jnp.cos(jnp.arange(1.0, 3.0) * (i + 1.3))} for i in range(2)]
        hp = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), make_hparams(lr_d=0.1, beta1=0.5))

        @jax.jit
        @jax.value_and_grad
        def objective(scale):  # two kron steps on gradients scaled by `scale`, then a read-out
            tx = make_optimizer("kron", hp.lr_d, hp, differentiable=True)
            p, state = params, tx.init(params)
            for g in grads:
                u, state = tx.update(jax.tree.map(jnp.multiply, g, scale), state, p)
                p = optax.apply_updates(p, u)
            return jnp.sum(jnp.cos(p["k"])) + jnp.sum(jnp.sin(p["b"]))

        ones = jax.tree.map(jnp.ones_like, params)
        direction = {"k": jnp.asarray([[0.3, -1.0], [0.7, 0.2], [-0.5, 0.9]]),
                     "b": jnp.asarray([0.4, -0.8])}
        _, grad = objective(ones)
        along = sum(float(jnp.vdot(grad[k], direction[k])) for k in grad)
        eps = 1e-5
        plus, _ = objective(jax.tree.map(lambda o, d: o + eps * d, ones, direction))
        minus, _ = objective(jax.tree.map(lambda o, d: o - eps * d, ones, direction))
        # central differences in float64: O(eps^2) truncation plus 1e-16 / eps rounding, ~1e-10
        np.testing.assert_allclose(along, (plus - minus) / (2 * eps), rtol=1e-6)
        assert abs(along) > 1e-3  # a real derivative, not 0 = 0


# ------------------------------------------------------------------------- trainer, vmapped runs

SHORT = TINY.replace(steps=6, log_every=3)
HPS = [make_hparams(lr_g=2e-3, lr_d=1e-3), make_hparams(lr_g=5e-4, lr_d=4e-3, beta1=0.0)]
SEEDS = [0, 1]


def _vmapped(train, runs):
    """``train`` vmapped over ``runs``, a list of (hparams, seed)."""
    hps, seeds = zip(*runs)
    return train(stack_hparams(list(hps)), jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32)))


@pytest.mark.parametrize("kind", ALL)
def test_vmapped_runs_equal_runs_trained_alone(kind):
    """Two runs with different learning rates in one vmapped program equal each run trained
    without the other (the same compiled program, filled with copies of that run: one compilation
    per optimizer). Vmapped against unbatched programs: test_train (adam, whole trainer) and
    test_kron_preconditioner_schedule_under_vmap (kron's lax.cond, a select under vmap)."""
    if kind == "kron":
        _psgd_kron()
    trainer = make_trainer(SHORT.replace(optimizer=kind))
    train = jax.jit(jax.vmap(trainer.train))
    runs = list(zip(HPS, SEEDS))
    state, hist = _vmapped(train, runs)
    assert not np.any(state.diverged)
    assert np.all(np.isfinite(hist["d_loss"])) and np.all(np.isfinite(hist["g_loss"]))
    assert not np.allclose(hist["d_loss"][0], hist["d_loss"][1])  # the runs differ
    for r, run in enumerate(runs):
        alone_state, alone_hist = _vmapped(train, [run, run])
        # vmapped lanes are computed independently: identical, whatever the neighbour
        chex.assert_trees_all_equal(
            jax.tree.map(lambda x: x[r], (state.g_params, state.d_params, hist)),
            jax.tree.map(lambda x: x[0], (alone_state.g_params, alone_state.d_params, alone_hist)))


# --------------------------------------------------------------------------------------- config


def test_missing_psgd_jax_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "psgd_jax", None)  # makes `import psgd_jax...` fail
    monkeypatch.setitem(sys.modules, "psgd_jax.kron", None)
    Config(optimizer="kron")  # the choice itself is valid; only building it needs the package
    with pytest.raises(ConfigError) as e:
        make_optimizer("kron", 1e-3, make_hparams())
    assert str(e.value).startswith(KRON_MISSING)
    with pytest.raises(ConfigError, match="psgd-jax"):  # tracing the trainer's init is enough
        jax.eval_shape(make_trainer(TINY.replace(optimizer="kron")).init, make_hparams(),
                       jax.random.key(0))


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ConfigError, match="allowed: adam, rmsprop, sgd, muon, kron"):
        Config(optimizer="shampoo")


def test_kron_triangular_solves_are_xla_ops_equal_to_lapack():
    """psgd's triangular solves run as XLA ops (jaxlib's batched LAPACK trsm deadlocks the CPU
    thread pool that the sweep's programs run on), equal to NumPy's solve."""
    _psgd_kron()
    from mcjax.systems.gan.optimizers import solve_upper_right

    rng = np.random.default_rng(0)
    a = np.triu(rng.normal(size=(7, 7))) + 3 * np.eye(7)  # well conditioned (diagonal shifted by 3)
    x = rng.normal(size=(3, 5, 7))
    want = x @ np.linalg.inv(a)
    got = np.asarray(solve_upper_right(jnp.asarray(x, jnp.float32), jnp.asarray(a, jnp.float32)))
    np.testing.assert_allclose(got, want, atol=1e-5)  # float32 substitution over 7 columns: ~1e-7
    np.testing.assert_allclose(np.asarray(solve_upper_right(jnp.asarray(x[0, 0]), jnp.asarray(a))),
                               want[0, 0], atol=1e-5)  # a vector right-hand side, as psgd passes

    tx = make_optimizer("kron", 1e-3, make_hparams())
    params = {"w": jnp.ones((4, 6)), "b": jnp.ones((6,))}

    def step(key):
        kw, kb = jax.random.split(key)
        g = {"w": jax.random.normal(kw, (4, 6)), "b": jax.random.normal(kb, (6,))}
        return tx.update(g, tx.init(params), params)[0]

    hlo = jax.jit(jax.vmap(step)).lower(jax.random.split(jax.random.key(0), 3)).as_text()
    assert re.findall(r"stablehlo\.custom_call @(\w+)", hlo) == []
