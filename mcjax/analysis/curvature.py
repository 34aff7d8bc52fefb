"""Curvature of one player's loss: Hessian-vector products, Krylov methods, spectra, trace.

The Hessian ``H = d^2 L / d theta^2`` is never formed: every routine touches it only through
products ``H v`` computed forward-over-reverse (:func:`hvp`), so the cost of one product is a small
multiple of one gradient. Parameters and directions are pytrees; a flat vector appears only where
a Krylov basis is the point (:func:`arnoldi`, :func:`lanczos`, :func:`hessian_top_eigenvalues`,
:func:`spectral_density`).

Everything is pure and jittable, loops are ``lax`` loops, and every function can be ``jax.vmap``-ed
over runs (parameters and keys with a leading run axis).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from mcjax.analysis.tridiagonal import eigvalsh_tridiagonal
from mcjax.core.trees import tree_dot

__all__ = [
    "Estimate",
    "Krylov",
    "Lanczos",
    "TopEigenvalues",
    "SpectralDensity",
    "hvp",
    "arnoldi",
    "lanczos",
    "tridiagonal",
    "ritz_pairs",
    "hessian_top_eigenvalues",
    "spectral_density",
    "hessian_trace",
    "directional_curvature",
]


class Estimate(NamedTuple):
    """A Monte Carlo estimate: ``value`` and its standard error ``stderr``."""

    value: jax.Array
    stderr: jax.Array


class Krylov(NamedTuple):
    """An Arnoldi factorisation ``M V^T = V^T H[:m] + h_{m+1,m} v_{m+1} e_m^T`` (``m = order``).

    Attributes:
      hessenberg: ``[order + 1, order]`` upper Hessenberg matrix ``H``, ``H[i, j] = <v_i, M v_j>``.
      basis: ``[order, dim]`` orthonormal rows ``v_1 .. v_m`` spanning the Krylov space.
    """

    hessenberg: jax.Array
    basis: jax.Array


class Lanczos(NamedTuple):
    """Lanczos tridiagonalisation ``V M V^T = T`` of a symmetric ``M``.

    Attributes:
      alphas: ``[order]`` diagonal of ``T``.
      betas: ``[order - 1]`` off-diagonal of ``T`` (zero where the iteration restarted).
      basis: ``[order, dim]`` orthonormal Lanczos vectors (rows).
    """

    alphas: jax.Array
    betas: jax.Array
    basis: jax.Array


class TopEigenvalues(NamedTuple):
    """Extreme Ritz values of a Hessian.

    Attributes:
      largest: ``[k]`` largest, in decreasing order.
      smallest: ``[k]`` smallest (most negative first), in increasing order.
    """

    largest: jax.Array
    smallest: jax.Array


class SpectralDensity(NamedTuple):
    """A stochastic-Lanczos-quadrature estimate of a Hessian's eigenvalue density.

    Attributes:
      grid: ``[n_grid]`` points at which the density is evaluated.
      density: ``[n_grid]`` Gaussian-broadened density on ``grid`` (integrates to 1).
      nodes: ``[n_probes, order]`` Gauss quadrature nodes (Ritz values) of each probe.
      weights: ``[n_probes, order]`` quadrature weights of each probe (each row sums to 1).
      sigma: the broadening standard deviation used.
    """

    grid: jax.Array
    density: jax.Array
    nodes: jax.Array
    weights: jax.Array
    sigma: jax.Array




def _probes(sample: Callable, key: jax.Array, n: int, tree):
    """``n`` random pytrees like ``tree``, stacked: one random draw (one RNG kernel to compile)."""
    flat, unravel = ravel_pytree(tree)
    return jax.vmap(unravel)(sample(key, (n, flat.size), flat.dtype))


def _float_dtype(dtype) -> jnp.dtype:
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype))


def hvp(loss_fn: Callable, params, v):
    """Hessian-vector product ``H v``, ``H = d^2 loss_fn / d params^2``, forward-over-reverse.

    ``H v = d/de grad L(params + e v) |_{e=0}``: a ``jvp`` of ``grad``, costing about one gradient
    evaluation more than ``grad`` itself and never forming ``H``.

    Args:
      loss_fn: ``params -> scalar``.
      params: a pytree.
      v: a pytree with the structure, shapes and dtypes of ``params``.

    Returns:
      ``H v``, a pytree like ``params``.

    Example:
      >>> hvp(lambda p: jnp.sum(p**3), jnp.array([1.0, 2.0]), jnp.array([1.0, 0.0]))
      Array([6., 0.], dtype=float32)

    References:
      Pearlmutter 1994, "Fast exact multiplication by the Hessian"; the forward-over-reverse form
      of google/spectral-density's ``hessian_computation.py``.
    """
    return jax.jvp(jax.grad(loss_fn), (params,), (v,))[1]


def arnoldi(matvec: Callable, dim: int, order: int, key: jax.Array, *, dtype=None) -> Krylov:
    """Arnoldi iteration with full (twice-applied classical Gram-Schmidt) reorthogonalisation.

    Builds an orthonormal basis ``V = [v_1 .. v_m]`` of the Krylov space
    ``K_m(M, v_1) = span{v_1, M v_1, .., M^{m-1} v_1}`` and the Hessenberg matrix
    ``H = V^T M V`` (plus the residual norm in ``H[m, m-1]``), from a random Gaussian ``v_1``
    (normalised; drawn from ``key`` together with the restart vectors in one draw).
    Eigenvalues of ``H[:m]`` (Ritz values) approximate those of ``M``, the extreme ones first.
    Each new vector is orthogonalised against *all* previous ones, twice ("twice is enough",
    Giraud et al. 2005), which keeps ``V`` orthonormal to working precision, so no spurious copies
    of converged eigenvalues appear. When the Krylov space becomes invariant (residual norm at
    rounding level relative to ``||M v_j||``) the iteration restarts from a fresh random vector
    orthogonal to ``V`` and records ``H[j+1, j] = 0``; the Ritz values then include the eigenvalues
    of ``M`` on the invariant subspace exactly. For symmetric ``M`` this is Lanczos with full
    reorthogonalisation (see :func:`lanczos`).

    Args:
      matvec: ``[dim] -> [dim]``, a linear map ``x -> M x`` (traced; a closure over parameters).
      dim: size of the vectors (static).
      order: number of Krylov vectors ``m``, ``1 <= m <= dim`` (static).
      key: randomness for the start vector and for restarts.
      dtype: dtype of the basis (``matvec`` must return it); default the default float dtype.

    Returns:
      A :class:`Krylov` ``(hessenberg [m + 1, m], basis [m, dim])``.

    References:
      Arnoldi 1951; Saad, "Numerical Methods for Large Eigenvalue Problems" (2011), Alg. 6.1–6.2;
      Golub & Van Loan, "Matrix Computations" (4th ed.), Sec. 10.5.
    """
    if not 1 <= order <= dim:
        raise ValueError(f"order must be in [1, dim={dim}], got {order}")
    dtype = _float_dtype(dtype)
    fresh = jax.random.normal(key, (order + 1, dim), dtype)
    v0 = fresh[order]
    tiny = jnp.finfo(dtype).tiny
    tol = jnp.finfo(dtype).eps * jnp.sqrt(jnp.asarray(dim, dtype))
    basis = jnp.zeros((order + 1, dim), dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    hess = jnp.zeros((order + 1, order), dtype)

    def project_out(basis, w):
        h1 = basis @ w
        w = w - h1 @ basis
        h2 = basis @ w
        return w - h2 @ basis, h1 + h2

    def step(j, carry):
        basis, hess = carry
        w = matvec(basis[j]).astype(dtype)
        scale = jnp.linalg.norm(w)
        w, h = project_out(basis, w)
        beta = jnp.linalg.norm(w)
        restart = beta <= tol * scale
        r, _ = project_out(basis, fresh[j])
        r = r / jnp.maximum(jnp.linalg.norm(r), tiny)
        nxt = jnp.where(restart, r, w / jnp.where(restart, 1.0, beta))
        hess = hess.at[:, j].set(h).at[j + 1, j].set(jnp.where(restart, 0.0, beta))
        return basis.at[j + 1].set(nxt), hess

    basis, hess = jax.lax.fori_loop(0, order, step, (basis, hess))
    return Krylov(hessenberg=hess, basis=basis[:order])


def lanczos(matvec: Callable, dim: int, order: int, key: jax.Array, *, dtype=None) -> Lanczos:
    """Lanczos tridiagonalisation of a symmetric linear map, with full reorthogonalisation.

    For symmetric ``M`` the Arnoldi matrix ``V M V^T`` is tridiagonal,
    ``T = tridiag(beta, alpha, beta)`` with ``alpha_j = <v_j, M v_j>`` and ``beta_j`` the norm of the
    residual after orthogonalisation. This runs :func:`arnoldi` (every new vector orthogonalised
    against all previous ones, twice) and reads ``alpha`` and ``beta`` off its Hessenberg matrix:
    the cost of full reorthogonalisation is ``O(order * dim)`` per step, negligible next to a
    Hessian-vector product for the networks studied here, and it removes the ghost eigenvalues of
    plain three-term Lanczos. With ``order = dim`` the Ritz values are all eigenvalues of ``M``.

    Args:
      matvec: ``[dim] -> [dim]``, a symmetric linear map.
      dim: size of the vectors (static).
      order: number of Lanczos steps, ``1 <= order <= dim`` (static).
      key: randomness for the (Gaussian, normalised) start vector and restarts.
      dtype: dtype of the basis; default the default float dtype.

    Returns:
      :class:`Lanczos` ``(alphas [order], betas [order - 1], basis [order, dim])``; eigenpairs of
      ``T`` by :func:`ritz_pairs`.

    Example:
      >>> M = jnp.diag(jnp.arange(5.0))
      >>> res = lanczos(lambda x: M @ x, 5, 5, jax.random.key(0))
      >>> ritz_pairs(res)[0]  # ~ [0, 1, 2, 3, 4]

    References:
      Lanczos 1950; Paige 1972; Golub & Van Loan, "Matrix Computations" (4th ed.), Sec. 10.1;
      google/spectral-density ``lanczos.py`` (which reorthogonalises the same way, in a Python loop).
    """
    kry = arnoldi(matvec, dim, order, key, dtype=dtype)
    hess = kry.hessenberg
    alphas = jnp.diagonal(hess[:order])
    betas = jnp.diagonal(hess, offset=-1)[: order - 1]
    return Lanczos(alphas=alphas, betas=betas, basis=kry.basis)


def tridiagonal(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    """Symmetric tridiagonal matrix: diagonal ``alphas`` ``[m]``, off-diagonals ``betas`` ``[m-1]``."""
    return jnp.diag(alphas) + jnp.diag(betas, 1) + jnp.diag(betas, -1)


def ritz_pairs(result: Lanczos) -> tuple[jax.Array, jax.Array]:
    """Ritz values (increasing) ``[order]`` and Ritz vectors ``[order, dim]`` (rows) of a Lanczos run.

    With ``T = U diag(theta) U^T``, the Ritz vectors are ``U^T V``: the best approximations to
    eigenvectors of ``M`` within the Krylov space.
    """
    theta, u = jnp.linalg.eigh(tridiagonal(result.alphas, result.betas))
    return theta, u.T @ result.basis


def _flat_hvp(loss_fn: Callable, params):
    flat, unravel = ravel_pytree(params)

    def matvec(x):
        return ravel_pytree(hvp(loss_fn, params, unravel(x)))[0]

    return matvec, flat.size, flat.dtype


def hessian_top_eigenvalues(
    loss_fn: Callable, params, k: int, key: jax.Array, order: int | None = None
) -> TopEigenvalues:
    """The ``k`` largest and the ``k`` most negative eigenvalues of the Hessian of ``loss_fn``.

    Lanczos (:func:`lanczos`) on ``v -> H v`` from a random start, the Ritz values by bisection
    (:func:`mcjax.analysis.tridiagonal.eigvalsh_tridiagonal`); the extreme Ritz values converge
    first (Kaniel-Paige theory), so ``order`` of a few times ``k`` usually suffices for the top
    one; ``order = dim`` gives them exactly. Ritz values lie inside the spectrum: ``largest`` can
    only underestimate, ``smallest`` only overestimate. The most negative eigenvalue is the one
    that says how far a player is from a local minimum (saddle, Berard et al. 2020, Sec. 4).

    Args:
      loss_fn: ``params -> scalar``.
      params: a pytree (flattened with ``ravel_pytree``; the basis has its dtype).
      k: how many of each end (static), ``k <= order``.
      key: randomness of the start vector.
      order: Lanczos steps (static); default ``min(dim, max(4 k, 32))``.

    Returns:
      :class:`TopEigenvalues` ``(largest [k] decreasing, smallest [k] increasing)``.

    Example:
      >>> game = gan_game(make_trainer(cfg), hp, batch_key)
      >>> top = hessian_top_eigenvalues(lambda g: game.generator_loss(g, d_params), g_params, 1, key)
      >>> top.largest[0], top.smallest[0]

    References:
      Ghorbani, Krishnan & Xiao 2019, "An Investigation into Neural Net Optimization via Hessian
      Eigenvalue Density", Sec. 2; Berard et al. 2020, "A Closer Look at the Optimization
      Landscapes of Generative Adversarial Networks", Sec. 4.
    """
    matvec, dim, dtype = _flat_hvp(loss_fn, params)
    order = min(dim, max(4 * k, 32)) if order is None else order
    if not 1 <= k <= order:
        raise ValueError(f"k must be in [1, order={order}], got {k}")
    res = lanczos(matvec, dim, order, key, dtype=dtype)
    theta = eigvalsh_tridiagonal(res.alphas, res.betas)  # no LAPACK call inside a training scan
    return TopEigenvalues(largest=theta[::-1][:k], smallest=theta[:k])


def spectral_density(
    loss_fn: Callable,
    params,
    key: jax.Array,
    order: int,
    n_probes: int,
    grid: jax.Array | None = None,
    sigma: float | jax.Array | None = None,
    n_grid: int = 1001,
) -> SpectralDensity:
    """Hessian eigenvalue density by stochastic Lanczos quadrature (SLQ).

    For a unit probe ``v`` the spectral measure ``mu_v = sum_i (u_i^T v)^2 delta_{lambda_i}`` has
    mean (over ``v`` uniform on the sphere) ``phi = (1/n) sum_i delta_{lambda_i}``, the eigenvalue
    density. ``m`` Lanczos steps from ``v`` give its Gauss quadrature: nodes ``theta_j`` (Ritz
    values of ``T``) and weights ``w_j = (e_1^T y_j)^2`` (squared first components of ``T``'s
    eigenvectors), exact for polynomials of degree ``< 2m``; ``sum_j w_j = 1`` and
    ``sum_j w_j theta_j = v^T H v``. Averaging over ``n_probes`` Gaussian probes and broadening each
    node by a Gaussian of width ``sigma``:

        phi_sigma(t) = (1/n_probes) sum_p sum_j w_pj N(t; theta_pj, sigma^2).

    Its mean ``int t phi_sigma(t) dt = (1/n_probes) sum_p v_p^T H v_p`` estimates ``tr(H) / n``.

    Args:
      loss_fn: ``params -> scalar``.
      params: a pytree.
      key: randomness of the probes.
      order: Lanczos steps per probe (static), ``<= dim``.
      n_probes: number of probes (static); Lanczos runs are sequential (``lax.map``) to keep memory
        at one basis.
      grid: ``[n_grid]`` evaluation points; default ``n_grid`` points from ``min(nodes) - 6 sigma``
        to ``max(nodes) + 6 sigma``.
      sigma: broadening; default 1% of ``max(nodes) - min(nodes)`` (Ghorbani et al. use
        ``sigma^2 = 1e-5`` after normalising the spectrum to ``[-1, 1]``, i.e. ~0.16%).
      n_grid: size of the default grid (static).

    Returns:
      :class:`SpectralDensity` ``(grid, density, nodes, weights, sigma)``.

    References:
      Golub & Meurant 2009, "Matrices, Moments and Quadrature"; Lin, Saad & Yang 2016,
      "Approximating Spectral Densities of Large Matrices", Sec. 3.2; Ghorbani, Krishnan & Xiao 2019,
      Sec. 2.2 and Alg. 1.
    """
    matvec, dim, dtype = _flat_hvp(loss_fn, params)

    def one_probe(k):
        theta, u = jnp.linalg.eigh(tridiagonal(*lanczos(matvec, dim, order, k, dtype=dtype)[:2]))
        return theta, u[0] ** 2

    nodes, weights = jax.lax.map(one_probe, jax.random.split(key, n_probes))
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    if sigma is None:
        span = hi - lo
        sigma = 0.01 * jnp.where(span > 0, span, jnp.maximum(jnp.abs(hi), 1.0))
    sigma = jnp.asarray(sigma, dtype)
    if grid is None:
        grid = jnp.linspace(lo - 6.0 * sigma, hi + 6.0 * sigma, n_grid, dtype=dtype)
    z = (grid[:, None, None] - nodes[None, :, :]) / sigma
    kernel = jnp.exp(-0.5 * z**2) / (sigma * jnp.sqrt(2.0 * jnp.pi).astype(dtype))
    density = jnp.sum(kernel * weights[None, :, :], axis=(1, 2)) / n_probes
    return SpectralDensity(grid=grid, density=density, nodes=nodes, weights=weights, sigma=sigma)


def hessian_trace(loss_fn: Callable, params, key: jax.Array, n_probes: int) -> Estimate:
    """Hutchinson's estimate of ``tr(H)`` and its standard error.

    ``tr(H) = E_v [v^T H v]`` for Rademacher ``v`` (entries ``+-1``), the minimum-variance choice
    among i.i.d. probes: ``Var = 2 sum_{i != j} H_ij^2``. The estimate is the mean of
    ``n_probes`` samples, its standard error their standard deviation (``ddof = 1``) over
    ``sqrt(n_probes)``. The probes are drawn in one ``[n_probes, dim]`` draw and processed
    sequentially (``lax.map``).

    Args:
      loss_fn: ``params -> scalar``.
      params: a pytree.
      key: randomness of the probes.
      n_probes: number of probes (static, ``>= 2``).

    Returns:
      :class:`Estimate` ``(value, stderr)``.

    References:
      Hutchinson 1990, "A stochastic estimator of the trace of the influence matrix for Laplacian
      smoothing splines"; Avron & Toledo 2011, Sec. 2.
    """
    if n_probes < 2:
        raise ValueError(f"n_probes must be >= 2 for a standard error, got {n_probes}")

    def one_probe(v):
        return tree_dot(v, hvp(loss_fn, params, v))

    samples = jax.lax.map(one_probe, _probes(jax.random.rademacher, key, n_probes, params))
    return Estimate(
        value=jnp.mean(samples), stderr=jnp.std(samples, ddof=1) / jnp.sqrt(n_probes)
    )


def directional_curvature(loss_fn: Callable, params, direction) -> jax.Array:
    """Curvature of ``loss_fn`` along ``direction``: the Rayleigh quotient ``v^T H v / v^T v``.

    The second derivative of ``e -> L(params + e v / ||v||)`` at 0; e.g. along the parameter change
    that moves generated mass out of a mode, or along a Ritz vector (where it is the Ritz value).

    Args:
      loss_fn: ``params -> scalar``.
      params: a pytree.
      direction: a nonzero pytree like ``params`` (its scale does not matter).

    Returns:
      A scalar.
    """
    return tree_dot(direction, hvp(loss_fn, params, direction)) / tree_dot(direction, direction)
