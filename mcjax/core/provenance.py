"""Provenance of a run: what code, on what software and machine, from what command.

A plain JSON-serialisable dict to store beside results, so that a number can be traced back to
the mcjax commit, the library versions, the XLA settings and the devices that produced it, and the
command pasted again to reproduce it.

Example:
  >>> info = provenance()
  >>> info["versions"]["jax"], info["device_kind"], info["git_commit"]
  ('0.10.2', 'cpu', 'c63d063...')
"""
from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import os
import platform
import shlex
import socket
import subprocess
import sys

__all__ = ["ENV_VARS", "PACKAGES", "provenance", "package_version", "git_state"]

PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "chex", "mcjax")
ENV_VARS = ("XLA_FLAGS", "JAX_PLATFORMS", "JAX_ENABLE_X64", "JAX_DEFAULT_MATMUL_PRECISION")
GIT_TIMEOUT_S = 5


def provenance(argv: list[str] | None = None) -> dict:
    """JSON-serialisable provenance of the running process.

    Args:
      argv: the command line to record (default ``sys.argv``).

    Returns:
      A dict with keys ``python`` (version), ``python_implementation``, ``os`` (platform string),
      ``versions`` (:data:`PACKAGES` -> version string, or ``None`` if not installed), ``env``
      (:data:`ENV_VARS` -> value, ``None`` when unset), ``jax_default_matmul_precision`` and
      ``jax_enable_x64`` (``jax.config`` as it is now), ``device_kind`` (of the first device),
      ``device_platform``, ``device_count``, ``local_device_count``, ``process_count``,
      ``git_commit`` and ``git_dirty`` (of the checkout mcjax is imported from, see
      :func:`git_state`), ``argv`` (a list), ``command`` (``argv`` as one shell-pasteable string,
      ``shlex.split(command) == argv``), ``cwd``, ``hostname`` and ``time_utc`` (ISO 8601).
    """
    import jax

    argv = [str(a) for a in (sys.argv if argv is None else argv)]
    devices = jax.devices()
    commit, dirty = git_state(os.path.dirname(os.path.abspath(_mcjax_init())))
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "os": platform.platform(),
        "versions": {name: package_version(name) for name in PACKAGES},
        "env": {name: os.environ.get(name) for name in ENV_VARS},
        "jax_default_matmul_precision": _plain(jax.config.jax_default_matmul_precision),
        "jax_enable_x64": bool(jax.config.jax_enable_x64),
        "device_kind": devices[0].device_kind if devices else None,
        "device_platform": devices[0].platform if devices else None,
        "device_count": len(devices),
        "local_device_count": jax.local_device_count(),
        "process_count": jax.process_count(),
        "git_commit": commit,
        "git_dirty": dirty,
        "argv": argv,
        "command": shlex.join(argv),
        "cwd": os.getcwd(),
        "hostname": socket.gethostname(),
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def package_version(name: str) -> str | None:
    """The version of distribution ``name``: its installed metadata, else the module's
    ``__version__``, else ``None`` (not installed). ``mcjax`` is the imported package's own
    ``__version__``: the code that runs may be a checkout, not the installed distribution."""
    if name != "mcjax":
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        version = getattr(importlib.import_module(name), "__version__", None)
    except ImportError:
        return None
    return None if version is None else str(version)


def git_state(directory: str) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout whose tracked files include ``directory``.

    ``commit`` is ``git rev-parse HEAD``; ``dirty`` whether ``git status --porcelain`` lists
    anything. ``(None, None)`` when no ``.git`` lies at or above ``directory``, when
    ``directory``'s ``__init__.py`` is not tracked there (e.g. a package installed into a
    git-ignored virtualenv inside some repository), or when git is missing, fails or takes more
    than ``GIT_TIMEOUT_S`` seconds. Never raises.
    """
    directory = os.path.abspath(directory)
    if not _inside_git_tree(directory):
        return None, None
    tracked = _git(directory, "ls-files", "--error-unmatch", "--", "__init__.py")
    commit = _git(directory, "rev-parse", "HEAD") if tracked is not None else None
    if not commit:
        return None, None
    status = _git(directory, "status", "--porcelain")
    return commit.strip(), None if status is None else bool(status.strip())


def _inside_git_tree(directory: str) -> bool:
    d = directory
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return True
        parent = os.path.dirname(d)
        if parent == d:
            return False
        d = parent


def _git(directory: str, *args: str) -> str | None:
    """``git -C directory args...``'s stdout, or ``None`` if it could not run or failed.

    ``--no-optional-locks``: ``git status`` must not take the index lock from a concurrent git
    command in the same checkout."""
    try:
        out = subprocess.run(["git", "--no-optional-locks", "-C", directory, *args],
                             capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return out.stdout if out.returncode == 0 else None


def _mcjax_init() -> str:
    import mcjax

    return mcjax.__file__


def _plain(value):
    """A config value as JSON: ``None``, a bool, number or string as is, anything else as ``str``."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
