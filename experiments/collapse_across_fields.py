"""Collapse across fields (issue 18): one random operation, three systems, the same numbers.

(a) **The identity.** Neutral Wright-Fisher (``--system wright-fisher``, drift only), a genetic
algorithm's roulette selection on the five equal peaks with no mutation or crossover (``--system
ga``, every individual on a peak top, so all fitnesses are equal) and multinomial resampling of
equally weighted particles (``mcjax.systems.smc.resampling``) are the same draw. Started from the
same counts (N = 20 in K = 5 types: 4 each), each must give the heterozygosity decay
``H_0 (1 - 1/N)^t`` and the exact fixation-time distribution (``mcjax.analysis.across_fields``).
Each system runs ``--seeds`` seeds (default 2000) in one compiled program.

(b) **Each field's collapse and its remedies**, 64 seeds per setting: D_2 over generations for the
Wright-Fisher forces, the GA's niching methods and the particle resamplers, one panel per system.

(c) Which remedy in one field is which in another: ``docs/zoo.md``.

Commands::

    python experiments/collapse_across_fields.py --out runs/across_fields      # ~3 min on 2 cores
    python experiments/collapse_across_fields.py --smoke --out /tmp/across     # ~60 s

Outputs in ``--out``: ``identity.md`` / ``identity.json`` (the closed form vs measured table),
``identity.png`` (H_t and the fixation-time CDF of the three systems over the closed forms),
``remedies.png`` (part b) and one sweep folder per system (``mcjax show`` reads them).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax import ConfigError, GASpec, WFSpec, run
from mcjax.analysis.across_fields import closed_forms, compare
from mcjax.core.tables import render_table

N, K = 20, 5
COUNTS = (4, 4, 4, 4, 4)  # GA p0 = 0.2: 4 on peak 0, the rest cycling over peaks 1-4
GENERATIONS = 200
SMOKE = dict(seeds=300, generations=100, remedy_seeds=8)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/across_fields")
    p.add_argument("--seeds", type=int, default=2000, help="seeds per system in part (a)")
    p.add_argument("--remedy-seeds", type=int, default=64, help="seeds per setting in part (b)")
    p.add_argument("--smoke", action="store_true", help="200 seeds, 100 generations")
    p.add_argument("--no-figures", action="store_true")
    return p


def _neutral_runs(seeds: int, generations: int, out: str) -> dict:
    """``name -> (steps, heterozygosity [runs, T], fixation generation [runs])`` per system."""
    from mcjax.systems.smc.drift import neutral_drift

    common = dict(seeds=seeds, generations=generations, log_every=1)
    specs = {
        "wright-fisher": (WFSpec(remedy=("drift",), population=N, alleles=K, sweep=("p0=0.2",),
                                 **common), "fixation_gen"),
        "ga (roulette)": (GASpec(remedy=("none",), population=N, init="peaks",
                                 sweep=("mutation_rate=0", "crossover=0", "p0=0.2"), **common),
                          "one_peak_gen"),
    }
    found = {}
    for name, (spec, fix_key) in specs.items():
        folder = os.path.join(out, name.split()[0])
        g = run(spec, folder, overwrite=True, progress=False, figures=False).result.groups[0]
        found[name] = (np.asarray(g.log_steps), np.asarray(g.history["heterozygosity"])[0],
                       np.asarray(g.final(fix_key))[0])
    steps, h, fix = neutral_drift(COUNTS, generations, seeds, scheme="multinomial")
    found["particles (multinomial)"] = (steps, h, fix)
    return found


def _remedy_runs(seeds: int, out: str, smoke: bool) -> dict:
    """Part (b): ``system -> remedy -> (steps, D_2 [runs, T])`` for each system's remedies."""
    from mcjax.systems.smc.drift import neutral_drift

    wf_gens, ga_gens = (100, 50) if smoke else (500, 200)
    panels = {}
    for system, spec, key in (
            ("Wright-Fisher (N = 100, K = 8)", WFSpec(seeds=seeds, generations=wf_gens, log_every=10),
             "D2"),
            ("genetic algorithm (N = 100, 5 peaks)", GASpec(seeds=seeds, generations=ga_gens,
                                                            log_every=10), "D2")):
        folder = os.path.join(out, "remedies-" + spec.system)
        result = run(spec, folder, overwrite=True, progress=False, figures=False).result
        panels[system] = {g.label: (np.asarray(g.log_steps), np.asarray(g.history[key])[0])
                          for g in result.groups}
    particles = {}
    for scheme in ("multinomial", "stratified", "residual", "systematic"):
        steps, h, _ = neutral_drift((12,) * 8 + (4,), wf_gens, seeds, scheme=scheme)
        particles[scheme] = (steps, 1.0 / np.maximum(1.0 - h, 1e-12))
    panels["particles, equal weights (N = 100, 9 types)"] = particles
    return panels


def identity_rows(found: dict, generations: int) -> tuple[list[list[str]], dict]:
    exact = closed_forms(N, COUNTS, generations)
    rows, data = [], {"exact_mean_fixation": exact.mean_fixation}
    for name, (steps, h, fix) in found.items():
        c = compare(steps, h, fix, exact)
        data[name] = c._asdict()
        h20 = c.h_at.get(20, (np.nan, np.nan, np.nan))
        rows.append([name, str(c.runs), f"{h20[0]:.4f} +- {h20[1]:.4f}", f"{h20[2]:.4f}",
                     f"{c.h_max_z:.1f}", f"{c.mean_fixation:.2f} +- {c.mean_fixation_se:.2f}",
                     f"{exact.mean_fixation:.2f}", f"{c.ks:.3f} (5 %: {c.ks_crit:.3f})",
                     f"{100 * c.fixed:.1f} %"])
    return rows, data


def render_identity(rows, fmt="text") -> str:
    return render_table(
        ["system", "runs", "H_20 measured", "H_20 exact", "max |z| of H_t", "E min(T, t_max)",
         "exact", "KS to exact T dist.", "fixed"], rows, fmt=fmt,
        footer=f"N = {N}, K = {K} types of {COUNTS[0]}; H_t = 1 - sum p^2, exact H_0 (1 - 1/N)^t; "
               "z while half the runs hold 2+ types; T = first generation with one type left")


def main(argv=None) -> dict:
    p = build_parser()
    args = p.parse_args(argv)
    seeds = SMOKE["seeds"] if args.smoke else args.seeds
    generations = SMOKE["generations"] if args.smoke else GENERATIONS
    if seeds < 2:
        p.error(f"--seeds must be >= 2, got {seeds}")
    t0 = time.perf_counter()
    try:
        os.makedirs(args.out, exist_ok=True)
        found = _neutral_runs(seeds, generations, args.out)
    except (ConfigError, OSError) as e:
        p.error(str(e))
    rows, data = identity_rows(found, generations)
    table = render_identity(rows)
    print(table)
    with open(os.path.join(args.out, "identity.md"), "w") as f:
        f.write(render_identity(rows, "markdown") + "\n")
    try:
        panels = _remedy_runs(SMOKE["remedy_seeds"] if args.smoke else args.remedy_seeds, args.out,
                              args.smoke)
    except (ConfigError, OSError) as e:
        p.error(str(e))
    finals = {sys_: {r: float(np.median(v[:, -1])) for r, (_, v) in lines.items()}
              for sys_, lines in panels.items()}
    for sys_, by in finals.items():
        print(f"{sys_}: final D_2 median " + ", ".join(f"{r} {v:.2f}" for r, v in by.items()))
    data["remedies_final_D2_median"] = finals
    with open(os.path.join(args.out, "identity.json"), "w") as f:
        json.dump(data, f, indent=1, default=float)
    figures = []
    if not args.no_figures:
        from mcjax.plots.across_fields import identity_figure, remedies_figure

        figures.append(os.path.join(args.out, "identity.png"))
        identity_figure(found, closed_forms(N, COUNTS, generations),
                        title=f"one operation, three fields: N = {N}, {K} types of {COUNTS[0]}, "
                              f"{seeds} seeds each").savefig(figures[-1], dpi=110)
        figures.append(os.path.join(args.out, "remedies.png"))
        remedies_figure(panels).savefig(figures[-1], dpi=110)
    wall = time.perf_counter() - t0
    print(f"wall {wall:.0f} s; outputs in {args.out}")
    return {"rows": rows, "data": data, "table": table, "figures": figures, "wall_s": wall}


if __name__ == "__main__":
    main()
