"""The pre-registered analysis of the collapse-prediction study (issue 14), on per-run features.

Decided before any result was seen, and fixed here so every target is analysed the same way:

1. **Split.** Runs in even positions (seed order) are the *fit* half, odd positions the *test*
   half. Everything is chosen on the fit half and reported on the test half.
2. **Per feature and time**: the direction (does a higher value mean collapse?) is the sign of the
   fit half's AUC - 0.5; the test half's AUC of the oriented feature gets a 95 % percentile
   bootstrap interval and a two-sided permutation p-value (``H0: AUC = 0.5``). Spearman's rho
   with the continuous outcome (higher = more modes) on the test half is reported beside it.
3. **Does anything add to coverage?** Per time, an L2-regularised logistic regression (``l2``) on
   the ``base`` group's features (how many modes are covered so far) against one on all features
   at that time; both fitted on the fit half, their test-half AUCs compared by a paired bootstrap
   (the gain, its 95 % interval and p-value).
4. **Multiplicity**: Holm's correction over every p-value of 2 and 3 together; a comparison
   "predicts" when its Holm-adjusted p-value is below 0.05.
5. **Power**: the smallest AUC the test half could detect with 80 % power, at level 0.05 and at
   Holm's strictest level 0.05 / m.

A feature with a non-finite value in any run is left out and named in ``skipped``.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np

from mcjax._validation import ConfigError
from mcjax.analysis.prediction import (auc, bootstrap_auc, detectable_auc, fit_logistic, holm,
                                       paired_auc_gain, permutation_pvalue, predict_logistic,
                                       average_ranks)
from mcjax.core.tables import render_table

__all__ = ["FeatureAuc", "CoverageGain", "StudyReport", "prediction_study"]


class FeatureAuc(NamedTuple):
    feature: str
    group: str
    time: float  # share of training
    direction: int  # +1: higher values go with collapse (chosen on the fit half)
    auc: float  # test half, oriented
    low: float
    high: float
    p_value: float
    p_holm: float
    rho: float  # Spearman's rho of the raw feature with the continuous outcome, test half


class CoverageGain(NamedTuple):
    time: float
    base: float  # test AUC of the coverage-only logistic regression
    full: float  # test AUC with every feature
    gain: float
    low: float
    high: float
    p_value: float
    p_holm: float
    n_features: int


class StudyReport(NamedTuple):
    n_fit: int
    n_test: int
    test_collapsed: int
    test_healthy: int
    features: list
    gains: list
    detectable: float  # smallest AUC detectable at level 0.05 with 80 % power
    detectable_holm: float  # ... at level 0.05 / m
    skipped: list

    def to_dict(self) -> dict:
        d = self._asdict()
        d["features"] = [r._asdict() for r in self.features]
        d["gains"] = [r._asdict() for r in self.gains]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StudyReport":
        d = dict(d)
        d["features"] = [FeatureAuc(**r) for r in d["features"]]
        d["gains"] = [CoverageGain(**r) for r in d["gains"]]
        return cls(**d)

    def best(self) -> FeatureAuc:
        """The feature and time with the smallest Holm-adjusted p-value (then the largest AUC)."""
        return min(self.features, key=lambda r: (r.p_holm, -r.auc))

    def table(self, top: int | None = None) -> str:
        """Per-feature AUCs (sorted by held-out AUC, ``top`` rows) and the coverage-gain rows."""
        rows = sorted(self.features, key=lambda r: -r.auc)[:top]
        body = [[r.feature, r.group, f"{100 * r.time:g} %", "+" if r.direction > 0 else "-",
                 f"{r.auc:.3f} ({r.low:.3f}-{r.high:.3f})", f"{r.p_value:.4f}",
                 f"{r.p_holm:.3f}", f"{r.rho:+.2f}"] for r in rows]
        a = render_table(["feature", "group", "time", "dir", "held-out AUC (95 % CI)", "p",
                          "p Holm", "rho"], body)
        gain = [[f"{100 * g.time:g} %", f"{g.base:.3f}", f"{g.full:.3f} ({g.n_features})",
                 f"{g.gain:+.3f} ({g.low:+.3f} to {g.high:+.3f})", f"{g.p_value:.4f}",
                 f"{g.p_holm:.3f}"] for g in self.gains]
        b = render_table(["time", "AUC coverage only", "AUC all (features)", "gain (95 % CI)", "p",
                          "p Holm"], gain)
        return (f"{a}\n\n{b}\ntest half: {self.test_collapsed} collapsed, {self.test_healthy} "
                f"healthy; fit half {self.n_fit} runs. Smallest detectable AUC (80 % power): "
                f"{self.detectable:.3f} at level 0.05, {self.detectable_holm:.3f} at 0.05/m "
                f"(m = {len(self.features) + len(self.gains)})")


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _check(features: Mapping[str, np.ndarray], collapsed: np.ndarray, outcome: np.ndarray,
           times: Sequence[float]) -> tuple[dict, list]:
    n = len(collapsed)
    if outcome.shape != (n,):
        raise ConfigError(f"outcome has shape {outcome.shape}, collapsed {collapsed.shape}")
    kept, skipped = {}, []
    for name, x in features.items():
        x = np.asarray(x, np.float64)
        if x.shape != (n, len(times)):
            raise ConfigError(f"feature {name!r} has shape {x.shape}; expected {(n, len(times))}")
        if np.all(np.isfinite(x)):
            kept[name] = x
        else:
            skipped.append(name)
    fit, test = collapsed[0::2], collapsed[1::2]
    for half, y in (("fit", fit), ("test", test)):
        if y.all() or not y.any():
            raise ConfigError(f"the {half} half holds one class only ({int(y.sum())} collapsed of "
                              f"{len(y)}): choose a setting where some runs collapse and some not")
    return kept, skipped


def prediction_study(features: Mapping[str, np.ndarray], collapsed: np.ndarray, outcome: np.ndarray,
                     times: Sequence[float], groups: Mapping[str, str], base: str = "coverage",
                     n_boot: int = 2000, n_perm: int = 2000, l2: float = 1.0,
                     seed: int = 0) -> StudyReport:
    """Runs the pre-registered analysis (module docstring).

    Args:
      features: ``name -> [N, T]`` per run (finished runs only, in seed order) and time.
      collapsed: ``[N]`` bool; outcome: ``[N]`` the continuous outcome (modes covered at the end).
      times: the ``T`` shares of training the features were read at.
      groups: ``name -> group``; ``base`` names the coverage group.

    Raises:
      ConfigError: shapes disagree, or a half holds one class only.
    """
    collapsed = np.asarray(collapsed, bool)
    outcome = np.asarray(outcome, np.float64)
    kept, skipped = _check(features, collapsed, outcome, times)
    y_fit, y_test = collapsed[0::2], collapsed[1::2]
    rows = []
    for name, x in kept.items():
        for t, time in enumerate(times):
            xf, xt = x[0::2, t], x[1::2, t]
            d = 1 if auc(xf, y_fit) >= 0.5 else -1
            ci = bootstrap_auc(d * xt, y_test, n_boot=n_boot, seed=seed)
            p = permutation_pvalue(d * xt, y_test, n_perm=n_perm, seed=seed)
            rows.append([name, groups[name], float(time), d, ci.auc, ci.low, ci.high, p,
                         _spearman(xt, outcome[1::2])])
    gains = []
    names = list(kept)
    base_names = [k for k in names if groups[k] == base]
    for t, time in enumerate(times):
        scores = []
        for subset in (base_names, names):
            x = np.stack([kept[k][:, t] for k in subset], axis=1)
            model = fit_logistic(x[0::2], y_fit, l2=l2)
            scores.append(predict_logistic(model, x[1::2]))
        g = paired_auc_gain(scores[0], scores[1], y_test, n_boot=n_boot, seed=seed)
        gains.append([float(time), g.base, g.full, g.gain, g.low, g.high, g.p_value, len(names)])
    adjusted = holm(np.array([r[7] for r in rows] + [g[6] for g in gains]))
    feats = [FeatureAuc(*r[:8], float(a), r[8]) for r, a in zip(rows, adjusted[: len(rows)])]
    gain_rows = [CoverageGain(*g[:7], float(a), g[7]) for g, a in zip(gains, adjusted[len(rows):])]
    n_pos, n_neg = int(y_test.sum()), int((~y_test).sum())
    m = len(feats) + len(gain_rows)
    return StudyReport(n_fit=len(y_fit), n_test=len(y_test), test_collapsed=n_pos,
                       test_healthy=n_neg, features=feats, gains=gain_rows,
                       detectable=detectable_auc(n_pos, n_neg),
                       detectable_holm=detectable_auc(n_pos, n_neg, alpha=0.05 / m),
                       skipped=skipped)
