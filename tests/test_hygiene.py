"""Numerical hygiene: NaN in the critic, the generator or a penalty is isolated to its own run."""
import numpy as np
import pytest

from mcjax import Experiment, make_hparams, run_sweep, stack_hparams
from mcjax.systems.gan.remedies import apply_remedy
from tests.helpers import TINY


@pytest.mark.parametrize("bad, remedy", [
    (dict(lr_d=1e30), "gan"),             # the critic blows up first
    (dict(lr_g=1e30), "gan"),             # the generator blows up first
    (dict(penalty_weight=3e38), "r1"),    # the penalty overflows float32 to inf, then NaN
])
def test_nan_is_isolated(bad, remedy):
    cfg, hp = apply_remedy(remedy, TINY)
    good = make_hparams(**hp)
    worse = make_hparams(**{**hp, **bad})
    r = run_sweep([Experiment("x", cfg, stack_hparams([good, worse, good]), ("g1", "bad", "g2"))],
                  [0, 1], progress=False)["x"]
    np.testing.assert_array_equal(r.diverged, [[False, False], [True, True], [False, False]])
    assert np.all(r.diverged_step[1] >= 0)
    assert np.all(np.isfinite(r.samples[[0, 2]]))
    for k in ("modes_covered", "hq_fraction", "reverse_kl"):  # metrics never NaN, even for the bad row
        assert np.all(np.isfinite(r.history[k])), k
    # both healthy rows are the same runs: identical, whatever their neighbour did
    np.testing.assert_array_equal(r.history["d_loss"][0], r.history["d_loss"][2])
    assert np.all(np.isfinite(r.history["d_loss"][[0, 2]]))
