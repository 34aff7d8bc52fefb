"""Sweep results: labelled per-run arrays, summary table, atomic save and load.

On disk (an output folder): ``results.npz`` (every array, keys ``"<group>/<name>"``),
``config.json`` (format version, library version, each group's ``Config``, hyperparameter settings,
seeds and pinned target constants) and ``summary.json`` (the table, per-seed final metrics and
timings; written last, so its presence marks a complete result). Every file is written to a
temporary name, fsynced and renamed into place.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import zipfile
from typing import Any, NamedTuple

import numpy as np

from mcjax._validation import ConfigError
from mcjax.core.system import SystemConfig, config_from_dict
from mcjax.core.tables import render_table

__all__ = ["GroupResult", "SweepResult", "Column", "FORMAT_VERSION", "check_out_dir", "atomic_write",
           "present_result_files"]

FORMAT_VERSION = 1
# final-only statistics shown as table columns when a sweep measured them (Config.feature_metrics)
FINAL_COLUMNS = {"frechet": "Frechet dist.", "precision": "precision", "recall": "recall",
                 "density": "density", "coverage": "coverage"}
RESULT_FILES = ("results.npz", "config.json", "summary.json")
COLUMN_KINDS = ("value", "of_modes", "count", "when")


class Column(NamedTuple):
    """A column of the results table of a system that declares its own (``config.TABLE``, a tuple
    of these, as a class attribute); a config without one gets the GAN's mode-coverage table.

    Attributes:
      metric: a logged metric (its value at the last step) or a final statistic of the group.
      header: the column's title.
      digits: decimals shown.
      kind: ``"value"``: median (min-max) over seeds (or the mean form of ``style="mean"``);
        ``"of_modes"``: the same followed by ``of <n_modes>``; ``"count"``: how many seeds have a
        true (nonzero) value, ``k/n``; ``"when"``: the statistic over the seeds whose value is
        ``>= 0`` (a step when something happened; ``-1``: never), ``"never"`` when none is.
    """

    metric: str
    header: str
    digits: int = 2
    kind: str = "value"


@dataclasses.dataclass
class GroupResult:
    """The runs of one system config (e.g. a GAN ``Config``): ``S`` settings x ``N`` seeds.

    Attributes:
      history: ``name -> [S, N, n_logs, ...]`` logged every ``config.log_every`` steps (mode
        statistics of ``eval_samples`` generated points, mean losses over the interval, diverged).
      samples: ``[S, N, keep_samples, D]`` generated points of each final generator.
      diverged: ``[S, N]`` whether the run hit a non-finite value (its state was frozen then).
      diverged_step: ``[S, N]`` the step that did, or -1.
      final_stats: ``name -> [S, N]`` measured once, on the final state only (e.g. the Frechet
        distance and PRDC of ``Config.feature_metrics``); ``{}`` when none was asked for.
      platform: where the runs were trained, e.g. ``"NVIDIA H100 80GB HBM3 x1, jax 0.11.2"``
        (``""`` in results saved before it was recorded): rows of one table may come from
        different machines.
    """

    label: str
    config: SystemConfig
    setting_labels: list
    hparams: dict
    seeds: np.ndarray
    log_steps: np.ndarray
    history: dict
    samples: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    target: dict
    compile_s: float
    run_s: float
    platform: str = ""
    final_stats: dict = dataclasses.field(default_factory=dict)

    @property
    def n_settings(self) -> int:
        return len(self.setting_labels)

    def row_label(self, s: int) -> str:
        return self.label if not self.setting_labels[s] else f"{self.label}[{self.setting_labels[s]}]"

    def final(self, name: str) -> np.ndarray:
        """``[S, N]`` value of a logged metric at the last step."""
        return self.history[name][:, :, -1]

    @property
    def columns(self) -> tuple | None:
        """The table columns its config declares (``config.TABLE``), ``None`` for the GAN's."""
        return getattr(self.config, "TABLE", None)

    def final_value(self, name: str) -> np.ndarray:
        """``[S, N]``: a logged metric at the last step, else a final statistic."""
        return self.final(name) if name in self.history else np.asarray(self.final_stats[name])

    @property
    def run_steps(self) -> int:
        return int(self.n_settings * len(self.seeds) * self.config.steps)


@dataclasses.dataclass
class SweepResult:
    """Every group of a sweep, and where it ran.

    Attributes:
      groups: the :class:`GroupResult` of each experiment.
      provenance: what produced it (``mcjax.core.provenance.provenance``: library versions,
        XLA flags, devices, git commit, command line), set by :func:`mcjax.run`; ``{}`` for
        results built otherwise or saved before it was recorded.
    """

    groups: list
    provenance: dict = dataclasses.field(default_factory=dict)

    def __getitem__(self, label: str) -> GroupResult:
        for g in self.groups:
            if g.label == label:
                return g
        raise KeyError(f"no group {label!r}; have {[g.label for g in self.groups]}")

    @property
    def compile_s(self) -> float:
        return float(sum(g.compile_s for g in self.groups))

    @property
    def run_s(self) -> float:
        return float(sum(g.run_s for g in self.groups))

    @property
    def run_steps_per_s(self) -> float:
        return sum(g.run_steps for g in self.groups) / max(self.run_s, 1e-9)

    def rows(self) -> list[dict[str, Any]]:
        """One row per (group, setting): per-seed final metrics, as plain Python."""
        rows = []
        for g in self.groups:
            for s in range(g.n_settings):
                if g.columns is not None:
                    rows.append(_declared_row(g, s))
                    continue
                rows.append({
                    "remedy": g.row_label(s),
                    "n_modes": int(g.target["n_modes"]),
                    "seeds": [int(x) for x in g.seeds],
                    "modes_covered": [int(x) for x in g.final("modes_covered")[s]],
                    "hq_fraction": [float(x) for x in g.final("hq_fraction")[s]],
                    "reverse_kl": [float(x) for x in g.final("reverse_kl")[s]],
                    "diverged": [bool(x) for x in g.diverged[s]],
                    **{k: [float(x) for x in v[s]] for k, v in sorted(g.final_stats.items())},
                })
        return rows

    def summary(self) -> dict[str, Any]:
        """Machine-readable summary (what ``mcjax sweep --json`` prints)."""
        targets = [g.target for g in self.groups]
        return {
            "format_version": FORMAT_VERSION,
            "target": targets[0] if targets and all(t == targets[0] for t in targets) else targets,
            "remedies": {r.pop("remedy"): r for r in self.rows()},
            "compile_s": self.compile_s,
            "run_s": self.run_s,
            "run_steps_per_s": self.run_steps_per_s,
            "platforms": sorted({g.platform for g in self.groups if g.platform}),
            "provenance": self.provenance,
        }

    def table(self, style: str = "median", fmt: str = "text") -> str:
        """Table of the final metrics over seeds, non-diverged runs only.

        Args:
          style: ``"median"``: median (min-max); ``"mean"``: mean +- standard error (min-max), the
            form of PacGAN's Table 1.
          fmt: ``"text"`` (terminal), ``"markdown"``, ``"latex"`` or ``"csv"``
            (:func:`~mcjax.core.tables.render_table`).
        """
        if style not in ("median", "mean"):
            raise ValueError(f"style must be 'median' or 'mean', got {style!r}")
        declared = [g.columns for g in self.groups if g.columns is not None]
        if declared:
            return _declared_table(self.rows(), declared[0], style, fmt)
        rows = self.rows()
        extra = [k for k in FINAL_COLUMNS if any(k in r for r in rows)]
        head = ["remedy", "modes covered", "HQ %", "reverse KL"] + [FINAL_COLUMNS[k] for k in extra] \
            + ["diverged"]
        lines = []
        for r in rows:
            ok = ~np.asarray(r["diverged"])
            mc = np.asarray(r["modes_covered"], float)[ok]
            hq = 100 * np.asarray(r["hq_fraction"])[ok]
            kl = np.asarray(r["reverse_kl"])[ok]
            n = len(r["diverged"])
            if ok.any():
                cells = [_cell(mc, style, 0 if style == "median" else 1) + f" of {r['n_modes']}",
                         _cell(hq, style, 1),
                         _cell(kl, style, 2)]
                cells += [_cell(np.asarray(r[k])[ok], style, 3) if k in r else "-" for k in extra]
            else:
                cells = ["-"] * (3 + len(extra))
            lines.append([r["remedy"], *cells, f"{n - ok.sum()}/{n}"])
        what = "median (min-max)" if style == "median" else "mean +- standard error (min-max)"
        return render_table(head, lines, footer=f"{what} over seeds at the last step; diverged runs "
                            "are left out of the statistics and counted in the last column", fmt=fmt)

    # ---- persistence -------------------------------------------------------------------------

    def save(self, out_dir: str, *, overwrite: bool = False) -> None:
        """Writes the three result files atomically into ``out_dir`` (created if needed)."""
        check_out_dir(out_dir, overwrite=overwrite)
        os.makedirs(out_dir, exist_ok=True)
        summary_path = os.path.join(out_dir, "summary.json")
        if os.path.exists(summary_path):  # overwrite: never leave an old summary beside new arrays
            os.unlink(summary_path)
        arrays: dict[str, np.ndarray] = {}
        meta_groups = []
        for g in self.groups:
            p = g.label + "/"
            arrays[p + "seeds"] = g.seeds
            arrays[p + "log_steps"] = g.log_steps
            arrays[p + "samples"] = g.samples
            arrays[p + "diverged"] = g.diverged
            arrays[p + "diverged_step"] = g.diverged_step
            for k, v in g.hparams.items():
                arrays[p + "hparams/" + k] = v
            for k, v in g.history.items():
                arrays[p + "history/" + k] = v
            for k, v in g.final_stats.items():
                arrays[p + "final/" + k] = v
            meta_groups.append({
                "label": g.label,
                "system": g.config.system,
                "config": g.config.to_dict(),
                "setting_labels": list(g.setting_labels),
                "hparams": {k: [float(x) for x in v] for k, v in g.hparams.items()},
                "seeds": [int(x) for x in g.seeds],
                "target": g.target,
                "compile_s": g.compile_s,
                "run_s": g.run_s,
                "platform": g.platform,
            })
        from mcjax import __version__

        meta = {"format_version": FORMAT_VERSION, "mcjax_version": __version__, "groups": meta_groups,
                "provenance": self.provenance}
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(os.path.join(out_dir, "results.npz"), buf.getvalue())
        atomic_write(os.path.join(out_dir, "config.json"), json.dumps(meta, indent=2).encode())
        atomic_write(summary_path,
                     json.dumps(self.summary(), indent=2).encode())

    @classmethod
    def load(cls, out_dir: str) -> "SweepResult":
        """Reads a folder written by :meth:`save`."""
        present = present_result_files(out_dir)
        missing = [f for f in RESULT_FILES if f not in present]
        if missing:
            raise ConfigError(f"{out_dir!r} holds no complete mcjax result (missing {', '.join(missing)})")
        for name in ("summary.json", "config.json"):  # summary.json: the completion mark
            try:
                with open(os.path.join(out_dir, name)) as f:
                    meta = json.load(f)
                version = meta.get("format_version")
            except (OSError, ValueError, AttributeError) as e:
                raise ConfigError(f"{out_dir!r}: {name} is damaged ({type(e).__name__}: {e})") from None
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"{out_dir!r} has result format version {version!r}; this mcjax reads version "
                f"{FORMAT_VERSION}"
            )
        try:
            with np.load(os.path.join(out_dir, "results.npz")) as z:
                arrays = {k: z[k] for k in z.files}
            return cls(groups=[_group(m, arrays) for m in meta["groups"]],
                       provenance=dict(meta.get("provenance") or {}))
        except ConfigError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            raise ConfigError(f"{out_dir!r}: its results are damaged ({type(e).__name__}: {e})") from None


def _group(m: dict, arrays: dict) -> GroupResult:
    """One group of a saved result from its ``config.json`` entry and the npz arrays."""
    p = m["label"] + "/"
    sub = lambda prefix: {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return GroupResult(
        label=m["label"],
        config=config_from_dict(m["config"], m.get("system", "gan")),
        setting_labels=m["setting_labels"],
        hparams=sub(p + "hparams/"),
        seeds=arrays[p + "seeds"],
        log_steps=arrays[p + "log_steps"],
        history=sub(p + "history/"),
        samples=arrays[p + "samples"],
        diverged=arrays[p + "diverged"],
        diverged_step=arrays[p + "diverged_step"],
        target=m["target"],
        compile_s=m["compile_s"],
        run_s=m["run_s"],
        platform=m.get("platform", ""),
        final_stats=sub(p + "final/"),
    )


def _cell(x: np.ndarray, style: str, digits: int) -> str:
    if style == "median":
        center = f"{np.median(x):g}" if digits == 0 else f"{np.median(x):.{digits}f}"
    else:
        se = np.std(x, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
        center = f"{np.mean(x):.{digits}f} +- {se:.{digits}f}"
    return f"{center} ({x.min():.{digits}f}-{x.max():.{digits}f})"


def _plain(x: Any) -> Any:
    """A NumPy scalar as the Python value JSON writes (bool, int or float)."""
    x = np.asarray(x)
    return bool(x) if x.dtype.kind == "b" else int(x) if x.dtype.kind in "iu" else float(x)


def _declared_row(g: GroupResult, s: int) -> dict[str, Any]:
    """Row ``s`` of a group whose config declares its table columns."""
    return {"remedy": g.row_label(s), "n_modes": int(g.target["n_modes"]),
            "seeds": [int(x) for x in g.seeds],
            **{c.metric: [_plain(x) for x in g.final_value(c.metric)[s]] for c in g.columns},
            "diverged": [bool(x) for x in g.diverged[s]]}


def _declared_cell(col: Column, values: np.ndarray, n_modes: int, style: str) -> str:
    if col.kind == "count":
        return f"{int(np.count_nonzero(values))}/{len(values)}"
    x = np.asarray(values, np.float64)
    if col.kind == "when":
        x = x[x >= 0]
        if not len(x):
            return "never"
    cell = _cell(x, style, col.digits)
    return cell + f" of {n_modes}" if col.kind == "of_modes" else cell


def _declared_table(rows: list[dict], columns: tuple, style: str, fmt: str) -> str:
    """The table of the ``columns`` a system declares (:class:`Column`), one line per row."""
    lines = []
    for r in rows:
        ok = ~np.asarray(r["diverged"])
        n = len(ok)
        cells = [(_declared_cell(c, np.asarray(r[c.metric])[ok], r["n_modes"], style)
                  if c.metric in r and ok.any() else "-") for c in columns]
        lines.append([r["remedy"], *cells, f"{n - ok.sum()}/{n}"])
    what = "median (min-max)" if style == "median" else "mean +- standard error (min-max)"
    head = ["remedy", *(c.header for c in columns), "diverged"]
    notes = [f"{c.header}: of seeds" for c in columns if c.kind == "count"]
    notes += [f"{c.header}: over the seeds where it happened" for c in columns if c.kind == "when"]
    return render_table(head, lines, fmt=fmt, footer=(
        f"{what} over seeds at the last step" + "".join(f"; {n}" for n in notes)
        + "; diverged runs are left out of the statistics and counted in the last column"))


def present_result_files(out_dir: str) -> list[str]:
    """Which of the result files (``RESULT_FILES``: results.npz, config.json, summary.json) ``out_dir``
    holds: all three once :meth:`SweepResult.save` has finished (it writes summary.json last)."""
    return [f for f in RESULT_FILES if os.path.exists(os.path.join(out_dir, f))]


def check_out_dir(out_dir: str, *, overwrite: bool = False) -> None:
    """Refuses an output folder that already holds results, unless ``overwrite``."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError(f"output path {out_dir!r} exists and is not a folder")
    present = present_result_files(out_dir)
    if present and not overwrite:
        raise ConfigError(
            f"output folder {out_dir!r} already holds results ({', '.join(present)}); choose "
            "another --out or pass --overwrite"
        )


def atomic_write(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a reader sees the old file or the new one, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
