"""JAX's persistent compilation cache, switched on by the command line and experiment scripts.

A second invocation of the same sweep then loads its compiled programs from disk instead of
compiling them (seconds saved per ``Config``).
"""
from __future__ import annotations

import os

import jax

__all__ = ["enable_compilation_cache", "default_cache_dir"]


def default_cache_dir() -> str:
    """``$MCJAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/mcjax/jax``, else ``~/.cache/mcjax/jax``."""
    if os.environ.get("MCJAX_CACHE_DIR"):
        return os.environ["MCJAX_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mcjax", "jax")


def enable_compilation_cache(path: str | None = None) -> str:
    """Caches every compiled program under ``path`` (default :func:`default_cache_dir`); returns it."""
    path = path or default_cache_dir()
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
