"""The ``mcjax`` command: ``sweep`` (the main job; ``--system NAME`` picks what it sweeps),
``show``, ``remedies``, ``systems``, ``analyze``.

Every bad value is reported as one line ``mcjax: error: ...`` with exit code 2, before anything is
compiled or written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from mcjax._validation import ConfigError, check_choice, read_toml
from mcjax.systems.registry import DEFAULT_SYSTEM

__all__ = ["main", "build_parser"]


def build_parser(system: str = DEFAULT_SYSTEM) -> argparse.ArgumentParser:
    """The ``mcjax`` parser, ``sweep`` with the options of ``system`` (``mcjax systems``)."""
    from mcjax.systems.registry import get_system, systems

    entry = get_system(system)
    p = argparse.ArgumentParser(prog="mcjax", description="Mode collapse in GANs, studied fast.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "sweep",
        help="train remedies x seeds in parallel on a target; print the table, save results and figures",
        description="Train every remedy for every seed at once (one compiled, vmapped program per "
        "remedy), print the final metrics per remedy over seeds, save results and figures. "
        f"These are the options of --system {system}; `mcjax sweep --system NAME --help` shows "
        "another system's.",
    )
    s.add_argument("--system", default=system,
                   help=f"what to sweep: {', '.join(systems())} (default {DEFAULT_SYSTEM}); "
                   "`mcjax systems` lists them")
    entry.add_arguments(s)
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
    s.add_argument("--tensorboard", metavar="DIR", default=None,
                   help="write every logged metric to a TensorBoard folder after each chunk, to "
                   "watch the sweep (pip install \"mcjax[tensorboard]\")")
    s.add_argument("--wandb", action="store_true",
                   help="log every metric to Weights & Biases after each chunk; offline unless "
                   "WANDB_MODE says otherwise (pip install \"mcjax[wandb]\")")
    s.add_argument("--wandb-project", default="mcjax", help="with --wandb (default mcjax)")
    s.add_argument("--figure-format", default="png", choices=("png", "pdf", "svg"),
                   help="file format of the figures (default png)")
    s.add_argument("--distributed", action="store_true",
                   help="join a multi-host run (jax.distributed); process 0 prints and writes results. "
                   "Coordinator, process count and index from the flags below, MCJAX_* variables, or "
                   "the cluster's environment (SLURM, Open MPI, Cloud TPU)")
    s.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 (with --distributed)")
    s.add_argument("--num-processes", type=int, default=None, help="with --distributed")
    s.add_argument("--process-id", type=int, default=None, help="with --distributed")

    _add_inspect_parsers(sub)
    return p


def _add_inspect_parsers(sub) -> None:
    """``show``, ``remedies`` and ``analyze``: the commands that read what a sweep saved."""
    sh = sub.add_parser("show", help="print the table of a saved sweep")
    sh.add_argument("out_dir")
    sh.add_argument("--json", action="store_true", help="print the summary as JSON")
    sh.add_argument("--format", default="text", choices=("text", "markdown", "latex", "csv"),
                    help="table format (default text; markdown, latex and csv for papers)")
    sh.add_argument("--style", default="median", choices=("median", "mean"),
                    help="median (min-max), or mean +- standard error (min-max) as in PacGAN's "
                    "Table 1 (default median)")

    re = sub.add_parser("remedies", help="list a system's remedies with their settings and references")
    re.add_argument("--system", default=DEFAULT_SYSTEM, help=f"default {DEFAULT_SYSTEM}")
    sub.add_parser("systems", help="list the systems `mcjax sweep --system` runs, with their "
                   "remedies and references")

    an = sub.add_parser("analyze", help="curvature and rotation of a saved sweep's final states, "
                        "collapsed vs healthy runs; writes analysis.json and dynamics.png")
    an.add_argument("out_dir")


def spec_from_args(args):
    """The run spec of ``mcjax sweep``'s parsed options, built by the chosen system
    (``mcjax.systems.registry``; for the GAN a :class:`~mcjax.systems.gan.spec.RunSpec`)."""
    from mcjax.systems.registry import get_system

    return get_system(args.system).spec_from_args(args)


def _system_of(argv: Sequence[str]) -> str:
    """The ``--system`` of a ``mcjax sweep`` command line (written in full), else the ``system``
    key of its ``--config`` file, else the default."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--system", default=None)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(list(argv)[1:])
    if known.system is not None:
        return known.system
    if known.config is not None:
        system = read_toml(known.config).get("system", DEFAULT_SYSTEM)
        if not isinstance(system, str):
            raise ConfigError(f"{known.config}: system must be a string, got {system!r}")
        return system
    return DEFAULT_SYSTEM


def _refuse_foreign_options(argv: Sequence[str], system: str) -> None:
    """An option of another system beside ``--system system`` is refused, naming both."""
    from mcjax.systems.registry import get_system, option_strings, systems

    own = option_strings(get_system(system))
    for other, entry in systems().items():
        for opt in sorted(option_strings(entry) - own):
            if any(a == opt or a.startswith(opt + "=") for a in argv):
                raise ConfigError(f"{opt} is an option of --system {other}, not of --system "
                                  f"{system}; `mcjax sweep --system {system} --help` lists its options")


# how to run, not what: kept out of a --config file
_RUN_ONLY = ("json", "no_progress", "no_figures", "no_cache", "resume", "config", "overwrite",
             "distributed", "coordinator", "num_processes", "process_id", "command",
             "tensorboard", "wandb", "wandb_project", "figure_format")


def _sweep_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return parser._subparsers._group_actions[0].choices["sweep"]


def given_options(argv: Sequence[str]) -> set[str]:
    """The ``dest`` of every option of ``mcjax sweep`` written on the command line ``argv``
    (``--width 64`` counts even where 64 is the default)."""
    parser = build_parser(_system_of(argv))
    for action in _sweep_parser(parser)._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(list(argv)))) - {"command", "version"}


def _toml_value(path: str, key: str, action: argparse.Action, value):
    """``value`` of option ``key`` as the command line would give it; exactly the TOML type the
    option takes (``steps = 20.7`` and ``seeds = true`` are refused, not truncated or cast)."""
    if action.dest in ("remedy", "sweep"):
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key} must be a string or a list of strings, got {value!r}")
        return value
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {key} must be true or false, got {value!r}")
        return value
    kind = action.type or str
    ok = {int: (int,), float: (int, float), str: (str,)}[kind]
    if isinstance(value, bool) or not isinstance(value, ok):
        what = {int: "an integer", float: "a number", str: "a string"}[kind]
        raise ConfigError(f"{path}: {key} must be {what}, got {value!r}")
    return kind(value)


def _load_config_file(path: str, parser: argparse.ArgumentParser) -> dict:
    """Options from a TOML file: keys are the long option names (``lr-d`` or ``lr_d``)."""
    data = read_toml(path)
    known = {a.dest: a for a in _sweep_parser(parser)._actions
             if a.dest not in ("help",) + _RUN_ONLY}
    values = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        if dest not in known:
            check_choice(f"option in {path}", key, sorted(k.replace("_", "-") for k in known))
        values[dest] = _toml_value(path, key, known[dest], value)
    return values


def _merge_options(args, parser: argparse.ArgumentParser, given: set[str]) -> None:
    """Fills ``args`` from ``--config`` where the option was not on the command line (the command
    line wins, also when it repeats a default); refuses training options beside ``--resume``,
    which takes them all from the folder's sweep.json."""
    if args.resume:
        extra = sorted(d for d in given if d not in _RUN_ONLY) + (["config"] if args.config else [])
        if extra:
            names = ", ".join("--" + d.replace("_", "-") for d in extra)
            raise ConfigError(f"--resume {args.resume!r} continues the sweep saved there with its own "
                              f"options; drop {names} (or start a new sweep with --out)")
        return
    if args.config:
        for dest, value in _load_config_file(args.config, parser).items():
            if dest not in given:
                setattr(args, dest, value)


def _writers(args) -> list:
    """The metrics writers asked for (``mcjax.core.writers``); a missing package is refused here,
    before anything is compiled."""
    from mcjax.core.writers import TensorBoardWriter, WandbWriter

    writers = []
    if args.tensorboard:
        writers.append(TensorBoardWriter(args.tensorboard))
    if args.wandb:
        writers.append(WandbWriter(project=args.wandb_project, config=vars(args)))
    return writers


def _sweep(args) -> int:
    distributed = None
    if args.distributed:
        distributed = dict(coordinator_address=args.coordinator, num_processes=args.num_processes,
                           process_id=args.process_id)
    elif args.coordinator or args.num_processes is not None or args.process_id is not None:
        raise ConfigError("--coordinator, --num-processes and --process-id need --distributed")
    writers = _writers(args)
    try:
        return _train(args, distributed, writers)
    finally:
        for w in writers:
            w.close()


def _train(args, distributed, writers) -> int:
    from mcjax.core.run import run
    from mcjax.core.sweep import Interrupted

    try:
        out = run(None if args.resume else spec_from_args(args), args.resume or args.out,
                  resume=bool(args.resume), overwrite=args.overwrite, progress=not args.no_progress,
                  figures=False if args.no_figures else args.figure_format,
                  cache=not args.no_cache, distributed=distributed,
                  on_chunk=(lambda r: [w(r) for w in writers]) if writers else None)
    except Interrupted as e:
        import shlex
        import signal

        ckpt_dir = os.path.join(e.out_dir, "checkpoints")
        print(f"mcjax: interrupted ({e}); every finished chunk is checkpointed in {ckpt_dir}.\n"
              f"Resume with: mcjax sweep --resume {shlex.quote(e.out_dir)}", file=sys.stderr)
        return 128 + (getattr(e, "signum", None) or signal.SIGINT)  # 130 Ctrl-C, 143 SIGTERM
    from mcjax.core.sharding import is_main_process

    if not is_main_process():
        return 0
    info = sys.stderr if args.json else sys.stdout
    result = out.result
    print(result.table(), file=info)
    print(f"compile {result.compile_s:.1f} s, run {result.run_s:.1f} s, "
          f"{result.run_steps_per_s:,.0f} run-steps/s", file=info)
    names = ", ".join(os.path.basename(f) for f in out.figures)
    print(f"results: {out.out_dir}" + (f"  figures: {names}" if names else ""), file=info)
    if args.json:
        summary = result.summary()
        summary["out_dir"] = out.out_dir
        json.dump(summary, sys.stdout, indent=2)
        print()
    return 0


def _show(args) -> int:
    from mcjax.core.results import SweepResult

    result = SweepResult.load(args.out_dir)
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        print()
    else:
        print(result.table(style=args.style, fmt=args.format))
    return 0


def _analyze(args) -> int:
    from mcjax.core.results import SweepResult
    from mcjax.systems.gan.analyze import analysis_table, analyze_sweep, save_analysis

    other = sorted({g.config.system for g in SweepResult.load(args.out_dir).groups} - {"gan"})
    if other:
        raise ConfigError(f"mcjax analyze measures a GAN's curvature and rotation; {args.out_dir!r} "
                          f"holds a {', '.join(other)} sweep (`mcjax show {args.out_dir}` prints it)")
    analysis = analyze_sweep(args.out_dir)
    paths = save_analysis(analysis, args.out_dir)
    print(analysis_table(analysis))
    print(f"written: {', '.join(paths)}")
    return 0


def _remedies(args) -> int:
    from mcjax.systems.registry import get_system

    print(get_system(args.system).describe_remedies())
    return 0


def _systems(args) -> int:
    from mcjax.systems.registry import systems

    lines = []
    for name, e in systems().items():
        default = " (the default)" if name == DEFAULT_SYSTEM else ""
        lines.append(f"{name}{default}\n    {e.description}\n    remedies: "
                     f"{', '.join(e.remedy_names())} (`mcjax remedies --system {name}`)\n"
                     f"    references: {'; '.join(e.references)}")
    print("\n".join(lines))
    return 0


_COMPUTE_COMMANDS = ("sweep", "analyze")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in _COMPUTE_COMMANDS:
        # first of all, before anything (argparse defaults included) can start JAX's backends
        from mcjax.core.sharding import use_cpu_cores

        try:
            use_cpu_cores()  # one CPU device per core: runs sharded over the cores
        except ConfigError as e:
            print(f"mcjax: error: {e}", file=sys.stderr)
            return 2
    try:
        system = DEFAULT_SYSTEM
        if argv and argv[0] == "sweep":
            system = _system_of(argv)
            _refuse_foreign_options(argv, system)
        parser = build_parser(system)
    except ConfigError as e:
        print(f"mcjax: error: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command == "sweep" and args.system != system:  # an abbreviated --system
        print(f"mcjax: error: write --system {args.system} in full", file=sys.stderr)
        return 2
    if args.version:
        from mcjax import __version__

        print(f"mcjax {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "sweep":
            _merge_options(args, parser, given_options(argv))
        return {"sweep": _sweep, "show": _show, "remedies": _remedies, "systems": _systems,
                "analyze": _analyze}[args.command](args)
    except ConfigError as e:
        from mcjax.systems.registry import get_system

        msg = str(e)
        first = msg.split(" ", 1)[0]
        if first in get_system(system).flag_names:
            msg = "--" + first.replace("_", "-") + msg[len(first):]
        print(f"mcjax: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcjax: interrupted; nothing was saved for the unfinished chunk", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mcjax show OUT | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0


if __name__ == "__main__":
    sys.exit(main())
