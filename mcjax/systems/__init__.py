"""Systems that the sweep machinery trains: each a ``make_system(config) -> System``
(``mcjax.core.system``). ``gan``: generative adversarial networks and their remedies."""

from mcjax.core.system import add_config_finder as _add_config_finder


def _import_builtin_systems() -> None:
    from mcjax.systems.registry import systems

    systems()


_add_config_finder(_import_builtin_systems)
