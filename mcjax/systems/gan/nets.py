"""Generator and critic: MLPs as Flax modules, used only through pure ``init`` / ``apply``.

The critic returns its logits *and* its last hidden features (for feature matching), and can end
with the minibatch layers of Salimans et al. 2016 (minibatch discrimination) and Karras et al. 2018
(minibatch standard deviation). Spectral normalisation (Miyato et al. 2018) is a pure transform of
the critic's parameters with its power-iteration state carried by the caller.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

__all__ = [
    "MLP",
    "Critic",
    "critic_head",
    "ACTIVATIONS",
    "generator",
    "critic",
    "minibatch_discrimination",
    "minibatch_stddev",
    "spectral_norm_init",
    "spectral_normalize",
]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2),
    "tanh": jnp.tanh,
    "elu": nn.elu,
    "gelu": nn.gelu,
}


class MLP(nn.Module):
    """``len(hidden)`` hidden layers with ``activation``, then a linear layer of ``out_dim`` units."""

    hidden: Sequence[int]
    out_dim: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.hidden):
            x = act(nn.Dense(width, name=f"hidden_{i}")(x))
        return nn.Dense(self.out_dim, name="out")(x)


def minibatch_discrimination(h: jax.Array, T: jax.Array, n_kernels: int, kernel_dim: int) -> jax.Array:
    """Minibatch-discrimination features (Salimans et al. 2016, Sec. 3.2).

    ``M = h T`` reshaped to ``[B, n_kernels, kernel_dim]``; ``c_b(x_i, x_j) = exp(-||M_{i,b} -
    M_{j,b}||_1)``; ``o_b(x_i) = sum_j c_b(x_i, x_j) - 1`` (the ``j = i`` term, 1, removed).

    Args:
      h: ``[B, F]`` features.
      T: ``[F, n_kernels * kernel_dim]`` learned tensor.

    Returns:
      ``[B, n_kernels]``.
    """
    M = (h @ T).reshape(h.shape[0], n_kernels, kernel_dim)
    l1 = jnp.sum(jnp.abs(M[:, None, :, :] - M[None, :, :, :]), axis=-1)  # [B, B, n_kernels]
    return jnp.sum(jnp.exp(-l1), axis=1) - 1.0


def minibatch_stddev(h: jax.Array) -> jax.Array:
    """Minibatch standard deviation (Karras et al. 2018, Sec. 3): the mean over features of the
    per-feature standard deviation over the batch, broadcast as one extra feature ``[B, 1]``."""
    std = jnp.sqrt(jnp.var(h, axis=0) + 1e-8)
    return jnp.broadcast_to(jnp.mean(std), (h.shape[0], 1))


def critic_head(module: nn.Module, x: jax.Array, mbd_kernels: int, mbd_dim: int,
                mbstd: bool) -> jax.Array:
    """The critic's last layers on its features ``x [B, F]``, inside ``module``'s ``nn.compact``
    call: the optional minibatch layers (parameter ``mbd_T``), then one dense output (``out``);
    returns the logits ``[B]``. Shared by every critic architecture."""
    extra = [x]
    if mbd_kernels:
        T = module.param("mbd_T", nn.initializers.normal(0.1), (x.shape[-1], mbd_kernels * mbd_dim))
        extra.append(minibatch_discrimination(x, T, mbd_kernels, mbd_dim))
    if mbstd:
        extra.append(minibatch_stddev(x))
    x = jnp.concatenate(extra, axis=-1) if len(extra) > 1 else x
    return nn.Dense(1, name="out")(x)[:, 0]


class Critic(nn.Module):
    """MLP critic ``[B, in] -> (logits [B], features [B, width])``; an image batch
    ``[B, H, W, C]`` is flattened first.

    Attributes:
      hidden: hidden widths.
      activation: a key of ``ACTIVATIONS``.
      mbd_kernels: minibatch-discrimination kernels (0: off); ``mbd_dim`` their dimension.
      mbstd: append the minibatch standard-deviation feature.
    """

    hidden: Sequence[int]
    activation: str = "relu"
    mbd_kernels: int = 0
    mbd_dim: int = 5
    mbstd: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        act = ACTIVATIONS[self.activation]
        x = x.reshape(x.shape[0], -1)
        for i, width in enumerate(self.hidden):
            x = act(nn.Dense(width, name=f"hidden_{i}")(x))
        return critic_head(self, x, self.mbd_kernels, self.mbd_dim, self.mbstd), x


def generator(width: int, depth: int, data_dim: int, activation: str = "relu") -> MLP:
    """Generator ``G: R^latent -> R^data_dim`` with ``depth`` hidden layers of ``width`` units."""
    return MLP(hidden=(width,) * depth, out_dim=data_dim, activation=activation)


def critic(width: int, depth: int, activation: str = "relu", *, mbd_kernels: int = 0,
           mbd_dim: int = 5, mbstd: bool = False) -> Critic:
    """Critic with ``depth`` hidden layers of ``width`` units (see :class:`Critic`)."""
    return Critic(hidden=(width,) * depth, activation=activation, mbd_kernels=mbd_kernels,
                  mbd_dim=mbd_dim, mbstd=mbstd)


def _is_kernel(path) -> bool:
    return getattr(path[-1], "key", None) == "kernel"


def spectral_norm_init(params: Any, key: jax.Array) -> Any:
    """Power-iteration state: one unit vector ``u [out]`` per Dense kernel, ``None`` elsewhere."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    keys = jax.random.split(key, len(leaves))
    it = iter(range(len(leaves)))

    def make(path, w):
        k = keys[next(it)]
        if not _is_kernel(path):
            return None
        u = jax.random.normal(k, (w.shape[-1],), w.dtype)
        return u / jnp.linalg.norm(u)

    return jax.tree_util.tree_map_with_path(make, params)


def spectral_normalize(params: Any, u_state: Any, n_iter: int = 1) -> tuple[Any, Any]:
    """Divides every Dense kernel ``W [in, out]`` by its largest singular value (Miyato et al. 2018);
    a convolution's kernel ``[kh, kw, in, out]`` is taken as the matrix ``[kh kw in, out]``, as
    Miyato et al. do.

    ``sigma`` is estimated by ``n_iter`` power iterations from ``u``: ``v = W u / ||W u||``,
    ``u' = W^T v / ||W^T v||``, ``sigma = v^T W u'``; ``u, v`` carry no gradient, ``sigma`` does
    (Miyato et al. 2018, Alg. 1).

    Returns:
      ``(normalised params, new u state)``.
    """

    def one(path, kernel, u):
        if u is None or not _is_kernel(path):
            return kernel, u
        w = kernel.reshape(-1, kernel.shape[-1])  # a convolution's [kh, kw, in, out] as [kh kw in, out]
        for _ in range(n_iter):
            v = w @ u
            v = v / (jnp.linalg.norm(v) + 1e-12)
            u = w.T @ v
            u = u / (jnp.linalg.norm(u) + 1e-12)
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = v @ (w @ u)
        return kernel / sigma, u

    pairs = jax.tree_util.tree_map_with_path(one, params, u_state, is_leaf=lambda x: x is None)
    is_pair = lambda x: isinstance(x, tuple) and len(x) == 2
    new_params = jax.tree.map(lambda p: p[0], pairs, is_leaf=is_pair)
    new_u = jax.tree.map(lambda p: p[1], pairs, is_leaf=is_pair)
    return new_params, new_u
