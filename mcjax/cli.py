"""The ``mcjax`` command: ``sweep`` (the main job), ``show``, ``remedies``.

Every bad value is reported as one line ``mcjax: error: ...`` with exit code 2, before anything is
compiled or written.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import sys
from typing import Sequence

from mcjax._validation import ConfigError

__all__ = ["main", "build_parser"]

DEFAULT_REMEDIES = ("gan", "wgan-gp")
_FLAG_NAMES = ("steps", "batch_size", "width", "depth", "latent_dim", "log_every", "eval_samples")


def build_parser() -> argparse.ArgumentParser:
    from mcjax.config import Config

    d = Config()
    p = argparse.ArgumentParser(prog="mcjax", description="Mode collapse in GANs, studied fast.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "sweep",
        help="train remedies x seeds in parallel on a target; print the table, save results and figures",
        description="Train every remedy for every seed at once (one compiled, vmapped program per "
        "remedy), print modes covered per remedy over seeds, save results and figures.",
    )
    s.add_argument("--target", default=d.target, help=f"target distribution: ring, grid or high_dim (default {d.target})")
    s.add_argument("--remedy", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help=f"remedy to train, e.g. pacgan:pack=3 or entropy:weight=0.1; repeat for several "
                   f"(default: {' '.join(DEFAULT_REMEDIES)}); `mcjax remedies` lists them")
    s.add_argument("--sweep", action="append", metavar="KEY=V1,V2,...",
                   help="vary a continuous parameter (an HParams field or a remedy's sweepable "
                   "parameter, e.g. weight=0.01,0.1,1 or lr_d=1e-3,3e-4) inside one compiled program "
                   "per remedy; repeat for a grid")
    s.add_argument("--optimizer", default=d.optimizer, help=f"adam, rmsprop, sgd or muon (default {d.optimizer})")
    s.add_argument("--seeds", type=int, default=16, help="seeds per remedy (default 16): seeds 0..N-1")
    s.add_argument("--steps", type=int, default=d.steps, help=f"generator steps (default {d.steps})")
    s.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    s.add_argument("--width", type=int, default=d.width, help=f"hidden units, both players (default {d.width})")
    s.add_argument("--depth", type=int, default=d.depth, help=f"hidden layers, both players (default {d.depth})")
    s.add_argument("--latent-dim", type=int, default=d.latent_dim, help=f"default {d.latent_dim}")
    s.add_argument("--lr-g", type=float, default=None, help="generator learning rate (default 1e-3)")
    s.add_argument("--lr-d", type=float, default=None, help="critic learning rate (default 1e-3)")
    s.add_argument("--log-every", type=int, default=d.log_every,
                   help=f"steps between logged evaluations; must divide --steps (default {d.log_every})")
    s.add_argument("--eval-samples", type=int, default=d.eval_samples,
                   help=f"generated samples per evaluation (default {d.eval_samples}, as in VEEGAN/PacGAN)")
    s.add_argument("--out", default=None, help="output folder (default mcjax-out/<target>-<time>)")
    s.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    s.add_argument("--no-figures", action="store_true", help="do not write figures")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--no-cache", action="store_true",
                   help="do not use the persistent compilation cache ($MCJAX_CACHE_DIR or ~/.cache/mcjax)")
    s.add_argument("--json", action="store_true",
                   help="print a machine-readable summary on stdout (table and progress go to stderr)")
    s.add_argument("--distributed", action="store_true",
                   help="join a multi-host run (jax.distributed); process 0 prints and writes results. "
                   "Coordinator, process count and index from the flags below, MCJAX_* variables, or "
                   "the cluster's environment (SLURM, Open MPI, Cloud TPU)")
    s.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 (with --distributed)")
    s.add_argument("--num-processes", type=int, default=None, help="with --distributed")
    s.add_argument("--process-id", type=int, default=None, help="with --distributed")

    sh = sub.add_parser("show", help="print the table of a saved sweep")
    sh.add_argument("out_dir")
    sh.add_argument("--json", action="store_true", help="print the summary as JSON")

    sub.add_parser("remedies", help="list the remedies with their settings and references")
    return p


def _experiments(args):
    from mcjax.config import Config, make_hparams, stack_hparams
    from mcjax.remedies import REMEDIES, apply_remedy, parse_spec, resolve_key
    from mcjax.sweep import Experiment

    base = Config(
        target=args.target,
        optimizer=args.optimizer,
        steps=args.steps,
        batch_size=args.batch_size,
        width=args.width,
        depth=args.depth,
        latent_dim=args.latent_dim,
        log_every=args.log_every,
        eval_samples=args.eval_samples,
        keep_samples=min(Config().keep_samples, args.eval_samples) if args.eval_samples > 0 else 1,
    )
    names = args.remedy or list(DEFAULT_REMEDIES)
    if len(set(names)) != len(names):
        raise ConfigError(f"--remedy lists a remedy twice: {names}")
    overrides = {}
    for flag, name in (("--lr-g", "lr_g"), ("--lr-d", "lr_d")):
        v = getattr(args, name)
        if v is not None:
            if not v > 0:
                raise ConfigError(f"{flag} must be a positive number, got {v!r}")
            overrides[name] = v
    sweeps = [_parse_sweep(text) for text in (args.sweep or [])]
    exps = []
    for spec in names:
        cfg, hp = apply_remedy(spec, base, overrides)
        remedy = REMEDIES[parse_spec(spec)[0]]
        axes = []
        for key, values in sweeps:
            kind, field = resolve_key(remedy, key)
            if kind != "traced":
                raise ConfigError(
                    f"--sweep {key}: {field} is static (it changes shapes or branches, so each value "
                    f"is its own compilation); give one --remedy per value instead, e.g. "
                    f"--remedy {remedy.name}:{key}={values[0]:g}"
                )
            axes.append([(field, key, v) for v in values])
        settings, labels = [], []
        for combo in itertools.product(*axes):
            settings.append(make_hparams(**{**hp, **{field: v for field, _, v in combo}}))
            labels.append(",".join(f"{key}={v:g}" for _, key, v in combo))
        exps.append(Experiment(spec, cfg, stack_hparams(settings), tuple(labels)))
    return exps


def _parse_sweep(text: str) -> tuple[str, list[float]]:
    key, eq, rest = text.partition("=")
    if not eq or not key or not rest:
        raise ConfigError(f"--sweep {text!r}: expected KEY=V1,V2,...")
    try:
        values = [float(v) for v in rest.split(",")]
    except ValueError:
        raise ConfigError(f"--sweep {text!r}: values must be numbers") from None
    if len(set(values)) != len(values):
        raise ConfigError(f"--sweep {text!r}: values must be distinct")
    return key, values


def _sweep(args) -> int:
    from mcjax.results import check_out_dir
    from mcjax.sweep import run_sweep

    if args.seeds <= 0:
        raise ConfigError(f"--seeds must be a positive integer, got {args.seeds}")
    if args.distributed:
        from mcjax.scale import initialize_distributed

        initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    elif args.coordinator or args.num_processes is not None or args.process_id is not None:
        raise ConfigError("--coordinator, --num-processes and --process-id need --distributed")
    import jax

    main_process = jax.process_index() == 0
    exps = _experiments(args)
    out = args.out or os.path.join(
        "mcjax-out", f"{args.target}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    check_out_dir(out, overwrite=args.overwrite)
    if not args.no_cache:
        from mcjax.cache import enable_compilation_cache

        enable_compilation_cache()
    info = sys.stderr if args.json else sys.stdout
    runs = sum(len(e.setting_labels) for e in exps) * args.seeds
    print(f"mcjax sweep: {', '.join(e.label for e in exps)} on {args.target}, {args.seeds} seeds each "
          f"({runs} runs x {args.steps} steps)", file=sys.stderr)
    result = run_sweep(exps, args.seeds, progress=not args.no_progress)
    if not main_process:
        return 0
    result.save(out, overwrite=args.overwrite)
    figures = []
    if not args.no_figures:
        from mcjax.plots import save_figures

        figures = save_figures(result, out)
    print(result.table(), file=info)
    print(f"compile {result.compile_s:.1f} s, run {result.run_s:.1f} s, "
          f"{result.run_steps_per_s:,.0f} run-steps/s", file=info)
    print(f"results: {out}" + (f"  figures: {', '.join(os.path.basename(f) for f in figures)}" if figures else ""),
          file=info)
    if args.json:
        summary = result.summary()
        summary["out_dir"] = out
        json.dump(summary, sys.stdout, indent=2)
        print()
    return 0


def _show(args) -> int:
    from mcjax.results import SweepResult

    result = SweepResult.load(args.out_dir)
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        print()
    else:
        print(result.table())
    return 0


def _remedies(args) -> int:
    from mcjax.remedies import describe_remedies

    print(describe_remedies())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"sweep": _sweep, "show": _show, "remedies": _remedies}[args.command](args)
    except ConfigError as e:
        msg = str(e)
        first = msg.split(" ", 1)[0]
        if first in _FLAG_NAMES:
            msg = "--" + first.replace("_", "-") + msg[len(first):]
        print(f"mcjax: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcjax: interrupted; nothing was saved for the unfinished sweep", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
