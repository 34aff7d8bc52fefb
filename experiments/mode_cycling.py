"""The forger's shortcut: does a collapsing GAN cycle between modes, and does the critic chase it?
(issue 17, study 1)

Setting: the plain non-saturating ``gan`` on the ring (8 modes, radius 2, std 0.02), the remedy
table's setup (2x64 ReLU MLPs, latent 16, batch 128, Adam lr 1e-3 for both players, betas
0.5/0.999, alternating 1:1 steps). Chosen because it is collapse-prone without diverging: in the
32-seed remedy table (docs/results.md, "Remedy table on the ring") every seed ended below 8 modes
(3.8 +- 0.2, range 2-6). Every ``--log-every`` steps the engine's mode statistics of
``--eval-samples`` generated points and the critic's logit at the 8 mode centres are logged
(:func:`mcjax.analysis.cycling.trace_critic_at_modes`, the engine untouched).

Analysis (:mod:`mcjax.analysis.cycling`, definitions in its docstring): occupied set = modes with at
least ``--share`` of the HQ samples; a hop = a change of that set lasting at least ``--min-dwell``
logs; hopper / mover / settler by the hops after ``--burn-in`` of training; the critic at a left
mode against the kept modes, aligned on the hop, ``--window`` logs each side.

Commands::

    python experiments/mode_cycling.py --out runs/mode_cycling      # 64 seeds x 4000 steps
    python experiments/mode_cycling.py --smoke --out /tmp/cycling   # 8 seeds x 200 steps, ~15 s

Cost: see docs/results.md, "Mode cycling" (about 3 minutes on the 2-core CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from mcjax._validation import ConfigError
from mcjax.analysis import cycling
from mcjax.systems.gan.config import Config
from mcjax.systems.gan.remedies import apply_remedy

FULL = dict(seeds=64, steps=4000, log_every=25, eval_samples=1000, window=8)
SMOKE = dict(seeds=8, steps=200, log_every=10, eval_samples=256, window=3)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/mode_cycling")
    p.add_argument("--smoke", action="store_true", help="tiny study, to check the pipeline")
    p.add_argument("--remedy", default="gan")
    p.add_argument("--seeds", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--eval-samples", type=int)
    p.add_argument("--window", type=int, help="logs on each side of a hop in the chase plot")
    p.add_argument("--share", type=float, default=0.05)
    p.add_argument("--min-dwell", type=int, default=2)
    p.add_argument("--burn-in", type=float, default=0.25)
    p.add_argument("--min-hops", type=int, default=2)
    p.add_argument("--no-figures", action="store_true")
    return p


def analyse(trace: cycling.CriticTrace, args) -> tuple[dict, list, dict]:
    """Hops, classes, dwell times and the chase statistics of ``trace``: ``(summary, hops,
    arrays)``."""
    ok = ~trace.diverged
    T = trace.mode_counts.shape[1]
    hops = [cycling.find_hops(c, args.share, args.min_dwell) for c in trace.mode_counts]
    classes = cycling.classify_runs(hops, T, args.burn_in, args.min_hops)
    t0 = int(np.ceil(args.burn_in * T))
    n_hops = np.array([len(h.after(t0)) for h in hops])
    dwell = np.array([n for h in hops for s, n in h.dwell if s >= t0], float)
    censored = np.array([h.censored[1] for h in hops if h.censored and h.censored[0] >= t0], float)
    kinds = {"swap": 0, "loss": 0, "gain": 0}
    for h in hops:
        for i in h.after(t0):
            out, into = bool(h.exits[i]), bool(h.entries[i])
            kinds["swap" if out and into else "loss" if out else "gain"] += 1
    live = [h if o else h._replace(times=()) for h, o in zip(hops, ok)]
    left, kept = cycling.chase_windows(trace.critic, live, args.window, t0)
    w = args.window
    full = np.isfinite(left[:, 0])
    both = full & np.isfinite(kept[:, 0]) & np.isfinite(kept[:, w - 1])
    drop_left = left[full, w - 1] - left[full, 0]
    drop_kept = kept[both, w - 1] - kept[both, 0]
    paired = (left[both, w - 1] - left[both, 0]) - drop_kept
    gap = (left - kept)[both, w - 1]

    def ms(v):
        return (float(np.mean(v)), float(np.std(v) / np.sqrt(max(len(v), 1)))) if len(v) else (
            float("nan"), float("nan"))

    final_modes = trace.modes_covered[:, -1]
    summary = {
        "seeds": int(len(ok)), "diverged": int((~ok).sum()), "steps": int(trace.steps[-1]),
        "log_every": int(trace.steps[0]), "n_logs": int(T), "burn_in_log": t0,
        "final_modes_mean": float(final_modes[ok].mean()),
        "final_modes_min": int(final_modes[ok].min()), "final_modes_max": int(final_modes[ok].max()),
        "classes": {c: int(np.sum(classes[ok] == c)) for c in cycling.CLASSES},
        "hops_mean": float(n_hops[ok].mean()), "hops_max": int(n_hops[ok].max()),
        "hop_kinds": kinds, "dwell_median_steps": float(np.median(dwell) * trace.steps[0])
        if len(dwell) else float("nan"),
        "dwell_completed": int(len(dwell)), "dwell_censored": int(len(censored)),
        "exits": int(len(left)), "exits_with_window": int(full.sum()),
        "exits_with_kept": int(both.sum()),
        "drop_left": ms(drop_left), "drop_kept": ms(drop_kept), "paired_drop": ms(paired),
        "paired_drop_negative_share": float(np.mean(paired < 0)) if len(paired) else float("nan"),
        "gap_before_hop": ms(gap),
        "gap_before_hop_negative_share": float(np.mean(gap < 0)) if len(gap) else float("nan"),
    }
    arrays = {"classes": classes, "n_hops": n_hops, "dwell": dwell, "censored": censored,
              "left": left, "kept": kept}
    return summary, hops, arrays


def report(s: dict) -> None:
    print(f"{s['seeds']} seeds ({s['diverged']} diverged), {s['steps']} steps, a log every "
          f"{s['log_every']} steps; final modes covered {s['final_modes_mean']:.2f} "
          f"({s['final_modes_min']}-{s['final_modes_max']}) of 8")
    print("class    | runs")
    print("---------+-----")
    for c, n in s["classes"].items():
        print(f"{c:<8} | {n}")
    print(f"hops after burn-in (log {s['burn_in_log']}): mean {s['hops_mean']:.2f}, max "
          f"{s['hops_max']}; kinds {s['hop_kinds']}; median completed dwell "
          f"{s['dwell_median_steps']:.0f} steps ({s['dwell_completed']} completed, "
          f"{s['dwell_censored']} cut by the end)")
    for name in ("drop_left", "drop_kept", "paired_drop", "gap_before_hop"):
        m, se = s[name]
        print(f"{name:<15} {m:+.3f} +- {se:.3f}")
    print(f"exits: {s['exits']} ({s['exits_with_window']} with a full window before the hop, "
          f"{s['exits_with_kept']} of them with a kept mode); "
          f"share with left falling more than kept: {s['paired_drop_negative_share']:.2f}; "
          f"share with left below kept just before the hop: "
          f"{s['gap_before_hop_negative_share']:.2f}")


def pick_runs(classes: np.ndarray, n_hops: np.ndarray, ok: np.ndarray) -> list[int]:
    """Two hoppers (most hops first) and two settlers (lowest seed first), filled with movers."""
    order = np.argsort(-n_hops, kind="stable")
    hop = [int(i) for i in order if ok[i] and classes[i] == "hopper"][:2]
    settle = [int(i) for i in range(len(classes)) if ok[i] and classes[i] == "settler"][:2]
    rest = [int(i) for i in order if ok[i] and int(i) not in hop + settle]
    return (hop + settle + rest)[:4]


def figures(trace, hops, arrays, seeds, folder: str, log_every: int, prefix: str) -> list[str]:
    from mcjax.plots.cycling import chase_plot, hop_histograms, occupancy_heatmaps

    ok = ~trace.diverged
    runs = pick_runs(arrays["classes"], arrays["n_hops"], ok)
    titles = [f"seed {seeds[i]}: {arrays['classes'][i]}, {arrays['n_hops'][i]} hops after "
              f"burn-in, ends at {trace.modes_covered[i, -1]} modes" for i in runs]
    out = []
    for name, fig in (
            ("occupancy", occupancy_heatmaps(trace.mode_counts[runs], trace.steps,
                                             [hops[i] for i in runs], titles)),
            ("hops", hop_histograms(arrays["n_hops"][ok], arrays["dwell"], arrays["censored"],
                                    log_every)),
            ("chase", chase_plot(arrays["left"], arrays["kept"], log_every))):
        out.append(os.path.join(folder, f"{prefix}{name}.png"))
        fig.savefig(out[-1], dpi=110)
    return out


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    size = SMOKE if args.smoke else FULL
    for k, v in size.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    try:
        for name in ("seeds", "steps", "log_every", "eval_samples", "window"):
            if getattr(args, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got "
                                  f"{getattr(args, name)}")
        if not 0.0 < args.share <= 1.0 or not 0.0 <= args.burn_in < 1.0:
            raise ConfigError(f"--share must be in (0, 1] and --burn-in in [0, 1), got "
                              f"{args.share}, {args.burn_in}")
        config, hp = apply_remedy(args.remedy, Config(
            target="ring", steps=args.steps, log_every=args.log_every,
            eval_samples=args.eval_samples, keep_samples=min(512, args.eval_samples)))
        os.makedirs(args.out, exist_ok=True)
        seeds = list(range(args.seeds))
        t = time.perf_counter()
        trace = cycling.trace_critic_at_modes(config, hp, seeds)
        wall = time.perf_counter() - t
    except ConfigError as e:
        sys.exit(f"mode_cycling: {e}")
    summary, hops, arrays = analyse(trace, args)
    summary.update(wall_s=wall, remedy=args.remedy, share=args.share, min_dwell=args.min_dwell,
                   min_hops=args.min_hops, window=args.window, eval_samples=args.eval_samples)
    print(f"{args.remedy} on the ring: trained and logged in {wall:.0f} s (compile included)")
    report(summary)
    np.savez_compressed(os.path.join(args.out, "trace.npz"), **trace._asdict())
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if not args.no_figures:
        for path in figures(trace, hops, arrays, seeds, args.out, args.log_every, "study1_"):
            print(f"figure: {path}")
    return summary


if __name__ == "__main__":
    main()
