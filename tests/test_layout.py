"""The layout's boundaries (DESIGN.md): data, metrics and the engine never import a system."""
import ast
import os

import pytest

PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mcjax")


def imports(folder):
    """``(file, module)`` of every import in the .py files under ``mcjax/<folder>``."""
    out = []
    for root, _, files in os.walk(os.path.join(PKG, folder)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                for node in ast.walk(ast.parse(open(path).read())):
                    if isinstance(node, ast.ImportFrom) and node.module:
                        out.append((path, node.module))
                    elif isinstance(node, ast.Import):
                        out += [(path, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("folder, forbidden", [
    ("core", ("mcjax.systems", "mcjax.cli")),
    ("metrics", ("mcjax.systems", "mcjax.core", "mcjax.cli")),
    ("targets", ("mcjax.systems", "mcjax.core", "mcjax.metrics", "mcjax.cli")),
    ("analysis", ("mcjax.cli",)),
])
def test_boundaries(folder, forbidden):
    found = imports(folder)
    assert found  # the walk saw the package
    bad = [(os.path.relpath(p, PKG), m) for p, m in found if m.startswith(forbidden)]
    assert not bad
