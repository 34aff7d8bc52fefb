"""The game's local dynamics: Jacobian of the simultaneous gradient, its eigenvalues, rotation.

Conventions. ``params = (g_params, d_params)`` (any pytree). ``xi_fn(params)`` returns the
*simultaneous gradient* ``xi = (grad_g L_G, grad_d L_D)``, a pytree like ``params``, where **each
player minimises its own loss**: simultaneous gradient descent is ``params <- params - lr xi``
(Balduzzi et al. 2018, Sec. 2). ``J = d xi / d params`` is the game Jacobian, ``J[i, j] =
d xi_i / d params_j`` in ``ravel_pytree`` order. Near a fixed point, descent contracts along
eigenvalues of ``J`` with positive real part and rotates along their imaginary part (Mescheder et
al. 2017, Sec. 3). Mescheder et al. write the update field ``v = -xi``, whose Jacobian has the
negated eigenvalues.

Helmholtz split ``J = S + A``, ``S = (J + J^T)/2`` (potential part: symmetric, ``A = 0`` exactly
when the game is a potential game) and ``A = (J - J^T)/2`` (Hamiltonian/rotational part: ``S = 0``
for a bilinear zero-sum game) (Balduzzi et al. 2018, Sec. 3, Eq. 3).

Dense routines (:func:`game_jacobian`, :func:`helmholtz`, :func:`jacobian_eigenvalues`,
:func:`rotation_index_dense`) are for small nets; matrix-free ones (:func:`jvp_game`,
:func:`vjp_game`, :func:`arnoldi_eigenvalues`, :func:`rotation_index`) cost a few gradient
evaluations per product. All are pure, jittable and vmappable over runs.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from mcjax.analysis.curvature import Estimate, _probes, arnoldi
from mcjax.core.trees import tree_dot

__all__ = [
    "PathAngle",
    "jvp_game",
    "vjp_game",
    "game_matvec",
    "game_jacobian",
    "helmholtz",
    "jacobian_eigenvalues",
    "arnoldi_eigenvalues",
    "rotation_index",
    "rotation_index_dense",
    "path_angle",
]


class PathAngle(NamedTuple):
    """The path-angle profile along a segment (Berard et al. 2020).

    Attributes:
      alphas: ``[n]`` positions ``a`` on the segment, ``theta(a) = (1 - a) theta_1 + a theta_2``.
      cosine: ``[n]`` ``cos(xi(theta(a)), theta_2 - theta_1)``.
      norm: ``[n]`` ``||xi(theta(a))||``.
    """

    alphas: jax.Array
    cosine: jax.Array
    norm: jax.Array


def jvp_game(xi_fn: Callable, params, v):
    """Jacobian-vector product ``J v`` of the game, matrix-free (one forward-mode pass over ``xi``).

    Args:
      xi_fn: ``params -> xi`` (the simultaneous gradient; see the module docstring).
      params: a pytree.
      v: a pytree like ``params``.

    Returns:
      ``J v``, a pytree like ``params``.
    """
    return jax.jvp(xi_fn, (params,), (v,))[1]


def vjp_game(xi_fn: Callable, params, v):
    """Transposed product ``J^T v`` of the game, matrix-free (one reverse-mode pass over ``xi``).

    Args:
      xi_fn: ``params -> xi``.
      params: a pytree.
      v: a pytree like ``params`` (a cotangent of ``xi``).

    Returns:
      ``J^T v``, a pytree like ``params``.
    """
    return jax.vjp(xi_fn, params)[1](v)[0]


def game_matvec(xi_fn: Callable, params, transpose: bool = False) -> tuple[Callable, int]:
    """``(x -> J x, dim)`` (or ``J^T x``) on flat ``ravel_pytree``-order vectors, for Krylov methods.

    The game is linearised once (``jax.linearize``); each product then costs one linear pass.

    Example:
      >>> matvec, dim = game_matvec(xi_fn, params)
      >>> arnoldi_eigenvalues(matvec, dim, 4, key, order=32)
    """
    flat, unravel = ravel_pytree(params)
    _, jvp_fn = jax.linearize(xi_fn, params)
    op = jax.linear_transpose(jvp_fn, params) if transpose else jvp_fn

    def matvec(x):
        out = op(unravel(x))
        return ravel_pytree(out[0] if transpose else out)[0]

    return matvec, flat.size


def game_jacobian(xi_fn: Callable, params) -> jax.Array:
    """Dense game Jacobian ``J = d xi / d params``, ``[n, n]`` in ``ravel_pytree(params)`` order.

    ``n`` forward-mode passes (``jax.jacfwd``); for small nets only.
    """
    flat, unravel = ravel_pytree(params)
    return jax.jacfwd(lambda x: ravel_pytree(xi_fn(unravel(x)))[0])(flat)


def helmholtz(J: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Helmholtz decomposition ``J = S + A`` with ``S = (J + J^T)/2``, ``A = (J - J^T)/2``.

    References:
      Balduzzi et al. 2018, "The Mechanics of n-Player Differentiable Games", Sec. 3.
    """
    return (J + J.T) / 2, (J - J.T) / 2


def jacobian_eigenvalues(J: jax.Array) -> jax.Array:
    """All eigenvalues of a dense ``J`` ``[n, n]``, complex, in order of decreasing modulus.

    Stability of simultaneous descent at a fixed point: all real parts ``> 0`` (for ``xi``, the
    descended field); rotation: large ``|imag| / |real|`` (Mescheder et al. 2017, Sec. 3).
    """
    lam = jnp.linalg.eigvals(J)
    return lam[jnp.argsort(-jnp.abs(lam), stable=True)]


def arnoldi_eigenvalues(
    matvec: Callable,
    dim: int,
    k: int,
    key: jax.Array,
    order: int | None = None,
    which: str = "modulus",
    *,
    dtype=None,
) -> jax.Array:
    """``k`` Ritz values of a (non-symmetric) linear map from a matrix-free Arnoldi iteration.

    Runs :func:`mcjax.analysis.curvature.arnoldi` for ``order`` steps and returns eigenvalues of the
    ``order x order`` Hessenberg matrix. Ritz values of largest modulus converge first; with
    ``order = dim`` they are the eigenvalues of the map.

    Args:
      matvec: ``[dim] -> [dim]``, e.g. from :func:`game_matvec`.
      dim: size of the vectors (static).
      k: how many Ritz values (static), ``k <= order``.
      key: randomness of the start vector.
      order: Arnoldi steps (static); default ``min(dim, max(4 k, 32))``.
      which: ``"modulus"`` (largest ``|lambda|`` first) or ``"imag"`` (largest imaginary part
        first; conjugate pairs give the upper half plane); static.
      dtype: dtype of the basis; default the default float dtype.

    Returns:
      ``[k]`` complex Ritz values.

    References:
      Arnoldi 1951; Saad, "Numerical Methods for Large Eigenvalue Problems" (2011), Sec. 6.2.
    """
    if which not in ("modulus", "imag"):
        raise ValueError(f"which must be 'modulus' or 'imag', got {which!r}")
    order = min(dim, max(4 * k, 32)) if order is None else order
    if not 1 <= k <= order:
        raise ValueError(f"k must be in [1, order={order}], got {k}")
    hess = arnoldi(matvec, dim, order, key, dtype=dtype).hessenberg
    lam = jnp.linalg.eigvals(hess[:order])
    score = jnp.abs(lam) if which == "modulus" else jnp.imag(lam)
    return lam[jnp.argsort(-score, stable=True)[:k]]


def rotation_index(xi_fn: Callable, params, key: jax.Array, n_probes: int) -> Estimate:
    """Matrix-free rotation index: the share of the game's local dynamics that is rotational.

    With ``S v = (J v + J^T v)/2`` and ``A v = (J v - J^T v)/2`` for Gaussian probes
    ``v_1 .. v_P ~ N(0, I)``,

        a_p = ||A v_p||^2,  b_p = ||S v_p||^2 + ||A v_p||^2 = (||J v_p||^2 + ||J^T v_p||^2) / 2,
        rho = (sum_p a_p) / (sum_p b_p).

    Since ``E ||M v||^2 = ||M||_F^2``, ``rho`` is a consistent estimate of the dense index
    ``||A||_F^2 / ||J||_F^2`` (:func:`rotation_index_dense`), in ``[0, 1]``: 1 for a purely
    rotational (bilinear, ``S = 0``) game, 0 for a potential game (``A = 0``), 1/2 where ``S`` and
    ``A`` carry equal energy. The probes' ratio of means is used, not the mean of per-probe
    ratios, whose expectation is not the dense index. Its standard error is the delta-method one,
    ``sd_p(a_p - rho b_p) / (sqrt(P) mean_p b_p)``. Undefined (NaN) when ``J v_p = 0`` for all
    probes.

    The game is linearised once; each probe costs one forward and one transposed linear pass.
    The probes are drawn in one ``[n_probes, dim]`` draw and processed sequentially (``lax.map``).

    Args:
      xi_fn: ``params -> xi`` (see the module docstring).
      params: a pytree.
      key: randomness of the probes.
      n_probes: number of probes ``P`` (static, ``>= 2``).

    Returns:
      :class:`mcjax.analysis.curvature.Estimate` ``(value, stderr)``.

    References:
      Balduzzi et al. 2018, Sec. 3 (the split); Mescheder et al. 2017, Sec. 3 (why rotation, i.e.
      eigenvalues with large imaginary part, slows or stops simultaneous descent).
    """
    if n_probes < 2:
        raise ValueError(f"n_probes must be >= 2 for a standard error, got {n_probes}")
    _, jvp_fn = jax.linearize(xi_fn, params)
    vjp_fn = jax.linear_transpose(jvp_fn, params)

    def one_probe(v):
        jv, jtv = jvp_fn(v), vjp_fn(v)[0]
        av = jax.tree.map(lambda x, y: (x - y) / 2, jv, jtv)
        a = tree_dot(av, av)
        b = (tree_dot(jv, jv) + tree_dot(jtv, jtv)) / 2
        return a, b

    a, b = jax.lax.map(one_probe, _probes(jax.random.normal, key, n_probes, params))
    rho = jnp.sum(a) / jnp.sum(b)
    stderr = jnp.std(a - rho * b, ddof=1) / (jnp.sqrt(n_probes) * jnp.mean(b))
    return Estimate(value=rho, stderr=stderr)


def rotation_index_dense(J: jax.Array) -> jax.Array:
    """Dense rotation index ``||A||_F^2 / ||J||_F^2`` (``= ||A||_F^2 / (||S||_F^2 + ||A||_F^2)``).

    ``S`` and ``A`` are orthogonal in the Frobenius inner product, so the denominator splits.
    See :func:`rotation_index` for the matrix-free estimate and its interpretation.
    """
    _, A = helmholtz(J)
    return jnp.sum(A**2) / jnp.sum(J**2)


def path_angle(xi_fn: Callable, theta_start, theta_end, alphas: jax.Array) -> PathAngle:
    """Path-angle profile of the game vector field along a segment (Berard et al. 2020).

    On ``theta(a) = (1 - a) theta_1 + a theta_2`` (``theta_1 = theta_start``, ``theta_2 =
    theta_end``, both pytrees like ``params``) it returns

        cosine(a) = <xi(theta(a)), theta_2 - theta_1> / (||xi(theta(a))|| ||theta_2 - theta_1||),
        norm(a)   = ||xi(theta(a))||.

    Berard et al. take ``theta_1`` = an early iterate, ``theta_2`` = the end of training and
    ``a in [-0.1, 1.1]``. Near a potential-like (minimum) end point the cosine jumps from -1 to +1
    at ``a = 1`` with ``norm`` dipping to 0; a rotational end point shows a cosine bump near
    ``a = 1`` with ``norm`` staying away from 0 (their Fig. 2). Use full-batch (or a fixed batch)
    ``xi_fn``. Evaluated point by point (``lax.map``: one field in memory at a time, and about half
    the compile time of a ``vmap`` over ``alphas``).

    Args:
      xi_fn: ``params -> xi``.
      theta_start: ``theta_1``.
      theta_end: ``theta_2``.
      alphas: ``[n]`` positions.

    Returns:
      :class:`PathAngle` ``(alphas, cosine [n], norm [n])``.

    References:
      Berard, Gidel, Almahairi, Vincent & Lacoste-Julien 2020, "A Closer Look at the Optimization
      Landscapes of Generative Adversarial Networks", Sec. 3 (path-angle), Fig. 2.
    """
    delta = jax.tree.map(lambda e, s: e - s, theta_end, theta_start)
    delta_norm = jnp.sqrt(tree_dot(delta, delta))

    def at(a):
        theta = jax.tree.map(
            lambda s, e: ((1 - a) * s + a * e).astype(s.dtype), theta_start, theta_end
        )
        xi = xi_fn(theta)
        norm = jnp.sqrt(tree_dot(xi, xi))
        return tree_dot(xi, delta) / (norm * delta_norm), norm

    cosine, norm = jax.lax.map(at, alphas)
    return PathAngle(alphas=alphas, cosine=cosine, norm=norm)
