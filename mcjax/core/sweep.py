"""Seeds x settings sweeps: many runs of one system config in one compiled, vmapped program.

A sweep is a list of :class:`Experiment` (one per static config, e.g. one per remedy), each with a
stack of hyperparameter settings ``[S]``, trained for every seed ``[N]``: ``S * N`` runs on one run
axis, ``jit(vmap(train))``. Any :class:`~mcjax.core.system.System` can be swept: the config's
``make_system()`` gives its pure functions, and nothing here knows what they train. Long runs are cut into chunks of the scan so one progress bar advances
per chunk without host callbacks in the hot loop.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any, Callable, NamedTuple, Sequence, TextIO

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mcjax._validation import ConfigError, check_positive_int
from mcjax.core.system import SystemConfig, abstract_hparams, hparams_dict
from mcjax.core.results import GroupResult, SweepResult
from mcjax.core.checkpoint import (checkpoint_path, load_checkpoint, read_meta, restore_state,
                                   save_checkpoint)
from mcjax.core.sharding import is_main_process, padded_runs, place_runs, run_mesh, run_sharding, to_host

__all__ = ["Experiment", "Interrupted", "run_sweep", "chunk_size", "compiled_programs",
           "place_experiment", "Placement", "state_shapes", "platform_name", "replay"]


class Experiment(NamedTuple):
    """One compiled program of a sweep.

    Attributes:
      label: name shown in tables and figures (e.g. the remedy).
      config: the static config (a :class:`~mcjax.core.system.SystemConfig`, e.g. the GAN's
        ``Config``).
      hparams: the system's hyperparameters with a leading settings axis ``[S]`` on every leaf
        (for the GAN, ``HParams`` from ``stack_hparams``).
      setting_labels: ``S`` short labels, e.g. ``("lr_d=0.001", "lr_d=0.0003")``; ``("",)`` for one.
    """

    label: str
    config: SystemConfig
    hparams: Any
    setting_labels: tuple = ("",)


def chunk_size(n_logs: int, max_chunks: int = 20) -> int:
    """Logging intervals per chunk: the smallest divisor of ``n_logs`` giving at most ``max_chunks`` chunks."""
    for d in range(1, n_logs + 1):
        if n_logs % d == 0 and n_logs // d <= max_chunks:
            return d
    return n_logs


def _input_shapes(config: SystemConfig, n_runs: int):
    hp = abstract_hparams(config.default_hparams(), n_runs)
    return hp, jax.ShapeDtypeStruct((n_runs,), jnp.uint32)


def _stacked_init(system):
    """``(hparams [R], seeds uint32 [R]) -> state``: each run's state from ``jax.random.key(seed)``."""
    return jax.vmap(lambda h, s: system.init(h, jax.random.key(s)))


def state_shapes(config: SystemConfig, n_runs: int):
    """Shapes and dtypes of the stacked state of ``n_runs`` runs of ``config`` (nothing compiled)."""
    return jax.eval_shape(_stacked_init(config.make_system()), *_input_shapes(config, n_runs))


@functools.lru_cache(maxsize=16)
def compiled_programs(config: SystemConfig, n_runs: int, chunk: int, mesh: Mesh | None = None):
    """Ahead-of-time compiled ``(init, advance, evaluate, abstract_state)`` over ``n_runs`` runs.

    Cached per process.

    ``init(hparams [R], seeds uint32 [R])`` builds each run's state from ``jax.random.key(seed)``;
    ``advance(hparams, state)`` runs ``chunk`` logging intervals and donates the state;
    ``evaluate(state)`` gives the final mode statistics and samples (on one device when the mesh is
    several CPU devices of one process: :func:`_lapack_unsafe`). With a ``mesh``, every input and
    output is sharded along the run axis (``n_runs`` must be a multiple of the mesh size).
    Hyperparameter *values* are arguments, so any sweep of the same ``config`` and run count reuses
    these programs.
    """
    system = config.make_system()
    hp, seeds = _input_shapes(config, n_runs)
    init_fn = _stacked_init(system)
    state = jax.eval_shape(init_fn, hp, seeds)
    if mesh is None:
        jit = jax.jit
    else:
        sh = run_sharding(mesh)
        jit = lambda f, **kw: jax.jit(f, in_shardings=sh, out_shardings=sh, **kw)
    init = jit(init_fn).lower(hp, seeds).compile()
    advance = (
        jit(jax.vmap(lambda h, s: system.advance(h, s, chunk)), donate_argnums=1)
        .lower(hp, state)
        .compile()
    )
    if _lapack_unsafe(mesh):  # the final evaluation may call LAPACK (Frechet distance): one device
        device = mesh.devices.flat[0]
        one = jax.sharding.SingleDeviceSharding(device)
        evaluate = _OnOneDevice(
            jax.jit(jax.vmap(system.evaluate), in_shardings=one).lower(state).compile(), one)
    else:
        evaluate = jit(jax.vmap(system.evaluate)).lower(state).compile()
    return init, advance, evaluate, state


class _OnOneDevice:
    """A compiled program for one device, called with the sweep's sharded state (moved there)."""

    def __init__(self, compiled, sharding):
        self.compiled, self.sharding = compiled, sharding

    def __call__(self, state):
        return self.compiled(jax.device_put(state, self.sharding))

    def as_text(self) -> str:
        return self.compiled.as_text()


def _lapack_unsafe(mesh: Mesh | None) -> bool:
    """Whether a program sharded over ``mesh`` must not call LAPACK: several CPU devices of one
    process. jaxlib's CPU LAPACK kernels split a batch (here: the runs on a device) over the
    intra-op thread pool that the devices' programs themselves run on, and wait for it; with every
    pool thread running one device's program and waiting so, none is left and the sweep hangs
    (seen: ``?syevd`` in the ``--log-dynamics`` scan, ``?geqrf`` of the Frechet distance). The
    training scan has no LAPACK call (a test checks its HLO); the final evaluation runs on one
    device there, where the pool has threads free."""
    if mesh is None or mesh.devices.size < 2 or jax.process_count() > 1:
        return False
    return all(d.platform == "cpu" for d in mesh.devices.flat)


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("at least one seed is needed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s < 2**32:
            raise ConfigError(f"seeds must be integers in [0, 2**32), got {s!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct, got {seeds}")
    return [int(s) for s in seeds]


def platform_name(mesh: Mesh) -> str:
    """The machine a sweep runs on, for its results: device kind x count, and the JAX version."""
    devices = mesh.devices.flat
    kinds = sorted({d.device_kind for d in devices})
    return f"{'/'.join(kinds)} x{mesh.devices.size}, jax {jax.__version__}"


def run_sweep(
    experiments: Sequence[Experiment],
    seeds: Sequence[int] | int,
    *,
    progress: bool = True,
    stream: TextIO | None = None,
    max_chunks: int = 20,
    devices: Sequence[jax.Device] | None = None,
    checkpoint_dir: str | None = None,
    resume: bool = False,
    stop: Callable[[], bool] | None = None,
    on_chunk: Callable[["ChunkReport"], None] | None = None,
) -> SweepResult:
    """Trains every experiment for every seed; returns labelled per-run results.

    Args:
      experiments: the programs to run, one compilation each.
      seeds: seed list, or ``n`` for seeds ``0..n-1``.
      progress: show one tqdm bar (on ``stream``, default stderr) for the whole sweep.
      max_chunks: the scan is cut into at most this many chunks per experiment.
      devices: devices whose 1-D mesh shards the run axis (default: all devices of all processes).
        The run count is padded to a multiple of their number; an experiment of fewer runs than
        devices (one process) uses the first of them, one per run.
      checkpoint_dir: write every experiment's state and history there at each chunk boundary.
      resume: continue from the checkpoints in ``checkpoint_dir`` (they must be from this very
        sweep); finished experiments are not run again. The result equals an uninterrupted sweep.
      stop: polled after each chunk's checkpoint; when it returns True the sweep raises
        :class:`Interrupted` (e.g. set by a Ctrl-C handler).
      on_chunk: called with a :class:`ChunkReport` (the history so far) after each chunk's
        checkpoint, e.g. a metrics writer (``mcjax.core.writers``) to watch a long sweep.

    Raises:
      Interrupted: ``stop()`` asked to stop; every checkpoint on disk is complete.

    Returns:
      A :class:`~mcjax.core.results.SweepResult`; run ``(s, n)`` of an experiment is bitwise the run
      ``make_train(config)(hparams[s], jax.random.key(seeds[n]))`` up to float reassociation.
    """
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        check_positive_int("seeds", int(seeds))
        seeds = list(range(int(seeds)))
    seeds = _check_seeds(seeds)
    if not experiments:
        raise ConfigError("a sweep needs at least one experiment")
    labels = [e.label for e in experiments]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"experiment labels must be distinct, got {labels}")
    for label in labels:
        if not label or "/" in label:
            raise ConfigError(f"experiment label {label!r} must be non-empty and contain no '/'")
    n_seeds = len(seeds)
    total = sum(len(e.setting_labels) * n_seeds * e.config.steps for e in experiments)
    stream = sys.stderr if stream is None else stream

    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="run-step", unit_scale=True, file=stream,
               disable=not progress or not is_main_process(),
               dynamic_ncols=True)
    groups = []
    try:
        for index, exp in enumerate(experiments):
            ckpt = None if checkpoint_dir is None else checkpoint_path(checkpoint_dir, index)
            groups.append(_run_experiment(exp, seeds, bar, max_chunks, devices, ckpt, resume, stop,
                                          on_chunk, index))
    finally:
        bar.close()
    return SweepResult(groups=groups)


class ChunkReport(NamedTuple):
    """What :func:`run_sweep` tells ``on_chunk`` after each chunk of an experiment.

    Attributes:
      label, index: the experiment's label and position in the sweep.
      setting_labels, seeds: its ``S`` setting labels and ``N`` seeds.
      chunk, n_chunks: chunks done so far (this one included) and in all.
      log_steps: ``[T]`` the steps logged so far; ``new``: how many of them this chunk added.
      history: ``name -> [S, N, T, ...]`` every logged metric so far (host arrays).
    """

    label: str
    index: int
    setting_labels: tuple
    seeds: tuple
    chunk: int
    n_chunks: int
    log_steps: np.ndarray
    new: int
    history: dict


class Interrupted(Exception):
    """The sweep stopped at a chunk boundary on request; its checkpoints allow a resume."""


class Placement(NamedTuple):
    """An experiment's inputs laid out on the run axis of a mesh (what its programs take).

    Attributes:
      hparams: every leaf ``[n_pad]``: setting ``s`` repeated for each seed, sharded by run.
      seeds: ``uint32 [n_pad]``: run ``s * N + n`` has seed ``seeds[n]``.
      n_set, n_runs, n_pad: settings, runs (settings x seeds), runs padded to the mesh size.
      chunk: logging intervals per ``advance`` call.
    """

    hparams: Any
    seeds: jax.Array
    n_set: int
    n_runs: int
    n_pad: int
    chunk: int


def place_experiment(exp: Experiment, seeds: Sequence[int], mesh: Mesh, max_chunks: int = 20
                     ) -> Placement:
    """Checks ``exp``'s hyperparameters and lays them and ``seeds`` out over ``mesh``.

    Raises:
      ConfigError: the settings axis is missing or uneven, the hparams are not of the config's
        structure, or the labels do not match the settings.
    """
    cfg = exp.config
    values = hparams_dict(exp.hparams)
    shapes = [np.shape(v) for v in values.values()]
    n_set = shapes[0][0] if shapes and len(shapes[0]) == 1 else 0
    if n_set == 0 or any(sh != (n_set,) for sh in shapes):
        raise ConfigError(
            f"{exp.label}: hparams need one leading settings axis of equal length, got shapes "
            f"{dict(zip(values, shapes))}"
        )
    if jax.tree.structure(exp.hparams) != jax.tree.structure(cfg.default_hparams()):
        raise ConfigError(f"{exp.label}: hparams must have the structure of the config's "
                          f"default_hparams(), {type(cfg.default_hparams()).__name__}")
    if len(exp.setting_labels) != n_set:
        raise ConfigError(f"{exp.label}: {n_set} settings but {len(exp.setting_labels)} labels")
    n_seeds = len(seeds)
    hp_runs = jax.tree.map(lambda a: place_runs(np.repeat(np.asarray(a, np.float32), n_seeds), mesh),
                           exp.hparams)
    seed_runs = place_runs(np.tile(np.asarray(seeds, np.uint32), n_set), mesh)
    return Placement(hp_runs, seed_runs, n_set, n_set * n_seeds, padded_runs(n_set * n_seeds, mesh),
                     chunk_size(cfg.n_logs, max_chunks))


def _report(exp: Experiment, index: int, seeds, i: int, n_chunks: int, new: int,
            history: dict) -> ChunkReport:
    n_set = len(exp.setting_labels)
    grid = {k: v.reshape((n_set, len(seeds)) + v.shape[1:]) for k, v in history.items()
            if k != "step"}
    return ChunkReport(exp.label, index, tuple(exp.setting_labels), tuple(seeds), i + 1,
                       n_chunks, np.asarray(history["step"][0]), new, grid)


def _sweep_mesh(devices, n_runs: int, ckpt: str | None) -> Mesh:
    """The run mesh of an experiment of ``n_runs`` runs: at most ``n_runs`` devices
    (:func:`run_mesh`), unless the checkpoint to resume was padded for every device (written
    before meshes shrank to the run count), whose state then keeps its layout."""
    mesh = run_mesh(devices, n_runs)
    if ckpt is None or not os.path.exists(ckpt):
        return mesh
    full = run_mesh(devices)
    if mesh.size == full.size:
        return mesh
    try:
        n_pad = read_meta(ckpt).get("n_pad")
    except ConfigError:
        return mesh  # a damaged checkpoint is reported by load_checkpoint
    return full if n_pad == padded_runs(n_runs, full) else mesh


def _run_experiment(exp: Experiment, seeds: list[int], bar, max_chunks: int, devices,
                    ckpt: str | None, resume: bool, stop, on_chunk=None,
                    index: int = 0) -> GroupResult:
    cfg = exp.config
    mesh = _sweep_mesh(devices, len(exp.setting_labels) * len(seeds), ckpt if resume else None)
    placed = place_experiment(exp, seeds, mesh, max_chunks)
    hp_runs, seed_runs, chunk = placed.hparams, placed.seeds, placed.chunk
    n_set, n_runs, n_pad, n_seeds = placed.n_set, placed.n_runs, placed.n_pad, len(seeds)
    values = hparams_dict(exp.hparams)

    bar.set_description(f"{exp.label}: compiling")
    t0 = time.perf_counter()
    init, advance, evaluate, abstract = compiled_programs(cfg, n_pad, chunk, mesh)
    compile_s = time.perf_counter() - t0

    bar.set_description(exp.label)
    t0 = time.perf_counter()
    n_chunks = cfg.n_logs // chunk
    meta = {"label": exp.label, "system": cfg.system, "config": cfg.to_dict(), "seeds": list(seeds),
            "n_runs": n_runs, "n_pad": n_pad, "chunk": chunk,
            "hparams": {k: [float(x) for x in np.asarray(v)] for k, v in values.items()}}
    history: dict[str, np.ndarray] = {}
    done, run_s_before = 0, 0.0
    if resume and ckpt is not None and os.path.exists(ckpt):
        leaves, history, done, run_s_before = load_checkpoint(ckpt, abstract, meta)
        state = restore_state(leaves, abstract, jax.tree.leaves(init.output_shardings))
        bar.update(n_runs * done * chunk * cfg.log_every)
    else:
        state = init(hp_runs, seed_runs)
    def grid(a):
        a = np.asarray(a)
        return a.reshape((n_set, n_seeds) + a.shape[1:])

    for i in range(done, n_chunks):
        state, hist = advance(hp_runs, state)
        hist = jax.tree.map(lambda a: a[:n_runs], to_host(hist))
        history = hist if not history else {k: np.concatenate([history[k], hist[k]], axis=1) for k in hist}
        if ckpt is not None:
            try:
                save_checkpoint(ckpt, state, history, i + 1, meta,
                                run_s=run_s_before + time.perf_counter() - t0)
            except OSError as e:  # e.g. the disk is full: the last checkpoint is still whole
                raise ConfigError(f"could not write checkpoint {ckpt!r} ({e.strerror}); the one "
                                  f"before it is intact ({i} of {n_chunks} chunks): make room, "
                                  "then resume") from None
        bar.update(n_runs * chunk * cfg.log_every)
        if on_chunk is not None:
            on_chunk(_report(exp, index, seeds, i, n_chunks, chunk, history))
        if stop is not None and stop() and i + 1 < n_chunks:
            raise Interrupted(f"{exp.label}: stopped after chunk {i + 1} of {n_chunks}")
    stats, samples = evaluate(state)
    final_stats = {k: grid(v[:n_runs]) for k, v in to_host(stats).items()
                   if k not in history and np.ndim(v) == 1}  # measured on the final state only
    samples = to_host(samples)[:n_runs, : cfg.keep_samples]
    final = to_host((state.diverged, state.diverged_step))
    run_s = run_s_before + time.perf_counter() - t0  # a resumed run counts its earlier chunks too

    return GroupResult(
        label=exp.label,
        config=cfg,
        setting_labels=list(exp.setting_labels),
        hparams={k: np.asarray(v) for k, v in values.items()},
        seeds=np.asarray(seeds),
        log_steps=np.asarray(history.pop("step")[0]),
        history={k: grid(v) for k, v in history.items()},
        samples=grid(samples),
        diverged=grid(final[0][:n_runs]),
        diverged_step=grid(final[1][:n_runs]),
        target=cfg.describe(),
        compile_s=compile_s,
        run_s=run_s,
        platform=platform_name(mesh),
        final_stats=final_stats,
    )


def replay(group: GroupResult, setting: int, seed: int, n_logs: int) -> tuple[Any, Any]:
    """``(hparams, state)`` of run ``(setting, seed)`` of a finished sweep after its first ``n_logs``
    logging intervals, trained again alone from ``(config, hparams, seed)`` (the sweep's run up to
    float reassociation): the state a sweep does not keep, e.g. for a figure of its critic.

    Raises:
      ConfigError: ``setting``, ``seed`` or ``n_logs`` is not one of the group's.
    """
    cfg = group.config
    if not 0 <= setting < group.n_settings:
        raise ConfigError(f"setting {setting!r} not in 0..{group.n_settings - 1}")
    if seed not in set(int(s) for s in group.seeds):
        raise ConfigError(f"seed {seed!r} is not one of the sweep's seeds")
    if isinstance(n_logs, bool) or not isinstance(n_logs, int) or not 0 <= n_logs <= cfg.n_logs:
        raise ConfigError(f"n_logs must be an integer in 0..{cfg.n_logs}, got {n_logs!r}")
    default = cfg.default_hparams()
    values = {k: jnp.asarray(np.asarray(v)[setting], jnp.float32) for k, v in group.hparams.items()}
    hp = type(default)(**values) if hasattr(default, "_asdict") else values
    system = cfg.make_system()
    state = jax.jit(system.init)(hp, jax.random.key(seed))
    if n_logs:
        state, _ = jax.jit(lambda h, s: system.advance(h, s, n_logs))(hp, state)
    return hp, state
