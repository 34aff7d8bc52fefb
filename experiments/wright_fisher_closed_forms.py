"""The Wright-Fisher system against its closed forms, over many seeds: the table of issue 18.

Each row runs one setting for every seed through ``mcjax.run_sweep`` (one vmapped program per
config) and compares the mean over seeds (with its standard error) to the exact value of
``mcjax.systems.wright_fisher.theory``: heterozygosity decay (binomial and multinomial draws),
fixation of a new mutant (exact chain and Kimura's diffusion), the deterministic sweep,
overdominance and negative-frequency-dependence equilibria, the mutation-drift and island-model
recursions.

Command (about 1 min on a 2-core CPU)::

    python experiments/wright_fisher_closed_forms.py --seeds 10000 --out runs/wf_closed_forms

Smoke size (seconds)::

    python experiments/wright_fisher_closed_forms.py --smoke --out /tmp/wf_cf
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax import Experiment, run_sweep
from mcjax.core.tables import render_table
from mcjax.systems.wright_fisher import theory
from mcjax.systems.wright_fisher.config import WFConfig, make_wf_hparams, stack_wf_hparams


def _final(cfg: WFConfig, seeds: int, metric: str, **hp) -> np.ndarray:
    """``[seeds, ...]``: ``metric`` at the last logged generation of every seed of one setting."""
    exp = Experiment("wf", cfg, stack_wf_hparams([make_wf_hparams(cfg, **hp)]))
    g = run_sweep([exp], seeds, progress=False)["wf"]
    return g.history[metric][0, :, -1]


def _row(what: str, setting: str, exact: float, values: np.ndarray) -> dict:
    values = np.asarray(values, np.float64)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    mean = float(values.mean())
    return dict(quantity=what, setting=setting, exact=float(exact), measured=mean, se=float(se),
                seeds=len(values), z=float((mean - exact) / se) if se > 0 else None)


def closed_form_rows(seeds: int, smoke: bool = False) -> list[dict]:
    """Every row of the table (see the module docstring)."""
    rows = []
    n, g = (40, 20) if smoke else (100, 100)  # N > 64 (full size): the binomial samplers
    for k in (2, 8):
        cfg = WFConfig(population=n, alleles=k, steps=g, log_every=g)
        h0 = 1 - 1 / k
        rows.append(_row("E H_t = H_0 (1 - 1/N)^t", f"N={n}, K={k}, t={g}",
                         theory.heterozygosity_decay(h0, n, g),
                         _final(cfg, seeds, "heterozygosity")))
    n, s, t = (30, 0.1, 60) if smoke else (100, 0.05, 400)
    cfg = WFConfig(population=n, alleles=2, steps=t, log_every=t)
    fixed = (_final(cfg, seeds, "freqs", s=s, p0=1 / n)[:, 0] == 1).astype(np.float64)
    setting = f"N={n}, s={s:g}, one copy"
    rows.append(_row(f"P(fixed by t={t}), exact chain P^t", setting, theory.fixed_by(n, s, t), fixed))
    rows.append(_row("P(fixation), exact chain", setting, theory.fixation_probability(n, s), fixed))
    rows.append(_row("P(fixation), Kimura (1-e^-2s)/(1-e^-2Ns)", setting,
                     theory.kimura_fixation(n, s), fixed))
    det = WFConfig(population=1000, alleles=2, steps=200, log_every=200, sampling="deterministic")
    p = _final(det, 1, "freqs", s=0.05, p0=0.01)[:, 0]
    rows.append(_row("odds_t = odds_0 (1+s)^t", "s=0.05, p0=0.01, t=200, deterministic",
                     theory.sweep_odds(0.01, 0.05, 200), p / (1 - p)))
    det = det.replace(steps=600, log_every=600)
    for od, (a, b), exact in ((True, (0.1, 0.3), theory.overdominance_equilibrium(0.1, 0.3)),
                              (False, (0.1, 2.0), theory.frequency_dependence_equilibrium(0.1, 2.0))):
        hp = dict(s=a, t=b) if od else dict(s=a, c=b)
        p = _final(det.replace(overdominance=od), 1, "freqs", p0=0.1, **hp)[:, 0]
        rows.append(_row("p* = t/(s+t)" if od else "p* = 1/2 + log(1+s)/(2c)",
                         f"s={a:g}, {'t' if od else 'c'}={b:g}, deterministic, t=600", exact, p))
    n, k, mu, t = 50, 4, 0.04, 40 if smoke else 200
    f = theory.mutation_drift_homozygosity(n, k, mu, t)[-1]
    cfg = WFConfig(population=n, alleles=k, steps=t, log_every=t)
    rows.append(_row("mutation-drift H_t (exact recursion)", f"N={n}, K={k}, mu={mu:g}, t={t}",
                     1 - f, _final(cfg, seeds, "heterozygosity", mu=mu, p0=1.0)))
    demes, n_deme, m, t = 4, 20, 0.02, 60
    exact = theory.island_heterozygosity(demes, n_deme, m, t, 0.5)[-1]
    cfg = WFConfig(population=demes * n_deme, alleles=2, demes=demes, steps=t, log_every=t)
    for i, metric in enumerate(("heterozygosity", "heterozygosity_within")):
        rows.append(_row(f"island model {'pooled' if i == 0 else 'within-deme'} H_t",
                         f"D={demes} x {n_deme}, m={m:g}, t={t}", exact[i],
                         _final(cfg, seeds, metric, m=m, p0=0.5)))
    return rows


def table(rows: list[dict], fmt: str = "markdown") -> str:
    head = ["quantity", "setting", "closed form", "measured (mean +- SE)", "seeds",
            "z (or rel. error)"]
    lines = [[r["quantity"], r["setting"], f"{r['exact']:.5g}",
              f"{r['measured']:.5g} +- {r['se']:.2g}", str(r["seeds"]),
              f"{abs(r['measured'] / r['exact'] - 1):.1e}" if r["z"] is None else f"{r['z']:+.1f}"]
             for r in rows]
    return render_table(head, lines, fmt=fmt)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10_000)
    p.add_argument("--smoke", action="store_true", help="200 seeds, short runs: seconds")
    p.add_argument("--out", default="runs/wf_closed_forms")
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    seeds = 200 if args.smoke else args.seeds
    t0 = time.perf_counter()
    rows = closed_form_rows(seeds, smoke=args.smoke)
    wall = time.perf_counter() - t0
    text = table(rows)
    print(text)
    print(f"wall {wall:.1f} s")
    os.makedirs(args.out, exist_ok=True)
    result = dict(rows=rows, seeds=seeds, wall_s=wall, table=text)
    with open(os.path.join(args.out, "closed_forms.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
