"""Wrappers: parts that keep state beside the players and act around each step.

A :class:`Wrapper` owns its state NamedTuple: ``init(g_params, d_params, key) -> state``;
``before_step(state, d_params) -> state`` (before the players move); ``critic_params(d_params,
state) -> d_params`` (the parameters the critic is applied with); ``after_step(state, hp,
g_params) -> state`` (after they moved); ``evaluate(state, stats_of) -> dict`` (extra logged
statistics; ``stats_of(g_params)`` gives the mode statistics of a generator on the evaluation
latents). ``keyed`` wrappers get a key at init.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax

from mcjax.systems.gan import nets
from mcjax.systems.gan.parts import Entry

__all__ = ["Wrapper", "SpectralNormState", "EmaState", "spectral_norm", "ema", "WRAPPERS"]


class Wrapper(NamedTuple):
    """A stateful part around the step (see the module docstring)."""

    init: Callable
    before_step: Callable = lambda state, d_params: state
    critic_params: Callable = lambda d_params, state: d_params
    after_step: Callable = lambda state, hp, g_params: state
    evaluate: Callable = lambda state, stats_of: {}
    keyed: bool = False


class SpectralNormState(NamedTuple):
    """Power-iteration vectors ``u`` of each critic kernel (``None`` at other leaves)."""

    u: Any


def spectral_norm() -> Wrapper:
    """Every critic kernel divided by its spectral norm (Miyato et al. 2018), one power iteration
    a step before the players move (``mcjax.systems.gan.nets.spectral_normalize``)."""
    return Wrapper(
        init=lambda g_params, d_params, key: SpectralNormState(nets.spectral_norm_init(d_params, key)),
        before_step=lambda s, d_params: SpectralNormState(nets.spectral_normalize(d_params, s.u)[1]),
        critic_params=lambda d_params, s: nets.spectral_normalize(d_params, s.u)[0],
        keyed=True,
    )


class EmaState(NamedTuple):
    """The exponential moving average of the generator's parameters."""

    average: Any


def ema() -> Wrapper:
    """``avg <- decay avg + (1 - decay) g`` after every step, decay ``hp.ema_decay`` (Yazici et al.
    2019); the average generator's statistics are logged beside the raw ones, prefixed ``ema_``."""

    def after_step(s, hp, g_params):
        return EmaState(jax.tree.map(lambda e, p: hp.ema_decay * e + (1.0 - hp.ema_decay) * p,
                                     s.average, g_params))

    return Wrapper(
        init=lambda g_params, d_params, key: EmaState(g_params),
        after_step=after_step,
        evaluate=lambda s, stats_of: {"ema_" + k: v for k, v in stats_of(s.average).items()},
    )


WRAPPERS: tuple[Entry, ...] = (
    Entry("spectral-norm", lambda cfg: cfg.spectral_norm, lambda cfg: spectral_norm()),
    Entry("ema", lambda cfg: cfg.ema, lambda cfg: ema()),
)
