"""Registries of GAN parts: each entry names a part, says when a config selects it, and builds it.

The engine composes whatever the registries select for a config; adding a part is a new entry in
its module's registry, never an edit of the engine.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

__all__ = ["Entry", "selected", "check_selected"]


class Entry(NamedTuple):
    """A registered part.

    Attributes:
      name: the part's name.
      when: ``(config) -> bool``: whether ``config`` uses the part.
      build: ``(config) -> part``.
      check: ``(config) -> None``, raising ``ConfigError`` when ``config`` cannot use the part
        (run by ``Config`` validation, before anything is compiled); ``None``: no condition.
    """

    name: str
    when: Callable[[Any], bool]
    build: Callable[[Any], Any]
    check: Callable[[Any], None] | None = None


def selected(entries: Sequence[Entry], config: Any) -> tuple:
    """The parts of ``entries`` that ``config`` selects, built, in registry order."""
    return tuple(e.build(config) for e in entries if e.when(config))


def check_selected(entries: Sequence[Entry], config: Any) -> None:
    """Runs the ``check`` of every part of ``entries`` that ``config`` selects."""
    for e in entries:
        if e.check is not None and e.when(config):
            e.check(config)
