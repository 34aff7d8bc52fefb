"""Diversity against fidelity: the entropy and the mode-seeking weight, each swept in one program.

Setting (``STUDY``): ring of 8 modes (radius 2, std 0.02), 2x64 ReLU MLPs, latent 16, batch 128,
non-saturating loss, Adam lr 1e-3 for both players (betas 0.5/0.999), 2000 alternating 1:1
steps; mode statistics of 2500 samples of the final generator. Per remedy, its ``weight`` over
``WEIGHTS`` (0 = the plain GAN, then log-spaced 0.01..10) x 32 seeds, all in one compiled,
vmapped program (``--sweep weight=...``: the weight is a traced ``HParams`` field). Why the ring
and not the grid: at 2x64 every remedy of the grid table is a diffuse cloud (HQ 1.6-4 %,
docs/results.md), and the 3x128 grid that is learned costs 7x more per run-step on this CPU
(measured: 203 against 1447 run-steps/s), too much for 512 runs here; on the ring the GAN collapses
(3.8 of 8 modes) at high quality (HQ 56 %), so both ends of a trade-off are reachable.

Per remedy and weight: modes covered, HQ % and reverse KL over seeds (median, quartiles, mean +-
SE; ``mcjax.analysis.tradeoff``); the curve HQ % against modes covered and against reverse KL; its
knee (Kneedle) and the modes gained per HQ point lost against weight 0.

Commands::

    python experiments/diversity_fidelity.py --out runs/diversity_fidelity   # 2 x 8 x 32 runs
    python experiments/diversity_fidelity.py --smoke --out /tmp/df_smoke     # ~15 s + compiles

Cost on the 2-core CPU shared with other jobs: see docs/results.md ("Diversity against fidelity").
The entropy program is the slow one (its k-NN entropy: ~290 run-steps/s against ~2000 for MSGAN).
Each remedy is one ``mcjax.run`` in ``OUT/<remedy>`` (checkpointed; ``--resume`` continues), so
``mcjax show OUT/entropy`` reprints a finished one.
"""
from __future__ import annotations

import argparse
import json
import os
import time

from mcjax import ConfigError, run
from mcjax.analysis.tradeoff import exchange_rates, knee, tradeoff_points, weight_sweep
from mcjax.core.results import RESULT_FILES, present_result_files
from mcjax.core.tables import render_table

WEIGHTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REMEDIES = ("entropy", "msgan")
STUDY = dict(target="ring", seeds=32, steps=2000, log_every=500, eval_samples=2500, keep_samples=64)
SMOKE = dict(target="ring", seeds=2, steps=40, log_every=20, eval_samples=400, keep_samples=16,
             width=16, depth=1, batch_size=32)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/diversity_fidelity")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
    p.add_argument("--remedies", nargs="+", default=list(REMEDIES), choices=REMEDIES)
    p.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    p.add_argument("--seeds", type=int, default=None, help="seeds per weight (default 32)")
    p.add_argument("--steps", type=int, default=None, help="generator steps (default 2000)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--no-figures", action="store_true")
    return p


def _cell(s, digits: int, scale: float = 1.0) -> str:
    return f"{scale * s.median:.{digits}f} ({scale * s.q1:.{digits}f}-{scale * s.q3:.{digits}f})"


def table_rows(curves: dict) -> list[dict]:
    """One plain row per (remedy, weight): the numbers the table and the figure show."""
    rows = []
    for remedy, points in curves.items():
        rates = exchange_rates(points)
        k = knee([p.stats["hq_fraction"].median for p in points],
                 [p.stats["modes_covered"].median for p in points])
        for i, (p, rate) in enumerate(zip(points, rates)):
            row = {"remedy": remedy, "weight": p.weight, "diverged": p.diverged, "seeds": p.seeds,
                   "knee": i == k, "modes_per_hq_point": rate}
            for m, s in p.stats.items():
                row.update({f"{m}_{f}": getattr(s, f) for f in ("median", "q1", "q3", "mean", "se")})
            rows.append(row)
    return rows


def render(curves: dict, n_modes: int, fmt: str = "text") -> str:
    head = ["remedy", "weight", "modes covered", "modes mean +- SE", "HQ %", "reverse KL",
            "modes per HQ pt", "diverged"]
    lines = []
    pairs = [(remedy, p) for remedy, points in curves.items() for p in points]
    for r, (remedy, p) in zip(table_rows(curves), pairs):
        mc = p.stats["modes_covered"]
        lines.append([remedy + (" (knee)" if r["knee"] else ""), f"{p.weight:g}",
                      _cell(mc, 1) + f" of {n_modes}", f"{mc.mean:.2f} +- {mc.se:.2f}",
                      _cell(p.stats["hq_fraction"], 1, 100), _cell(p.stats["reverse_kl"], 2),
                      "-" if r["modes_per_hq_point"] != r["modes_per_hq_point"]
                      else f"{r['modes_per_hq_point']:.2f}", f"{p.diverged}/{p.seeds}"])
    return render_table(head, lines, fmt=fmt, footer="median (interquartile range) over seeds at the "
                        "last step, diverged runs left out; modes per HQ pt: modes gained per HQ "
                        "percentage point lost against weight 0 (medians; - where HQ did not fall)")


def main(argv=None) -> dict:
    """Runs the study; returns ``{"curves", "rows", "table", "programs", "wall_s", "figures"}``."""
    p = build_parser()
    args = p.parse_args(argv)
    sizes = dict(SMOKE if args.smoke else STUDY)
    for key in ("seeds", "steps"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if sizes["steps"] % sizes["log_every"]:
        sizes["log_every"] = sizes["steps"]
    # every spec is checked (bad weight, remedy, sizes) before anything is compiled or written
    specs = {r: weight_sweep(r, args.weights, **sizes) for r in args.remedies}
    curves, programs, wall, n_modes = {}, {}, 0.0, None
    for remedy, spec in specs.items():
        folder = os.path.join(args.out, remedy)
        exps = spec.experiments()
        programs[remedy] = {"experiments": len(exps),
                            "settings_per_program": int(exps[0].hparams.lr_g.shape[0])}
        t0 = time.perf_counter()
        if len(present_result_files(folder)) == len(RESULT_FILES) and args.resume:
            from mcjax import SweepResult
            result = SweepResult.load(folder)
        else:
            try:
                result = run(spec, folder, resume=args.resume, overwrite=not args.resume,
                             figures=False, progress=False).result
            except ConfigError as e:  # e.g. an --out that cannot be written: one line, no traceback
                p.error(str(e))
        wall += time.perf_counter() - t0
        group = result.groups[0]
        programs[remedy].update(compile_s=group.compile_s, run_s=group.run_s)
        n_modes = int(group.target["n_modes"])
        curves[remedy] = tradeoff_points(group)
        print(f"{remedy}: 1 program x {programs[remedy]['settings_per_program']} weights x "
              f"{len(group.seeds)} seeds; compile {group.compile_s:.0f} s, run {group.run_s:.0f} s",
              flush=True)
    table = render(curves, n_modes)
    print(table)
    figures = []
    if not args.no_figures:
        from mcjax.plots.tradeoff import tradeoff_figure

        for centre in ("median", "mean"):
            fig = tradeoff_figure(curves, centre=centre, n_modes=n_modes,
                                  title=f"{sizes['target']}: weight swept, "
                                        f"{sizes['seeds']} seeds, {sizes['steps']} steps")
            figures.append(os.path.join(args.out, f"tradeoff_{centre}.png"))
            fig.savefig(figures[-1], dpi=110)
    rows = table_rows(curves)
    with open(os.path.join(args.out, "tradeoff.json"), "w") as f:
        json.dump({"sizes": sizes, "rows": rows, "programs": programs}, f, indent=1)
    with open(os.path.join(args.out, "tradeoff.md"), "w") as f:
        f.write(render(curves, n_modes, fmt="markdown") + "\n")
    print(f"wall {wall:.0f} s; outputs in {args.out}", flush=True)
    return {"curves": curves, "rows": rows, "table": table, "programs": programs, "wall_s": wall,
            "figures": figures, "n_modes": n_modes}


if __name__ == "__main__":
    main()
