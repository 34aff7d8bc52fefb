"""Scale-out of the run axis: one device, many devices, many hosts, the same code.

The runs of a sweep lie on one axis, sharded over a 1-D device mesh ``("runs",)`` with
``NamedSharding``; the run count is padded to a multiple of the device count (padding runs are
copies of the last run and are dropped afterwards), and a sweep of fewer runs than devices takes
one device per run (:func:`run_mesh`). Across hosts, ``jax.distributed`` joins the
processes into one global mesh; every process holds the full (small) host inputs, builds its shards
with ``jax.make_array_from_callback``, and results are gathered with ``process_allgather``.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mcjax._validation import ConfigError, check_positive_int

__all__ = ["run_mesh", "run_sharding", "padded_runs", "to_global", "to_host", "initialize_distributed",
           "is_main_process", "use_cpu_cores", "pad_runs", "place_runs"]


def use_cpu_cores(n: int | None = None) -> int:
    """Makes JAX's CPU backend one device per core, so that sweeps shard their runs over the cores.

    XLA:CPU runs one program's operations one after another, each spread over the cores by its
    intra-op thread pool; the matmuls of these small GANs are too small for that to pay. One CPU
    device per core, with the run axis sharded over them (what ``run_sweep`` does with every
    device), runs independent runs on each core instead: 1.5x the run-steps per second on a 2-core
    CPU (``docs/benchmarks.md``). It changes nothing for a GPU or TPU backend.

    Must run before JAX initialises its backends (before the first computation); later it leaves
    the device count as it is. ``n`` defaults to ``$MCJAX_CPU_DEVICES``, else the cores this process
    may run on; ``0`` leaves JAX's default (one CPU device). Returns the CPU device count asked
    for (0: left alone).
    """
    if n is None:
        env = os.environ.get("MCJAX_CPU_DEVICES")
        if env is not None:
            try:
                n = int(env)
            except ValueError:
                raise ConfigError(f"MCJAX_CPU_DEVICES must be an integer >= 0, got {env!r}") from None
        else:
            n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(f"CPU device count must be an integer >= 0, got {n!r}")
    if n == 0 or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return 0
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # backends already initialised: keep what they have, and say so
        have = len(jax.devices("cpu"))
        if have != n:
            warnings.warn(f"use_cpu_cores({n}): JAX's backends were already initialised with {have} "
                          f"CPU device(s); call it before the first JAX computation", stacklevel=2)
        return 0
    return n


def run_mesh(devices: Any = None, n_runs: int | None = None) -> Mesh:
    """A 1-D mesh named ``"runs"`` over ``devices`` (default: every device of every process).

    With ``n_runs`` fewer than the devices (in one process), the mesh takes only the first
    ``n_runs`` of them: a padding run on a device of its own costs a whole device's work for
    nothing, while the devices left out lend their cores to the rest through XLA:CPU's shared
    intra-op thread pool (one DCGAN run on the 2-core CPU: 19 -> 30 run-steps/s,
    ``docs/benchmarks.md``). Several processes keep every device: each must hold a part.
    """
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ConfigError("no devices to build a mesh on")
    if n_runs is not None and 0 < n_runs < len(devices) and jax.process_count() == 1:
        devices = devices[:n_runs]
    return Mesh(np.asarray(devices), ("runs",), axis_types=(jax.sharding.AxisType.Auto,))


def pad_runs(a: Any, n_pad: int) -> np.ndarray:
    """``a`` with its leading (run) axis padded to ``n_pad`` by copies of its last run."""
    a = np.asarray(a)
    return np.concatenate([a, np.repeat(a[-1:], n_pad - a.shape[0], axis=0)])


def run_sharding(mesh: Mesh) -> NamedSharding:
    """Shards the leading (run) axis of every leaf over the mesh."""
    return NamedSharding(mesh, P("runs"))


def padded_runs(n_runs: int, mesh: Mesh) -> int:
    """``n_runs`` rounded up to a multiple of the mesh size."""
    n = mesh.size
    return -(-n_runs // n) * n


def to_global(x: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host array that every process holds in full."""
    x = np.asarray(x)
    if jax.process_count() == 1:
        return jax.device_put(x, sharding)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def place_runs(a: Any, mesh: Mesh) -> jax.Array:
    """Per-run host values ``a [n_runs, ...]`` as a global array sharded over ``mesh`` by run, the
    run axis padded to a multiple of the mesh size (:func:`padded_runs`) with copies of the last run."""
    a = np.asarray(a)
    return to_global(pad_runs(a, padded_runs(a.shape[0], mesh)), run_sharding(mesh))


def to_host(tree: Any) -> Any:
    """Every leaf as a full NumPy array on every process (``process_allgather`` across hosts)."""
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, jax.device_get(tree))
    from jax.experimental import multihost_utils

    return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def is_main_process() -> bool:
    """True on process 0, the one that prints and writes files."""
    return jax.process_index() == 0


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, timeout_s: int = 300) -> None:
    """Joins this process to a multi-host run (``jax.distributed.initialize``).

    Arguments left ``None`` are read from ``MCJAX_COORDINATOR``, ``MCJAX_NUM_PROCESSES`` and
    ``MCJAX_PROCESS_ID``; if those are unset too, JAX's own cluster detection (SLURM, Open MPI,
    Cloud TPU, ...) fills them in.
    """
    coordinator_address = coordinator_address or os.environ.get("MCJAX_COORDINATOR")
    if num_processes is None and os.environ.get("MCJAX_NUM_PROCESSES"):
        num_processes = int(os.environ["MCJAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("MCJAX_PROCESS_ID"):
        process_id = int(os.environ["MCJAX_PROCESS_ID"])
    if num_processes is not None:
        check_positive_int("num_processes", num_processes)
        if process_id is None or not 0 <= process_id < num_processes:
            raise ConfigError(f"process_id must be in [0, {num_processes}), got {process_id!r}")
    kwargs = {}
    if coordinator_address and coordinator_address.split(":")[0] in ("127.0.0.1", "localhost"):
        kwargs["coordinator_bind_address"] = coordinator_address
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, initialization_timeout=timeout_s, **kwargs)
