"""Explain a saved sweep: curvature and rotation of every run's final state, collapsed vs healthy.

``analyze_sweep(out_dir)`` restores each run's final ``TrainState`` from the sweep's checkpoints,
computes ``Trainer.dynamics`` (rotation index, top/bottom Hessian eigenvalue of each player's loss,
``||xi||``) for all runs at once (jit + vmap), and splits runs into *collapsed* (fewer modes covered
than the target has) and *healthy*. ``mcjax analyze OUT_DIR`` prints the table and writes
``analysis.json`` and ``dynamics.png``.
"""
from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np

from mcjax._validation import ConfigError
from mcjax.core.checkpoint import checkpoint_path, load_checkpoint, restore_state
from mcjax.core.results import SweepResult, atomic_write
from mcjax.core.tables import render_table
from mcjax.metrics import collapse_classes

__all__ = ["analyze_sweep", "analysis_table", "DYNAMICS_KEYS"]

DYNAMICS_KEYS = ("rotation_index", "grad_norm", "g_hessian_max", "g_hessian_min", "d_hessian_max",
                 "d_hessian_min")


def analyze_sweep(out_dir: str) -> dict[str, Any]:
    """Per group: ``{label: {metric: [S, N] array, "modes_covered": [S, N], ...}}``."""
    from mcjax.core.sharding import pad_runs
    from mcjax.core.sweep import state_shapes
    from mcjax.systems.gan.engine import make_trainer

    result = SweepResult.load(out_dir)
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    out: dict[str, Any] = {}
    for index, g in enumerate(result.groups):
        path = checkpoint_path(ckpt_dir, index)
        if not os.path.exists(path):
            raise ConfigError(f"{out_dir!r} has no checkpoint for {g.label!r} ({path}); analyze needs "
                              "a sweep written by `mcjax sweep` (which checkpoints its final states)")
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
        n_pad = meta["n_pad"]
        trainer = make_trainer(g.config)
        abstract = state_shapes(g.config, n_pad)
        leaves, _, _, _ = load_checkpoint(path, abstract, {"label": g.label})
        state = restore_state(leaves, abstract)
        n_set, n_seeds = len(g.setting_labels), len(g.seeds)
        hp = jax.tree.map(lambda a: pad_runs(np.repeat(a, n_seeds), n_pad), _hparams(g))
        values = jax.jit(jax.vmap(trainer.dynamics))(hp, state)
        entry = {k: np.asarray(v)[: n_set * n_seeds].reshape(n_set, n_seeds) for k, v in values.items()}
        entry["modes_covered"] = g.final("modes_covered")
        entry["diverged"] = g.diverged
        entry["n_modes"] = int(g.target["n_modes"])
        entry["row_labels"] = [g.row_label(s) for s in range(n_set)]
        out[g.label] = entry
    return out


def _hparams(group):
    """The group's ``HParams`` settings ``[S]``; a field added since the sweep was saved takes its
    default (which is what that sweep trained with)."""
    from mcjax.systems.gan.config import HParams

    n_set = len(group.setting_labels)
    default = HParams()
    return HParams(*(np.asarray(group.hparams[k], np.float32) if k in group.hparams
                     else np.full((n_set,), getattr(default, k), np.float32) for k in HParams._fields))


def analysis_table(analysis: dict[str, Any]) -> str:
    """Median of each measurement over collapsed and over healthy runs, per row."""
    head = ["remedy", "runs (collapsed/all)", *[f"{k} coll | healthy" for k in ("rotation_index",
                                                                             "d_hessian_max", "grad_norm")]]
    lines = []
    for entry in analysis.values():
        for s, label in enumerate(entry["row_labels"]):
            ok = ~entry["diverged"][s]
            classes = collapse_classes(entry["modes_covered"][s], entry["n_modes"], entry["diverged"][s])
            collapsed, healthy = classes["collapsed"], classes["healthy"]
            cells = []
            for k in ("rotation_index", "d_hessian_max", "grad_norm"):
                v = entry[k][s]
                med = lambda m: f"{np.median(v[m]):.3g}" if m.any() else "-"
                cells.append(f"{med(collapsed)} | {med(healthy)}")
            lines.append([label, f"{collapsed.sum()}/{ok.sum()}", *cells])
    return render_table(head, lines,
                        footer="medians over runs; collapsed: fewer modes covered than the target has")


def save_analysis(analysis: dict[str, Any], out_dir: str) -> list[str]:
    """Writes ``analysis.json`` and ``dynamics.png`` into ``out_dir``."""
    from mcjax.plots.dynamics import dynamics_scatter

    plain = {label: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in e.items()}
             for label, e in analysis.items()}
    paths = [os.path.join(out_dir, "analysis.json"), os.path.join(out_dir, "dynamics.png")]
    atomic_write(paths[0], json.dumps(plain, indent=2).encode())
    import io

    fig = dynamics_scatter(analysis)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    atomic_write(paths[1], buf.getvalue())
    return paths
