"""Every published run has a config file whose header says its command, where it is published
and its cost, and whose keys its reader accepts."""
import glob
import importlib.util
import os

import pytest

from mcjax.cli import _load_config_file, build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml")))


def _remedy_table():
    spec = importlib.util.spec_from_file_location("remedy_table", os.path.join(ROOT, "experiments", "remedy_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_configs():
    names = {os.path.basename(f) for f in FILES}
    assert {"sweep_ring_default.toml", "remedy_table_grid_3x128.toml", "remedy_table_high_dim.toml"} <= names


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_config_header_and_keys(path):
    header = [line for line in open(path) if line.startswith("#")]
    text = "".join(header)
    for field in ("Command:", "Published:", "Cost:"):
        assert field in text, (path, field)
    assert os.path.basename(path) in text  # the command names this very file
    name = os.path.basename(path)
    if name.startswith("sweep_"):
        values = _load_config_file(path, build_parser())
        assert values["target"] in ("ring", "grid", "high_dim")
    else:
        module = _remedy_table()
        parser = module.build_parser()
        values = module.load_options(path, parser)
        parser.set_defaults(**values)
        args = parser.parse_args([])
        assert args.targets and args.out == values["out"]
        assert args.seeds == 32
