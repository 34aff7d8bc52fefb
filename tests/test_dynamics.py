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

from mcjax import make_hparams
from mcjax.systems.gan import losses, objectives
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
from mcjax.systems.gan.engine import make_trainer
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
    # The closed form against grad of mcjax.systems.gan.losses on the one-point batches (data at 0, fake at
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
    xi = dirac_gan(loss)
    J, est = jax.jit(lambda p, k: (game_jacobian(xi, p), rotation_index(xi, p, k, 8)))(
        _zero(), jax.random.key(0))
    lam = _sorted_complex(jacobian_eigenvalues(J))
    fp = 1.0 if loss == "wasserstein" else 0.5  # f'(0) of f(t) = -log(1 + e^-t), resp. f(t) = t
    # The bound; float64 eig of a 2x2 normal matrix is exact to ~1e-16.
    np.testing.assert_allclose(lam, [-1j * fp, 1j * fp], atol=1e-5)
    np.testing.assert_allclose(lam, _sorted_complex(dirac_gan_eigenvalues(loss)), atol=1e-12)
    # Purely rotational: S = 0, rotation index 1 (dense and matrix-free).
    S, _ = helmholtz(J)
    np.testing.assert_array_equal(S, 0.0)
    assert rotation_index_dense(J) == 1.0
    np.testing.assert_allclose(est.value, 1.0, atol=1e-14)  # A v = J v exactly when S = 0


# gamma is traced: one compilation serves every penalty weight (as in a sweep).
_penalised_jacobian = jax.jit(
    lambda gamma: game_jacobian(dirac_gan("non-saturating", gamma), _zero()))


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("gamma", [0.3, 0.9, 1.0, 1.5, 4.0])
def test_dirac_gan_with_penalty_eigenvalues_closed_form(gamma):
    # Descended field: lambda = gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), f'(0) = 1/2 (REFERENCES.md;
    # the paper's update field v = -xi has -gamma/2 +- ...). Real from gamma = 2 f'(0) = 1.
    J = _penalised_jacobian(jnp.asarray(gamma))
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

    def analyse(params, k_rot, k_arnoldi):
        matvec, dim = game_matvec(xi, params)
        return (game_jacobian(xi, params), rotation_index(xi, params, k_rot, 16),
                arnoldi_eigenvalues(matvec, dim, 3, k_arnoldi, order=dim, which="imag"))

    J, est, top = jax.jit(analyse)(params, jax.random.key(1), jax.random.key(2))
    S, A = helmholtz(J)
    np.testing.assert_array_equal(S, 0.0)  # J's blocks are M and -M^T exactly
    np.testing.assert_array_equal(A, J)
    assert rotation_index_dense(J) == 1.0
    np.testing.assert_allclose(est.value, 1.0, atol=1e-14)  # J^T v = -J v in exact arithmetic
    # Eigenvalues +- i s_k (s = singular values of M) and one 0; the 3 of largest imaginary part
    # by matrix-free Arnoldi on the full space (order = dim: exact up to rounding).
    s = np.linalg.svd(np.asarray(M), compute_uv=False)
    np.testing.assert_allclose(top, 1j * s, atol=1e-10)


@pytest.mark.usefixtures("x64")
def test_potential_game_has_no_rotation():
    rng = np.random.default_rng(2)
    B = jnp.asarray(rng.normal(size=(3, 2)))

    def f(p):
        x, y = p
        return jnp.sum(jnp.tanh(x)) * jnp.sum(y**2) + x @ B @ y + jnp.sum(x**4)

    xi = potential_game(f)
    params = (jnp.asarray(rng.normal(size=3)), jnp.asarray(rng.normal(size=2)))
    J, est = jax.jit(lambda p, k: (game_jacobian(xi, p), rotation_index(xi, p, k, 16)))(
        params, jax.random.key(3))
    S, A = helmholtz(J)
    # J is f's Hessian; forward-over-reverse makes it symmetric up to rounding (~eps ||J||).
    np.testing.assert_allclose(A, 0.0, atol=1e-13 * np.abs(J).max())
    np.testing.assert_allclose(S, J, atol=1e-13 * np.abs(J).max())
    assert rotation_index_dense(J) < 1e-25  # (rounding / ||J||)^2
    assert 0.0 <= est.value < 1e-25  # the same rounding, squared


# ---------------------------------------------------------------------------------- Arnoldi


@pytest.mark.usefixtures("x64")
def test_arnoldi_full_order_reproduces_numpy_eigenvalues():
    rng = np.random.default_rng(3)
    n = 30
    M = rng.normal(size=(n, n)) / np.sqrt(n)
    Mj = jnp.asarray(M)
    ritz = lambda k, which: arnoldi_eigenvalues(lambda x: Mj @ x, n, n, k, which=which)
    got, by_imag = map(np.asarray, jax.jit(
        lambda k: (ritz(jax.random.clone(k), "modulus"), ritz(k, "imag")))(jax.random.key(0)))
    want = np.linalg.eigvals(M)
    # Ritz values of a full Arnoldi factorisation are eigenvalues of a matrix orthogonally similar
    # to M: backward error ~ n eps ||M||; random M is well conditioned, so 1e-9 is ample.
    dist = np.abs(got[:, None] - want[None, :])
    assert dist.min(axis=1).max() < 1e-9 and dist.min(axis=0).max() < 1e-9
    assert np.all(np.diff(np.abs(got)) <= 1e-12)  # decreasing modulus
    np.testing.assert_allclose(by_imag.imag[:4], np.sort(want.imag)[::-1][:4], atol=1e-9)


# ---------------------------------------------------------------------------- a small GAN
# Second-order programs through the trainer compile slowly on CPU (seconds each), so the GAN
# analyses run in two jitted programs: ``analyse`` (top Hessian eigenvalue, rotation index,
# path-angle), single-run and vmapped over 16 runs, and ``dense`` (the dense references).

N_RUNS = 16
N_PROBES = 64
ALPHAS = jnp.linspace(-0.1, 1.1, 7)


def _gan_programs(trainer, hp):
    """``analyse`` (the per-run analyses, also vmapped) and ``dense`` (dense references)."""

    def analyse(g, d, g_end, d_end, key):
        k_game, k_eig, k_rot = jax.random.split(key, 3)
        game = gan_game(trainer, hp, k_game)
        top = hessian_top_eigenvalues(lambda gp: game.generator_loss(gp, d), g, 1, k_eig, order=12)
        rot = rotation_index(game.xi, (g, d), k_rot, N_PROBES)
        pa = path_angle(game.xi, (g, d), (g_end, d_end), ALPHAS)
        return dict(top=top.largest[0], rot=rot.value, rot_se=rot.stderr, cosine=pa.cosine,
                    norm=pa.norm)

    def dense(g, d, v, key):
        k_game, _, _ = jax.random.split(key, 3)
        game = gan_game(trainer, hp, jax.random.clone(k_game))
        params = (g, d)
        _, unravel = ravel_pytree(params)
        flat = lambda t: ravel_pytree(t)[0]
        return dict(
            xi=flat(game.xi(params)),
            xi_again=flat(game.xi(params)),
            xi_trainer=flat(trainer.xi(params, hp, k_game)),
            xi_losses=flat((jax.grad(game.generator_loss)(g, d), jax.grad(game.critic_loss)(d, g))),
            J=game_jacobian(game.xi, params),
            jv=flat(jvp_game(game.xi, params, unravel(v))),
            jtv=flat(vjp_game(game.xi, params, unravel(v))),
        )

    return analyse, dense


@pytest.fixture(scope="module")
def gan():
    hp = make_hparams()
    trainer = make_trainer(SMALL_GAN)
    init = jax.jit(jax.vmap(trainer.init, (None, 0)))
    start = init(hp, jax.random.split(jax.random.key(10), N_RUNS))
    end = init(hp, jax.random.split(jax.random.key(11), N_RUNS))
    # Raw key data: each use below wraps a fresh key (the same one), so no key is reused.
    keys = jax.random.key_data(jax.random.split(jax.random.key(12), N_RUNS))
    key = jax.random.wrap_key_data
    args = (start.g_params, start.d_params, end.g_params, end.d_params)
    analyse, dense = _gan_programs(trainer, hp)
    analyse_jit = jax.jit(analyse)
    first = lambda tree: jax.tree.map(lambda x: x[0], tree)
    g, d = first((start.g_params, start.d_params))
    v = jax.random.normal(jax.random.key(13), ravel_pytree((g, d))[0].shape)
    return dict(
        trainer=trainer, hp=hp, analyse=analyse, args=args, keys=keys, params=(g, d), v=v,
        run=lambda r: analyse_jit(*jax.tree.map(lambda x: x[r], args), key(keys[r])),
        dense=jax.jit(dense)(g, d, v, key(keys[0])),
        n_g=ravel_pytree(g)[0].size,
    )


def test_gan_game_is_the_trainers_field_on_a_fixed_batch(gan):
    out = gan["dense"]
    # The game reuses its key: every evaluation sees the same batch, and its field is the engine's
    # own (Trainer.xi) with that key.
    np.testing.assert_array_equal(out["xi"], out["xi_again"])
    np.testing.assert_array_equal(out["xi"], out["xi_trainer"])
    # xi = (grad_g L_G, grad_d L_D) of the game's losses: same float32 ops, maybe fused otherwise.
    np.testing.assert_allclose(out["xi"], out["xi_losses"], rtol=1e-5, atol=1e-7)
    # The critic's gradient depends on the generator (no stop-gradient on the generated batch):
    # the off-diagonal block d(grad_d L_D)/d g is not zero, nor is d(grad_g L_G)/d d.
    J, n_g = np.asarray(out["J"]), gan["n_g"]
    assert np.abs(J[n_g:, :n_g]).max() > 1e-3 and np.abs(J[:n_g, n_g:]).max() > 1e-3


def test_gan_matrix_free_products_match_dense_jacobian(gan):
    out = gan["dense"]
    J = np.asarray(out["J"], np.float64)
    v = np.asarray(gan["v"], np.float64)
    # float32 sums of ~75 terms of size ~|J_ij| |v_j|: rounding ~ 1e-6 relative to the row norms.
    scale = 1e-5 * np.abs(J).sum(axis=1).max() * np.abs(v).max()
    np.testing.assert_allclose(out["jv"], J @ v, atol=scale)
    np.testing.assert_allclose(out["jtv"], J.T @ v, atol=scale)
    assert np.abs(J - J.T).max() > 100 * scale  # the check above can tell J from J^T


def test_gan_rotation_index_matches_dense_within_monte_carlo_error(gan):
    out = gan["run"](0)  # the same game (key) as gan["dense"]
    dense = float(rotation_index_dense(gan["dense"]["J"]))
    assert 0.0 < dense < 1.0 and out["rot_se"] > 0
    # Fixed seed: a deterministic 4-sigma check of a consistent estimator.
    assert abs(float(out["rot"]) - dense) < 4 * float(out["rot_se"])


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


def test_vmapped_analyses_equal_single_runs(gan):
    batched = jax.jit(jax.vmap(gan["analyse"]))(*gan["args"], jax.random.wrap_key_data(gan["keys"]))
    single = jax.tree.map(lambda *xs: np.stack(xs), *[gan["run"](r) for r in range(N_RUNS)])
    assert set(batched) == set(single)
    # vmap batches the matmuls, which may sum float32 terms in another order; Lanczos, the ratio
    # estimator and the cosines are well conditioned here, so results agree to ~1e-6 relative.
    for name in single:
        np.testing.assert_allclose(batched[name], single[name], rtol=1e-4, atol=1e-6, err_msg=name)
    for name in ("top", "rot"):  # the runs really differ (no accidental broadcasting)
        assert len(np.unique(single[name])) == N_RUNS, name
