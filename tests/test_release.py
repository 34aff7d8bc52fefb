"""Release hygiene: licence, typing marker, one version, and package metadata that agree."""
import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

import mcjax
import mcjax._version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CLASSIFIERS = PROJECT.get("classifiers", [])

# PEP 440 public versions, as in its appendix (canonical form, case-insensitive)
PEP440 = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"
    r"((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$")

APACHE_SECTIONS = (
    "1. Definitions.", "2. Grant of Copyright License.", "3. Grant of Patent License.",
    "4. Redistribution.", "5. Submission of Contributions.", "6. Trademarks.",
    "7. Disclaimer of Warranty.", "8. Limitation of Liability.",
    "9. Accepting Warranty or Additional Liability.",
)


def test_license_is_the_full_apache_2_text():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[:3] == ["Apache License", "Version 2.0, January 2004",
                         "http://www.apache.org/licenses/"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    for section in APACHE_SECTIONS:  # the whole text, not a stub or a truncated copy
        assert section in text, section
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Copyright 2026 The mcjax authors" in text
    assert "[yyyy]" not in text and "[name of copyright owner]" not in text


def test_pyproject_declares_the_same_licence():
    assert PROJECT["license"] == "Apache-2.0"  # a PEP 639 SPDX expression
    assert PROJECT["license-files"] == ["LICENSE"]
    # PEP 639: a licence expression replaces the licence classifiers (setuptools refuses both)
    assert not [c for c in CLASSIFIERS if c.startswith("License ::")]


def test_py_typed_marker_ships_in_the_package():
    assert (ROOT / "mcjax" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["mcjax"]
    assert "Typing :: Typed" in CLASSIFIERS


def test_version_has_one_source_read_without_importing_jax():
    assert "version" not in PROJECT
    assert "version" in PROJECT["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "mcjax._version.__version__"
    assert mcjax.__version__ == mcjax._version.__version__
    # setuptools reads the attribute statically (no import, so no jax at build time) only when the
    # module assigns it a literal string; anything else makes it import mcjax, hence jax
    tree = ast.parse((ROOT / "mcjax" / "_version.py").read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not imports
    values = [n.value for n in tree.body if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == "__version__" for t in n.targets)]
    assert len(values) == 1 and isinstance(values[0], ast.Constant)
    assert values[0].value == mcjax.__version__


def test_version_is_pep440():
    v = mcjax.__version__
    assert isinstance(v, str)
    try:
        from packaging.version import Version
    except ImportError:
        pass
    else:
        assert str(Version(v)) == v  # valid and already in canonical form
    assert PEP440.match(v), v


def test_installed_distribution_has_the_checkout_version():
    try:
        dist = importlib.metadata.distribution("mcjax")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mcjax is not installed as a distribution (pip install . installs it)")
    where = ""
    direct_url = dist.read_text("direct_url.json")
    if direct_url:
        url = json.loads(direct_url).get("url", "")
        if url.startswith("file:"):
            where = f" (installed from {unquote(urlparse(url).path)}, this checkout is {ROOT})"
    assert dist.version == mcjax.__version__, (
        f"installed mcjax {dist.version} != checkout {mcjax.__version__}{where}: reinstall")
    assert importlib.metadata.version("mcjax") == mcjax.__version__


def _minor(classifier):
    m = re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", classifier)
    return int(m.group(1)) if m else None


def test_classifiers_list_the_pythons_requires_python_admits():
    assert "Development Status :: 3 - Alpha" in CLASSIFIERS
    assert "Programming Language :: Python :: 3" in CLASSIFIERS
    assert len(CLASSIFIERS) == len(set(CLASSIFIERS))
    requires = PROJECT["requires-python"]
    m = re.fullmatch(r">=\s*3\.(\d+)", requires)
    assert m, f"requires-python {requires!r}: expected a plain lower bound"
    lowest = int(m.group(1))
    minors = sorted(v for v in map(_minor, CLASSIFIERS) if v is not None)
    assert minors, "no Programming Language :: Python :: 3.X classifiers"
    assert minors[0] == lowest, (minors, requires)  # the oldest admitted Python is listed
    assert minors == list(range(lowest, minors[-1] + 1)), minors  # and none skipped
    assert minors[-1] >= 13, minors


def test_project_urls_and_keywords():
    urls = PROJECT["urls"]
    assert urls and {"Homepage", "Source", "Issues"} <= set(urls)
    for name, url in urls.items():
        assert urlparse(url).scheme == "https" and urlparse(url).netloc, (name, url)
    assert PROJECT["keywords"]


def test_tomllib_backport_for_old_pythons():
    # mcjax._validation falls back to tomli where tomllib (3.11+) is missing
    deps = [d.replace(" ", "") for d in PROJECT["dependencies"]]
    assert any(d.startswith("tomli>=") and "python_version<'3.11'" in d.replace('"', "'")
               for d in deps), deps


def test_ci_builds_and_checks_the_distributions_then_runs_the_readme_tests():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert lines[-1] == "python -m pytest -q" and "python -m pytest -q" in readme
    install = next(i for i, line in enumerate(lines) if "pip install" in line and ".[test]" in line)
    build = next(i for i, line in enumerate(lines) if line.startswith("python -m build"))
    check = next(i for i, line in enumerate(lines)
                 if line.startswith("python -m twine check --strict"))
    assert install < build < check < len(lines) - 1
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {".ci-dist/", ".ci-venv/"} <= set(ignored)
