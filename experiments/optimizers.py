"""How you walk shapes the walker: SGD with momentum, Adam, RMSProp, Muon (and PSGD Kron) on the grid.

Setting (``STUDY``): 5x5 grid of 25 modes, 2x64 ReLU MLPs, latent 16, batch 128, non-saturating
loss, alternating 1:1 steps, 2000 generator steps; mode statistics of 2500 samples of the final
generator. Same optimizer kind for both players, betas at their defaults (0.5 / 0.999: SGD's and
Muon's momentum is 0.5, RMSProp's decay 0.999).

Tuning (stage 1, ``mcjax.analysis.tuning``; the criterion fixed before any run): per optimizer
six log-spaced learning rates (``LRS``), tied ``lr_g = lr_d``, x 8 seeds (0-7) in one compiled
program; each run scores ``(modes covered / 25) * HQ fraction`` (0 if diverged); the rate with
the highest mean score wins. Stage 2: the chosen rate on 48 fresh seeds (1000-1047), the numbers
reported: 6 x 8 = 48 runs, so stage 2 runs in stage 1's compiled program (one compilation per
optimizer). ``kron`` needs ``pip install "mcjax[kron]"`` (checked before anything runs; leave it
out with ``--optimizers sgd adam rmsprop muon``). ``--target ring`` runs the same study on the ring,
whose 8 modes a 2x64 GAN learns in 2000 steps (the 2x64 grid is not learned by any optimizer here).

Commands::

    python experiments/optimizers.py --out runs/optimizers             # 5 optimizers, 96 runs each
    python experiments/optimizers.py --target ring --out runs/optimizers_ring
    python experiments/optimizers.py --smoke --out /tmp/opt_smoke      # ~15 s

Each stage of each optimizer is saved in ``OUT/<optimizer>/{tune,final}`` (``mcjax show`` reads
them); ``--resume`` reuses finished stages.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax import ConfigError, RunSpec, SweepResult
from mcjax.analysis.tradeoff import seed_summary
from mcjax.analysis.tuning import check_optimizer, pick_step_size, tied_lr_experiment, tuning_scores
from mcjax.core.results import RESULT_FILES, present_result_files
from mcjax.core.sweep import run_sweep
from mcjax.core.tables import render_table

OPTIMIZERS = ("sgd", "adam", "rmsprop", "muon", "kron")
LRS = {
    "adam": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
    "rmsprop": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
    "sgd": (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
    "muon": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    "kron": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
}
STUDY = dict(target="grid", steps=2000, log_every=500, eval_samples=2500, keep_samples=64)
TUNE_SEEDS, FINAL_OFFSET = 8, 1000
SMOKE = dict(target="grid", steps=40, log_every=20, eval_samples=400, keep_samples=16, width=16,
             depth=1, batch_size=32)
SMOKE_OPTIMIZERS, SMOKE_TUNE_SEEDS = ("sgd", "adam"), 2  # every other rate of LRS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/optimizers")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
    p.add_argument("--optimizers", nargs="+", default=None,
                   help=f"default {' '.join(OPTIMIZERS)} ({' '.join(SMOKE_OPTIMIZERS)} with --smoke)")
    p.add_argument("--target", default="grid", choices=("grid", "ring"),
                   help="the grid (default; the issue's setting) or the ring, whose 8 modes a 2x64 "
                        "GAN learns in 2000 steps")
    p.add_argument("--resume", action="store_true", help="reuse the finished stages in --out")
    p.add_argument("--no-figures", action="store_true")
    return p


def _stage(experiment, seeds, folder: str, resume: bool) -> SweepResult:
    if resume and len(present_result_files(folder)) == len(RESULT_FILES):
        return SweepResult.load(folder)
    result = run_sweep([experiment], seeds, progress=False)
    result.save(folder, overwrite=True)
    return result


def tune_rows(group, lrs, n_modes: int) -> tuple[list[dict], int]:
    """Per learning rate of a tuning group: mean score, medians, diverged; and the chosen index."""
    div = np.asarray(group.diverged, bool)
    modes, hq = group.final("modes_covered"), group.final("hq_fraction")
    scores = tuning_scores(modes, hq, div, n_modes)
    best = pick_step_size(lrs, scores)
    rows = [{"lr": float(lr), "score_mean": float(scores[i].mean()),
             "modes_median": float(np.median(modes[i][~div[i]])) if (~div[i]).any() else np.nan,
             "hq_median": float(np.median(hq[i][~div[i]])) if (~div[i]).any() else np.nan,
             "diverged": int(div[i].sum()), "chosen": i == best} for i, lr in enumerate(lrs)]
    return rows, best


def final_row(optimizer: str, lr: float, group) -> dict:
    ok = ~np.asarray(group.diverged[0], bool)
    stats = {m: seed_summary(np.asarray(group.final(m)[0], np.float64)[ok])._asdict()
             for m in ("modes_covered", "hq_fraction", "reverse_kl")}
    return {"optimizer": optimizer, "lr": lr, "diverged": int((~ok).sum()), "seeds": int(ok.size),
            "modes_per_seed": [int(x) for x in group.final("modes_covered")[0]], **stats}


def render_tuning(tuning: dict, n_modes: int, fmt: str = "text") -> str:
    lines = [[opt, f"{r['lr']:g}" + (" *" if r["chosen"] else ""), f"{r['score_mean']:.4f}",
              f"{r['modes_median']:.1f}", f"{100 * r['hq_median']:.1f}", str(r["diverged"])]
             for opt, rows in tuning.items() for r in rows]
    return render_table(["optimizer", "lr (tied)", "mean score", "modes median", "HQ % median",
                         "diverged"], lines, fmt=fmt,
                        footer=f"stage 1: score = modes/{n_modes} x HQ fraction (0 if diverged), mean "
                               "over the tuning seeds; * = chosen (highest mean)")


def render_final(finals: list[dict], n_modes: int, fmt: str = "text") -> str:
    lines = []
    for r in finals:
        m, h, k = r["modes_covered"], r["hq_fraction"], r["reverse_kl"]
        lines.append([r["optimizer"], f"{r['lr']:g}",
                      f"{m['median']:.1f} ({m['min']:.0f}-{m['max']:.0f}) of {n_modes}",
                      f"{m['mean']:.2f} +- {m['se']:.2f}",
                      f"{100 * h['mean']:.1f} +- {100 * h['se']:.1f}",
                      f"{k['mean']:.2f} +- {k['se']:.2f}", f"{r['diverged']}/{r['seeds']}"])
    return render_table(["optimizer", "tuned lr", "modes median (min-max)", "modes mean +- SE",
                         "HQ % mean +- SE", "reverse KL mean +- SE", "diverged"], lines, fmt=fmt,
                        footer="stage 2: fresh seeds at the tuned rate, final generator; diverged "
                               "runs left out of the statistics")


def main(argv=None) -> dict:
    """Runs both stages; returns ``{"tuning", "finals", "tables", "wall_s", "figures"}``."""
    p = build_parser()
    args = p.parse_args(argv)
    try:
        return _main(p, args)
    except ConfigError as e:  # damaged --resume folders, unwritable --out: one line
        p.error(str(e))


def _main(p: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    if args.optimizers is None:
        args.optimizers = list(SMOKE_OPTIMIZERS if args.smoke else OPTIMIZERS)
    for opt in args.optimizers:
        try:
            check_optimizer(opt)  # before anything is compiled: unknown name or missing extra
        except ConfigError as e:
            p.error(str(e))
    sizes = dict(SMOKE if args.smoke else STUDY, target=args.target)
    n_tune = SMOKE_TUNE_SEEDS if args.smoke else TUNE_SEEDS
    tuning, finals, groups, walls = {}, [], [], {}
    n_modes = None
    for opt in args.optimizers:
        t0 = time.perf_counter()
        spec = RunSpec(remedy=("gan",), optimizer=opt, seeds=n_tune, **sizes)
        lrs = LRS[opt][::2] if args.smoke else LRS[opt]
        n_final = len(lrs) * n_tune  # stage 2 reuses stage 1's compiled program (same run count)
        tune = _stage(tied_lr_experiment(spec, lrs, label=opt), list(range(n_tune)),
                      os.path.join(args.out, opt, "tune"), args.resume).groups[0]
        n_modes = int(tune.target["n_modes"])
        tuning[opt], best = tune_rows(tune, lrs, n_modes)
        lr = float(lrs[best])
        final = _stage(tied_lr_experiment(spec, [lr], label=opt),
                       list(range(FINAL_OFFSET, FINAL_OFFSET + n_final)),
                       os.path.join(args.out, opt, "final"), args.resume).groups[0]
        finals.append(final_row(opt, lr, final))
        groups.append(final)
        walls[opt] = time.perf_counter() - t0
        print(f"{opt}: tuned lr {lr:g}; compile {tune.compile_s + final.compile_s:.0f} s, run "
              f"{tune.run_s + final.run_s:.0f} s, wall {walls[opt]:.0f} s", flush=True)
    tables = {"tuning": render_tuning(tuning, n_modes), "final": render_final(finals, n_modes)}
    print(tables["tuning"] + "\n\n" + tables["final"])
    figures = []
    if not args.no_figures:
        from mcjax.plots import coverage_distribution

        fig = coverage_distribution(SweepResult(groups=groups))
        fig.axes[0].set_title(f"{sizes['target']}: modes covered at the tuned step size, "
                              f"{len(groups[0].seeds)} fresh seeds each, {sizes['steps']} steps", fontsize=10)
        figures.append(os.path.join(args.out, "modes_by_optimizer.png"))
        fig.savefig(figures[-1], dpi=110)
    with open(os.path.join(args.out, "optimizers.json"), "w") as f:
        json.dump({"sizes": sizes, "tuning": tuning, "finals": finals, "wall_s": walls}, f,
                  indent=1, default=float)
    with open(os.path.join(args.out, "optimizers.md"), "w") as f:
        f.write(render_tuning(tuning, n_modes, "markdown") + "\n\n"
                + render_final(finals, n_modes, "markdown") + "\n")
    return {"tuning": tuning, "finals": finals, "tables": tables, "wall_s": walls,
            "figures": figures, "n_modes": n_modes}


if __name__ == "__main__":
    main()
