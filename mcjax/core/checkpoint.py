"""Chunk-boundary checkpoints of a sweep: every run's state and history so far, written atomically.

One file per experiment, ``<dir>/<index>.npz``: the ``TrainState`` leaves of all runs (typed keys
stored as their raw key data), the history logged so far, the number of chunks done, and a JSON
``meta`` entry describing the sweep (config, hyperparameters, seeds, run count, chunk size, format
and library versions) that a resume must match exactly. Single-process files; in a multi-host run
process 0 writes them from gathered state.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import jax
import numpy as np

from mcjax._validation import ConfigError
from mcjax.core.results import atomic_write

__all__ = ["CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint", "checkpoint_path",
           "restore_state", "check_checkpoint", "read_meta"]

CHECKPOINT_VERSION = 1


def checkpoint_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"experiment-{index:03d}.npz")


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key)


def save_checkpoint(path: str, state: Any, history: dict[str, np.ndarray], chunks_done: int,
                    meta: dict[str, Any], run_s: float = 0.0) -> None:
    """Writes ``state`` (host or device arrays), ``history`` and ``chunks_done`` to ``path`` atomically.

    ``run_s``: seconds spent training so far, so that a resumed sweep reports its whole training time.
    """
    from mcjax.core.sharding import is_main_process, to_host

    leaves = jax.tree.leaves(state)
    arrays: dict[str, np.ndarray] = {}
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            arrays[f"state/{i}/key"] = to_host(jax.random.key_data(leaf))
        else:
            arrays[f"state/{i}"] = to_host(leaf)
    for k, v in history.items():
        arrays[f"history/{k}"] = np.asarray(v)
    from mcjax import __version__

    meta = dict(meta, checkpoint_version=CHECKPOINT_VERSION, mcjax_version=__version__,
                chunks_done=int(chunks_done), n_leaves=len(leaves), run_s=float(run_s))
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    if not is_main_process():
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(path, buf.getvalue())


def restore_state(leaves: list, abstract_state: Any, place: Any = None) -> Any:
    """The state pytree of ``abstract_state``'s structure from ``load_checkpoint``'s leaves.

    ``place``: one sharding per leaf to put each array on (default: left on the host); key leaves
    get their key type back (``jax.random.wrap_key_data``).
    """
    from mcjax.core.sharding import to_global

    places = [None] * len(leaves) if place is None else place
    put = lambda a, p: a if p is None else to_global(a, p)
    restored = [jax.random.wrap_key_data(put(l[1], p)) if isinstance(l, tuple) else put(l, p)
                for l, p in zip(leaves, places)]
    return jax.tree.unflatten(jax.tree.structure(abstract_state), restored)


def _read(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array of a checkpoint and its ``meta``; ``ConfigError`` naming the file if it is
    damaged (truncated, garbage, empty, or its history disagrees with its chunk count)."""
    try:
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(bytes(data.pop("meta")).decode())
        if not isinstance(meta, dict):
            raise ValueError("meta is not a JSON object")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ConfigError(f"checkpoint {path!r} is damaged ({type(e).__name__}: {e}); delete it and "
                          "resume again to retrain that experiment from its start") from None
    if meta.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise ConfigError(f"checkpoint {path!r} has format version {meta.get('checkpoint_version')!r}; "
                          f"this mcjax reads version {CHECKPOINT_VERSION}")
    _check_history(path, data, meta)
    return data, meta


def _check_history(path: str, data: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """The chunk count must be what the logged history holds: ``chunks_done * chunk`` logs of
    ``n_runs`` runs each, and no more chunks than the sweep has."""
    done, chunk, runs = meta.get("chunks_done"), meta.get("chunk"), meta.get("n_runs")
    try:
        from mcjax.core.system import config_from_dict

        n_chunks = config_from_dict(meta["config"], meta.get("system", "gan")).n_logs // chunk
        ok = isinstance(done, int) and 1 <= done <= n_chunks
    except (KeyError, TypeError, ValueError, ZeroDivisionError, ConfigError):
        ok, n_chunks = False, "?"
    shapes = {k: v.shape for k, v in data.items() if k.startswith("history/")}
    if ok:
        ok = bool(shapes) and all(len(s) >= 2 and s[:2] == (runs, done * chunk)
                                  for s in shapes.values())
    if not ok:
        got = sorted({s[:2] for s in shapes.values()})
        raise ConfigError(f"checkpoint {path!r} is damaged: it says {done!r} of {n_chunks} chunks "
                          f"done ({chunk!r} logs each, {runs!r} runs), its history holds "
                          f"{got} (runs, logs); delete it and resume again to retrain that "
                          "experiment from its start")


def check_checkpoint(path: str) -> None:
    """Reads a checkpoint through, as a resume will, and raises ``ConfigError`` if it is damaged:
    the check a resume makes before compiling anything."""
    _read(path)


def read_meta(path: str) -> dict[str, Any]:
    """The ``meta`` of a checkpoint (label, config, seeds, ``n_runs``, ``n_pad``, ``chunk``,
    ``chunks_done``, ...), read and checked as :func:`load_checkpoint` reads it."""
    return _read(path)[1]


def load_checkpoint(path: str, abstract_state: Any, expect: dict[str, Any]
                    ) -> tuple[list[np.ndarray | tuple], dict[str, np.ndarray], int, float]:
    """Reads a checkpoint written for the same sweep.

    Args:
      path: the file.
      abstract_state: ``jax.eval_shape`` of the state, giving the tree structure and key leaves.
      expect: the ``meta`` the current sweep would write; every entry must match.

    Returns:
      ``(leaves, history, chunks_done, run_s)``; a key leaf comes back as ``("key", key_data)``;
      ``run_s`` is the training time saved with it (0 in checkpoints from before it was saved).

    Raises:
      ConfigError: the file is from another format version or another sweep.
    """
    data, meta = _read(path)
    expect = json.loads(json.dumps(expect, sort_keys=True))
    meta.setdefault("system", "gan")  # checkpoints from before other systems existed
    if isinstance(meta.get("config"), dict) and isinstance(expect.get("config"), dict):
        # a config field added since the checkpoint was written reads as its default there
        from mcjax.core.system import config_from_dict

        try:
            meta["config"] = json.loads(json.dumps(
                config_from_dict(meta["config"], meta["system"]).to_dict()))
        except (TypeError, ValueError):
            pass  # unknown fields or bad values: reported as a mismatch below
    for key, value in expect.items():
        if meta.get(key) != value:
            raise ConfigError(f"checkpoint {path!r} was written for another sweep: {key} is "
                              f"{meta.get(key)!r} there, {value!r} here")
    abstract_leaves = jax.tree.leaves(abstract_state)
    if meta["n_leaves"] != len(abstract_leaves):
        raise ConfigError(f"checkpoint {path!r} holds {meta['n_leaves']} state arrays; this program "
                          f"has {len(abstract_leaves)}")
    leaves = []
    for i, a in enumerate(abstract_leaves):
        if _is_key(a):
            leaves.append(("key", data[f"state/{i}/key"]))
        else:
            leaves.append(data[f"state/{i}"])
    history = {k[len("history/"):]: v for k, v in data.items() if k.startswith("history/")}
    return leaves, history, int(meta["chunks_done"]), float(meta.get("run_s", 0.0))
