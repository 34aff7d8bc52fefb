"""Distributions with known modes: the :class:`Target` protocol and the Gaussian-mixture benchmarks.

``Target`` is the protocol (``event_shape``, ``dim``, ``n_modes``, ``hq_threshold``, ``sample``,
``assign``, ``describe``) that metrics depend on; ``GaussianMixture`` is the class that ``ring``,
``grid`` and ``high_dim`` build.
"""

from mcjax.targets.base import Target as Target
from mcjax.targets.mixtures import TARGETS as TARGETS
from mcjax.targets.mixtures import GaussianMixture as GaussianMixture
from mcjax.targets.mixtures import grid as grid
from mcjax.targets.mixtures import high_dim as high_dim
from mcjax.targets.mixtures import make_target as make_target
from mcjax.targets.mixtures import ring as ring
