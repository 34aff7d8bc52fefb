"""One table renderer and one collapsed/healthy rule, used by every table and figure."""
import numpy as np
import pytest

from mcjax.core.tables import render_table
from mcjax.metrics import collapse_classes


def test_render_table_aligns_columns():
    got = render_table(["remedy", "modes"], [["gan", "4 (2-7) of 8"], ["wgan-gp", "8"]],
                       footer="median")
    assert got == ("remedy  | modes\n"
                   "--------+-------------\n"
                   "gan     | 4 (2-7) of 8\n"
                   "wgan-gp | 8\n"
                   "median")
    assert render_table(["n"], [["1"], ["100"]], align="right").splitlines() == ["  n", "---", "  1", "100"]
    with pytest.raises(ValueError, match="align"):
        render_table(["a"], [], align="centre")


def test_collapse_classes():
    c = collapse_classes(np.array([8, 7, 8, 0]), 8, np.array([False, False, True, False]))
    np.testing.assert_array_equal(c["collapsed"], [False, True, False, True])
    np.testing.assert_array_equal(c["healthy"], [True, False, False, False])  # diverged: neither
