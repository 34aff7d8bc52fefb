"""Per-run features and outcome of the collapse-prediction study (issue 14), from a GAN sweep's
logged history (``Config(log_collapse=True)``, optionally ``log_dynamics=True``).

* **Outcome** (:func:`collapse_outcome`): modes covered averaged over the logs in the last
  ``last`` share of training (each log on ``eval_samples`` points), so the label is not one noisy
  reading; *collapsed* = that average is below the target's number of modes.
* **Features** (:func:`run_features`): every logged measurement read at early times (shares of
  training), grouped by the mechanism it measures (:data:`FEATURE_GROUPS`). ``coverage`` is what a
  user already sees (how many modes are covered so far); the other groups are the mechanisms.

Everything here is NumPy on the saved history: the study can be re-analysed without training.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mcjax._validation import ConfigError
from mcjax.analysis.collapse import mode_hopping
from mcjax.core.results import GroupResult

__all__ = ["FEATURE_GROUPS", "collapse_outcome", "log_index", "run_features"]

# feature name -> group; history keys read directly unless derived below
FEATURE_GROUPS = {
    "modes_covered": "coverage", "hq_fraction": "coverage", "reverse_kl": "coverage",
    "occupancy_entropy": "coverage",
    "flux_uncovered": "flux", "flux_min": "flux", "flux_abs": "flux",
    "critic_grad_real": "critic", "critic_grad_fake": "critic", "critic_grad_ratio": "critic",
    "toward_uncovered": "critic",
    "stretch_mean": "stretch", "stretch_max": "stretch", "between_modes": "stretch",
    "hops": "hopping", "dwell_mean": "hopping",
    "rotation_index": "dynamics", "grad_norm": "dynamics", "g_hessian_max": "dynamics",
    "g_hessian_min": "dynamics", "d_hessian_max": "dynamics", "d_hessian_min": "dynamics",
    "d_loss": "losses", "g_loss": "losses",
}


def log_index(group: GroupResult, fraction: float) -> int:
    """Index of the last log at or before ``fraction`` of training (at least the first log).

    Raises:
      ConfigError: ``fraction`` is not in (0, 1].
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"feature times are shares of training in (0, 1], got {fraction!r}")
    steps = np.asarray(group.log_steps)
    return max(int(np.searchsorted(steps, fraction * group.config.steps, side="right")) - 1, 0)


def collapse_outcome(group: GroupResult, last: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``(outcome [S, N], collapsed [S, N])``: modes covered averaged over the logs with step
    ``> (1 - last) * steps``, and whether that average is below the target's number of modes.
    Diverged runs get ``nan`` and ``False``."""
    if not 0.0 < last <= 1.0:
        raise ConfigError(f"the outcome window is a share of training in (0, 1], got {last!r}")
    window = np.asarray(group.log_steps) > (1.0 - last) * group.config.steps
    outcome = np.mean(np.asarray(group.history["modes_covered"], np.float64)[..., window], axis=-1)
    outcome = np.where(group.diverged, np.nan, outcome)
    return outcome, (outcome < int(group.target["n_modes"])) & ~np.asarray(group.diverged)


def _derived(h: dict, i: int) -> dict:
    """The features that are not a history key, at log ``i``, each ``[S, N]``."""
    out = {"between_modes": 1.0 - h["hq_fraction"][:, :, i]}
    if "mode_flux" in h:
        flux = np.asarray(h["mode_flux"][:, :, i], np.float64)  # [S, N, K]
        missing = np.asarray(h["mode_counts"][:, :, i]) == 0
        out["flux_uncovered"] = np.sum(np.where(missing, flux, 0.0), axis=-1)
        out["flux_min"] = flux.min(axis=-1)
        out["flux_abs"] = np.abs(flux).sum(axis=-1)
        real = np.asarray(h["critic_grad_real"][:, :, i], np.float64)
        out["critic_grad_ratio"] = h["critic_grad_fake"][:, :, i] / np.maximum(real, 1e-12)
    counts = np.asarray(h["mode_counts"][:, :, : i + 1])  # [S, N, i+1, K]
    hops = np.zeros(counts.shape[:2])
    dwell = np.zeros(counts.shape[:2])
    for s, n in np.ndindex(*counts.shape[:2]):
        hop = mode_hopping(counts[s, n])
        lengths = [d for ds in hop.dwell.values() for d in ds]
        hops[s, n], dwell[s, n] = hop.changes, np.mean(lengths) if lengths else 0.0
    out["hops"], out["dwell_mean"] = hops, dwell
    return out


def run_features(group: GroupResult, fractions: Sequence[float]) -> dict[str, np.ndarray]:
    """``name -> [S, N, len(fractions)]``: each feature of :data:`FEATURE_GROUPS` that the
    history holds, read at the last log at or before each share of training in ``fractions``.

    Raises:
      ConfigError: no fraction given, or one outside (0, 1].
    """
    if not len(fractions):
        raise ConfigError("at least one feature time is needed")
    h = group.history
    columns: dict[str, list] = {}
    for f in fractions:
        i = log_index(group, f)
        values = {k: np.asarray(h[k][:, :, i], np.float64) for k in FEATURE_GROUPS if k in h}
        values.update(_derived(h, i))
        for k, v in values.items():
            columns.setdefault(k, []).append(np.asarray(v, np.float64))
    return {k: np.stack(columns[k], axis=-1) for k in FEATURE_GROUPS if k in columns}
