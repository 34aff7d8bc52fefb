"""Seed resampling (study 6): the disagreement rate against a closed form and exact enumeration, the
permutation test against its exact distribution, and the script's ``--smoke`` run once."""
import itertools
import math
import os
import sys

import numpy as np
import pytest

from mcjax._validation import ConfigError
from mcjax.analysis import seeds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mc_tol(p, draws):
    """4 Monte Carlo standard errors of a proportion (floor: a 1-in-draws event)."""
    return 4 * math.sqrt(max(p * (1 - p), 1 / draws) / draws)


def test_disagreement_matches_the_normal_closed_form():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 1.0, 50_000), rng.normal(0.0, 1.0, 50_000)
    delta, sigma = a.mean() - b.mean(), math.sqrt((a.var() + b.var()) / 2)
    ns, draws = [1, 2, 5, 16, 40], 20_000
    rates = seeds.disagreement_rates(a, b, ns, draws=draws, seed=3, replace=True)
    for n, r in zip(ns, rates):
        want = seeds.normal_disagreement(delta, sigma, n)
        assert abs(r - want) < _mc_tol(want, draws), (n, r, want)
    assert rates[0] > 0.3 and rates[-1] < 0.15  # the closed form: 0.416 and 0.090


def test_disagreement_matches_exact_enumeration_without_replacement():
    a, b = np.array([0.0, 1.0, 5.0, 2.0, 2.0]), np.array([1.0, 3.0, 0.5, 1.5, 2.5])
    full = np.sign(a.mean() - b.mean())  # 2.0 vs 1.7
    ns, draws = [1, 2, 3, 4], 40_000
    rates = seeds.disagreement_rates(a, b, ns, draws=draws, seed=5)
    for n, r in zip(ns, rates):
        pairs = [(np.mean(sa), np.mean(sb)) for sa in itertools.combinations(a, n)
                 for sb in itertools.combinations(b, n)]
        exact = np.mean([np.sign(x - y) != full for x, y in pairs])
        assert abs(r - exact) < _mc_tol(exact, draws), (n, r, exact)
    # all 5 of 5 seeds: the full answer itself, never a disagreement
    assert seeds.disagreement_rates(a, b, [5], draws=100)[0] == 0.0


def test_prefix_means_are_uniform_samples_without_replacement():
    x = np.arange(6.0)
    m = seeds.prefix_means(x, 6, 30_000, np.random.default_rng(0))
    np.testing.assert_allclose(m[:, -1], 2.5)  # all seeds: every ordering has the full mean
    first = np.bincount((m[:, 0]).astype(int), minlength=6) / 30_000
    np.testing.assert_allclose(first, 1 / 6, atol=_mc_tol(1 / 6, 30_000))  # each seed equally likely first
    two = m[:, 1] * 2  # sum of two distinct seeds: never 2x the same value
    assert np.all(np.isin(two, [i + j for i in range(6) for j in range(6) if i != j]))


def test_permutation_test_against_the_exact_distribution():
    a, b = np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0, 3.5])
    both = np.concatenate([a, b])
    obs = abs(a.mean() - b.mean())
    diffs = [abs(np.mean(both[list(s)]) - np.mean(np.delete(both, list(s))))
             for s in itertools.combinations(range(7), 3)]
    exact = np.mean(np.array(diffs) >= obs - 1e-12)  # 3 of 35 splits are as extreme (two-sided)
    p = seeds.permutation_test(a, b, permutations=20_000, seed=2)
    assert abs(p - exact) < _mc_tol(exact, 20_000), (p, exact)


def test_seeds_needed_and_bad_input():
    ns = [2, 3, 5, 8]
    assert seeds.seeds_needed(np.array([0.3, 0.04, 0.06, 0.01]), ns) == 8  # 5 dips back above 5 %
    assert seeds.seeds_needed(np.array([0.3, 0.04, 0.03, 0.01]), ns) == 3
    assert seeds.seeds_needed(np.array([0.3, 0.2, 0.1, 0.06]), ns) is None
    with pytest.raises(ConfigError, match="max_n 9 exceeds the 5 seeds"):
        seeds.disagreement_rates(np.arange(5.0), np.arange(5.0), [9])
    with pytest.raises(ConfigError, match="non-finite"):
        seeds.disagreement_rates(np.array([1.0, np.nan]), np.arange(2.0), [1])


def test_smoke_run_on_the_committed_table(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import seed_ranking as script
    finally:
        sys.path.pop(0)
    result = script.main(["--smoke", "--out", str(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["study6_ring_200steps.json", "study6_ring_200steps.png"]
    assert result["n_seeds"] == 128 and len(result["pairs"]) == 10 * 3  # 5 remedies, 3 metrics
    by = {(r["a"], r["b"], r["metric"]): r for r in result["pairs"]}
    gr = by[("gan", "r1", "reverse_kl")]  # 1.05 vs 0.70 over 128 seeds: a clear difference
    assert gr["better"] == "r1" and gr["p_value"] < 0.01 and gr["significant"]
    # 5-seed disagreement ~10 % (10,000 draws); 1,000 smoke draws: +- 4 standard errors
    assert abs(gr["rate_5"] - 0.10) < _mc_tol(0.10, 1000)
    gw = by[("gan", "wgan-gp", "modes_covered")]  # 3.38 vs 3.35: no real difference
    assert not gw["significant"] and gw["needed"].startswith("never") and gw["rate_5"] > 0.4


@pytest.mark.parametrize("text, message", [
    ("remedy,seed,modes_covered\ngan,0,3\n", "missing column"),
    ("remedy,seed,modes_covered,hq_percent,reverse_kl\ngan,0,x,1,1\n", "line 2: modes_covered = 'x'"),
    ("remedy,seed,modes_covered,hq_percent,reverse_kl\ngan,0,3,1,1\n", "at least 2 remedies"),
])
def test_a_damaged_table_is_one_line_error(tmp_path, capsys, text, message):
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import seed_ranking as script
    finally:
        sys.path.pop(0)
    data = tmp_path / "bad.csv"
    data.write_text(text)
    with pytest.raises(SystemExit) as e:
        script.main(["--smoke", "--data", str(data), "--out", str(tmp_path / "out")])
    assert e.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written
