"""Scale-out of the run axis: one device, many devices, many hosts, the same code.

The runs of a sweep lie on one axis, sharded over a 1-D device mesh ``("runs",)`` with
``NamedSharding``; the run count is padded to a multiple of the device count (padding runs are
copies of the last run and are dropped afterwards). Across hosts, ``jax.distributed`` joins the
processes into one global mesh; every process holds the full (small) host inputs, builds its shards
with ``jax.make_array_from_callback``, and results are gathered with ``process_allgather``.
"""
from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mcjax._validation import ConfigError, check_positive_int

__all__ = ["run_mesh", "run_sharding", "padded_runs", "to_global", "to_host", "initialize_distributed",
           "is_main_process"]


def run_mesh(devices: Any = None) -> Mesh:
    """A 1-D mesh named ``"runs"`` over ``devices`` (default: every device of every process)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ConfigError("no devices to build a mesh on")
    return Mesh(np.asarray(devices), ("runs",), axis_types=(jax.sharding.AxisType.Auto,))


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
