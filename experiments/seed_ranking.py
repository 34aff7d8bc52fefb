"""Many seeds change conclusions (issue 17, study 6): how often a 5-seed comparison of two remedies
ranks them differently from 128 seeds, and how many seeds each pair needs for 95 % agreement.

Data committed (``docs/tables/seed_ranking/ring_200steps.csv``, the default ``--data``): 128 seeds
each of gan, wgan-gp, r1, pacgan:pack=4 and entropy on the ring, the base setup of the ring remedy
table in docs/results.md (2x64 ReLU MLPs, latent 16, batch 128, Adam lr 1e-3 both players, betas
0.5/0.999, alternating steps; ring of 8 modes, radius 2, std 0.02; mode statistics of 2500 samples
of the final generator) but only **200 steps** (the table's 4000 did not fit the time): one
``mcjax.run(RunSpec(target="ring", remedy=(r,), seeds=128, steps=200, log_every=200))`` per
remedy, 12-51 s each on the shared 2-core CPU. The 4000-step data (remedies gan, r1, pacgan:pack=2,
pacgan:pack=3, entropy; 1765 s of training on the 2-core CPU; committed as
``docs/tables/seed_ranking/ring.csv``, figure ``docs/figures/study6_ring.png``) are trained,
resumably, by the remedy table's own script and collected with ``--collect``::

    flock /tmp/mcjax-cpu.lock python experiments/remedy_table.py --seeds 128 --steps 4000 \
        --targets ring --remedies gan r1 pacgan:pack=2 pacgan:pack=3 entropy \
        --out runs/seed_ranking --resume
    python experiments/seed_ranking.py --collect runs/seed_ranking/ring \
        --data docs/tables/seed_ranking/ring.csv --out docs/figures

Analysis only (no training)::

    python experiments/seed_ranking.py --out docs/figures      # ~10 s of CPU
    python experiments/seed_ranking.py --smoke --out /tmp/s6   # ~3 s: 1,000 draws, n <= 16

Analysis (``mcjax.analysis.seeds``): for every pair of remedies and metric, the 128-seed answer (which
mean is higher) and its two-sided permutation p-value (10,000 label shuffles); then for
n = 2..64 seeds per remedy, 10,000 draws of n of the 128 seeds of each remedy without replacement,
and the share whose n-seed means rank the pair the other way (ties count as disagreement); the
5-seed rate and the smallest n from which agreement stays >= 95 %.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import time

import numpy as np

from mcjax import ConfigError
from mcjax.analysis import seeds

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "tables",
                    "seed_ranking", "ring_200steps.csv")
METRICS = ("modes_covered", "hq_percent", "reverse_kl")
HIGHER_IS_BETTER = {"modes_covered": True, "hq_percent": True, "reverse_kl": False}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DATA, help="per-seed CSV (remedy, seed, metrics...)")
    p.add_argument("--collect", metavar="DIR",
                   help="first write --data from a remedy_table.py target folder (DIR/remedies/*)")
    p.add_argument("--out", default="docs/figures")
    p.add_argument("--draws", type=int, default=10_000)
    p.add_argument("--permutations", type=int, default=10_000)
    p.add_argument("--max-n", type=int, default=64)
    p.add_argument("--smoke", action="store_true", help="1,000 draws and n <= 16")
    p.add_argument("--no-figures", action="store_true")
    return p


def collect(folder: str, path: str) -> None:
    """Final per-seed metrics of every finished remedy in ``folder/remedies`` into a CSV."""
    from mcjax import SweepResult
    from mcjax.core.results import RESULT_FILES, present_result_files

    rows = []
    for name in sorted(os.listdir(os.path.join(folder, "remedies"))):
        path_r = os.path.join(folder, "remedies", name)
        if len(present_result_files(path_r)) != len(RESULT_FILES):
            print(f"{path_r}: not finished, left out")
            continue
        for g in SweepResult.load(path_r).groups:
            keep = ~g.diverged[0]
            cols = dict(modes_covered=g.final("modes_covered")[0],
                        hq_percent=100 * g.final("hq_fraction")[0],
                        reverse_kl=g.final("reverse_kl")[0])
            for i, s in enumerate(g.seeds):
                if keep[i]:
                    rows.append([g.label, int(s), f"{cols['modes_covered'][i]:g}",
                                 f"{cols['hq_percent'][i]:.2f}", f"{cols['reverse_kl'][i]:.4f}"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["remedy", "seed", *METRICS])
        w.writerows(rows)
    print(f"wrote {len(rows)} seeds to {path}")


def load(path: str) -> dict:
    """``remedy -> metric -> [N]`` from the per-seed CSV, remedies in file order."""
    data: dict = {}
    with open(path) as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("remedy", *METRICS) if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}; needs remedy, "
                              f"seed, {', '.join(METRICS)}")
        for line, row in enumerate(reader, start=2):
            per = data.setdefault(row["remedy"], {m: [] for m in METRICS})
            for m in METRICS:
                try:
                    per[m].append(float(row[m]))
                except (TypeError, ValueError):
                    raise ConfigError(f"{path}, line {line}: {m} = {row[m]!r} is not a number") from None
    small = {r: len(v["modes_covered"]) for r, v in data.items() if len(v["modes_covered"]) < 2}
    if len(data) < 2 or small:
        raise ConfigError(f"{path}: needs at least 2 remedies with at least 2 seeds each, got "
                          f"{ {r: len(v['modes_covered']) for r, v in data.items()} }")
    return {r: {m: np.asarray(v) for m, v in per.items()} for r, per in data.items()}


def analyse(data: dict, ns, draws: int, permutations: int, n_seeds: int) -> list[dict]:
    out = []
    for (a, b), metric in itertools.product(itertools.combinations(data, 2), METRICS):
        x, y = data[a][metric], data[b][metric]
        ans = seeds.compare_pair(x, y, ns, draws=draws, permutations=permutations)
        tie = ans.mean_a == ans.mean_b
        better = "tie" if tie else (a if (ans.mean_a > ans.mean_b) == HIGHER_IS_BETTER[metric] else b)
        significant = ans.p_value < 0.05
        if tie:
            needed = f"tie: equal {n_seeds}-seed means"
        elif not significant:
            needed = f"never: not significant at {n_seeds}"
        else:
            needed = str(ans.needed) if ans.needed else f"> {max(ns)}"
        out.append(dict(a=a, b=b, metric=metric, mean_a=ans.mean_a, mean_b=ans.mean_b,
                        better=better, p_value=ans.p_value, significant=bool(significant),
                        rate_5=ans.rate_at(5) if 5 in ns else None, needed=needed,
                        ns=list(ans.ns), rates=[float(r) for r in ans.rates]))
    return out


def print_table(rows: list[dict], n_seeds: int) -> None:
    print(f"{'pair':32s} | {'metric':13s} | {'means (A vs B)':17s} | {n_seeds}-seed answer | "
          f"perm. p | 5-seed disagree | seeds for 95 %")
    for r in rows:
        print(f"{r['a'] + ' vs ' + r['b']:32s} | {r['metric']:13s} | {r['mean_a']:7.3g} vs "
              f"{r['mean_b']:<7.3g} | {r['better']:15s} | {r['p_value']:.4f}  | "
              f"{100 * r['rate_5']:5.1f} %          | {r['needed']}")


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.collect and not os.path.isdir(os.path.join(args.collect, "remedies")):
        parser.error(f"--collect {args.collect!r} has no remedies/ folder: give a remedy_table.py "
                     f"target folder (e.g. runs/seed_ranking/ring)")
    if not args.collect and not os.path.isfile(args.data):
        parser.error(f"--data {args.data!r} does not exist: give a per-seed CSV, or --collect DIR")
    if args.collect:
        collect(args.collect, args.data)
    try:
        data = load(args.data)
    except ConfigError as e:
        parser.error(str(e))
    n_seeds = min(len(v["modes_covered"]) for v in data.values())
    max_n = 16 if args.smoke else min(args.max_n, n_seeds)
    draws, perms = (1000, 1000) if args.smoke else (args.draws, args.permutations)
    ns = list(range(2, max_n + 1))
    rows = analyse(data, ns, draws, perms, n_seeds)
    print(f"{len(data)} remedies x {n_seeds} seeds from {args.data}; {draws} draws per n, "
          f"{perms} permutations")
    print_table(rows, n_seeds)
    os.makedirs(args.out, exist_ok=True)
    result = dict(n_seeds=n_seeds, draws=draws, permutations=perms, pairs=rows)
    stem = "study6_" + os.path.splitext(os.path.basename(args.data))[0]  # named after the data
    with open(os.path.join(args.out, stem + ".json"), "w") as f:
        json.dump(result, f, indent=1)
    if not args.no_figures:
        from mcjax.plots.seeds import disagreement_plot

        curves = {m: {f"{r['a']} vs {r['b']}": (r["ns"], r["rates"], r["significant"])
                      for r in rows if r["metric"] == m and r["better"] != "tie"} for m in METRICS}
        name = os.path.join(args.out, stem + ".png")
        disagreement_plot(curves, n_total=n_seeds).savefig(name, dpi=110)
        print("wrote", name)
    print(f"wall {time.perf_counter() - t0:.1f} s")
    return result


if __name__ == "__main__":
    main()
