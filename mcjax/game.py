"""The two-player game as a vector field, and the update directions of the dynamics remedies.

``xi_fn(params) -> xi`` maps both players' parameters ``params = (g_params, d_params)`` to the
simultaneous gradient ``xi = (grad_g L_G, grad_d L_D)``, each player *descending* its own loss.
``J = d xi / d params`` is the game Jacobian, ``S = (J + J^T) / 2`` and ``A = (J - J^T) / 2`` its
symmetric and antisymmetric parts (Balduzzi et al. 2018). Products with ``J`` and ``J^T`` are
matrix-free (``jax.jvp`` / ``jax.vjp``).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

__all__ = ["tree_dot", "tree_axpy", "consensus_direction", "sga_direction", "UPDATE_RULES"]

UPDATE_RULES = ("alternating", "simultaneous", "consensus", "sga", "extragradient", "optimistic")


def tree_dot(a: Any, b: Any) -> jax.Array:
    """``<a, b>`` summed over all leaves."""
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def tree_axpy(alpha: jax.Array, x: Any, y: Any) -> Any:
    """``alpha x + y`` leaf by leaf."""
    return jax.tree.map(lambda u, v: alpha * u + v, x, y)


def consensus_direction(xi_fn: Callable, params: Any, gamma: jax.Array) -> tuple[Any, Any]:
    """Consensus optimisation (Mescheder et al. 2017, Alg. 2): ``xi + gamma J^T xi``.

    ``J^T xi = grad (1/2 ||xi||^2)`` is the gradient of the regulariser ``L = 1/2 ||xi||^2``.

    Returns:
      ``(direction, xi)``.
    """
    xi, vjp = jax.vjp(xi_fn, params)
    (jt_xi,) = vjp(xi)
    return tree_axpy(gamma, jt_xi, xi), xi


def sga_direction(xi_fn: Callable, params: Any, lam: jax.Array, align: bool = True) -> tuple[Any, Any]:
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Alg. 1): ``xi + lambda A^T xi``.

    ``A^T xi = (J^T xi - J xi) / 2``. With ``align``, ``lambda`` takes the sign of
    ``<xi, grad H> <A^T xi, grad H> / n + 0.1`` where ``grad H = J^T xi`` and ``n`` is the number of
    parameter tensors, so the adjustment points towards stable fixed points and away from unstable
    ones.

    Returns:
      ``(direction, xi)``.
    """
    xi, vjp = jax.vjp(xi_fn, params)
    (jt_xi,) = vjp(xi)
    _, j_xi = jax.jvp(xi_fn, (params,), (xi,))
    at_xi = jax.tree.map(lambda a, b: 0.5 * (a - b), jt_xi, j_xi)
    if align:
        n = len(jax.tree.leaves(params))
        lam = lam * jnp.sign(tree_dot(xi, jt_xi) * tree_dot(at_xi, jt_xi) / n + 0.1)
    return tree_axpy(lam, at_xi, xi), xi
