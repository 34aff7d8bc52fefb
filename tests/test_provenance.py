"""Run provenance: versions, environment, devices, git state and the command line, as JSON."""
import datetime
import json
import os
import shlex
import shutil
import subprocess

import jax
import numpy as np
import pytest

import mcjax
from mcjax.core.provenance import ENV_VARS, git_state, package_version, provenance

REPO = os.path.dirname(os.path.dirname(os.path.abspath(mcjax.__file__)))
PACKAGE = os.path.dirname(os.path.abspath(mcjax.__file__))
HAS_GIT = shutil.which("git") is not None


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def _commit(repo):
    _git("-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "commit", "-qm",
         "x", cwd=repo)


def test_it_is_json_and_names_the_versions():
    info = provenance(["mcjax", "sweep"])
    assert json.loads(json.dumps(info)) == info
    import chex
    import flax
    import jaxlib
    import optax

    assert info["versions"] == {"jax": jax.__version__, "jaxlib": jaxlib.__version__,
                                "flax": flax.__version__, "optax": optax.__version__,
                                "numpy": np.__version__, "chex": chex.__version__,
                                "mcjax": mcjax.__version__}
    assert package_version("no-such-package-mcjax-test") is None
    assert info["python"].count(".") == 2 and info["python_implementation"]
    assert info["cwd"] == os.getcwd()
    stamp = datetime.datetime.fromisoformat(info["time_utc"])
    assert stamp.utcoffset() == datetime.timedelta(0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - stamp) < datetime.timedelta(minutes=5)


def test_environment_and_devices(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4 --foo")
    monkeypatch.delenv("JAX_DEFAULT_MATMUL_PRECISION", raising=False)
    info = provenance([])
    assert set(info["env"]) == set(ENV_VARS)
    assert info["env"]["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4 --foo"
    assert info["env"]["JAX_DEFAULT_MATMUL_PRECISION"] is None
    assert info["device_count"] == len(jax.devices()) == jax.device_count()
    assert info["device_kind"] == jax.devices()[0].device_kind
    assert info["device_platform"] == jax.devices()[0].platform
    assert info["process_count"] == jax.process_count()
    assert info["jax_enable_x64"] is bool(jax.config.jax_enable_x64)
    assert info["jax_default_matmul_precision"] == jax.config.jax_default_matmul_precision


def test_the_command_line_round_trips():
    argv = ["mcjax", "sweep", "--remedy", "gan pacgan:pack=3", "--out", "it's \"here\"", "$HOME;ls"]
    info = provenance(argv)
    assert info["argv"] == argv
    assert shlex.split(info["command"]) == argv
    import sys

    assert provenance()["argv"] == sys.argv


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_the_commit_of_this_checkout():
    if not os.path.exists(os.path.join(REPO, ".git")):
        pytest.skip("mcjax is not imported from a git checkout")
    info = provenance([])
    assert info["git_commit"] == _git("rev-parse", "HEAD", cwd=REPO)
    assert info["git_dirty"] is bool(_git("--no-optional-locks", "status", "--porcelain", cwd=REPO))


def test_a_copy_outside_any_checkout_has_no_git_state(tmp_path):
    copy = tmp_path / "mcjax"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert git_state(str(copy)) == (None, None)


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_a_package_untracked_inside_a_repository_has_no_git_state(tmp_path):
    """e.g. mcjax installed into a git-ignored virtualenv inside someone's project."""
    _git("init", "-q", cwd=tmp_path)
    (tmp_path / ".gitignore").write_text(".venv/\n")
    _git("add", ".gitignore", cwd=tmp_path)
    _commit(tmp_path)
    site = tmp_path / ".venv" / "site-packages" / "mcjax"
    shutil.copytree(PACKAGE, site, ignore=shutil.ignore_patterns("__pycache__"))
    assert git_state(str(site)) == (None, None)

    tracked = tmp_path / "src" / "mcjax"
    shutil.copytree(PACKAGE, tracked, ignore=shutil.ignore_patterns("__pycache__"))
    _git("add", "src", cwd=tmp_path)
    _commit(tmp_path)
    head = _git("rev-parse", "HEAD", cwd=tmp_path)
    assert git_state(str(tracked)) == (head, False)
    (tracked / "__init__.py").write_text("# edited\n")
    assert git_state(str(tracked)) == (head, True)


def test_a_missing_git_gives_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on the path
    assert git_state(PACKAGE) == (None, None)
