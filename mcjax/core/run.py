"""The one run path: a run spec trained into an output folder, nothing lost on the way.

``run(spec, out_dir)`` is what ``mcjax sweep``, ``experiments/remedy_table.py`` and the notebooks
call. A *run spec* is a frozen dataclass that says what to train (for the GAN,
``mcjax.systems.gan.spec.RunSpec``: target, remedies, sweeps, seeds, sizes) and satisfies
:class:`Spec`; specs are registered by system name (:func:`register_spec`) so that a folder can be
resumed from its ``sweep.json`` alone.

An output folder holds ``sweep.json`` (the spec, written before training), ``checkpoints/`` (every
chunk of every experiment, atomically), then ``metrics.csv`` (every logged metric, long format,
``mcjax.core.export``), ``results.npz``, ``config.json``, ``summary.json``
(written last) and the figures. Results are never overwritten without ``overwrite``; an unfinished
folder is only continued with ``resume``; Ctrl-C stops after the current chunk's checkpoint.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shlex
import shutil
import sys
from typing import Any, ClassVar, NamedTuple, Protocol

from mcjax._validation import ConfigError, check_choice
from mcjax.core.results import SweepResult, atomic_write, check_out_dir

__all__ = ["run", "RunOutput", "Spec", "SpecFields", "register_spec", "load_spec", "SWEEP_FILE",
           "CHECKPOINTS", "SPECS", "StopOnInterrupt", "FolderLock", "parse_numbers"]

SWEEP_FILE = "sweep.json"
CHECKPOINTS = "checkpoints"
SWEEP_FORMAT = 1
SPECS: dict[str, type] = {}


class Spec(Protocol):
    """What :func:`run` needs of a run spec.

    Attributes:
      system: registered name (class attribute), the key of :data:`SPECS`.
      seeds: number of seeds per setting (seeds ``0..seeds-1``).
    """

    system: ClassVar[str]
    seeds: int

    def experiments(self) -> list:
        """The sweep's :class:`~mcjax.core.sweep.Experiment` list; raises ``ConfigError`` on bad values."""

    def name(self) -> str:
        """Short name for the default output folder (e.g. the target)."""

    def to_dict(self) -> dict: ...


def parse_numbers(value: Any, option: str, metavar: str) -> tuple:
    """``value`` as a tuple of floats: a sequence, or the command line's ``"1,1.05,1"``.

    Raises:
      ConfigError: a string with a non-number, naming ``--option`` and the ``metavar`` expected.
    """
    if isinstance(value, str):
        try:
            value = [float(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--{option} {value!r}: expected numbers {metavar}") from None
    return tuple(float(v) for v in value or ())


class SpecFields:
    """What the frozen-dataclass run specs of the remedy-table systems share (a mixin).

    A subclass is a ``@dataclasses.dataclass(frozen=True)`` with ``remedy`` and ``sweep`` fields
    (tuples of strings). After construction ``remedy`` is a tuple, :meth:`default_remedies` when
    empty, ``sweep`` a tuple, and each field of :attr:`NUMBER_FIELDS` a tuple of floats
    (:func:`parse_numbers`). :meth:`to_dict` writes those tuples as lists (JSON);
    :meth:`from_dict` refuses unknown fields.

    Attributes:
      NUMBER_FIELDS: ``((field, metavar), ...)``, e.g. ``(("fitness", "F0,F1,..."),)``.
    """

    NUMBER_FIELDS: ClassVar[tuple] = ()

    def default_remedies(self) -> tuple:
        """The remedies of an empty ``remedy``: the field's default."""
        return type(self).__dataclass_fields__["remedy"].default

    def __post_init__(self) -> None:
        object.__setattr__(self, "remedy", tuple(self.remedy or self.default_remedies()))
        object.__setattr__(self, "sweep", tuple(self.sweep or ()))
        for field, metavar in self.NUMBER_FIELDS:
            object.__setattr__(self, field, parse_numbers(getattr(self, field), field, metavar))

    def name(self) -> str:
        return self.system

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for field in ("remedy", "sweep", *(f for f, _ in self.NUMBER_FIELDS)):
            d[field] = list(getattr(self, field))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ConfigError(f"unknown run spec field(s) {unknown}; allowed: {sorted(fields)}")
        return cls(**d)


def register_spec(cls: type) -> type:
    """Class decorator: a spec of ``cls.system`` can be resumed from its ``sweep.json``."""
    SPECS[cls.system] = cls
    return cls


class RunOutput(NamedTuple):
    """What :func:`run` produced: the result, the folder and the figure files written."""

    result: SweepResult
    out_dir: str
    figures: list


def load_spec(out_dir: str) -> Any:
    """The spec saved in ``out_dir/sweep.json``; ``ConfigError`` naming what is wrong otherwise."""
    from mcjax import __version__

    path = os.path.join(out_dir, SWEEP_FILE)
    if not os.path.exists(path):
        raise ConfigError(f"--resume {out_dir!r}: no {SWEEP_FILE} there; is it a folder written by "
                          "`mcjax sweep --out`?")
    try:
        with open(path) as f:
            saved = json.load(f)
        version, args = saved.get("format_version"), saved["args"]
        if not isinstance(args, dict):
            raise TypeError(f"args is {type(args).__name__}, not an object")
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as e:
        raise ConfigError(f"--resume {out_dir!r}: {SWEEP_FILE} is damaged ({type(e).__name__}: {e})") from None
    if version != SWEEP_FORMAT:
        raise ConfigError(f"--resume {out_dir!r}: sweep file format {version!r}; this mcjax reads "
                          f"format {SWEEP_FORMAT}")
    if saved.get("mcjax_version") != __version__:
        raise ConfigError(f"--resume {out_dir!r} was started by mcjax {saved.get('mcjax_version')}; "
                          f"this is mcjax {__version__}: finish it with that version")
    system = saved.get("system", "gan")
    check_choice("system", system, SPECS)
    try:
        return SPECS[system].from_dict({k: v for k, v in args.items() if k != "out"})
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{path!r} is damaged ({type(e).__name__}: {e})") from None


def _resume_spec(spec: Any, out_dir: str | None) -> tuple[Any, bool]:
    """``(spec, resuming)`` for ``run(..., resume=True)``."""
    if out_dir is None:
        raise ConfigError("resume needs the output folder of the sweep to continue")
    if os.path.exists(os.path.join(out_dir, "summary.json")):
        raise ConfigError(f"--resume {out_dir!r}: that sweep is complete; `mcjax show {out_dir}` prints it")
    if spec is not None and not os.path.exists(os.path.join(out_dir, SWEEP_FILE)):
        return spec, False  # nothing started there yet: a fresh run
    saved = load_spec(out_dir)
    if spec is not None and saved != spec:
        a, b = saved.to_dict(), spec.to_dict()
        diff = "; ".join(f"{k} is {a.get(k)!r} there, {b.get(k)!r} here"
                         for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
        raise ConfigError(f"--resume {out_dir!r}: that folder holds another sweep: {diff}")
    return saved, True


LOCK_FILE = ".mcjax.lock"


class FolderLock:
    """An exclusive lock on an output folder for the length of a run (``fcntl.flock`` on
    ``OUT/.mcjax.lock``; the kernel drops it when the process ends, even by SIGKILL), so two
    processes never write one folder. A no-op where ``fcntl`` does not exist."""

    def __init__(self, out_dir: str, enabled: bool = True):
        self.out_dir, self.enabled, self._f = out_dir, enabled, None

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            import fcntl
        except ImportError:
            return self
        if os.path.exists(self.out_dir) and not os.path.isdir(self.out_dir):
            raise ConfigError(f"output path {self.out_dir!r} exists and is not a folder")
        try:
            os.makedirs(self.out_dir, exist_ok=True)
            self._f = open(os.path.join(self.out_dir, LOCK_FILE), "a+")
        except OSError as e:
            raise ConfigError(f"cannot write output folder {self.out_dir!r} ({e.strerror}); choose "
                              "another --out") from None
        try:
            fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.seek(0)
            holder = self._f.read().strip() or "?"
            self._f.close()
            self._f = None
            raise ConfigError(f"output folder {self.out_dir!r} is in use by another mcjax process "
                              f"(pid {holder}); wait for it to finish or choose another --out") from None
        return self

    def claim(self) -> None:
        """Records this process's id in the lock file (named to a process refused the lock)."""
        if self._f is not None:
            self._f.seek(0)
            self._f.truncate()
            self._f.write(str(os.getpid()))
            self._f.flush()

    def __exit__(self, *exc):
        if self._f is not None:
            self._f.close()  # closing releases the lock
        return False


def clear_results(out_dir: str) -> list[str]:
    """Deletes a folder's results and the files made from them (summary.json first, so that an
    interruption part-way leaves an unfinished folder, never an old "complete" one); returns the
    paths deleted. Checkpoints and sweep.json are left."""
    from mcjax.core.results import RESULT_FILES
    from mcjax.plots.coverage import FIGURE_FILES
    from mcjax.plots.population import POPULATION_FIGURES

    stems = [os.path.splitext(f)[0] for f in FIGURE_FILES + POPULATION_FIGURES] + ["dynamics"]
    names = (["summary.json"] + [f for f in RESULT_FILES if f != "summary.json"]
             + list(DERIVED_FILES) + [s + ext for s in stems for ext in FIGURE_EXTENSIONS])
    gone = []
    for name in names:
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            os.unlink(path)
            gone.append(path)
    return gone


DERIVED_FILES = ("metrics.csv", "analysis.json")
FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")


def _start_folder(spec: Any, out_dir: str, overwrite: bool, main_process: bool) -> None:
    """Refuses a folder with results or an unfinished sweep (unless ``overwrite``), then writes the
    spec to ``sweep.json``."""
    from mcjax import __version__

    check_out_dir(out_dir, overwrite=overwrite)
    ckpt_dir = os.path.join(out_dir, CHECKPOINTS)
    if os.path.isdir(ckpt_dir) and os.listdir(ckpt_dir) and not overwrite:
        raise ConfigError(f"output folder {out_dir!r} holds an unfinished sweep; continue it with "
                          f"`mcjax sweep --resume {out_dir}` or pass --overwrite")
    if main_process:
        if overwrite:
            clear_results(out_dir)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        os.makedirs(out_dir, exist_ok=True)
        from mcjax.core.provenance import provenance

        args = dict(spec.to_dict(), out=out_dir)
        atomic_write(os.path.join(out_dir, SWEEP_FILE), json.dumps(
            {"format_version": SWEEP_FORMAT, "mcjax_version": __version__, "system": spec.system,
             "args": args, "started": provenance()}, indent=2).encode())


def run(spec: Any = None, out_dir: str | None = None, *, resume: bool = False,
        overwrite: bool = False, progress: bool = True, figures: bool = True, cache: bool = True,
        distributed: dict | None = None, stream=None, on_chunk=None) -> RunOutput:
    """Trains ``spec``'s experiments into ``out_dir`` and saves results and figures there.

    Args:
      spec: a registered run spec (:class:`Spec`); with ``resume`` it may be ``None`` (the spec in
        ``out_dir/sweep.json``) or must equal the saved one.
      out_dir: output folder (default ``mcjax-out/<spec name>-<time>``).
      resume: continue the unfinished sweep in ``out_dir`` from its checkpoints (bitwise the
        uninterrupted result on CPU); with a ``spec`` and no sweep there yet, start it.
      overwrite: replace results or an unfinished sweep already in ``out_dir``.
      progress: one progress bar on ``stream`` (default stderr).
      figures: write the figures (``mcjax.plots.save_figures``): ``True`` (PNG), ``False``, or a
        format, ``"png"``, ``"pdf"`` or ``"svg"``.
      cache: use JAX's persistent compilation cache (``mcjax.core.cache``).
      distributed: keyword arguments of ``mcjax.core.sharding.initialize_distributed`` to join a multi-host
        run first; process 0 writes the files.
      on_chunk: called with a :class:`~mcjax.core.sweep.ChunkReport` (every metric logged so
        far) after each chunk's checkpoint is written: a metrics writer
        (``mcjax.core.writers``), or a copy of an early state.

    Raises:
      ConfigError: a bad value or folder, before anything is compiled or written.
      mcjax.core.sweep.Interrupted: Ctrl-C (or SIGINT) stopped it after a chunk's checkpoint.

    Example:
      >>> out = run(RunSpec(target="grid", remedy=("gan", "pacgan:pack=3"), seeds=8), "out/grid")
      >>> print(out.result.table())
    """
    from mcjax.core.sharding import initialize_distributed, is_main_process, use_cpu_cores

    if spec is None and not resume:
        raise ConfigError("run needs a spec (or resume=True and the folder of a sweep to continue)")
    if out_dir is not None and not str(out_dir).strip():
        raise ConfigError(f"--out {out_dir!r} is empty; give a folder (or leave --out out for "
                          "mcjax-out/<target>-<time>)")
    resuming = False
    if resume:
        spec, resuming = _resume_spec(spec, out_dir)
    use_cpu_cores()  # before anything starts JAX; warns when it is too late
    if distributed is not None:
        initialize_distributed(**distributed)
    if figures not in (True, False, "png", "pdf", "svg"):
        raise ConfigError(f"figures={figures!r}; allowed: True, False, 'png', 'pdf', 'svg'")
    experiments = spec.experiments()
    check_memory(experiments, spec.seeds)
    out_dir = out_dir or os.path.join(
        "mcjax-out", f"{spec.name()}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    with FolderLock(out_dir, enabled=is_main_process()) as lock:
        if not resuming:
            _start_folder(spec, out_dir, overwrite, is_main_process())
        else:
            _check_checkpoints(out_dir)
        lock.claim()
        return _train_and_save(spec, experiments, out_dir, resuming, progress=progress,
                               figures=figures, cache=cache, stream=stream, on_chunk=on_chunk)


def _check_checkpoints(out_dir: str) -> None:
    """Reads every checkpoint of the folder through before anything is compiled, so that a
    damaged one is named at once, not after minutes of compilation."""
    from mcjax.core.checkpoint import check_checkpoint

    ckpt_dir = os.path.join(out_dir, CHECKPOINTS)
    names = sorted(os.listdir(ckpt_dir)) if os.path.isdir(ckpt_dir) else []
    for name in names:
        if name.endswith(".npz") and not name.startswith("."):
            check_checkpoint(os.path.join(ckpt_dir, name))


def available_memory() -> tuple[int | None, str]:
    """``(bytes, where)``: memory the local devices can give a sweep (an accelerator's
    ``bytes_limit`` summed over devices; on CPU the host's available memory), ``None`` where not
    known."""
    import jax

    devices = jax.local_devices()
    if devices[0].platform != "cpu":
        try:
            limits = [d.memory_stats()["bytes_limit"] for d in devices]
            return int(sum(limits)), f"{len(devices)} x {devices[0].device_kind}"
        except (AttributeError, KeyError, TypeError, RuntimeError):
            return None, devices[0].platform
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024, "this machine's available memory"
    except (OSError, KeyError, ValueError):
        return None, "cpu"


def check_memory(experiments: list, seeds: int, available: int | None = None) -> None:
    """Refuses a sweep whose largest experiment needs more memory than the devices have, by the
    configs' lower estimate ``memory_per_run`` (where a config has one), before compiling."""
    where = "the given limit"
    if available is None:
        available, where = available_memory()
    if available is None:
        return
    for e in experiments:
        per_run = getattr(e.config, "memory_per_run", None)
        if per_run is None:
            continue
        runs = len(e.setting_labels) * seeds
        need = per_run() * runs
        if need > available:
            fit = max(available // (per_run() * len(e.setting_labels)), 0)
            if fit == 0:
                raise ConfigError(
                    f"{e.label}: one run needs at least "
                    f"{per_run() / 2**30:.1f} GiB, more than {where} ({available / 2**30:.1f} "
                    "GiB); use a smaller --batch-size, fewer --eval-samples or a smaller net")
            raise ConfigError(
                f"--seeds {seeds}: {e.label} needs at least {need / 2**30:.1f} GiB for its {runs} "
                f"runs, more than {where} ({available / 2**30:.1f} GiB); use at most about {fit} "
                "seeds, fewer --eval-samples or a smaller net")


def _train_and_save(spec, experiments, out_dir, resuming, *, progress, figures, cache, stream,
                    on_chunk) -> RunOutput:
    from mcjax.core.sharding import is_main_process
    from mcjax.core.sweep import Interrupted, run_sweep

    if cache:
        from mcjax.core.cache import enable_compilation_cache

        enable_compilation_cache()
    if is_main_process():
        runs = sum(len(e.setting_labels) for e in experiments) * spec.seeds
        steps = max(e.config.steps for e in experiments)
        print(f"mcjax sweep: {', '.join(e.label for e in experiments)} on {spec.name()}, {spec.seeds} "
              f"seeds each ({runs} runs x {steps} steps){'; resuming' if resuming else ''}",
              file=sys.stderr if stream is None else stream)
    with StopOnInterrupt() as stopper:
        try:
            result = run_sweep(experiments, spec.seeds, progress=progress, stream=stream,
                               stop=stopper, on_chunk=on_chunk,
                               checkpoint_dir=os.path.join(out_dir, CHECKPOINTS), resume=resuming)
        except Interrupted as e:
            e.out_dir, e.signum = out_dir, stopper.signum
            raise
    if not is_main_process():
        return RunOutput(result, out_dir, [])
    from mcjax.core.export import write_metrics_csv
    from mcjax.core.provenance import provenance

    result.provenance = provenance()
    try:
        write_metrics_csv(result, os.path.join(out_dir, "metrics.csv"))
        result.save(out_dir, overwrite=True)  # summary.json last: the mark of a complete result
    except OSError as e:
        raise ConfigError(f"could not write the results into {out_dir!r} ({e.strerror}); every "
                          "chunk is checkpointed: make room, then `mcjax sweep --resume "
                          f"{shlex.quote(out_dir)}`") from None
    written = []
    if figures:
        from mcjax.plots import save_figures

        written = save_figures(result, out_dir, fmt="png" if figures is True else figures)
    return RunOutput(result, out_dir, written)


class StopOnInterrupt:
    """First Ctrl-C (SIGINT) or SIGTERM (what cluster schedulers send first): finish the chunk,
    checkpoint, stop; ``signum`` says which came. A second one: stop at once."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __enter__(self):
        import signal

        self.requested, self.signum = False, None
        self._signal, self._old = signal, {}
        for name in self.SIGNALS:
            sig = getattr(signal, name)
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.signum = True, signum
        what = "Ctrl-C" if signum == self._signal.SIGINT else self._signal.Signals(signum).name
        print(f"\nmcjax: {what}: stopping after this chunk's checkpoint (Ctrl-C again to stop now)",
              file=sys.stderr)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            self._signal.signal(sig, old)
        return False
