"""Consensus optimisation and SGA against dense-Jacobian NumPy computations.

An analytic quadratic game with a known Jacobian (float64) checks the formulas of Mescheder et al.
2017 (``xi + gamma J^T xi``) and Balduzzi et al. 2018 (``xi + lambda A^T xi`` with the alignment
sign ``sign(<xi, J^T xi> <A^T xi, J^T xi> / n + 0.1)``), both branches of the sign and its ``n``.
A small GAN checks the same against ``jax.jacfwd`` of the trainer's own field, and the trainer's
simultaneous step with plain SGD against ``-lr * direction``.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from mcjax import make_hparams
from mcjax.systems.gan.config import Config
from mcjax.systems.gan.rules import consensus_direction, sga_direction
from mcjax.systems.gan.engine import make_trainer

# tanh: a generic, smooth game (no ReLU zero blocks in J).
SMALL = Config(width=8, depth=1, batch_size=16, latent_dim=2, activation="tanh", steps=1,
               log_every=1, eval_samples=64, keep_samples=16)


def _np_directions(xi, J, n, gamma, lam):
    """Consensus and SGA directions from a dense Jacobian, straight from the papers' formulas."""
    h = J.T @ xi  # grad of H = 1/2 ||xi||^2
    at_xi = 0.5 * (J.T - J) @ xi  # A^T xi, A = (J - J^T) / 2
    sign = np.sign(np.dot(xi, h) * np.dot(at_xi, h) / n + 0.1)
    return xi + gamma * h, xi + lam * sign * at_xi, sign


# ------------------------------------------------------------------- an analytic quadratic game

_rng = np.random.default_rng(0)
_P = _rng.normal(size=(2, 2))
_Q = _rng.normal(size=(2, 2))
_P, _Q = _P + _P.T, _Q + _Q.T
_C, _E = _rng.normal(size=(2, 2)), _rng.normal(size=(2, 2))
# L_x = 1/2 x'Px + x'Cy, L_y = 1/2 y'Qy + y'Ex: xi = (Px + Cy, Qy + Ex), J = [[P, C], [E, Q]].
_J = np.block([[_P, _C], [_E, _Q]])


def _xi_two_tensors(p):
    x, y = p
    return (_P @ x + _C @ y, _Q @ y + _E @ x)


def _xi_three_tensors(p):
    """The same game with ``x`` stored as two tensors: only ``n`` changes."""
    (x1, x2), y = p
    gx, gy = _xi_two_tensors((jnp.concatenate([x1, x2]), y))
    return ((gx[:1], gx[1:]), gy)


def _point(seed, product):
    """A point where ``<xi, J^T xi> <A^T xi, J^T xi> = product``: the product scales as s^4."""
    p = np.random.default_rng(seed).normal(size=4)
    xi = _J @ p
    h = _J.T @ xi
    base = np.dot(xi, h) * np.dot(0.5 * (_J.T - _J) @ xi, h)
    assert np.sign(base) == np.sign(product)  # guards the choice of seed below
    return p * (product / base) ** 0.25


@jax.jit
def _directions_two(p, gamma, lam):
    tree = (p[:2], p[2:])
    c, _ = consensus_direction(_xi_two_tensors, tree, gamma)
    s, xi = sga_direction(_xi_two_tensors, tree, lam)
    u, _ = sga_direction(_xi_two_tensors, tree, lam, align=False)
    flat = lambda t: ravel_pytree(t)[0]
    return flat(xi), flat(c), flat(s), flat(u)


@jax.jit
def _directions_three(p, gamma, lam):
    tree = ((p[:1], p[1:2]), p[2:])
    c, _ = consensus_direction(_xi_three_tensors, tree, gamma)
    s, xi = sga_direction(_xi_three_tensors, tree, lam)
    flat = lambda t: ravel_pytree(t)[0]
    return flat(xi), flat(c), flat(s)


# (seed, product, sign with n = 2 tensors, sign with n = 3 tensors). At product -0.25 the rule's
# +0.1 and its division by n decide: -0.125 + 0.1 < 0 but -0.083 + 0.1 > 0.
SIGN_CASES = [(1, 50.0, 1.0, 1.0), (3, -50.0, -1.0, -1.0), (3, -0.25, -1.0, 1.0)]


@pytest.mark.parametrize("seed,product,sign2,sign3", SIGN_CASES)
def test_quadratic_game_consensus_and_sga_match_dense_formulas(seed, product, sign2, sign3):
    gamma, lam = 0.7, 1.3
    with jax.enable_x64(True):
        p = _point(seed, product)
        xi, cons, sga, unaligned = map(np.asarray, _directions_two(jnp.asarray(p), gamma, lam))
        xi3, cons3, sga3 = map(np.asarray, _directions_three(jnp.asarray(p), gamma, lam))
    # Every tolerance below: float64 matrix-free (jvp / vjp) against float64 dense products of a
    # 4x4 matrix with O(1) entries; both round at ~1e-16 relative, 1e-12 leaves room for |p| ~ 10.
    np.testing.assert_allclose(xi, _J @ p, rtol=1e-12)  # the field is what we think it is
    want_c, want_s, sign = _np_directions(_J @ p, _J, 2, gamma, lam)
    assert sign == sign2
    np.testing.assert_allclose(cons, want_c, rtol=1e-12, atol=1e-12 * np.abs(want_c).max())
    np.testing.assert_allclose(sga, want_s, rtol=1e-12, atol=1e-12 * np.abs(want_s).max())
    want_u = xi + lam * 0.5 * (_J.T - _J) @ xi
    np.testing.assert_allclose(unaligned, want_u, rtol=1e-12, atol=1e-12 * np.abs(want_u).max())
    # n is the number of parameter tensors: the same game split into 3 tensors
    _, want_s3, s3 = _np_directions(_J @ p, _J, 3, gamma, lam)
    assert s3 == sign3
    np.testing.assert_allclose(xi3, xi, rtol=1e-12)
    np.testing.assert_allclose(cons3, want_c, rtol=1e-12, atol=1e-12 * np.abs(want_c).max())
    np.testing.assert_allclose(sga3, want_s3, rtol=1e-12, atol=1e-12 * np.abs(want_s3).max())
    if sign2 != sign3:
        assert not np.allclose(sga3, sga)  # the test can tell n = 2 from n = 3


# ------------------------------------------------------------------------------- a small GAN


def _hp():
    # beta1 = 0: SGD without momentum, so one step is exactly params - lr * direction. Distinct
    # learning rates check that each player uses its own.
    return make_hparams(lr_g=0.1, lr_d=0.05, beta1=0.0, consensus_gamma=0.5, sga_lambda=2.0)


@pytest.fixture(scope="module")
def gan():
    """The trainer's field at an initial state, dense: xi, J (jacfwd) and the library's directions,
    on the batch of step 0 (key ``fold_in(train_key, 0)``, as the trainer draws it)."""
    cfg = SMALL.replace(update="consensus", optimizer="sgd")
    trainer = make_trainer(cfg)
    hp = _hp()
    state = jax.jit(trainer.init)(hp, jax.random.key(0))
    params = (state.g_params, state.d_params)

    @jax.jit
    def dense(params, key):
        field = lambda p: trainer.xi(p, hp, jax.random.clone(key), jnp.zeros((), jnp.int32))
        flat, unravel = ravel_pytree(params)
        f = lambda v: ravel_pytree(field(unravel(v)))[0]
        cons, _ = consensus_direction(field, params, hp.consensus_gamma)
        sga, _ = sga_direction(field, params, hp.sga_lambda)
        return f(flat), jax.jacfwd(f)(flat), ravel_pytree(cons)[0], ravel_pytree(sga)[0]

    step_key = jax.random.fold_in(jax.random.clone(state.train_key), 0)
    xi, J, cons, sga = (np.asarray(a, np.float64) for a in dense(params, step_key))
    n = len(jax.tree.leaves(params))
    want_c, want_s, sign = _np_directions(xi, J, n, float(hp.consensus_gamma), float(hp.sga_lambda))
    return dict(xi=xi, J=J, cons=cons, sga=sga, want=dict(consensus=want_c, sga=want_s), sign=sign)


def test_gan_consensus_and_sga_match_dense_jacobian(gan):
    assert gan["J"].shape == (gan["xi"].size, gan["xi"].size)
    for name in ("cons", "sga"):
        want = gan["want"]["consensus" if name == "cons" else name]
        # float32 matrix-free products against float32 jacfwd columns summed in float64: measured
        # 2e-7 of the largest entry; 1e-5 leaves room for other BLAS/XLA summation orders.
        np.testing.assert_allclose(gan[name], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
        # the correction term is not negligible here, so the comparison above can fail
        assert np.abs(want - gan["xi"]).max() > 1e-2 * np.abs(gan["xi"]).max()


@pytest.mark.parametrize("rule", ["consensus", "sga"])
def test_trainer_step_with_plain_sgd_moves_by_minus_lr_direction(gan, rule):
    cfg = SMALL.replace(update=rule, optimizer="sgd")
    trainer = make_trainer(cfg)
    hp = _hp()
    s0 = jax.jit(trainer.init)(hp, jax.random.key(0))  # the state the fixture's J was taken at
    flat0 = np.asarray(ravel_pytree((s0.g_params, s0.d_params))[0], np.float64)
    n_g = ravel_pytree(s0.g_params)[0].size
    # backend optimisation level 0: the same program, cheaper code generation (compile time)
    advance = jax.jit(trainer.advance, static_argnums=2).lower(hp, s0, 1).compile(
        compiler_options={"xla_backend_optimization_level": 0,
                          "xla_llvm_disable_expensive_passes": True})
    s1, _ = advance(hp, s0)
    assert int(s1.step) == 1 and not bool(s1.diverged)
    delta = np.asarray(ravel_pytree((s1.g_params, s1.d_params))[0], np.float64) - flat0
    lr = np.concatenate([np.full(n_g, float(hp.lr_g)), np.full(flat0.size - n_g, float(hp.lr_d))])
    want = -lr * gan["want"][rule]
    # |params| < 1.5, so new - old carries float32 rounding of ~1 ulp = 1.2e-7 (measured 6e-8);
    # atol 1e-6 is 8 ulps; rtol covers the direction's own float32 error (<1e-5, test above).
    np.testing.assert_allclose(delta, want, rtol=1e-4, atol=1e-6)
    plain = -lr * gan["xi"]
    assert np.abs(delta - plain).max() > 1e-2 * np.abs(plain).max()  # not a plain gradient step
