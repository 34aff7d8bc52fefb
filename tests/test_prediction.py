"""AUC and its bootstrap interval against scikit-learn (a test-only dependency)."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mcjax.analysis.prediction import auc, bootstrap_auc


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(size=200) + 0.7 * labels, 1)  # rounding makes many ties
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)  # exact ranks


def test_auc_extremes_and_one_class():
    assert auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert auc([4, 3, 2, 1], [0, 0, 1, 1]) == 0.0
    assert auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        auc([1, 2], [1, 1])


def test_bootstrap_interval_covers_and_matches_a_direct_resampling():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = rng.normal(size=300) + labels
    got = bootstrap_auc(scores, labels, n_boot=300, seed=4)
    assert got.low < got.auc < got.high
    # the same resamples drawn directly, scored by scikit-learn
    r = np.random.default_rng(4)
    vals = []
    while len(vals) < 300:
        idx = r.integers(0, 300, 300)
        if labels[idx].all() or not labels[idx].any():
            continue
        vals.append(roc_auc_score(labels[idx], scores[idx]))
    np.testing.assert_allclose([got.low, got.high], np.quantile(vals, [0.025, 0.975]), atol=1e-12)
    # no signal: the interval holds 0.5
    noise = bootstrap_auc(rng.normal(size=300), labels, n_boot=300)
    assert noise.low < 0.5 < noise.high
