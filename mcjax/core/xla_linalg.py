"""Small dense linear algebra in XLA's own ops, for code that runs inside vmapped sweeps on a CPU.

Why not ``jnp.linalg``: on the CPU its QR, determinants and solves call jaxlib's LAPACK kernels,
which split a vmapped batch over the same intra-op thread pool that a sweep's programs run on and
wait for it; when those programs hold the pool's threads nothing runs the pieces and the sweep
hangs for good (gdb: every thread on a futex; docs/results.md). These loops are unrolled over a
small static dimension (a handful of latents or data dimensions), where they cost little.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["orthonormal_columns", "spd_logdet"]


def orthonormal_columns(a: jax.Array, passes: int = 2) -> jax.Array:
    """``[n, d]`` with orthonormal columns spanning those of ``a [n, d]`` (``n >= d``, full rank):
    modified Gram-Schmidt, repeated ``passes`` times (the second pass restores orthogonality to
    float32 rounding). Equal to ``jnp.linalg.qr(a)[0]`` up to the sign of each column."""
    q = a
    for _ in range(passes):
        cols = []
        for j in range(q.shape[-1]):
            v = q[..., j]
            for u in cols:
                v = v - jnp.sum(u * v, axis=-1, keepdims=True) * u
            cols.append(v / jnp.linalg.norm(v, axis=-1, keepdims=True))
        q = jnp.stack(cols, axis=-1)
    return q


def spd_logdet(m: jax.Array) -> jax.Array:
    """``log det m`` of a symmetric positive definite ``[k, k]`` matrix by an unrolled Cholesky
    factorisation: ``2 sum_j log L_jj``."""
    k = m.shape[-1]
    L = jnp.zeros_like(m)
    for j in range(k):
        d = m[..., j, j] - jnp.sum(L[..., j, :j] ** 2, axis=-1)
        ljj = jnp.sqrt(d)
        L = L.at[..., j, j].set(ljj)
        for i in range(j + 1, k):
            lij = (m[..., i, j] - jnp.sum(L[..., i, :j] * L[..., j, :j], axis=-1)) / ljj
            L = L.at[..., i, j].set(lij)
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
