"""Long-format export of a sweep's logged metrics: one CSV row per (group, setting, seed, log step).

The table a data-frame library reads without knowing mcjax's arrays::

    remedy, setting, seed, step, hp_<name>..., <metric>..., <metric>_<i>...

``remedy`` is the group label, ``setting`` the setting label (``""`` for a group of one unnamed
setting), ``hp_<name>`` the setting's hyperparameters, then every logged history metric in sorted
order: a metric logged as one value per log step is one column named after it; a metric with
trailing dimensions (e.g. ``mode_counts`` ``[S, N, T, K]``) is flattened, row-major, into columns
``<name>_<i>`` (``<name>_<i>_<j>``, ...). Groups may log different metrics (one remedy logs
dynamics, another does not): the header is the union and a group's missing cells are empty.
Metrics measured once, on the final state (``final_stats``: the Frechet distance, PRDC), are
columns ``final_<name>`` filled on each run's last log step and empty on the others.
Floats are written with ``repr`` (they read back exactly; a float32 value reads back as the
float64 of that value), booleans as ``0`` / ``1``, NaN as ``nan``.

Example:
  >>> write_metrics_csv(result, "out/metrics.csv")
  >>> df = pandas.read_csv("out/metrics.csv")
  >>> df.groupby(["remedy", "step"]).modes_covered.median()
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterator

import numpy as np

from mcjax.core.results import atomic_write

__all__ = ["FIXED_COLUMNS", "metrics_frame_rows", "write_metrics_csv"]

FIXED_COLUMNS = ("remedy", "setting", "seed", "step")


def metrics_frame_rows(result) -> tuple[list[str], Iterator[tuple]]:
    """The long-format table of ``result``'s logged metrics, as a header and lazily built rows.

    Args:
      result: a :class:`~mcjax.core.results.SweepResult`.

    Returns:
      ``(header, rows)``: ``header`` the column names (:data:`FIXED_COLUMNS`, then ``hp_<name>``
      columns in sorted order, then metric columns in sorted order of the metric, each metric's
      flattened columns in index order); ``rows`` an iterator of tuples of plain Python values
      (``str``, ``int``, ``float``; ``None`` for a metric the row's group did not log), groups in
      order, then settings, seeds and log steps. ``pandas.DataFrame(list(rows), columns=header)``
      is the table the CSV holds.

    Raises:
      ValueError: an array whose leading axes are not ``[S]`` (hyperparameters) or ``[S, N, T]``
        (history), or two arrays that would give the same column name.
    """
    for g in result.groups:
        _check_shapes(g)
    hp_cols = _union_columns([g.hparams for g in result.groups], 1, "hp_")
    metric_cols = _union_columns([g.history for g in result.groups], 3, "")
    final_cols = _union_columns([g.final_stats for g in result.groups], 2, "final_")
    header = [*FIXED_COLUMNS, *(c for c, _, _ in hp_cols),
              *(c for c, _, _ in metric_cols + final_cols)]
    if len(set(header)) != len(header):
        dup = sorted({c for c in header if header.count(c) > 1})
        raise ValueError(f"metric columns collide: {dup}")
    return header, _rows(result, hp_cols, metric_cols, final_cols)


def write_metrics_csv(result, path: str) -> str:
    """Writes :func:`metrics_frame_rows` of ``result`` to ``path`` as CSV, atomically.

    Args:
      result: a :class:`~mcjax.core.results.SweepResult`.
      path: the file to write (replaced whole: a reader sees the old file or the new one).

    Returns:
      ``path``.
    """
    header, rows = metrics_frame_rows(result)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)  # csv writes floats with repr, None as an empty cell
    atomic_write(path, buf.getvalue().encode())
    return path


def _check_shapes(g) -> None:
    s, n, t = g.n_settings, len(g.seeds), len(g.log_steps)
    for name, v in g.hparams.items():
        if np.shape(v)[:1] != (s,):
            raise ValueError(f"group {g.label!r}: hparam {name!r} has shape {np.shape(v)}, "
                             f"expected [{s}, ...]")
    for name, v in g.history.items():
        if np.shape(v)[:3] != (s, n, t):
            raise ValueError(f"group {g.label!r}: metric {name!r} has shape {np.shape(v)}, "
                             f"expected [{s}, {n}, {t}, ...]")


def _union_columns(tables: list[dict], lead: int, prefix: str) -> list[tuple[str, str, tuple]]:
    """``(column, array name, index into the trailing axes)`` over the union of ``tables``."""
    indices: dict[str, set] = {}
    for table in tables:
        for name, v in table.items():
            indices.setdefault(name, set()).update(np.ndindex(*np.shape(v)[lead:]))
    return [(prefix + "_".join([name, *map(str, idx)]), name, idx)
            for name in sorted(indices) for idx in sorted(indices[name])]


def _flat_values(v: Any, lead: int, idx: tuple) -> list | None:
    """The ``idx`` entry of the trailing axes of ``v``, flattened over the ``lead`` axes, as plain
    Python values (booleans as 0/1, floats as float64); ``None`` where ``v`` has no such entry."""
    v = np.asarray(v)
    trailing = v.shape[lead:]
    if len(idx) != len(trailing) or any(i >= d for i, d in zip(idx, trailing)):
        return None
    v = v[(Ellipsis, *idx)] if idx else v
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    elif v.dtype.kind not in "iuc":
        v = v.astype(np.float64)  # float16/bfloat16 too: tolist gives Python floats
    return v.reshape(-1).tolist()


def _rows(result, hp_cols: list, metric_cols: list, final_cols: list) -> Iterator[tuple]:
    for g in result.groups:
        s_n, n_n, t_n = g.n_settings, len(g.seeds), len(g.log_steps)
        hps = [_flat_values(g.hparams[name], 1, idx) if name in g.hparams else None
               for _, name, idx in hp_cols]
        metrics = [_flat_values(g.history[name], 3, idx) if name in g.history else None
                   for _, name, idx in metric_cols]
        finals = [_flat_values(g.final_stats[name], 2, idx) if name in g.final_stats else None
                  for _, name, idx in final_cols]
        seeds = np.asarray(g.seeds).tolist()
        steps = np.asarray(g.log_steps).tolist()
        for i, (s, n, t) in enumerate(np.ndindex(s_n, n_n, t_n)):
            last = t == t_n - 1
            yield (g.label, g.setting_labels[s] or "", seeds[n], steps[t],
                   *(None if h is None else h[s] for h in hps),
                   *(None if m is None else m[i] for m in metrics),
                   *(None if f is None or not last else f[s * n_n + n] for f in finals))
