import itertools

import numpy as np

from mcjax.analysis.seeds import disagreement_rates, normal_disagreement


def test_with_replacement_matches_normal_closed_form():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 1.0, 200_000), rng.normal(0.0, 1.0, 200_000)
    ns = np.array([2, 5, 20])
    got = disagreement_rates(a, b, ns, draws=20_000, replace=True)
    want = normal_disagreement(0.3, 1.0, ns)  # [0.336, 0.251, 0.171]
    # binomial sd of a rate from 20,000 draws is <= 0.0035; 4 sd
    np.testing.assert_allclose(got, want, atol=0.014)


def test_without_replacement_matches_exact_enumeration():
    a, b = np.array([0.0, 1.0, 5.0, 2.0]), np.array([1.5, 1.0, 2.5, 0.5])  # full means 2.0 > 1.375
    n = 2
    pairs = [(x, y) for x in itertools.combinations(a, n) for y in itertools.combinations(b, n)]
    exact = np.mean([np.sign(np.mean(x) - np.mean(y)) != 1 for x, y in pairs])
    got = disagreement_rates(a, b, np.array([n]), draws=40_000)[0]
    # binomial sd <= 0.0025 at 40,000 draws; 4 sd
    assert abs(got - exact) < 0.01 and 0.1 < exact < 0.9
