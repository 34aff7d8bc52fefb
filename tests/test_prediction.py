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


def test_permutation_pvalue_equals_the_exact_mann_whitney_test_with_many_permutations():
    from scipy.stats import mannwhitneyu

    from mcjax.analysis.prediction import permutation_pvalue

    rng = np.random.default_rng(2)
    labels = np.r_[np.ones(12, bool), np.zeros(14, bool)]
    scores = rng.normal(size=26) + 0.6 * labels
    exact = mannwhitneyu(scores[labels], scores[~labels], method="exact").pvalue
    got = permutation_pvalue(scores, labels, n_perm=20000, seed=1)
    # Monte Carlo error of a proportion near p from 20000 draws: sd <= sqrt(p (1-p) / 20000) < 0.004
    assert got == pytest.approx(exact, abs=0.012)
    # complete separation: no permutation of 12 + 14 runs reaches it in 2000 draws (P = 1/C(26,12))
    assert permutation_pvalue(np.arange(26.0), labels[np.argsort(-np.arange(26))], n_perm=2000) \
        == pytest.approx(1 / 2001)


def test_holm_matches_its_definition_on_a_hand_example():
    from mcjax.analysis.prediction import holm

    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02], rtol=1e-12)  # float products
    assert holm(np.array([0.9, 0.8])).max() == 1.0  # capped at 1


def test_auc_standard_error_is_the_exact_null_at_one_half_and_matches_simulation():
    from statistics import NormalDist

    from mcjax.analysis.prediction import auc_standard_error, detectable_auc

    n1, n2 = 30, 50
    assert auc_standard_error(0.5, n1, n2) == pytest.approx(np.sqrt((n1 + n2 + 1) / (12 * n1 * n2)),
                                                            rel=1e-12)  # algebraically equal
    # binormal scores with AUC = Phi(d / sqrt 2) = 0.76 at d = 1: the spread of 4000 simulated AUCs
    rng = np.random.default_rng(0)
    sims = [auc(np.r_[rng.normal(1, 1, n1), rng.normal(0, 1, n2)], np.r_[np.ones(n1), np.zeros(n2)])
            for _ in range(4000)]
    # Hanley-McNeil's exponential approximation is within ~5 % of the binormal SE; sampling sd of a
    # standard deviation from 4000 draws is ~1.1 %
    assert auc_standard_error(np.mean(sims), n1, n2) == pytest.approx(np.std(sims), rel=0.08)
    # detectable AUC: at it, the normal test rejects with the asked power (by construction), and it
    # falls with the sample size
    a = detectable_auc(n1, n2)
    se0 = auc_standard_error(0.5, n1, n2)
    z = NormalDist().inv_cdf
    assert a - 0.5 == pytest.approx(z(0.975) * se0 + z(0.8) * auc_standard_error(a, n1, n2),
                                    abs=1e-12)  # bisection to 2^-60
    assert 0.5 < detectable_auc(4 * n1, 4 * n2) < a < 1


def test_logistic_regression_equals_sklearn_on_standardised_features():
    from sklearn.linear_model import LogisticRegression

    from mcjax.analysis.prediction import fit_logistic, predict_logistic

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3)) * [1.0, 5.0, 0.1] + [0, 2, -1]
    y = (x @ [1.0, 0.2, -8.0] - 8.4 + rng.normal(size=300) > 0).astype(int)
    model = fit_logistic(x, y, l2=2.0)
    z = (x - x.mean(0)) / x.std(0)
    ref = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000).fit(z, y)
    # both reach the unique optimum of a strictly concave objective; lbfgs stops at tol 1e-12
    np.testing.assert_allclose(model.coef, ref.coef_[0], atol=1e-6)
    assert model.intercept == pytest.approx(ref.intercept_[0], abs=1e-6)
    np.testing.assert_allclose(predict_logistic(model, x), ref.decision_function(z), atol=1e-5)
    # a constant feature is kept at scale 1 and gets weight 0 (the penalty's optimum)
    const = fit_logistic(np.c_[x, np.full(300, 7.0)], y, l2=2.0)
    assert const.coef[-1] == pytest.approx(0.0, abs=1e-12)


def test_paired_auc_gain_detects_an_added_signal_and_not_a_copy():
    from mcjax.analysis.prediction import paired_auc_gain

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 400).astype(bool)
    weak = rng.normal(size=400) + 0.3 * labels
    strong = weak + rng.normal(size=400) * 0.1 + 1.5 * labels
    g = paired_auc_gain(weak, strong, labels, n_boot=500)
    assert g.gain == pytest.approx(auc(strong, labels) - auc(weak, labels), abs=1e-12)
    assert 0 < g.low < g.gain < g.high and g.p_value < 0.01
    same = paired_auc_gain(weak, weak, labels, n_boot=200)
    assert same.gain == 0.0 and same.low == same.high == 0.0 and same.p_value == 1.0
