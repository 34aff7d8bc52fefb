"""The digit classifiers on disk: trained at first use in a child process, then loaded.

A classifier (:mod:`mcjax.targets.classifier`) is cached in
``<cache root>/classifiers/<name>-<hash>.npz``, the cache root being ``$MCJAX_CACHE_DIR``, else
``$XDG_CACHE_HOME/mcjax``, else ``~/.cache/mcjax``. The hash covers the split data
(:attr:`~mcjax.targets.digits.DigitData.digest`), the recipe and the file format, so a changed
recipe trains a new classifier; a file that cannot be read is trained again and overwritten. The
file is written to a temporary name and renamed into place, and holds the held-out accuracy.

Training runs in a child Python process on the CPU (``JAX_PLATFORMS=cpu``): building a target must
not start this process's JAX backend (``mcjax.core.sharding.use_cpu_cores`` has to come first), and
a CPU child neither shares nor competes for an accelerator the caller holds. Loading reads NumPy
arrays only.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from typing import NamedTuple

import jax
import numpy as np
from flax import traverse_util

from mcjax.targets.classifier import RECIPES, Recipe, train_classifier
from mcjax.targets.digits import DigitData, load_digits

__all__ = ["DigitClassifier", "classifier_hash", "classifier_cache_dir", "load_classifier"]

FORMAT_VERSION = 1


class DigitClassifier(NamedTuple):
    """A trained classifier as loaded from its cache file.

    Attributes:
      params: the Flax parameters, a nested dict of NumPy ``float32`` arrays.
      recipe: the :class:`~mcjax.targets.classifier.Recipe` it was trained with.
      accuracy: share of held-out digits it labels correctly.
      cache_hash: the 16 hex digits naming its cache file (:func:`classifier_hash`).
      train_seconds: wall time of its training (0 when unknown).
      path: its cache file.
    """

    params: dict
    recipe: Recipe
    accuracy: float
    cache_hash: str
    train_seconds: float
    path: str


def classifier_hash(data: DigitData, recipe: Recipe) -> str:
    """16 hex digits of sha256 over the file format, the source, its split data and the recipe."""
    blob = json.dumps({"format": FORMAT_VERSION, "source": data.name, "data": data.digest,
                       "recipe": _recipe_json(recipe)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def classifier_cache_dir() -> str:
    """``<root>/classifiers``, root ``$MCJAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/mcjax``, else
    ``~/.cache/mcjax``."""
    root = os.environ.get("MCJAX_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "mcjax")
    return os.path.join(root, "classifiers")


def load_classifier(name: str, recipe: Recipe | None = None,
                    cache_dir: str | None = None) -> DigitClassifier:
    """The classifier of digit source ``name`` (``"mnist"`` or ``"digits"``), trained at first use.

    Reads ``<cache_dir>/<name>-<hash>.npz``; when it is missing or cannot be read (damaged,
    truncated, another recipe's), trains one in a child process on the CPU and writes it there.
    Loading starts no JAX backend in this process.

    Args:
      name: the digit source.
      recipe: the training recipe; default ``RECIPES[name]``.
      cache_dir: default :func:`classifier_cache_dir`.

    Returns:
      The :class:`DigitClassifier`, its held-out ``accuracy`` included (not checked here against
      ``ACCURACY_BAR``; :func:`mcjax.targets.images.stacked_digits` refuses one below it).

    Example:
      >>> clf = load_classifier("digits")  # doctest: +SKIP
      >>> clf.accuracy >= 0.97  # doctest: +SKIP
      True
    """
    data = load_digits(name)
    recipe = _recipe_from_json(_recipe_json(RECIPES[name] if recipe is None else recipe))
    digest = classifier_hash(data, recipe)
    path = os.path.join(cache_dir or classifier_cache_dir(), f"{name}-{digest}.npz")
    try:
        return _read(path, digest, recipe)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        pass
    _train_in_child(name, recipe, path)
    return _read(path, digest, recipe)


def _recipe_json(recipe: Recipe) -> dict:
    """The recipe as JSON-ready values, each cast to its field's type (``max_shift=2`` and
    ``max_shift=2.0`` hash alike)."""
    out = {}
    for k, v in recipe._asdict().items():
        default = Recipe._field_defaults[k]
        out[k] = [int(w) for w in v] if isinstance(default, tuple) else type(default)(v)
    return out


def _recipe_from_json(fields: dict) -> Recipe:
    return Recipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def _write(path: str, params: dict, meta: dict) -> None:
    """Writes the cache file atomically: a temporary file in the same folder, then ``os.replace``."""
    arrays = {"params/" + k: v for k, v in traverse_util.flatten_dict(params, sep="/").items()}
    buf = io.BytesIO()
    np.savez(buf, meta=np.asarray(json.dumps(meta, sort_keys=True)), **arrays)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: str, digest: str, recipe: Recipe) -> DigitClassifier:
    """The cached classifier; ``ValueError`` (or a read error) unless it is whole and ``digest``'s."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        flat = {k[len("params/"):]: np.asarray(z[k]) for k in z.files if k.startswith("params/")}
    if meta.get("format") != FORMAT_VERSION or meta.get("hash") != digest:
        raise ValueError(f"{path}: not the classifier of hash {digest}")
    if not flat or not all(a.dtype == np.float32 and np.isfinite(a).all() for a in flat.values()):
        raise ValueError(f"{path}: damaged parameters")
    accuracy = float(meta["accuracy"])
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"{path}: accuracy {accuracy!r}")
    return DigitClassifier(params=traverse_util.unflatten_dict(flat, sep="/"), recipe=recipe,
                           accuracy=accuracy, cache_hash=digest,
                           train_seconds=float(meta.get("train_seconds", 0.0)), path=path)


def _train_and_write(name: str, recipe: Recipe, path: str) -> None:
    """What the child process runs: train, then write the cache file."""
    data = load_digits(name)
    params, accuracy, seconds = train_classifier(data, recipe)
    meta = {"format": FORMAT_VERSION, "hash": classifier_hash(data, recipe), "source": data.name,
            "data_sha256": data.digest, "recipe": _recipe_json(recipe), "accuracy": accuracy,
            "train_seconds": seconds, "jax": jax.__version__,
            "platform": jax.devices()[0].platform}
    _write(path, params, meta)


def _train_in_child(name: str, recipe: Recipe, path: str) -> None:
    """Runs :func:`_train_and_write` in ``python -m mcjax.targets.classifier_cache`` on the CPU."""
    print(f"mcjax: training the {name!r} digit classifier once (cached in {path})", file=sys.stderr)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-m", "mcjax.targets.classifier_cache", name, path,
                          json.dumps(_recipe_json(recipe))], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"training the {name!r} digit classifier failed "
                           f"(exit status {out.returncode}):\n{tail}")


if __name__ == "__main__":
    _train_and_write(sys.argv[1], _recipe_from_json(json.loads(sys.argv[3])), sys.argv[2])
