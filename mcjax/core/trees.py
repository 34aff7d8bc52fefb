"""Pytree arithmetic, said once: inner products and axpy over every leaf."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["tree_dot", "tree_axpy", "tree_norm"]


def tree_dot(a: Any, b: Any) -> jax.Array:
    """``<a, b>`` summed over all leaves."""
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def tree_axpy(alpha: jax.Array, x: Any, y: Any) -> Any:
    """``alpha x + y`` leaf by leaf."""
    return jax.tree.map(lambda u, v: alpha * u + v, x, y)


def tree_norm(a: Any) -> jax.Array:
    """``||a||_2`` over all leaves: ``sqrt(sum of squares)``."""
    return jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(a)))
