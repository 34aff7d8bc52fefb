"""Measurement of what a generator covers, against any :class:`~mcjax.targets.Target`.

Mode metrics depend on the target protocol only (``assign``, ``n_modes``, ``hq_threshold``), feature
metrics (Frechet distance, PRDC) on feature arrays only; never on a system or on training code.
"""

from mcjax.metrics.features import PRDC as PRDC
from mcjax.metrics.features import frechet_distance as frechet_distance
from mcjax.metrics.features import frechet_distance_from_moments as frechet_distance_from_moments
from mcjax.metrics.features import prdc as prdc
from mcjax.metrics.modes import ModeStats as ModeStats
from mcjax.metrics.modes import collapse_classes as collapse_classes
from mcjax.metrics.modes import hill_numbers as hill_numbers
from mcjax.metrics.modes import kl_to_uniform as kl_to_uniform
from mcjax.metrics.modes import mode_histogram as mode_histogram
from mcjax.metrics.modes import mode_stats as mode_stats
