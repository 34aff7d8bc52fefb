"""The players' networks by name (``Config.arch``): what the engine builds its generator and
critic from. A new architecture is one entry of :data:`ARCHS`.

Every architecture gives ``(generator, critic, critic_input)``: flax modules used only through
pure ``init`` / ``apply``, the generator mapping ``z [n, L]`` to ``[n, *target.event_shape]`` and
the critic a packed batch ``[n, *critic_input]`` to ``(logits [n], features [n, F])``.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import numpy as np
from flax import linen as nn

from mcjax._validation import ConfigError
from mcjax.systems.gan import convnets, nets

__all__ = ["Players", "ARCHS", "make_players", "check_arch", "packed_shape", "in_batches",
           "player_sizes"]


class Players(NamedTuple):
    """The two networks of a config (see the module docstring)."""

    generator: nn.Module
    critic: nn.Module
    critic_input: tuple  # shape of one packed critic input
    batch_statistics: bool = False  # the generator normalises with its batch's statistics


def in_batches(apply: Callable, z: jax.Array, size: int) -> jax.Array:
    """``apply(z)`` for a generator whose output depends on its batch (batch normalisation with
    the batch's statistics), evaluated on batches of exactly ``size`` latents, the size it trains
    on, one after another (``lax.map``: the memory of one batch): ``floor(n / size)`` disjoint
    batches, and the last ``size`` latents for the remainder (its outputs taken from that batch).
    ``n <= size``: one batch of ``n``."""
    n = z.shape[0]
    if n <= size:
        return apply(z)
    full = (n // size) * size
    out = jax.lax.map(apply, z[:full].reshape((n // size, size) + z.shape[1:]))
    out = out.reshape((full,) + out.shape[2:])
    if full == n:
        return out
    tail = apply(z[n - size:])[size - (n - full):]
    return jax.numpy.concatenate([out, tail])


def packed_shape(event_shape: tuple, pack: int) -> tuple:
    """One critic input's shape: ``(m D,)`` for points, ``(H, W, m C)`` for images (PacGAN packs
    images along channels)."""
    if len(event_shape) == 1:
        return (event_shape[0] * pack,)
    return tuple(event_shape[:-1]) + (event_shape[-1] * pack,)


class _Reshaped(nn.Module):
    """A flat generator's ``[n, D]`` output as ``[n, *event_shape]``."""

    inner: nn.Module
    event_shape: tuple

    def __call__(self, z: jax.Array) -> jax.Array:
        return self.inner(z).reshape((z.shape[0],) + tuple(self.event_shape))


def _mlp(cfg: Any, target: Any) -> Players:
    gen = nets.generator(cfg.width, cfg.depth, target.dim, cfg.activation)
    if len(target.event_shape) > 1:
        gen = _Reshaped(gen, tuple(target.event_shape))
    crit = nets.critic(cfg.width, cfg.depth, cfg.activation, mbd_kernels=cfg.mbd_kernels,
                       mbd_dim=cfg.mbd_dim, mbstd=cfg.mbstd)
    return Players(gen, crit, packed_shape(tuple(target.event_shape), cfg.pack))


def _dcgan(cfg: Any, target: Any) -> Players:
    gen = convnets.DCGANGenerator(cfg.width, tuple(target.event_shape))
    crit = convnets.DCGANCritic(cfg.width, mbd_kernels=cfg.mbd_kernels, mbd_dim=cfg.mbd_dim,
                                mbstd=cfg.mbstd)
    return Players(gen, crit, packed_shape(tuple(target.event_shape), cfg.pack),
                   batch_statistics=True)


def _check_dcgan(cfg: Any, target: Any) -> None:
    shape = tuple(target.event_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4:
        raise ConfigError(f"arch='dcgan' needs an image target of shape (H, W, C) with H and W "
                          f"divisible by 4 (stacked-mnist, stacked-digits), got target "
                          f"{cfg.target!r} with samples of shape {shape}; use arch='mlp'")
    if cfg.depth != 2 or cfg.activation != "relu":
        raise ConfigError(f"arch='dcgan' has a fixed depth and activations (mcjax.systems.gan."
                          f"convnets); depth and activation apply to arch='mlp' only, got "
                          f"depth={cfg.depth}, activation={cfg.activation!r}")


# name -> (build(cfg, target) -> Players, check(cfg, target) or None)
ARCHS: dict[str, tuple[Callable, Callable | None]] = {
    "mlp": (_mlp, None),
    "dcgan": (_dcgan, _check_dcgan),
}


def check_arch(cfg: Any, target: Any) -> None:
    """Raises ``ConfigError`` when ``cfg.arch`` cannot build players for ``target``."""
    check = ARCHS[cfg.arch][1]
    if check is not None:
        check(cfg, target)


def make_players(cfg: Any, target: Any) -> Players:
    """The generator and critic of ``cfg.arch`` for ``target``."""
    return ARCHS[cfg.arch][0](cfg, target)


def _floats(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def player_sizes(cfg: Any, target: Any) -> tuple[int, int, int]:
    """``(weights, generator activations, critic activations)`` in floats, the activations per
    sample: both players' parameter count and the sizes of every layer's output for one sample
    (one packed critic input), read from ``jax.eval_shape`` (nothing is computed or compiled).

    A lower bound on what a step holds: the convolutions' patch matrices (``k^2`` times their
    input) are not layer outputs and are left out.
    """
    players = make_players(cfg, target)
    z = jax.ShapeDtypeStruct((2, cfg.latent_dim), jax.numpy.float32)
    x = jax.ShapeDtypeStruct((2, *players.critic_input), jax.numpy.float32)
    key = jax.random.key(0)
    g = jax.eval_shape(players.generator.init, key, z)
    d = jax.eval_shape(players.critic.init, key, x)
    _, g_acts = jax.eval_shape(
        lambda p, zz: players.generator.apply(p, zz, capture_intermediates=True), g, z)
    _, d_acts = jax.eval_shape(
        lambda p, xx: players.critic.apply(p, xx, capture_intermediates=True), d, x)
    per = lambda acts: _floats(acts["intermediates"]) // 2  # two samples were traced
    return _floats(g["params"]) + _floats(d["params"]), per(g_acts), per(d_acts)
