"""Step-size tuning of a GAN optimizer: a tied learning-rate grid in one program, a fixed criterion.

Stage 1 trains ``L`` learning rates ``lr_g = lr_d = eta_l`` (tied: both players take the same
step) x ``N_tune`` seeds as one compiled, vmapped program (:func:`tied_lr_experiment`; the rates
are traced ``HParams`` values). Each run scores (:func:`tuning_scores`)

    ``score = (modes covered / K) * HQ fraction``,  0 for a diverged run,

which is high only when the generator both covers modes and puts its samples on them (a diffuse
cloud covers every mode at HQ ~ 0; a collapsed generator is HQ but covers few). The chosen rate
(:func:`pick_step_size`) maximises the mean score over seeds; ties go to the smaller rate. The
criterion is fixed before any run is seen. Stage 2 trains the chosen rate on fresh seeds (a seed
offset disjoint from stage 1's), so the reported numbers are not those the choice was made on.
"""
from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

from mcjax._validation import ConfigError

__all__ = ["tied_lr_experiment", "tuning_scores", "pick_step_size", "check_optimizer"]


def check_optimizer(name: str) -> None:
    """Raises ``ConfigError`` (one line, naming the allowed names or the missing extra) unless the
    optimizer ``name`` can be built here; nothing is compiled."""
    from mcjax._validation import check_choice
    from mcjax.systems.gan.optimizers import OPTIMIZERS, _import_psgd_kron

    check_choice("optimizer", name, OPTIMIZERS)
    if name == "kron":
        _import_psgd_kron()  # ConfigError: optimizer 'kron' needs ... pip install "mcjax[kron]"


def tied_lr_experiment(spec, lrs: Sequence[float], label: str | None = None):
    """One :class:`~mcjax.Experiment` of ``spec``'s single remedy whose settings are
    ``lr_g = lr_d = lr`` for each of ``lrs`` (every other hyperparameter the remedy's), one
    compiled program for all of them.

    Args:
      spec: a :class:`~mcjax.RunSpec` with one remedy and no ``sweep``.
      lrs: distinct positive learning rates.
      label: the experiment's label (default: the remedy).

    Raises:
      ConfigError: a bad rate, or a spec with several remedies or its own sweep.
    """
    from mcjax.core.sweep import Experiment
    from mcjax.systems.gan.config import make_hparams, stack_hparams

    lrs = [float(v) for v in lrs]
    if not lrs or len(set(lrs)) != len(lrs) or min(lrs) <= 0:
        raise ConfigError(f"learning rates must be distinct positive numbers, got {lrs}")
    if len(spec.remedy) != 1 or spec.sweep:
        raise ConfigError(f"tied_lr_experiment needs one remedy and no --sweep, got remedy="
                          f"{list(spec.remedy)}, sweep={list(spec.sweep)}")
    (exp,) = spec.experiments()
    base = jax.tree.map(lambda a: float(np.asarray(a)[0]), exp.hparams)._asdict()
    settings = [make_hparams(**{**base, "lr_g": v, "lr_d": v}) for v in lrs]
    return Experiment(label or exp.label, exp.config, stack_hparams(settings),
                      tuple(f"lr={v:g}" for v in lrs))


def tuning_scores(modes: np.ndarray, hq: np.ndarray, diverged: np.ndarray, n_modes: int
                  ) -> np.ndarray:
    """Per-run score ``(modes / K) * hq``, 0 where the run diverged; arrays of one shape."""
    modes, hq = np.asarray(modes, np.float64), np.asarray(hq, np.float64)
    score = modes / n_modes * hq
    return np.where(np.asarray(diverged, bool), 0.0, score)


def pick_step_size(lrs: Sequence[float], scores: np.ndarray) -> int:
    """Index into ``lrs`` of the rate with the highest mean score over seeds (``scores [L, N]``);
    among equal means the smallest rate."""
    lrs = np.asarray(lrs, np.float64)
    mean = np.asarray(scores, np.float64).mean(axis=1)
    if mean.shape != lrs.shape:
        raise ConfigError(f"scores need one row per learning rate: {mean.shape} vs {lrs.shape}")
    best = mean.max()
    return int(min(np.flatnonzero(mean == best), key=lambda i: lrs[i]))
