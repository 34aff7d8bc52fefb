"""The System contract: what the sweep machinery needs of anything that trains, evolves or samples.

A :class:`System` is a triple of pure functions, the way ``optax.GradientTransformation`` is a
pair: ``init(hparams, key) -> state``, ``advance(hparams, state, n_logs) -> (state, history)`` and
``evaluate(state) -> (stats, samples)``. A GAN, a Wright-Fisher population, a genetic algorithm, a
particle filter or a beam search is a System; sweeps (vmap over settings x seeds, sharded over
devices), chunked checkpoints, resume, results, tables and figures then come for free.

Contracts, checked by :func:`check_system` on abstract shapes (nothing is compiled):

* ``hparams`` is a flat pytree of per-run float32 scalars: a ``NamedTuple`` or a ``dict`` whose
  values are scalars (a sweep stacks them along a leading run axis and vmaps). They are traced:
  changing their values never recompiles.
* ``state`` is a pytree with boolean ``diverged`` and int32 ``diverged_step`` scalars (attributes
  of a ``NamedTuple``). A run that hits a non-finite value keeps its last finite state, sets
  ``diverged`` and records the step; it must never change the other runs of a sweep.
* ``advance`` runs ``n_logs`` logging intervals (``n_logs`` is static: a Python int) inside one
  ``lax.scan`` and returns ``history``, a dict of arrays with leading axis ``n_logs`` that holds
  ``"step"`` (int32: steps done when the entry was logged) and the metrics the system logs.
  Calling it twice with ``n`` equals calling it once with ``2 n`` (chunked runs and resume rely
  on it).
* ``evaluate`` returns the final ``stats`` (a dict of arrays) and ``samples`` ``[n, ...]`` of the
  run's output (generated points, final population, particles, ...), of which the results keep
  ``config.keep_samples``.

The static configuration of a system is a frozen, hashable dataclass satisfying
:class:`SystemConfig`: one config is one compilation. Results files store ``config.system`` (the
system's registered name) beside ``config.to_dict()``, and :func:`config_from_dict` reads them back
through the registry that :func:`register_config` fills.
"""
from __future__ import annotations

from typing import Any, Callable, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from mcjax._validation import ConfigError, check_choice

__all__ = ["System", "SystemConfig", "register_config", "config_from_dict", "add_config_finder",
           "hparams_dict", "abstract_hparams", "check_system", "SYSTEM_CONFIGS"]


class System(NamedTuple):
    """A trainable system as pure functions (see the module docstring for the contracts).

    Attributes:
      init: ``(hparams, key) -> state``; ``key`` a typed key (``jax.random.key(seed)``).
      advance: ``(hparams, state, n_logs) -> (state, history)``; ``n_logs`` static.
      evaluate: ``(state) -> (stats, samples)``.
    """

    init: Callable[[Any, jax.Array], Any]
    advance: Callable[[Any, Any, int], tuple[Any, dict]]
    evaluate: Callable[[Any], tuple[dict, jax.Array]]


@runtime_checkable
class SystemConfig(Protocol):
    """The static configuration of a system: a frozen, hashable dataclass.

    Attributes:
      system: the registered name of the system kind (class attribute), e.g. ``"gan"``.
      steps: steps of one whole run.
      log_every: steps per logging interval; divides ``steps``.
      keep_samples: samples per run kept in the results.
    """

    system: ClassVar[str]
    steps: int
    log_every: int
    keep_samples: int

    @property
    def n_logs(self) -> int: ...

    def make_system(self) -> System: ...

    def default_hparams(self) -> Any:
        """Hyperparameters of one run with their default values: the structure every setting of an
        :class:`~mcjax.core.sweep.Experiment` of this config must have."""

    def describe(self) -> dict:
        """Plain-Python constants of the reference distribution (``n_modes`` among them), pinned
        in results files."""

    def to_dict(self) -> dict: ...


SYSTEM_CONFIGS: dict[str, type] = {}


def register_config(cls: type) -> type:
    """Class decorator: makes results and checkpoints of ``cls.system`` loadable by name."""
    name = getattr(cls, "system", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a class attribute `system` naming its kind")
    SYSTEM_CONFIGS[name] = cls
    return cls


_CONFIG_FINDERS: list = []


def add_config_finder(find) -> None:
    """Registers ``find()``: called when a config names a system not registered yet, it imports
    (and so registers) the systems it knows; :mod:`mcjax.systems` adds its built-in registry."""
    if find not in _CONFIG_FINDERS:
        _CONFIG_FINDERS.append(find)


def config_from_dict(d: dict, system: str = "gan") -> Any:
    """The config of the registered system ``system`` from its ``to_dict()``.

    A system that has not been imported yet (``SweepResult.load`` of a VAE sweep in a fresh
    process) is looked for by the finders of :func:`add_config_finder` first.
    """
    if system not in SYSTEM_CONFIGS:
        for find in _CONFIG_FINDERS:
            find()
    check_choice("system", system, SYSTEM_CONFIGS)
    return SYSTEM_CONFIGS[system].from_dict(d)


def hparams_dict(hparams: Any) -> dict[str, Any]:
    """``name -> value`` of a flat hyperparameter pytree (a NamedTuple or a dict)."""
    if hasattr(hparams, "_asdict"):
        return dict(hparams._asdict())
    if isinstance(hparams, dict):
        return dict(hparams)
    raise ConfigError(f"hparams must be a NamedTuple or a dict of scalars, got {type(hparams).__name__}")


def abstract_hparams(hparams: Any, n_runs: int) -> Any:
    """The structure of ``hparams`` with every leaf a float32 ``[n_runs]`` shape (nothing computed)."""
    return jax.tree.map(lambda _: jax.ShapeDtypeStruct((n_runs,), jnp.float32), hparams)


def check_system(system: System, hparams: Any) -> None:
    """Checks the contracts of the module docstring on abstract shapes of one run.

    Raises:
      ConfigError: naming the contract that ``system`` breaks.
    """
    hp = jax.tree.map(lambda v: jax.ShapeDtypeStruct(np.shape(v), jnp.float32), hparams)
    if any(s.shape != () for s in jax.tree.leaves(hp)):
        raise ConfigError("System hparams must be scalars per run")
    state = jax.eval_shape(lambda h: system.init(h, jax.random.key(0)), hp)
    for name, dtype in (("diverged", jnp.bool_), ("diverged_step", jnp.int32)):
        leaf = getattr(state, name, None)
        if leaf is None or leaf.shape != () or leaf.dtype != dtype:
            raise ConfigError(f"a System state needs a scalar {dtype.__name__} `{name}`, got {leaf!r}")
    new, history = jax.eval_shape(lambda h, s: system.advance(h, s, 2), hp, state)
    if jax.tree.structure(new) != jax.tree.structure(state):
        raise ConfigError("System.advance must return a state of the structure init returns")
    if "step" not in history:
        raise ConfigError(f"System.advance's history must hold 'step'; it holds {sorted(history)}")
    bad = {k: v.shape for k, v in history.items() if v.shape[:1] != (2,)}
    if bad:
        raise ConfigError(f"System.advance(..., n_logs=2) history entries need leading axis 2: {bad}")
