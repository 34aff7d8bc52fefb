"""Systems by name, for the command line: each registers its own options and spec builder.

``mcjax sweep --system NAME`` builds its parser from the common options and ``NAME``'s
:class:`SystemEntry` (``add_arguments``), then turns the parsed options into that system's run
spec (``spec_from_args``); ``mcjax systems`` lists the entries. A system registers an entry with
:func:`register_system` in its ``cli`` module, listed in :data:`BUILTIN`; nothing else knows
which systems exist.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Any, Callable, NamedTuple

from mcjax._validation import check_choice

__all__ = ["SystemEntry", "register_system", "systems", "get_system", "option_strings",
           "DEFAULT_SYSTEM", "BUILTIN"]

DEFAULT_SYSTEM = "gan"
BUILTIN = ("mcjax.systems.gan.cli", "mcjax.systems.wright_fisher.cli", "mcjax.systems.vae.cli",
           "mcjax.systems.decoding.cli", "mcjax.systems.ga.cli", "mcjax.systems.smc.cli",
           "mcjax.systems.recursive.cli")


class SystemEntry(NamedTuple):
    """What the command line needs of a system.

    Attributes:
      name: the ``--system`` value (the ``system`` name of its config and spec).
      description: one line for ``mcjax systems``.
      add_arguments: ``(parser) -> None``: adds the system's own ``mcjax sweep`` options (``--seeds``,
        ``--remedy`` and ``--sweep`` among them, each with its own defaults).
      spec_from_args: ``(args) -> spec``: the run spec (:class:`~mcjax.core.run.Spec`) of the parsed
        options.
      describe_remedies: ``() -> str``: its remedies with parameters and references
        (``mcjax remedies --system NAME``).
      remedy_names: ``() -> list``: the remedies' names (``mcjax systems``).
      references: the papers the system and its closed forms come from.
      flag_names: ``ConfigError`` messages starting with one of these spec field names are shown
        as the option (``steps must ...`` -> ``--steps must ...``).
    """

    name: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    spec_from_args: Callable[[argparse.Namespace], Any]
    describe_remedies: Callable[[], str]
    remedy_names: Callable[[], list]
    references: tuple = ()
    flag_names: tuple = ()


_SYSTEMS: dict[str, SystemEntry] = {}


def register_system(entry: SystemEntry) -> SystemEntry:
    """Makes ``entry`` available as ``mcjax sweep --system <entry.name>``."""
    _SYSTEMS[entry.name] = entry
    return entry


def systems() -> dict[str, SystemEntry]:
    """Every registered system (the :data:`BUILTIN` ones imported first), in registration order."""
    for module in BUILTIN:
        importlib.import_module(module)
    return dict(_SYSTEMS)


def get_system(name: str) -> SystemEntry:
    """The entry of system ``name``; ``ConfigError`` naming the registered ones otherwise."""
    found = systems()
    check_choice("system", name, found)
    return found[name]


def option_strings(entry: SystemEntry) -> set[str]:
    """The option strings (``--arch``, ...) that ``entry.add_arguments`` defines."""
    parser = argparse.ArgumentParser(add_help=False)
    entry.add_arguments(parser)
    return {s for a in parser._actions for s in a.option_strings}
