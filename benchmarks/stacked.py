"""The DCGAN on Stacked MNIST: mcjax's vmapped sweep against PyTorch, and conv lowering.

``python -m benchmarks stacked`` trains the same GAN on an image target (``--target``:
``stacked-mnist``, 28x28x3, the default, or ``stacked-digits``, 8x8x3; images in [-1, 1], three
independent training digits as the channels) four ways, each cell in a child process of its own
(``benchmarks.harness``), one after another:

* **(a) torch 1-by-1**: PyTorch, one run after another, the DCGAN loop as a PyTorch user writes it
  (``nn.Module`` nets, ``torch.optim.Adam``, ``nn.BCEWithLogitsLoss``; one generated batch per step
  for both players).
* **(b) torch.func stacked**: the PyTorch idiom for model ensembles: ``R`` modules stacked by
  ``torch.func.stack_module_state``, applied by ``torch.vmap`` over ``torch.func.functional_call``,
  gradients by ``torch.autograd.grad`` of the sum of the runs' losses, fused Adam over the stacked
  tensors (Adam is elementwise, so each run's update is its own). Same loop as (a).
* **mcjax**: ``mcjax.core.sweep.compiled_programs`` of ``Config(target=<target>,
  arch="dcgan", width=w, batch_size=B, latent_dim=16, steps=S, log_every=S, eval_samples=64,
  keep_samples=4)`` with ``apply_remedy("gan", ...)``, built by the CLI's own parser
  (:func:`cli_args`), padded and sharded as ``mcjax sweep`` does (one CPU device per core). Compile
  is timed apart; the first call of each program is left out; "train" is the best block of
  ``advance`` alone (``S`` steps), "whole run" the best ``init`` + ``advance`` + ``evaluate`` (64
  evaluation samples through the mode classifier). mcjax's default update draws a fresh batch for
  the generator step (one generator forward more than (a) and (b)); ``--reuse-fake`` gives it the
  DCGAN loop of (a) and (b) instead (``Config.reuse_fake``; the CLI cell stays the default).
* **mcjax CLI**: ``python -m mcjax.cli sweep <the same flags> --json --no-figures --no-progress
  --no-cache --out <tmpdir>`` end to end; its own ``run_steps_per_s`` and ``compile_s``.

Same nets everywhere (``mcjax.systems.gan.convnets``; ``benchmarks.stacked_torch``): generator ``z [16] -> Dense(H/4 x W/4 x 2w) -> BatchNorm -> ReLU -> 5x5 stride-2
transposed conv (w) -> BatchNorm -> ReLU -> 5x5 stride-2 transposed conv (3) -> tanh``, batch
normalisation with the batch's statistics and no running averages; critic two 5x5 stride-2 convs
(``w``, ``2w``) with leaky ReLU 0.2, flatten, Dense(1). Same parameter counts (a test checks it).
Non-saturating loss, Adam lr 1e-3 (0.5, 0.999) for both players, one critic step per generator
step, real batches drawn on the device inside the loop. Rates are run-steps/s: runs x generator
steps per second. PyTorch has no compile step; its first 2 steps are a warm-up, left out.

**Conv lowering** (``--conv``, :func:`cell_conv_lowering`): the critic's two strided convs and the
generator's two transposed convs, forward and backward (gradients of every kernel), under
``jax.vmap`` over runs with per-run weights, written with ``convnets.Conv`` (patches, one batched
matmul) and with flax's ``nn.Conv`` / ``nn.ConvTranspose`` (XLA convolutions, which vmap turns into
grouped convolutions); one JAX CPU device.

Commands (PyTorch: ``pip install -e ".[bench]"``)::

    python -m benchmarks stacked --out stacked.json   # stacked-mnist: w16/b64 and w32/b128, R 1 4 16 64
    python -m benchmarks stacked --target stacked-digits --out digits.json   # the 8x8 variant
    python -m benchmarks stacked --quick              # smoke run: w16/b64, R in 1 4, 10 steps
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

from benchmarks import harness
from benchmarks.harness import peak_rss_mib, reset_peak_rss, run_process, start_jax, timed_blocks
from benchmarks.spec import LATENT
from benchmarks.stacked_torch import TARGETS, ConvSize, cell_torch_single, cell_torch_stacked

EVAL_SAMPLES, KEEP_SAMPLES = 64, 4
SIZES, RUNS = ("16/64", "32/128"), (1, 4, 16, 64)
QUICK = dict(sizes=["16/64"], runs=[1, 4], steps=10, a_max_runs=2, repeats=1)


def parse_size(text: str, target: str = "stacked-digits") -> ConvSize:
    width, batch = text.split("/")
    return ConvSize(int(width), int(batch), target)


# -------------------------------------------------------------------------------------- mcjax


def cli_args(size: ConvSize, runs: int, steps: int) -> list[str]:
    """The ``mcjax sweep`` flags of a cell (one log, at the end)."""
    return ["--target", size.target, "--arch", "dcgan", "--remedy", "gan", "--width", str(size.width),
            "--batch-size", str(size.batch), "--latent-dim", str(LATENT), "--seeds", str(runs),
            "--steps", str(steps), "--log-every", str(steps), "--eval-samples", str(EVAL_SAMPLES),
            "--keep-samples", str(KEEP_SAMPLES)]


def experiment(size: ConvSize, runs: int, steps: int, reuse_fake: bool = False):
    """The Experiment ``mcjax sweep`` builds for :func:`cli_args` (its own parser)."""
    from mcjax.cli import build_parser, spec_from_args

    args = build_parser().parse_args(["sweep", *cli_args(size, runs, steps)])
    (exp,) = spec_from_args(args).experiments()
    return exp._replace(config=exp.config.replace(reuse_fake=True)) if reuse_fake else exp


def cell_mcjax(width: int, batch: int, runs: int, steps: int, budget: float, repeats: int,
               reuse_fake: bool = False, cpu_devices: int | None = None,
               target: str = "stacked-digits") -> dict:
    """mcjax: compile seconds, best ``advance`` block (train) and best whole run, apart."""
    start_jax(cpu_devices)
    import jax

    from benchmarks.mcjax_cells import _jax_facts, compile_experiment
    from mcjax.core.sharding import to_host

    exp = experiment(ConvSize(width, batch, target), runs, steps, reuse_fake)
    t0 = time.perf_counter()
    exp.config.make_system()  # the target and its mode classifier (cached on disk after first use)
    target_s = time.perf_counter() - t0
    c = compile_experiment(exp, runs)
    compile_peak = peak_rss_mib()
    init, advance, evaluate, _ = c.programs
    n_chunks = exp.config.n_logs // c.chunk

    def whole_run():
        state = init(c.hparams, c.seeds)
        for _ in range(n_chunks):
            state, hist = advance(c.hparams, state)  # advance donates the state
            to_host(hist)
        _, samples = evaluate(state)
        return to_host((samples, state.diverged))[1]

    t0 = time.perf_counter()
    whole_run()  # the first call of each program, left out
    warmup_s = time.perf_counter() - t0
    reset_peak_rss()
    box = []
    best_run, reps_run = timed_blocks(lambda: box.append(whole_run()), budget, repeats)
    state = [jax.block_until_ready(init(c.hparams, c.seeds))]

    def block():
        state[0], hist = advance(c.hparams, state[0])
        jax.block_until_ready((state[0], hist))

    block()
    best, reps = timed_blocks(block, budget, repeats)
    return dict(_jax_facts(c), rate=c.runs * steps * n_chunks / best, block_s=best, repeats=reps,
                run_rate=c.runs * steps / best_run, run_s=best_run, run_repeats=reps_run,
                target_s=target_s, warmup_s=warmup_s, reuse_fake=exp.config.reuse_fake,
                compile_peak_rss_mib=compile_peak, diverged=int(box[-1][: c.runs].sum()))


def run_cli(size: ConvSize, runs: int, steps: int, cpu_devices: int | None = None,
            wait_idle_s: float = 0.0) -> dict:
    """``mcjax sweep`` end to end in a child process, measured by its own ``--json``."""
    from benchmarks.mcjax_cells import _json_object

    with tempfile.TemporaryDirectory(prefix="mcjax-bench-stacked-") as tmp:
        cmd = [sys.executable, "-m", "mcjax.cli", "sweep", *cli_args(size, runs, steps), "--json",
               "--no-figures", "--no-progress", "--no-cache", "--out", os.path.join(tmp, "out")]
        extra = {} if cpu_devices is None else {"MCJAX_CPU_DEVICES": str(cpu_devices)}
        proc = run_process(cmd, wait_idle_s, harness.child_env(**extra))
    if proc["returncode"]:
        sys.stderr.write(proc["stdout"] + proc["stderr"])
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc['returncode']})")
    s = _json_object(proc["stdout"])
    return dict(rate=s["run_steps_per_s"], compile_s=s["compile_s"], run_s=s["run_s"],
                platforms=s["platforms"], command=" ".join(["python", *cmd[1:-1], "<tmpdir>"]),
                **{k: proc[k] for k in ("wall_s", "process_peak_rss_mib", "others_cpu_share")})


# ------------------------------------------------------------------------------ conv lowering


def cell_conv_lowering(width: int, batch: int, runs: int, repeats: int = 5,
                       target: str = "stacked-digits") -> dict:
    """Forward + backward of the DCGAN's convolutions under ``vmap`` over runs with per-run
    weights: ``convnets.Conv`` (patches and one matmul) against flax's ``nn.Conv`` /
    ``nn.ConvTranspose`` (XLA convolutions). Seconds per call (best of ``repeats``), compile apart."""
    import jax
    import jax.numpy as jnp
    from flax import linen as nn

    from mcjax.systems.gan.convnets import Conv

    H, W, C = TARGETS[target][1]
    w = width
    flax_conv = lambda o: nn.Conv(o, (5, 5), strides=(2, 2), padding="SAME")
    flax_up = lambda o: nn.ConvTranspose(o, (5, 5), strides=(2, 2), padding="SAME")
    nets = {  # name: (layers, input shape of one run)
        "critic convs": {"patch": [Conv(w, stride=2), Conv(2 * w, stride=2)],
                         "xla": [flax_conv(w), flax_conv(2 * w)], "x": (batch, H, W, C)},
        "generator transposed convs": {"patch": [Conv(w, up=True), Conv(C, up=True)],
                                       "xla": [flax_up(w), flax_up(C)],
                                       "x": (batch, H // 4, W // 4, 2 * w)},
    }
    out: dict[str, Any] = dict(width=width, batch=batch, runs=runs, devices=jax.device_count(),
                               target=target)
    for name, spec in nets.items():
        for kind in ("patch", "xla"):
            net = nn.Sequential([m for layer in spec[kind] for m in (layer, nn.relu)])
            kx, kp = jax.random.split(jax.random.key(0))
            x = jax.random.normal(kx, (runs, *spec["x"]))
            params = jax.vmap(net.init)(jax.random.split(kp, runs), x)
            loss = lambda p, xi: jnp.mean(jnp.square(net.apply(p, xi)))
            step = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1))))
            t0 = time.perf_counter()
            compiled = step.lower(params, x).compile()
            compile_s = time.perf_counter() - t0
            s = harness.best_time(lambda: jax.block_until_ready(compiled(params, x)), repeats)
            out[f"{name}: {kind}"] = dict(s=s, compile_s=compile_s)
        out[f"{name}: xla / patch"] = out[f"{name}: xla"]["s"] / out[f"{name}: patch"]["s"]
    return out


# ------------------------------------------------------------------------------------ driver


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks stacked",
                                description="The DCGAN on Stacked MNIST: mcjax against PyTorch.")
    p.add_argument("--target", default="stacked-mnist", choices=sorted(TARGETS),
                   help="stacked-mnist (28x28x3, default) or stacked-digits (8x8x3)")
    p.add_argument("--sizes", nargs="+", default=list(SIZES), help="WIDTH/BATCH pairs (16/64 32/128)")
    p.add_argument("--runs", type=int, nargs="+", default=list(RUNS), help="R values (1 4 16 64)")
    p.add_argument("--steps", type=int, default=50,
                   help="generator steps per timed block, and of mcjax's and the CLI's run (50)")
    p.add_argument("--a-max-runs", type=int, default=4, help="(a) times at most this many runs (4)")
    p.add_argument("--repeats", type=int, default=3, help="timed blocks per cell at most (3)")
    p.add_argument("--block-budget", type=float, default=20.0,
                   help="stop repeating once a cell's timed blocks add up to this many s (20)")
    p.add_argument("--reuse-fake", action="store_true",
                   help="the mcjax cell uses the DCGAN loop of (a), (b) (Config.reuse_fake)")
    p.add_argument("--no-cli", action="store_true", help="skip the mcjax CLI cell")
    p.add_argument("--conv", default="32/128/16", metavar="W/B/R",
                   help="size of the conv-lowering comparison (32/128/16; 'none' skips it)")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="CPU devices for mcjax and the CLI (default: one per core, as mcjax sweep)")
    p.add_argument("--torch-device", default="auto", help="auto, cpu or cuda for (a) and (b)")
    p.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each cell wait up to this many s for idle CPUs (0)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: w16/b64, R in 1 4, 10-step blocks, one repeat, conv 16/64/4")
    p.add_argument("--out", help="also save the results as JSON here")
    return p


def measure_row(size: ConvSize, runs: int, args: argparse.Namespace) -> dict:
    wait = args.wait_idle
    common = dict(width=size.width, batch=size.batch, runs=runs, steps=args.steps,
                  budget=args.block_budget, repeats=args.repeats, target=size.target)
    torch_opts = dict(device=args.torch_device, threads=args.torch_threads)
    row: dict[str, Any] = dict(size=size.label, runs=runs, steps=args.steps)
    row["a"] = harness.run_cell(cell_torch_single, wait, a_max_runs=args.a_max_runs, **common,
                                **torch_opts)
    row["b"] = harness.run_cell(cell_torch_stacked, wait, **common, **torch_opts)
    row["mcjax"] = harness.run_cell(cell_mcjax, wait, reuse_fake=args.reuse_fake,
                                    cpu_devices=args.cpu_devices, **common)
    if not args.no_cli:
        row["cli"] = run_cli(size, runs, args.steps, args.cpu_devices, wait)
    return row


def _fmt(x: float | None) -> str:
    return "-" if x is None else (f"{x:,.0f}" if x >= 100 else f"{x:.1f}")


def report(res: dict) -> str:
    """The speed table and the conv-lowering lines of a results dict."""
    from mcjax.core.tables import render_table

    rows = []
    for r in res["rows"]:
        a, b, m, cli = r["a"], r["b"], r["mcjax"], r.get("cli")
        star = "*" if a["measured_runs"] < r["runs"] else ""
        rows.append([r["size"], str(r["runs"]), str(r["steps"]), _fmt(a["rate"]) + star,
                     _fmt(b["rate"]), _fmt(m["rate"]), _fmt(m["run_rate"]),
                     _fmt(cli["rate"]) if cli else "-", f"{m['rate'] / a['rate']:.1f}",
                     f"{m['rate'] / b['rate']:.2f}",
                     f"{cli['rate'] / m['run_rate']:.2f}" if cli else "-",
                     f"{m['compile_s']:.1f} / " + (f"{cli['compile_s']:.1f}" if cli else "-"),
                     f"{100 * max(r[k].get('others_cpu_share', 0) for k in ('a', 'b', 'mcjax')):.0f}%"])
    fake = "DCGAN loop (reuse_fake)" if res["args"]["reuse_fake"] else "fresh batch for G (default)"
    target = res["args"]["target"]
    lines = [] if not rows else [f"DCGAN on {target} (run-steps/s: runs x generator steps per second; mcjax: {fake})",
             render_table(["size", "R", "steps", "(a) torch 1-by-1", "(b) torch.func stacked",
                           "mcjax train", "mcjax whole run", "mcjax CLI", "train/a", "train/b",
                           "CLI/whole run", "compile s mcjax / CLI", "others' CPU"], rows,
                          align="right")]
    if any(r["a"]["measured_runs"] < r["runs"] for r in res["rows"]):
        lines.append("* (a) timed on fewer runs (run after run: the rate does not depend on R)")
    conv = res.get("conv")
    if conv:
        lines.append(f"Conv lowering, vmap over R={conv['runs']} runs with per-run weights, "
                     f"w={conv['width']}, batch {conv['batch']}, forward + backward, "
                     f"{conv['devices']} device(s), {conv.get('target', target)}:")
        for name in ("critic convs", "generator transposed convs"):
            p, x = conv[f"{name}: patch"], conv[f"{name}: xla"]
            lines.append(f"  {name}: convnets.Conv {1e3 * p['s']:.2f} ms, flax/XLA conv "
                         f"{1e3 * x['s']:.2f} ms: XLA / patch = {conv[f'{name}: xla / patch']:.1f}x "
                         f"(compile {p['compile_s']:.1f} / {x['compile_s']:.1f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        if args.conv == build_parser().get_default("conv"):
            args.conv = "16/64/4"
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    res: dict[str, Any] = dict(machine=harness.machine(), args=vars(args), rows=[],
                               command=" ".join(["python -m benchmarks stacked", *argv]))
    say(f"machine: {res['machine']}")
    for text in args.sizes:
        for R in args.runs:
            row = measure_row(parse_size(text, args.target), R, args)
            res["rows"].append(row)
            say(f"{row['size']} R={R}: a {row['a']['rate']:.1f}  b {row['b']['rate']:.1f}  mcjax "
                f"{row['mcjax']['rate']:.1f} (whole run {row['mcjax']['run_rate']:.1f})  CLI "
                f"{row['cli']['rate'] if 'cli' in row else float('nan'):.1f} run-steps/s")
    if args.conv != "none":
        w, b, r = (int(v) for v in args.conv.split("/"))
        res["conv"] = harness.run_cell(cell_conv_lowering, args.wait_idle, width=w, batch=b, runs=r,
                                      target=args.target)
    res["table"] = report(res)
    print(res["table"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res
