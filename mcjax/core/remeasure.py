"""Measure a finished sweep's final states again, with other evaluation settings, without training.

A sweep keeps every experiment's last state in its checkpoint (``checkpoints/experiment-NNN.npz``).
:func:`remeasure` loads those states and runs the ``evaluate`` of a config that differs only in how
it measures (``eval_samples``, ``feature_metrics``, ...): e.g. PRDC added after a CPU run that took
only the Frechet distance, or the modes counted on 26,000 samples after a run evaluated on 2,500.
Training settings cannot change here: the state must be the one the sweep trained, so the changed
config must give a state of the same structure and shapes, which is checked.

The evaluation runs on one device (``jax.jit`` of the vmapped ``evaluate``), outside any mesh:
a CPU LAPACK call cannot wait on a pool its own devices occupy (``mcjax.core.sweep``).

Example:
  >>> out = remeasure("runs/stacked_mnist/stacked-digits", eval_samples=10000,
  ...                 feature_metrics=("prdc",))
  >>> out["gan"]["precision"].shape   # [settings, seeds]
  (1, 8)
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Sequence

import jax
import numpy as np

from mcjax._validation import ConfigError
from mcjax.core.checkpoint import checkpoint_path, load_checkpoint, read_meta, restore_state
from mcjax.core.results import _cell, atomic_write
from mcjax.core.run import CHECKPOINTS, load_spec
from mcjax.core.sharding import to_host
from mcjax.core.sweep import state_shapes
from mcjax.core.tables import render_table

__all__ = ["remeasure", "remeasured_table", "save_remeasured"]


def _changed_config(cfg: Any, changes: dict[str, Any]) -> Any:
    fields = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise ConfigError(f"remeasure: {unknown} are not fields of {type(cfg).__name__}; "
                          f"allowed: {sorted(fields)}")
    new = cfg.replace(**changes)  # validates the values as the config's constructor does
    if new.n_logs != cfg.n_logs or new.steps != cfg.steps:
        raise ConfigError("remeasure changes how the final state is measured, not how it was "
                          "trained: steps and log_every must stay")
    return new


def _final_state(path: str, cfg: Any) -> tuple[Any, dict]:
    meta = read_meta(path)
    n_chunks = cfg.n_logs // int(meta["chunk"])
    if int(meta["chunks_done"]) != n_chunks:
        raise ConfigError(f"checkpoint {path!r} holds {meta['chunks_done']} of {n_chunks} chunks: "
                          "the sweep did not finish; resume it first")
    abstract = state_shapes(cfg, int(meta["n_pad"]))
    leaves, _, _, _ = load_checkpoint(path, abstract, {"config": cfg.to_dict()})
    return restore_state(leaves, abstract), meta


def remeasure(out_dir: str, **changes: Any) -> dict[str, dict[str, np.ndarray]]:
    """The final statistics of every run of the finished sweep in ``out_dir``, measured again by
    the ``evaluate`` of its config with ``changes`` applied.

    Args:
      out_dir: a folder written by ``mcjax sweep`` / :func:`mcjax.run` that finished.
      **changes: config fields to change, e.g. ``eval_samples=10000, feature_metrics=("prdc",)``;
        ``steps`` and ``log_every`` must stay.

    Returns:
      ``label -> name -> [settings, seeds]`` array of every scalar statistic per run (modes
      covered, reverse KL, the feature metrics, ...), in the sweep's experiment order.

    Raises:
      ConfigError: ``out_dir`` holds no sweep, a checkpoint is missing, damaged, unfinished or
        from another sweep, or a change is not a field, is invalid, or alters the training.
    """
    spec = load_spec(out_dir)
    out: dict[str, dict[str, np.ndarray]] = {}
    for i, exp in enumerate(spec.experiments()):
        path = checkpoint_path(os.path.join(out_dir, CHECKPOINTS), i)
        if not os.path.exists(path):
            raise ConfigError(f"{exp.label}: no checkpoint {path!r}; was the sweep run with "
                              "checkpoints and finished?")
        state, meta = _final_state(path, exp.config)
        new = _changed_config(exp.config, changes)
        if jax.tree.map(lambda a: (a.shape, a.dtype), state_shapes(new, int(meta["n_pad"]))) != \
                jax.tree.map(lambda a: (a.shape, a.dtype), state_shapes(exp.config, int(meta["n_pad"]))):
            raise ConfigError(f"{exp.label}: the changes {sorted(changes)} alter the trained state's "
                              "shapes; only measurement settings can change")
        stats, _ = jax.jit(jax.vmap(new.make_system().evaluate))(state)
        n_set, n_seeds = len(exp.setting_labels), len(meta["seeds"])
        n_runs = n_set * n_seeds
        out[exp.label] = {k: np.asarray(v)[:n_runs].reshape(n_set, n_seeds)
                          for k, v in to_host(stats).items() if np.ndim(v) == 1}
    return out


def remeasured_table(out: dict[str, dict[str, np.ndarray]], names: Sequence[str],
                     style: str = "mean") -> str:
    """The table of :func:`remeasure`'s ``names`` per experiment: mean +- standard error
    (``style="mean"``) or median (``"median"``), with min-max, over every run; ``-`` where an
    experiment has no such statistic."""
    rows = [[label, *(_cell(np.asarray(stats[n], float).ravel(), style, 3) if n in stats else "-"
                      for n in names)] for label, stats in out.items()]
    what = "mean +- standard error (min-max)" if style == "mean" else "median (min-max)"
    return render_table(["remedy", *names], rows, footer=f"{what} over runs, remeasured")


def save_remeasured(out_dir: str, out: dict[str, dict[str, np.ndarray]], changes: dict) -> str:
    """Writes ``out`` and the ``changes`` it was measured with to
    ``out_dir/remeasured-<k>=<v>-....json`` (atomically; the same changes give the same file, so
    rewriting it replaces a result with itself) and returns the path."""
    tag = "-".join(f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                   for k, v in sorted(changes.items())) or "default"
    path = os.path.join(out_dir, f"remeasured-{tag}.json")
    body = {"changes": {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()},
            "experiments": {label: {k: np.asarray(v).tolist() for k, v in stats.items()}
                            for label, stats in out.items()}}
    atomic_write(path, json.dumps(body, indent=1).encode())
    return path
