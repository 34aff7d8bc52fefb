"""The GAN retrained on its own generator's samples (issue 19: model collapse under recursive
training, Shumailov et al., Nature 2024), with the remedies: more samples per generation, a share
of real data in every batch.

Generation 0 trains a PacGAN (pack 2; it covers all 8 ring modes in 32 of 32 seeds in
docs/results.md's remedy table) on the 8-mode ring; generation g trains a fresh one on M points of
the lineage's own generation g - 1 generator, each training point replaced with probability alpha
by a true ring draw (``mcjax.systems.gan.recursive.retrain_on_own_samples``). Settings: alpha = 0
with M small and large, alpha = 0.1 and 0.2 with M small; every setting shares its lineages'
generation 0.

Commands::

    python experiments/gan_recursive.py --out runs/gan_recursive           # ~9 min, 2 cores
    python experiments/gan_recursive.py --smoke --out /tmp/gan_recursive  # ~15 s

Outputs in ``--out``: ``gan_recursive.md`` (modes covered per generation, then the last
generation's HQ share, reverse KL, D_1, D_2), ``gan_recursive.json``, and
``generation_gan_recursive.png`` (modes covered over generations, mean +- SE over lineages).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from mcjax import ConfigError

FULL = dict(lineages=12, generations=6, steps=4000, batch=128, eval_samples=2500, small=100,
            large=1000)
SMOKE = dict(lineages=2, generations=2, steps=100, batch=32, eval_samples=400, small=20, large=100)
ALPHAS = (0.1, 0.2)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/gan_recursive")
    p.add_argument("--smoke", action="store_true", help="2 lineages, 2 generations, 100 steps")
    p.add_argument("--lineages", type=int, help=f"lineages per setting (default {FULL['lineages']})")
    p.add_argument("--generations", type=int, help=f"after generation 0 (default {FULL['generations']})")
    p.add_argument("--small", type=int, help=f"the small M (default {FULL['small']})")
    p.add_argument("--large", type=int, help=f"the large M (default {FULL['large']})")
    p.add_argument("--steps", type=int, help=f"GAN steps per generation (default {FULL['steps']})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-figures", action="store_true")
    return p


def settings(size: dict) -> list[tuple[str, int, float]]:
    rows = [(f"alpha = 0, M = {size['small']}", size["small"], 0.0),
            (f"alpha = 0, M = {size['large']}", size["large"], 0.0)]
    return rows + [(f"alpha = {a:g}, M = {size['small']}", size["small"], a) for a in ALPHAS]


def _mse(x: np.ndarray, digits: int = 2) -> str:
    x = np.asarray(x, np.float64)
    se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else 0.0
    return f"{x.mean():.{digits}f} +- {se:.{digits}f}"


def render(names, stats: dict) -> str:
    """Markdown: modes covered of 8 per generation (mean +- SE over lineages), then the last
    generation's HQ %, reverse KL, D_1, D_2 and the modes in the data it hands on."""
    modes = stats["modes_covered"]  # [G + 1, S, R]
    G = modes.shape[0]
    head = "| setting | " + " | ".join(f"g = {g}" for g in range(G)) + " |"
    lines = [head, "|---" * (G + 1) + "|"]
    for s, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(_mse(modes[g, s]) for g in range(G)) + " |")
    lines += ["", f"Generation {G - 1}:", "",
              "| setting | HQ % | reverse KL | D_1 | D_2 | modes in its M samples |",
              "|---|---|---|---|---|---|"]
    for s, name in enumerate(names):
        cells = [_mse(100 * stats["hq_fraction"][-1, s], 1), _mse(stats["reverse_kl"][-1, s]),
                 _mse(stats["D1"][-1, s]), _mse(stats["D2"][-1, s]), _mse(stats["data_modes"][-1, s])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(names, stats: dict, path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in zip(axes, ("modes_covered", "D2"), ("modes covered (of 8)", "D_2")):
        v = stats[key]  # [G + 1, S, R]
        g = np.arange(v.shape[0])
        for s, name in enumerate(names):
            m = v[:, s].mean(-1)
            se = v[:, s].std(-1, ddof=1) / np.sqrt(v.shape[-1]) if v.shape[-1] > 1 else 0 * m
            ax.errorbar(g + 0.04 * (s - 1.5), m, yerr=se, marker="o", ms=3, capsize=2, label=name)
        ax.set_xlabel("generation")
        ax.set_ylabel(label)
        ax.set_ylim(0, 8.3)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle("PacGAN (pack 2) on the 8-mode ring, retrained on its own samples; "
                 "mean +- SE over lineages", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def experiment(size: dict, seed: int, progress=None):
    from mcjax.systems.gan.config import Config, make_hparams
    from mcjax.systems.gan.recursive import retrain_on_own_samples
    from mcjax.systems.gan.remedies import apply_remedy

    base = Config(steps=size["steps"], log_every=size["steps"], batch_size=size["batch"],
                  eval_samples=size["eval_samples"], keep_samples=min(512, size["eval_samples"]))
    cfg, hp = apply_remedy("pacgan:pack=2", base)
    rows = settings(size)
    result = retrain_on_own_samples(cfg, make_hparams(**hp), size["generations"], size["lineages"],
                                    [m for _, m, _ in rows], [a for _, _, a in rows], seed=seed,
                                    progress=progress)
    return [name for name, _, _ in rows], result


def main(argv=None) -> dict:
    p = build_parser()
    args = p.parse_args(argv)
    size = dict(SMOKE if args.smoke else FULL)
    for k in ("lineages", "generations", "small", "large", "steps"):
        if getattr(args, k) is not None:
            size[k] = getattr(args, k)
    t0 = time.perf_counter()
    tick = lambda g, st: print(f"generation {g}: {time.perf_counter() - t0:.0f} s, modes covered "
                               f"{np.round(st['modes_covered'].mean(-1), 2).tolist()}", flush=True)
    try:
        if size["lineages"] < 2:
            raise ConfigError(f"--lineages must be >= 2 (a standard error), got {size['lineages']}")
        names, result = experiment(size, args.seed, tick)
        os.makedirs(args.out, exist_ok=True)
    except (ConfigError, OSError) as e:
        p.exit(2, f"{p.prog}: error: {e}\n")
    table = render(names, result.stats)
    print(table)
    with open(os.path.join(args.out, "gan_recursive.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "gan_recursive.json"), "w") as f:
        json.dump({"size": size, "seed": args.seed, "settings": names,
                   "stats": {k: v.tolist() for k, v in result.stats.items()}}, f)
    fig = None if args.no_figures else figure(names, result.stats,
                                              os.path.join(args.out, "generation_gan_recursive.png"))
    print(f"wall {time.perf_counter() - t0:.0f} s; outputs in {args.out}")
    return {"names": names, "stats": result.stats, "table": table, "figure": fig}


if __name__ == "__main__":
    main(sys.argv[1:])
