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

from mcjax._validation import ConfigError, check_choice

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
    s.add_argument("--optimizer", default=d.optimizer,
                   help=f"adam, rmsprop, sgd, muon or kron (PSGD Kron, a Kronecker-factored "
                   f"preconditioner; needs pip install \"mcjax[kron]\") (default {d.optimizer})")
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
    s.add_argument("--resume", metavar="OUT_DIR", default=None,
                   help="continue an interrupted sweep from its checkpoints (other options are taken "
                   "from OUT_DIR/sweep.json)")
    s.add_argument("--config", metavar="FILE.toml", default=None,
                   help="read options from a TOML file (keys are option names, e.g. lr-d = 3e-4, "
                   "remedy = [\"gan\", \"pacgan:pack=3\"]); flags on the command line win")
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

    an = sub.add_parser("analyze", help="curvature and rotation of a saved sweep's final states, "
                        "collapsed vs healthy runs; writes analysis.json and dynamics.png")
    an.add_argument("out_dir")
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


_RUN_ONLY = ("json", "no_progress", "no_figures", "no_cache", "resume", "config", "overwrite",
             "distributed", "coordinator", "num_processes", "process_id", "command")
SWEEP_FILE = "sweep.json"
CHECKPOINTS = "checkpoints"


def _load_config_file(path: str, parser: argparse.ArgumentParser) -> dict:
    """Options from a TOML file: keys are the long option names (``lr-d`` or ``lr_d``)."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"--config {path!r}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {path!r}: not valid TOML: {e}") from None
    sweep_parser = next(a for a in parser._subparsers._group_actions[0].choices.values()
                        if a.prog.endswith("sweep"))
    known = {a.dest: a for a in sweep_parser._actions if a.dest not in ("help",) + _RUN_ONLY}
    values = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        if dest not in known:
            check_choice(f"option in {path}", key, sorted(k.replace("_", "-") for k in known))
        action = known[dest]
        if action.dest in ("remedy", "sweep"):
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {key} must be a string or a list of strings, got {value!r}")
        elif action.type is not None and not isinstance(value, bool):
            try:
                value = action.type(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{path}: {key} must be {action.type.__name__}, got {value!r}") from None
        elif isinstance(action, argparse._StoreTrueAction) and not isinstance(value, bool):
            raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
        values[dest] = value
    return values


def _sweep(args) -> int:
    from mcjax.results import atomic_write, check_out_dir
    from mcjax.sweep import Interrupted, run_sweep

    if args.resume:
        out = args.resume
        path = os.path.join(out, SWEEP_FILE)
        if not os.path.exists(path):
            raise ConfigError(f"--resume {out!r}: no {SWEEP_FILE} there; is it a folder written by "
                              "`mcjax sweep --out`?")
        with open(path) as f:
            saved = json.load(f)
        from mcjax import __version__

        if saved.get("format_version") != 1:
            raise ConfigError(f"--resume {out!r}: sweep file format {saved.get('format_version')!r}; "
                              "this mcjax reads format 1")
        if saved.get("mcjax_version") != __version__:
            raise ConfigError(f"--resume {out!r} was started by mcjax {saved.get('mcjax_version')}; "
                              f"this is mcjax {__version__}: finish it with that version")
        if os.path.exists(os.path.join(out, "summary.json")):
            raise ConfigError(f"--resume {out!r}: that sweep is complete; `mcjax show {out}` prints it")
        for key, value in saved["args"].items():
            setattr(args, key, value)
    if args.seeds <= 0:
        raise ConfigError(f"--seeds must be a positive integer, got {args.seeds}")
    if args.distributed:
        from mcjax.scale import initialize_distributed

        initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    elif args.coordinator or args.num_processes is not None or args.process_id is not None:
        raise ConfigError("--coordinator, --num-processes and --process-id need --distributed")
    from mcjax.scale import is_main_process

    main_process = is_main_process()
    exps = _experiments(args)
    out = args.out or os.path.join(
        "mcjax-out", f"{args.target}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    ckpt_dir = os.path.join(out, CHECKPOINTS)
    if not args.resume:
        check_out_dir(out, overwrite=args.overwrite)
        if os.path.isdir(ckpt_dir) and os.listdir(ckpt_dir) and not args.overwrite:
            raise ConfigError(f"output folder {out!r} holds an unfinished sweep; continue it with "
                              f"`mcjax sweep --resume {out}` or pass --overwrite")
        if main_process:
            import shutil

            from mcjax import __version__

            shutil.rmtree(ckpt_dir, ignore_errors=True)
            os.makedirs(out, exist_ok=True)
            saved = {k: v for k, v in vars(args).items() if k not in _RUN_ONLY}
            saved["out"] = out
            atomic_write(os.path.join(out, SWEEP_FILE), json.dumps(
                {"format_version": 1, "mcjax_version": __version__, "args": saved}, indent=2).encode())
    if not args.no_cache:
        from mcjax.cache import enable_compilation_cache

        enable_compilation_cache()
    info = sys.stderr if args.json else sys.stdout
    runs = sum(len(e.setting_labels) for e in exps) * args.seeds
    print(f"mcjax sweep: {', '.join(e.label for e in exps)} on {args.target}, {args.seeds} seeds each "
          f"({runs} runs x {args.steps} steps){'; resuming' if args.resume else ''}", file=sys.stderr)
    with _StopOnInterrupt() as stop:
        try:
            result = run_sweep(exps, args.seeds, progress=not args.no_progress, checkpoint_dir=ckpt_dir,
                               resume=bool(args.resume), stop=stop)
        except Interrupted as e:
            print(f"mcjax: interrupted ({e}); every finished chunk is checkpointed in {ckpt_dir}.\n"
                  f"Resume with: mcjax sweep --resume {out}", file=sys.stderr)
            return 130
    if not main_process:
        return 0
    result.save(out, overwrite=True)
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


class _StopOnInterrupt:
    """First Ctrl-C: finish the chunk, checkpoint, stop. Second Ctrl-C: stop at once."""

    def __enter__(self):
        import signal

        self.requested = False
        self._signal = signal
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None
        return lambda: self.requested

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nmcjax: Ctrl-C: stopping after this chunk's checkpoint (Ctrl-C again to stop now)",
              file=sys.stderr)

    def __exit__(self, *exc):
        if self._old is not None:
            self._signal.signal(self._signal.SIGINT, self._old)
        return False


def _show(args) -> int:
    from mcjax.results import SweepResult

    result = SweepResult.load(args.out_dir)
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        print()
    else:
        print(result.table())
    return 0


def _analyze(args) -> int:
    from mcjax.analyze import analysis_table, analyze_sweep, save_analysis

    analysis = analyze_sweep(args.out_dir)
    paths = save_analysis(analysis, args.out_dir)
    print(analysis_table(analysis))
    print(f"written: {', '.join(paths)}")
    return 0


def _remedies(args) -> int:
    from mcjax.remedies import describe_remedies

    print(describe_remedies())
    return 0


_COMPUTE_COMMANDS = ("sweep", "analyze")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in _COMPUTE_COMMANDS:
        # first of all, before anything (argparse defaults included) can start JAX's backends
        from mcjax.scale import use_cpu_cores

        try:
            use_cpu_cores()  # one CPU device per core: runs sharded over the cores
        except ConfigError as e:
            print(f"mcjax: error: {e}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "config", None):
            file_values = _load_config_file(args.config, parser)
            defaults = build_parser().parse_args([args.command])
            for dest, value in file_values.items():
                if getattr(args, dest) == getattr(defaults, dest):  # not given on the command line
                    setattr(args, dest, value)
        return {"sweep": _sweep, "show": _show, "remedies": _remedies, "analyze": _analyze}[args.command](args)
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
