"""Generator and critic: MLPs as Flax modules, used only through pure ``init`` / ``apply``."""
from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

__all__ = ["MLP", "ACTIVATIONS", "generator", "critic"]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2),
    "tanh": jnp.tanh,
    "elu": nn.elu,
    "gelu": nn.gelu,
}


class MLP(nn.Module):
    """``len(hidden)`` hidden layers with ``activation``, then a linear layer of ``out_dim`` units.

    Attributes:
      hidden: widths of the hidden layers.
      out_dim: output width.
      activation: a key of ``ACTIVATIONS``.
    """

    hidden: Sequence[int]
    out_dim: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.hidden):
            x = act(nn.Dense(width, name=f"hidden_{i}")(x))
        return nn.Dense(self.out_dim, name="out")(x)


def generator(width: int, depth: int, data_dim: int, activation: str = "relu") -> MLP:
    """Generator ``G: R^latent -> R^data_dim`` with ``depth`` hidden layers of ``width`` units."""
    return MLP(hidden=(width,) * depth, out_dim=data_dim, activation=activation)


def critic(width: int, depth: int, activation: str = "relu") -> MLP:
    """Critic ``D: R^in -> R`` (one logit/score per row) with ``depth`` hidden layers."""
    return MLP(hidden=(width,) * depth, out_dim=1, activation=activation)
