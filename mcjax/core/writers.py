"""Metrics writers that watch a sweep while it trains: ``on_chunk`` callbacks of
:func:`mcjax.run` (and ``mcjax sweep --tensorboard DIR`` / ``--wandb``).

After every chunk each writer receives a :class:`~mcjax.core.sweep.ChunkReport` and writes the
logs that chunk added: per setting, the median over seeds of every scalar metric (tag
``<remedy>[<setting>]/<metric>``), and with ``per_run`` every run's value too
(``.../seed<k>``). The x axis is the training step. TensorBoard keeps letters, digits, ``_``,
``-``, ``.`` and ``/`` of a tag and writes ``_`` for the rest (``pacgan:pack=2`` shows as
``pacgan_pack_2``). The backends are optional extras:
``pip install "mcjax[tensorboard]"`` (tensorboardX) and ``pip install "mcjax[wandb]"``; the
writers name the missing package in one line before anything is compiled.
"""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from mcjax._validation import ConfigError

__all__ = ["chunk_scalars", "TensorBoardWriter", "WandbWriter"]


def chunk_scalars(report, per_run: bool = False) -> Iterator[tuple[str, int, float]]:
    """``(tag, step, value)`` for each scalar metric (``[S, N, T]`` history) at the logs the
    chunk added: the median over seeds of finite values (NaN when none is), and each run's
    value with ``per_run``."""
    t0 = len(report.log_steps) - report.new
    for s, setting in enumerate(report.setting_labels):
        row = report.label if not setting else f"{report.label}[{setting}]"
        for name in sorted(report.history):
            values = np.asarray(report.history[name])
            if values.ndim != 3:
                continue  # per-mode counts and other vectors: in metrics.csv
            for t in range(t0, len(report.log_steps)):
                step = int(report.log_steps[t])
                col = values[s, :, t].astype(np.float64)
                finite = col[np.isfinite(col)]
                yield f"{row}/{name}", step, float(np.median(finite)) if finite.size else float("nan")
                if per_run:
                    for n, seed in enumerate(report.seeds):
                        yield f"{row}/{name}/seed{seed}", step, float(col[n])


def _need(module: str, extra: str, flag: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{flag} needs the {module} package: pip install \"mcjax[{extra}]\"") from None


class TensorBoardWriter:
    """Writes each chunk's scalars into a TensorBoard log folder (``tensorboard --logdir DIR``)."""

    def __init__(self, logdir: str, per_run: bool = False):
        self._tbx = _need("tensorboardX", "tensorboard", "--tensorboard")
        if os.path.exists(logdir) and not os.path.isdir(logdir):
            raise ConfigError(f"--tensorboard {logdir!r} exists and is not a folder")
        self.logdir, self.per_run, self._writer = logdir, per_run, None

    def __call__(self, report) -> None:
        if self._writer is None:  # the folder is made at the first chunk, not on a refused run
            self._writer = self._tbx.SummaryWriter(logdir=self.logdir)
        for tag, step, value in chunk_scalars(report, self.per_run):
            self._writer.add_scalar(tag, value, step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class WandbWriter:
    """Logs each chunk's scalars to Weights & Biases; ``mode="offline"`` (the default, unless
    ``WANDB_MODE`` says otherwise) writes a local run folder that ``wandb sync`` uploads later,
    so a cluster node without network can use it."""

    def __init__(self, project: str = "mcjax", mode: str | None = None, dir: str | None = None,
                 config: dict | None = None, per_run: bool = False):
        self._wandb = _need("wandb", "wandb", "--wandb")
        mode = mode or os.environ.get("WANDB_MODE", "offline")
        if mode not in ("online", "offline", "disabled"):
            raise ConfigError(f"wandb mode {mode!r}; allowed: online, offline, disabled")
        self._init = dict(project=project, mode=mode, dir=dir, config=config or {})
        self.per_run, self._run = per_run, None

    def __call__(self, report) -> None:
        if self._run is None:  # started at the first chunk, not on a refused run
            self._run = self._wandb.init(**self._init)
        by_step: dict[int, dict[str, float]] = {}
        for tag, step, value in chunk_scalars(report, self.per_run):
            by_step.setdefault(step, {})[tag] = value
        for step in sorted(by_step):  # each experiment restarts at step 0: the step is a column
            self._run.log({"step": step, **by_step[step]})

    def close(self) -> None:
        if self._run is not None:
            self._run.finish()
