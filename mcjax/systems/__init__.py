"""Systems that the sweep machinery trains: each a ``make_system(config) -> System``
(``mcjax.core.system``). ``gan``: generative adversarial networks and their remedies."""
