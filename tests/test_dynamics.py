"""Game dynamics against closed forms and dense references.

Dirac-GAN eigenvalues (Mescheder et al. 2018), bilinear and potential games (Balduzzi et al. 2018),
Arnoldi against NumPy, matrix-free products and rotation index against the dense Jacobian of a
small GAN, path-angle closed forms, and vmapped analyses against single runs. Closed-form checks
run in float64 (``jax.enable_x64`` scoped to the test); the GAN in float32, as it trains.
Convention: ``xi`` is the field each player descends, so ``J = d xi`` has eigenvalues with
non-negative real part where simultaneous descent is locally stable.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from mcjax import losses, make_hparams, objectives
from mcjax.analysis import (
    DIRAC_LOSSES,
    arnoldi_eigenvalues,
    bilinear_game,
    dirac_gan,
    dirac_gan_eigenvalues,
    game_jacobian,
    game_matvec,
    gan_game,
    helmholtz,
    hessian_top_eigenvalues,
    jacobian_eigenvalues,
    jvp_game,
    path_angle,
    potential_game,
    rotation_index,
    rotation_index_dense,
    vjp_game,
)
from mcjax.train import make_trainer
from tests.helpers import TINY

# tanh: the Hessians and Jacobians are generic (no ReLU-induced zero blocks), so Krylov methods do
# not hit invariant subspaces and batched/single results are comparable to float32 rounding.
SMALL_GAN = TINY.replace(width=8, depth=1, latent_dim=2, batch_size=16, activation="tanh")


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _zero():
    return (jnp.zeros(()), jnp.zeros(()))


def _sorted_complex(z):
    z = np.asarray(z)
    return z[np.lexsort((np.round(z.imag, 8), np.round(z.real, 8)))]


# ---------------------------------------------------------------------------------- Dirac-GAN


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("loss", DIRAC_LOSSES)
def test_dirac_gan_field_matches_autodiff_of_the_losses(loss):
    # The closed form against grad of mcjax.losses on the one-point batches (data at 0, fake at
    # theta, critic logit psi x), plus the R1 penalty gamma/2 psi^2: signs and factors checked.
    pair = losses.LOSSES[loss]
    gamma = 0.7

    def l_g(theta, psi):
        return pair.generator(psi * theta[None])

    def l_d(psi, theta):
        r1 = objectives.r1_penalty(lambda x: psi * x[:, 0], jnp.zeros((1, 1)))  # the engine's R1
        return pair.critic(psi * jnp.zeros(1), psi * theta[None]) + gamma / 2 * r1

    xi = jax.jit(dirac_gan(loss, gamma))
    rng = np.random.default_rng(0)
    for theta, psi in rng.normal(size=(5, 2)):
        theta, psi = jnp.asarray(theta), jnp.asarray(psi)
        got = xi((theta, psi))
        want = (jax.grad(l_g)(theta, psi), jax.grad(l_d)(psi, theta))
        np.testing.assert_allclose(got, want, rtol=1e-12)  # two float64 evaluations of one formula


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("loss", DIRAC_LOSSES)
def test_dirac_gan_eigenvalues_at_equilibrium_are_plus_minus_i_f_prime(loss):
    J = jax.jit(game_jacobian, static_argnums=0)(dirac_gan(loss), _zero())
    lam = _sorted_complex(jacobian_eigenvalues(J))
    fp = 1.0 if loss == "wasserstein" else 0.5  # f'(0) of f(t) = -log(1 + e^-t), resp. f(t) = t
    # The bound; float64 eig of a 2x2 normal matrix is exact to ~1e-16.
    np.testing.assert_allclose(lam, [-1j * fp, 1j * fp], atol=1e-5)
    np.testing.assert_allclose(lam, _sorted_complex(dirac_gan_eigenvalues(loss)), atol=1e-12)
    # Purely rotational: S = 0, rotation index 1 (dense and matrix-free).
    S, _ = helmholtz(J)
    np.testing.assert_array_equal(S, 0.0)
    assert rotation_index_dense(J) == 1.0
    est = jax.jit(rotation_index, static_argnums=(0, 3))(dirac_gan(loss), _zero(), jax.random.key(0), 8)
    np.testing.assert_allclose(est.value, 1.0, atol=1e-14)  # A v = J v exactly when S = 0


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("gamma", [0.3, 0.9, 1.0, 1.5, 4.0])
def test_dirac_gan_with_penalty_eigenvalues_closed_form(gamma):
    # Descended field: lambda = gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), f'(0) = 1/2 (REFERENCES.md;
    # the paper's update field v = -xi has -gamma/2 +- ...). Real from gamma = 2 f'(0) = 1.
    J = jax.jit(game_jacobian, static_argnums=0)(dirac_gan("non-saturating", gamma), _zero())
    lam = _sorted_complex(jacobian_eigenvalues(J))
    root = np.sqrt(complex(gamma**2 / 4 - 0.25))
    want = _sorted_complex([gamma / 2 + root, gamma / 2 - root])
    # At gamma = 1 the eigenvalue 1/2 is defective (a Jordan block): eig's error is ~sqrt(eps) ~ 1e-8.
    np.testing.assert_allclose(lam, want, atol=1e-7)
    assert np.all(lam.real > 0)  # a penalty makes simultaneous descent locally convergent
    if gamma > 1.0:
        np.testing.assert_array_equal(lam.imag, 0.0)
    elif gamma < 1.0:
        assert np.all(np.abs(lam.imag) > 1e-3)
    np.testing.assert_allclose(lam, _sorted_complex(dirac_gan_eigenvalues("non-saturating", gamma)),
                               atol=1e-7)  # same defective case as above
    # J = [[0, -a], [a, gamma]]: ||A||_F^2 = 2 a^2, ||J||_F^2 = 2 a^2 + gamma^2.
    np.testing.assert_allclose(rotation_index_dense(J), 0.5 / (0.5 + gamma**2), rtol=1e-14)


# ------------------------------------------------------------------ bilinear and potential games


@pytest.mark.usefixtures("x64")
def test_bilinear_game_is_purely_rotational():
    rng = np.random.default_rng(1)
    M = jnp.asarray(rng.normal(size=(4, 3)))
    xi = bilinear_game(M)
    params = (jnp.asarray(rng.normal(size=4)), jnp.asarray(rng.normal(size=3)))
    J = jax.jit(game_jacobian, static_argnums=0)(xi, params)
    S, A = helmholtz(J)
    np.testing.assert_array_equal(S, 0.0)  # J's blocks are M and -M^T exactly
    np.testing.assert_array_equal(A, J)
    assert rotation_index_dense(J) == 1.0
    est = jax.jit(rotation_index, static_argnums=(0, 3))(xi, params, jax.random.key(1), 16)
    np.testing.assert_allclose(est.value, 1.0, atol=1e-14)  # J^T v = -J v in exact arithmetic
    # Eigenvalues +- i s_k (s = singular values of M) and one 0; the 3 of largest imaginary part
    # by matrix-free Arnoldi on the full space.
    s = np.linalg.svd(np.asarray(M), compute_uv=False)
    matvec, dim = game_matvec(xi, params)
    top = jax.jit(arnoldi_eigenvalues, static_argnums=(0, 1, 2, 4, 5))(
        matvec, dim, 3, jax.random.key(2), dim, "imag"
    )
    np.testing.assert_allclose(top, 1j * s, atol=1e-10)  # order = dim: exact up to rounding


@pytest.mark.usefixtures("x64")
def test_potential_game_has_no_rotation():
    rng = np.random.default_rng(2)
    B = jnp.asarray(rng.normal(size=(3, 2)))

    def f(p):
        x, y = p
        return jnp.sum(jnp.tanh(x)) * jnp.sum(y**2) + x @ B @ y + jnp.sum(x**4)

    xi = potential_game(f)
    params = (jnp.asarray(rng.normal(size=3)), jnp.asarray(rng.normal(size=2)))
    J = jax.jit(game_jacobian, static_argnums=0)(xi, params)
    S, A = helmholtz(J)
    # J is f's Hessian; forward-over-reverse makes it symmetric up to rounding (~eps ||J||).
    np.testing.assert_allclose(A, 0.0, atol=1e-13 * np.abs(J).max())
    np.testing.assert_allclose(S, J, atol=1e-13 * np.abs(J).max())
    assert rotation_index_dense(J) < 1e-25  # (rounding / ||J||)^2
    est = jax.jit(rotation_index, static_argnums=(0, 3))(xi, params, jax.random.key(3), 16)
    assert 0.0 <= est.value < 1e-25  # the same rounding, squared


# ---------------------------------------------------------------------------------- Arnoldi


@pytest.mark.usefixtures("x64")
def test_arnoldi_full_order_reproduces_numpy_eigenvalues():
    rng = np.random.default_rng(3)
    n = 30
    M = rng.normal(size=(n, n)) / np.sqrt(n)
    Mj = jnp.asarray(M)
    f = jax.jit(lambda k, which: arnoldi_eigenvalues(lambda x: Mj @ x, n, n, k, which=which),
                static_argnums=1)
    want = np.linalg.eigvals(M)
    got = np.asarray(f(jax.random.key(0), "modulus"))
    # Ritz values of a full Arnoldi factorisation are eigenvalues of a matrix orthogonally similar
    # to M: backward error ~ n eps ||M||; random M is well conditioned, so 1e-9 is ample.
    dist = np.abs(got[:, None] - want[None, :])
    assert dist.min(axis=1).max() < 1e-9 and dist.min(axis=0).max() < 1e-9
    assert np.all(np.diff(np.abs(got)) <= 1e-12)  # decreasing modulus
    by_imag = np.asarray(f(jax.random.key(0), "imag"))
    np.testing.assert_allclose(by_imag.imag[:4], np.sort(want.imag)[::-1][:4], atol=1e-9)


# ---------------------------------------------------------------------------- a small GAN


@pytest.fixture(scope="module")
def gan():
    hp = make_hparams()
    trainer = make_trainer(SMALL_GAN)
    state = jax.jit(trainer.init)(hp, jax.random.key(0))
    return trainer, hp, (state.g_params, state.d_params)


def test_gan_game_is_the_trainers_field_on_a_fixed_batch(gan):
    trainer, hp, (g, d) = gan
    key = jax.random.key(7)
    game = gan_game(trainer, hp, jax.random.clone(key))
    xi = jax.jit(game.xi)
    got = ravel_pytree(xi((g, d)))[0]
    # The engine's field with the same key; and the same again (the batch is fixed, not resampled).
    np.testing.assert_array_equal(got, ravel_pytree(jax.jit(trainer.xi)((g, d), hp, key))[0])
    np.testing.assert_array_equal(got, ravel_pytree(xi((g, d)))[0])
    # xi = (grad_g L_G, grad_d L_D) of the game's losses (same float32 ops, maybe fused otherwise).
    ref = (jax.grad(game.generator_loss)(g, d), jax.grad(game.critic_loss)(d, g))
    np.testing.assert_allclose(got, ravel_pytree(ref)[0], rtol=1e-5, atol=1e-7)
    # The critic's gradient depends on the generator (no stop-gradient on the generated batch):
    # the off-diagonal block d(grad_d L_D)/d g is not zero, nor is d(grad_g L_G)/d d.
    J = np.asarray(jax.jit(game_jacobian, static_argnums=0)(game.xi, (g, d)))
    n_g = ravel_pytree(g)[0].size
    assert np.abs(J[n_g:, :n_g]).max() > 1e-3 and np.abs(J[:n_g, n_g:]).max() > 1e-3


def test_gan_matrix_free_products_match_dense_jacobian(gan):
    trainer, hp, params = gan
    game = gan_game(trainer, hp, jax.random.key(1))
    J = np.asarray(jax.jit(game_jacobian, static_argnums=0)(game.xi, params), np.float64)
    flat, unravel = ravel_pytree(params)
    v = unravel(jnp.asarray(np.random.default_rng(0).normal(size=flat.size), jnp.float32))
    jv = jax.jit(jvp_game, static_argnums=0)(game.xi, params, v)
    jtv = jax.jit(vjp_game, static_argnums=0)(game.xi, params, v)
    vf = np.asarray(ravel_pytree(v)[0], np.float64)
    # float32 sums of ~75 terms of size ~||J|| ||v||: rounding ~ 1e-6 relative to the row norms.
    scale = 1e-5 * np.abs(J).sum(axis=1).max() * np.abs(vf).max()
    np.testing.assert_allclose(ravel_pytree(jv)[0], J @ vf, atol=scale)
    np.testing.assert_allclose(ravel_pytree(jtv)[0], J.T @ vf, atol=scale)
    assert np.abs(J - J.T).max() > 1e-3  # the check above could tell J from J^T


def test_gan_rotation_index_matches_dense_within_monte_carlo_error(gan):
    trainer, hp, params = gan
    game = gan_game(trainer, hp, jax.random.key(2))
    J = jax.jit(game_jacobian, static_argnums=0)(game.xi, params)
    dense = float(rotation_index_dense(J))
    est = jax.jit(rotation_index, static_argnums=(0, 3))(game.xi, params, jax.random.key(3), 64)
    assert 0.0 < dense < 1.0 and est.stderr > 0
    # Fixed seed: a deterministic 4-sigma check of a consistent estimator.
    assert abs(float(est.value) - dense) < 4 * float(est.stderr)


def test_path_angle_closed_forms(x64):
    alphas = jnp.asarray([-0.1, 0.0, 0.3, 0.9, 1.05, 1.1])
    theta_1 = (jnp.asarray([1.0, -2.0]), jnp.asarray([0.5]))
    zero = jax.tree.map(jnp.zeros_like, theta_1)
    norm_1 = np.sqrt(1 + 4 + 0.25)
    f = jax.jit(path_angle, static_argnums=0)
    # Potential game f = ||theta||^2/2 towards its minimum 0: xi(theta(a)) = (1 - a) theta_1 is
    # (anti)parallel to theta_2 - theta_1 = -theta_1: cosine -sign(1 - a), norm |1 - a| ||theta_1||.
    pa = f(potential_game(lambda p: sum(jnp.sum(x**2) for x in p) / 2), theta_1, zero, alphas)
    np.testing.assert_allclose(pa.cosine, -np.sign(1 - alphas), atol=1e-12)  # float64 rounding
    np.testing.assert_allclose(pa.norm, np.abs(1 - alphas) * norm_1, atol=1e-12)
    # Bilinear min_x max_y x y from (1, 0) to (0, 0): xi = (y, -x) is orthogonal to the segment.
    pa = f(bilinear_game(jnp.ones((1, 1))), (jnp.ones(1), jnp.zeros(1)), (jnp.zeros(1), jnp.zeros(1)),
           alphas)
    np.testing.assert_allclose(pa.cosine, 0.0, atol=1e-12)
    np.testing.assert_allclose(pa.norm, np.abs(1 - alphas), atol=1e-12)


# ------------------------------------------------------------------------------ vmap over runs


def test_vmapped_analyses_equal_single_runs():
    n_runs = 16
    hp = make_hparams()
    trainer = make_trainer(SMALL_GAN)
    init = jax.vmap(trainer.init, (None, 0))
    start = init(hp, jax.random.split(jax.random.key(10), n_runs))
    end = init(hp, jax.random.split(jax.random.key(11), n_runs))
    keys = jax.random.split(jax.random.key(12), n_runs)
    alphas = jnp.linspace(-0.1, 1.1, 7)

    def analyse(g, d, g_end, d_end, key):
        k_game, k_eig, k_rot = jax.random.split(key, 3)
        game = gan_game(trainer, hp, k_game)
        top = hessian_top_eigenvalues(lambda gp: game.generator_loss(gp, d), g, 1, k_eig, order=12)
        rot = rotation_index(game.xi, (g, d), k_rot, 8)
        pa = path_angle(game.xi, (g, d), (g_end, d_end), alphas)
        return top.largest[0], rot.value, rot.stderr, pa.cosine, pa.norm

    args = (start.g_params, start.d_params, end.g_params, end.d_params, keys)
    batched = jax.jit(jax.vmap(analyse))(*args)
    single_fn = jax.jit(analyse)
    singles = [single_fn(*jax.tree.map(lambda x: x[r], args)) for r in range(n_runs)]
    single = jax.tree.map(lambda *xs: np.stack(xs), *singles)
    # vmap batches the matmuls, which may sum float32 terms in another order; Lanczos and the ratio
    # estimators are well conditioned here, so results agree to ~1e-6 relative.
    for b, s in zip(batched, single):
        np.testing.assert_allclose(b, s, rtol=1e-4, atol=1e-6)
    top, rot = np.asarray(single[0]), np.asarray(single[1])
    assert len(np.unique(top)) == n_runs and len(np.unique(rot)) == n_runs  # runs really differ
