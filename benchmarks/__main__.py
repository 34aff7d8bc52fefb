"""``python -m benchmarks``: the benchmark command; prints the tables, optionally saves JSON.

Per (size, R) row, one child process per cell, one after another: (a), (b), (c') with timed blocks
of ``--steps`` steps; then (c) and the CLI over one whole run of ``S`` steps, where ``S`` is
``--run-steps`` (4000, the CLI's default) unless a whole run would take longer than about
``--max-cell-s`` at the rate (c') just measured in that row: then the largest multiple of 200 (the
CLI's ``--log-every``) that fits, at least 200. (c) does more per step than (c') (its evaluations,
a fresh batch for the generator step), so its whole run can take somewhat longer than that. Then
the compile-cache probe. See ``benchmarks/__init__.py`` for what each cell measures.

``python -m benchmarks stacked ...``: the DCGAN on ``stacked-digits`` instead
(``benchmarks/stacked.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

from benchmarks import harness, mcjax_cells, torch_baselines
from benchmarks.flops import cell_matmul, flops_per_run_step
from benchmarks.report import report, targets, upgrade
from benchmarks.spec import CLI_LOG_EVERY, CLI_STEPS, RUNS, SIZES, Size, parse_size

QUICK = dict(steps=20, a_max_runs=2, repeats=1, big_matmul=512, run_steps=CLI_LOG_EVERY)
QUICK_RUNS, QUICK_SIZES = [1, 64], ["32/64"]
_words = lambda xs: " ".join(map(str, xs))


# the CLI cell, like (c), keeps its best whole run: one CLI run on a 2-core machine varies by ~5%
CLI_REPEATS = 2

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="One GAN trained by PyTorch and by mcjax, timed side by side.")
    p.add_argument("--steps", type=int, default=200,
                   help="generator steps per timed block of (a), (b), (c') (200)")
    p.add_argument("--run-steps", type=int, default=CLI_STEPS,
                   help=f"steps of the whole run of (c) and the CLI, a multiple of {CLI_LOG_EVERY} "
                   f"({CLI_STEPS}, the CLI's default; --quick: {QUICK['run_steps']})")
    p.add_argument("--max-cell-s", type=float, default=60.0,
                   help="fewer --run-steps for rows whose whole run would take longer than this, "
                   "estimated from (c') (60)")
    p.add_argument("--runs", type=int, nargs="+",
                   help=f"R values ({_words(RUNS)}; --quick: {_words(QUICK_RUNS)})")
    p.add_argument("--sizes", nargs="+",
                   help=f"WIDTH/BATCH pairs, 3 hidden layers each "
                   f"({_words(f'{s.width}/{s.batch}' for s in SIZES)}; --quick: {_words(QUICK_SIZES)})")
    p.add_argument("--a-max-runs", type=int, default=8,
                   help="(a) times at most this many runs; larger R is extrapolated (8)")
    p.add_argument("--repeats", type=int, default=3, help="timed blocks per cell at most (3)")
    p.add_argument("--block-budget", type=float, default=20.0,
                   help="stop repeating once a cell's timed blocks add up to this many s (20)")
    p.add_argument("--big-matmul", type=int, default=2048, help="side of the big matmul (2048)")
    p.add_argument("--no-cache-probe", action="store_true", help="skip the compile-cache probe")
    p.add_argument("--cache-dir", help="persistent-cache dir for the probe (default: a fresh temp dir)")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each cell wait up to this many s for other processes to leave "
                   "the CPUs idle (0: do not wait)")
    p.add_argument("--torch-device", default="auto",
                   help="device of (a) and (b): auto (cuda when PyTorch sees one), cpu, cuda")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch.set_num_threads for (a), (b) and torch's bmm (0: PyTorch's default)")
    p.add_argument("--fresh-fake", action="store_true",
                   help="(c') uses mcjax's default update (a fresh batch for the generator step) "
                   "instead of the DCGAN loop's shared batch (Config.reuse_fake)")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="CPU devices for mcjax, the CLI included (default: one per core, as `mcjax "
                   "sweep`; 0: JAX's default single device)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run (2-3 min): 20-step blocks, 200-step runs, 3x32/b64, R in {1, 64}")
    p.add_argument("--out", help="also save the results (and tables) as JSON here")
    p.add_argument("--report", metavar="JSON", help="only print the tables of a saved --out file")
    p.add_argument("--_cell", help=argparse.SUPPRESS)
    return p


def whole_run_steps(max_steps: int, max_cell_s: float, runs: int, rate: float) -> int:
    """Steps of (c)'s and the CLI's whole run: ``max_steps`` unless ``runs`` runs at ``rate``
    run-steps/s would take over ``max_cell_s``; a multiple of the CLI's log interval."""
    fit = int(max_cell_s * rate / runs) // CLI_LOG_EVERY * CLI_LOG_EVERY
    return max(CLI_LOG_EVERY, min(max_steps, fit))


def measure_row(size: Size, runs: int, args: argparse.Namespace, say) -> dict:
    """Every cell of one (size, R) row, one child process each."""
    wait = args.wait_idle
    blocks = dict(steps=args.steps, budget=args.block_budget, repeats=args.repeats)
    torch_opts = dict(device=args.torch_device, threads=args.torch_threads)
    cell: dict[str, Any] = dict(size=size.label, runs=runs, steps=args.steps)
    cell["flops"] = {v: flops_per_run_step(size, v) for v in ("a", "b", "c")}
    cell["flops"]["dcgan"] = flops_per_run_step(size, "c" if args.fresh_fake else "dcgan")
    cell["a"] = harness.run_cell(torch_baselines.cell_single, wait, size=size, runs=runs,
                                 a_max_runs=args.a_max_runs, **blocks, **torch_opts)
    cell["b"] = harness.run_cell(torch_baselines.cell_stacked, wait, size=size, runs=runs,
                                 **blocks, **torch_opts)
    cell["dcgan"] = harness.run_cell(mcjax_cells.cell_dcgan, wait, size=size, runs=runs,
                                     fresh_fake=args.fresh_fake, cpu_devices=args.cpu_devices, **blocks)
    steps = whole_run_steps(args.run_steps, args.max_cell_s, runs, cell["dcgan"]["rate"])
    cell["run_steps"] = steps
    cell["c"] = harness.run_cell(mcjax_cells.cell_programs, wait, size=size, runs=runs, steps=steps,
                                 budget=args.block_budget, repeats=args.repeats,
                                 cpu_devices=args.cpu_devices)
    cell["cli"] = mcjax_cells.run_cli(size, runs, steps, args.cpu_devices, wait,
                                      repeats=min(args.repeats, CLI_REPEATS))
    say(f"{size.label} R={runs}: a {cell['a']['rate']:.0f}  b {cell['b']['rate']:.0f}  "
        f"c' {cell['dcgan']['rate']:.0f}  |  {steps} steps: c {cell['c']['rate']:.0f}  "
        f"CLI {cell['cli']['rate']:.0f} run-steps/s  ({cell['c']['platform']} / "
        f"{', '.join(cell['cli']['platforms'])})")
    return cell


def probe_cache(sizes: list[Size], runs: list[int], args: argparse.Namespace, say) -> list[dict]:
    """Compile seconds of the sweep programs, cold then warm, per size (at R = 64 if measured)."""
    found = []
    probe_runs = 64 if 64 in runs else runs[-1]
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="mcjax-jax-cache-") as tmp:
            cache_dir = os.path.join(args.cache_dir or tmp, size.label.replace("/", "_"))
            cold, warm = (harness.run_cell(mcjax_cells.cell_compile_probe, args.wait_idle, size=size,
                                           runs=probe_runs, steps=args.run_steps, cache_dir=cache_dir,
                                           cpu_devices=args.cpu_devices) for _ in range(2))
        found.append(dict(size=size.label, runs=probe_runs, programs="c", cold_s=cold["compile_s"],
                          warm_s=warm["compile_s"], cold=cold, warm=warm))
        say(f"compile cache {size.label}: {cold['compile_s']:.2f} s -> {warm['compile_s']:.2f} s")
    return found


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    """The whole benchmark: machine, memory floor, matmul rates, every row, the cache probe."""
    sizes = [parse_size(s) for s in args.sizes]
    res: dict[str, Any] = dict(machine=harness.machine(),
                               command=" ".join(["python -m benchmarks", *argv]),
                               args={k: v for k, v in vars(args).items() if k != "_cell"}, cells=[])
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    say(f"machine: {res['machine']}")
    res["idle"] = {fw: harness.run_cell(harness.cell_idle, args.wait_idle, framework=fw)["peak_rss_mib"]
                   for fw in ("torch", "jax")}
    say("matmul rates ...")
    res["matmul"] = harness.run_cell(cell_matmul, args.wait_idle, sizes=sizes, runs=args.runs,
                                     big=args.big_matmul, target_s=0.05 if args.quick else 0.3,
                                     device=args.torch_device, threads=args.torch_threads,
                                     cpu_devices=args.cpu_devices)
    for size in sizes:
        for R in args.runs:
            res["cells"].append(measure_row(size, R, args, say))
    if not args.no_cache_probe:
        res["cache"] = probe_cache(sizes, args.runs, args, say)
    res["targets"] = targets(res)
    res["table"] = report(res)
    return res


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["stacked"]:  # the DCGAN on stacked-digits: benchmarks/stacked.py
        from benchmarks import stacked

        return stacked.main(argv[1:])
    if argv[:1] == ["wright-fisher"]:  # the Wright-Fisher system: benchmarks/wright_fisher.py
        from benchmarks import wright_fisher

        return wright_fisher.main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args._cell:
        harness.child(args._cell)
        return {}
    if args.report:
        with open(args.report) as f:
            res = upgrade(json.load(f))
        res["targets"] = targets(res)
        print(report(res))
        return res
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.runs = args.runs or (QUICK_RUNS if args.quick else list(RUNS))
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else [f"{s.width}/{s.batch}" for s in SIZES])
    if args.run_steps <= 0 or args.run_steps % CLI_LOG_EVERY:
        parser.error(f"--run-steps must be a positive multiple of {CLI_LOG_EVERY}")
    res = run(args, argv)
    print(res["table"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main()
