"""The PacGAN / VEEGAN remedy table, reproduced over many seeds in one process.

Protocol (VEEGAN Sec. 5.1; PacGAN Sec. 5): mode statistics of 2500 generated samples of the final
generator; modes covered, high-quality %, reverse KL; mean +- standard error and min-max over seeds.
Every remedy shares the base setup printed at the top (architecture, optimizer, steps); each differs
only by its remedy.

Command (ring and grid took 95 and 46 min on a 2-core CPU; the 1200-D target, ~17x costlier per step
there, took 6.5 min on one H100: 144 s training and 242 s compiling for 14 remedies x 32 seeds)::

    python experiments/remedy_table.py --seeds 32 --out runs/remedy_table

Smoke size::

    python experiments/remedy_table.py --seeds 2 --steps 200 --targets ring --remedies gan pacgan:pack=2

Each remedy is trained and saved on its own, in ``OUT/<target>/remedies/<name>`` (a results folder
that ``mcjax show`` reads), so a finished remedy is never lost; when all are done the merged table and
figures go to ``OUT/<target>``. Each remedy is one ``mcjax.run`` (the path ``mcjax sweep`` takes):
it checkpoints at each chunk boundary under ``OUT/<target>/remedies/<name>/checkpoints``: rerun the same command with ``--resume`` after an interruption and
finished work is not repeated (the result equals an uninterrupted run). ``--report`` trains nothing,
prints the table of the remedies finished so far and draws their figures.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import time

from mcjax import RunSpec, SweepResult, run
from mcjax._validation import ConfigError, read_toml
from mcjax.core.writers import TensorBoardWriter
from mcjax.plots import save_figures
from mcjax.core.results import RESULT_FILES, check_out_dir, present_result_files

REMEDIES = ["gan", "pacgan:pack=2", "pacgan:pack=3", "pacgan:pack=4", "unrolled:steps=5", "wgan-gp",
            "r1", "mbd", "feature-matching", "entropy", "consensus", "sga",
            # Metz et al.'s step sizes (critic 1e-4, generator 1e-3), for the plain and unrolled GAN
            # alike: unrolling's advantage depends on the critic's step (docs/results.md).
            "gan:lr_d=1e-4", "unrolled:steps=5,lr_d=1e-4"]
# samples kept per run for the figures (the metrics use all 2500); a 1200-D sample is 600x a 2-D one
# and its first two coordinates (what the sample figure draws) say little, so few are kept: the
# finished remedies' folders stay small enough to commit
KEEP_SAMPLES = {"high_dim": 2}
DEFAULT_KEEP = 512


def folder_name(spec: str) -> str:
    """A remedy spec as a portable folder name: ``unrolled:steps=5,lr_d=1e-4`` -> ``unrolled-steps=5,lr_d=1e-4``."""
    return re.sub(r"[^A-Za-z0-9_.,=+-]", "-", spec)


def is_complete(folder: str) -> bool:
    return len(present_result_files(folder)) == len(RESULT_FILES)


def load_options(path: str, parser: argparse.ArgumentParser) -> dict:
    """The options in a TOML file (keys: this script's long option names), checked against the
    parser; exits with one clear line on a bad file or key."""
    try:
        data = read_toml(path)
    except ConfigError as e:
        parser.error(str(e))
    known = {a.dest for a in parser._actions} - {"help", "config"}
    values = {k.replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        parser.error(f"--config {path}: unknown option(s) {unknown}; allowed: {sorted(known)}")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=32)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--width", type=int, default=64, help="hidden units, both players (64)")
    p.add_argument("--depth", type=int, default=2, help="hidden layers, both players (2)")
    p.add_argument("--targets", nargs="+", default=["ring", "grid", "high_dim"])
    p.add_argument("--remedies", nargs="+", default=REMEDIES)
    p.add_argument("--out", default="runs/remedy_table")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints and finished remedies an interrupted run of "
                        "this command left in --out")
    p.add_argument("--report", action="store_true",
                   help="train nothing: print the table of the remedies finished in --out so far")
    p.add_argument("--tensorboard", metavar="DIR", default=None,
                   help="watch the table train: every remedy's metrics after each chunk, in "
                   "DIR/<target> (tensorboard --logdir DIR; pip install \"mcjax[tensorboard]\")")
    p.add_argument("--config", metavar="FILE.toml",
                   help="defaults from a TOML file of these options (configs/remedy_table_*.toml); "
                        "flags on the command line win")
    return p


def main(argv=None) -> None:
    p = build_parser()
    args = p.parse_args(argv)
    if args.config:
        p.set_defaults(**load_options(args.config, p))
        args = p.parse_args(argv)
    names = [folder_name(s) for s in args.remedies]
    if len(set(names)) != len(names):
        p.error(f"--remedies must be distinct, got {args.remedies}")
    log_every = max(1, args.steps // 10)
    for target in args.targets:
        spec_of = RunSpec(target=target, seeds=args.seeds, steps=args.steps, log_every=log_every,
                       width=args.width, depth=args.depth,
                       keep_samples=KEEP_SAMPLES.get(target, DEFAULT_KEEP))
        base = spec_of.base_config()
        print(f"\n== {target}: {args.seeds} seeds x {len(args.remedies)} remedies; base setup: "
              f"{base.depth}x{base.width} MLPs, latent {base.latent_dim}, batch {base.batch_size}, "
              f"{base.optimizer} lr 1e-3 (both players), {base.steps} generator steps", flush=True)
        out = os.path.join(args.out, target)
        writer = None
        if args.tensorboard and not args.report:
            try:
                writer = TensorBoardWriter(os.path.join(args.tensorboard, target))
            except ConfigError as e:
                p.error(str(e))
        groups, missing, wall = [], [], 0.0
        for remedy, name in zip(args.remedies, names):
            folder = os.path.join(out, "remedies", name)
            if is_complete(folder) and (args.resume or args.report):
                groups += SweepResult.load(folder).groups
                print(f"{remedy}: finished earlier, loaded from {folder}", flush=True)
                continue
            if args.report:
                missing.append(remedy)
                continue
            check_out_dir(folder, overwrite=args.overwrite)  # before training, not after
            t0 = time.perf_counter()
            result = run(dataclasses.replace(spec_of, remedy=(remedy,)), folder, resume=args.resume,
                         overwrite=args.overwrite, figures=False, on_chunk=writer).result
            wall += time.perf_counter() - t0
            groups += result.groups
            print(f"{remedy}: {result.run_s:.0f} s ({result.run_steps_per_s:.0f} run-steps/s), compile "
                  f"{result.compile_s:.0f} s on {result.groups[0].platform}; saved in {folder}", flush=True)
        if not groups:
            print(f"no remedy of {target} is finished in {out}", flush=True)
            continue
        result = SweepResult(groups=groups)
        print(result.table("mean"))
        save_figures(result, out)
        if missing:
            print(f"not finished yet: {', '.join(missing)}; figures of the finished ones in {out}",
                  flush=True)
            continue
        result.save(out, overwrite=True)  # the merged table of this command's remedies
        print(f"wall {wall:.0f} s this invocation; training {result.run_s:.0f} s and compile "
              f"{result.compile_s:.0f} s summed over the remedies; results and figures in {out}",
              flush=True)


if __name__ == "__main__":
    main()
