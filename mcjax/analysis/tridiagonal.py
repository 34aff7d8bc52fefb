"""Eigenvalues of a symmetric tridiagonal matrix by Sturm-sequence bisection, in plain XLA.

A Lanczos run ends in a small tridiagonal ``T``; its eigenvalues (the Ritz values) are what the
in-scan Hessian log needs. ``jnp.linalg.eigh`` would do, but on CPU it is a LAPACK custom call
(``?syevd`` through SciPy's OpenBLAS) inside every step of the training program, run concurrently
by every CPU device; bisection here is a fixed number of elementwise operations that XLA compiles
like the rest of the step, vmaps over runs and shards like them, and returns ``nan`` (rather than
looping) on a non-finite ``T``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["sturm_count", "eigvalsh_tridiagonal"]


def _pivmin(betas: jax.Array, dtype) -> jax.Array:
    """The smallest pivot magnitude allowed in the LDL^T recurrence (LAPACK ``dstebz``'s PIVMIN)."""
    tiny = jnp.finfo(dtype).tiny
    return tiny * jnp.maximum(1.0, jnp.max(betas**2, initial=0.0))


def sturm_count(alphas: jax.Array, betas: jax.Array, x: jax.Array) -> jax.Array:
    """Number of eigenvalues of ``T = tridiag(betas, alphas, betas)`` below each point of ``x``.

    By Sylvester's law of inertia it is the number of negative pivots ``q_i`` of ``T - x I = L D
    L^T``: ``q_1 = a_1 - x``, ``q_i = a_i - x - b_{i-1}^2 / q_{i-1}``, with a pivot smaller in
    magnitude than ``pivmin`` replaced by ``-pivmin`` (so that an exact zero counts as negative).

    Args:
      alphas: ``[m]`` diagonal.
      betas: ``[m - 1]`` off-diagonal.
      x: ``[n]`` points.

    Returns:
      ``[n]`` int32 counts, each in ``0 .. m``.

    References:
      Wilkinson 1965, "The Algebraic Eigenvalue Problem", Ch. 5.37; Demmel 1997, "Applied
      Numerical Linear Algebra", Sec. 5.3.4; LAPACK ``dstebz``.
    """
    pivmin = _pivmin(betas, alphas.dtype)
    guard = lambda q: jnp.where(jnp.abs(q) < pivmin, -pivmin, q)
    q0 = guard(alphas[0] - x)

    def pivot(q, row):
        a, b2 = row
        q = guard(a - x - b2 / q)
        return q, q < 0

    _, negative = jax.lax.scan(pivot, q0, (alphas[1:], betas**2))
    return (q0 < 0).astype(jnp.int32) + jnp.sum(negative, axis=0, dtype=jnp.int32)


def eigvalsh_tridiagonal(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    """All eigenvalues, increasing, of the symmetric tridiagonal ``T = tridiag(betas, alphas, betas)``.

    Each eigenvalue ``lambda_i`` (``i = 0 .. m-1``) is bracketed in the Gershgorin interval
    ``[min_j a_j - r_j, max_j a_j + r_j]`` (``r_j = |b_{j-1}| + |b_j|``) and bisected on
    ``sturm_count(x) > i``: ``nmant + 2`` halvings (25 in float32, 54 in float64) shrink the bracket
    to the dtype's resolution of ``||T||``, the absolute accuracy LAPACK's ``?syevd`` also has. All
    ``m`` bisections run at once, one Sturm recurrence of length ``m`` per halving: ``O(m^2)``
    work per halving, nothing next to the Hessian-vector products of the Lanczos run that built ``T``.

    Args:
      alphas: ``[m]`` diagonal, ``m >= 1``.
      betas: ``[m - 1]`` off-diagonal.

    Returns:
      ``[m]`` eigenvalues in increasing order; all ``nan`` if ``T`` has a non-finite entry.

    Example:
      >>> eigvalsh_tridiagonal(jnp.array([2.0, 2.0]), jnp.array([1.0]))  # ~ [1, 3]

    References:
      Barth, Martin & Wilkinson 1967, "Calculation of the eigenvalues of a symmetric tridiagonal
      matrix by the method of bisection"; Demmel 1997, Sec. 5.3.4.
    """
    alphas, betas = jnp.asarray(alphas), jnp.asarray(betas)
    if alphas.ndim != 1 or betas.shape != (max(alphas.shape[0] - 1, 0),) or alphas.shape[0] < 1:
        raise ValueError(f"need alphas [m] (m >= 1) and betas [m - 1], got {alphas.shape} and "
                         f"{betas.shape}")
    m, dtype = alphas.shape[0], alphas.dtype
    radius = jnp.abs(jnp.pad(betas, (1, 0))) + jnp.abs(jnp.pad(betas, (0, 1)))
    lo, hi = jnp.min(alphas - radius), jnp.max(alphas + radius)
    slack = jnp.finfo(dtype).eps * jnp.maximum(hi - lo, jnp.maximum(jnp.abs(lo), jnp.abs(hi))) \
        + 2 * _pivmin(betas, dtype)
    lo, hi = jnp.full((m,), lo - slack, dtype), jnp.full((m,), hi + slack, dtype)
    index = jnp.arange(m, dtype=jnp.int32)

    def halve(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = sturm_count(alphas, betas, mid) > index  # lambda_i < mid
        return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

    lo, hi = jax.lax.fori_loop(0, jnp.finfo(dtype).nmant + 2, halve, (lo, hi))
    finite = jnp.all(jnp.isfinite(alphas)) & jnp.all(jnp.isfinite(betas))
    return jnp.where(finite, 0.5 * (lo + hi), jnp.nan)
