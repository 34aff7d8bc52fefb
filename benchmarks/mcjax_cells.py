"""The mcjax cells: what ``mcjax sweep`` runs, timed three ways, and its compile cache.

* **(c) mcjax sweep programs**: the programs ``mcjax sweep`` compiles for the same flags. The
  Experiment is built by the CLI's own argument parser (:func:`cli_experiments`, flags
  :func:`cli_args`: ``--remedy gan --width W --depth D --batch-size B --seeds R --steps S``, so
  ``log_every`` and ``eval_samples`` are the CLI's defaults, 200 and 2,500), chunked by
  ``mcjax.core.sweep.chunk_size``, padded and sharded as ``run_sweep`` does (``mcjax.core.sharding.run_mesh`` after
  ``use_cpu_cores`` at child start), compiled by ``mcjax.core.sweep.compiled_programs``. A timed block is
  one whole run: ``init``, every chunk's ``advance`` with its history fetched to the host, the final
  ``evaluate``, as ``run_sweep``'s ``run_s`` counts it but without its checkpoint writes. Compile is
  timed separately; the first chunk (the first call of each program) is a warm-up, left out.
* **CLI**: the real command in a child process, ``python -m mcjax.cli sweep <the same flags> --json
  --no-figures --no-progress --no-cache --out <tmpdir>``; its own ``--json`` summary gives the rate
  (``run_steps_per_s``: run-steps over its wall clock minus compile), ``compile_s`` and the
  ``platforms`` it ran on. Divided by (c), this is what the program cell misses of what users run.
* **(c') mcjax, DCGAN loop**: the like-for-like peer of the PyTorch cells: ``Config(reuse_fake=True)``
  (one generated batch per step for both players, as (a) and (b)), one evaluation of 256 samples per
  timed block of ``--steps`` steps (``log_every = steps``); timed blocks of ``advance`` alone.
  ``--fresh-fake`` gives it mcjax's default update instead.
* **compile probe**: compiles (c)'s programs in a child with the persistent compilation cache on
  (``mcjax.core.cache.enable_compilation_cache``, as ``mcjax sweep`` does) in a fresh directory, then in
  a second child; the second's compile seconds is what a second invocation of the sweep pays.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any, NamedTuple

from benchmarks.harness import (child_env, peak_rss_mib, reset_peak_rss, run_process, start_jax,
                                timed_blocks)
from benchmarks.spec import (BETA1, BETA2, EVAL_SAMPLES, LATENT, LR, RING_MODES, RING_RADIUS, RING_STD,
                             Size)


def cli_args(size: Size, runs: int, steps: int) -> list[str]:
    """The ``mcjax sweep`` flags of a cell; everything else is the CLI's default."""
    return ["--remedy", "gan", "--width", str(size.width), "--depth", str(size.depth),
            "--batch-size", str(size.batch), "--seeds", str(runs), "--steps", str(steps)]


def cli_experiments(size: Size, runs: int, steps: int) -> list:
    """The Experiments ``mcjax sweep`` builds for :func:`cli_args`: its parser, its run spec."""
    from mcjax.cli import build_parser, spec_from_args

    return spec_from_args(build_parser().parse_args(["sweep", *cli_args(size, runs, steps)])).experiments()


def dcgan_experiment(size: Size, steps: int, fresh_fake: bool = False):
    """(c')'s Experiment: the DCGAN loop of (a) and (b), one evaluation per ``steps``."""
    from mcjax.systems.gan.config import Config, make_hparams, stack_hparams
    from mcjax.core.sweep import Experiment

    cfg = Config(target="ring", target_params=(("n_modes", RING_MODES), ("radius", RING_RADIUS),
                                               ("std", RING_STD)),
                 latent_dim=LATENT, width=size.width, depth=size.depth, activation="relu",
                 batch_size=size.batch, steps=steps, n_critic=1, loss="non-saturating",
                 optimizer="adam", log_every=steps, eval_samples=EVAL_SAMPLES,
                 keep_samples=EVAL_SAMPLES, reuse_fake=not fresh_fake)
    hp = stack_hparams([make_hparams(lr_g=LR, lr_d=LR, beta1=BETA1, beta2=BETA2)])
    return Experiment("dcgan", cfg, hp)


class Compiled(NamedTuple):
    """One Experiment's compiled programs and its per-run inputs, placed as ``run_sweep`` does."""

    exp: Any
    runs: int  # real runs: settings x seeds
    hparams: Any
    seeds: Any
    chunk: int
    programs: tuple  # init, advance, evaluate, abstract state
    compile_s: float
    platform: str


def compile_experiment(exp, seeds: int) -> Compiled:
    """``run_sweep``'s set-up of ``exp`` for seeds ``0..seeds-1``: mesh over every device (at most
    one per run), runs padded to its size and sharded, ``chunk_size`` logging intervals per
    ``advance``."""
    from mcjax.core.sharding import run_mesh
    from mcjax.core.sweep import compiled_programs, place_experiment, platform_name

    mesh = run_mesh(None, len(exp.setting_labels) * seeds)
    p = place_experiment(exp, list(range(seeds)), mesh)
    t0 = time.perf_counter()
    programs = compiled_programs(exp.config, p.n_pad, p.chunk, mesh)
    return Compiled(exp, p.n_runs, p.hparams, p.seeds, p.chunk, programs, time.perf_counter() - t0,
                    platform_name(mesh))


def _jax_facts(c: Compiled) -> dict:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return dict(measured_runs=c.runs, padded_runs=int(c.seeds.shape[0]), devices=jax.device_count(),
                platform=c.platform, device=str(jax.devices()[0].device_kind), chunk=c.chunk,
                compile_s=c.compile_s, device_peak_mib=peak / 2**20 if peak else None)


def cell_programs(size: Size, runs: int, steps: int, budget: float, repeats: int,
                  cpu_devices: int | None = None) -> dict:
    """(c): best whole run of ``mcjax sweep``'s programs for :func:`cli_args`."""
    start_jax(cpu_devices)
    from mcjax.core.sharding import to_host

    (exp,) = cli_experiments(size, runs, steps)
    c = compile_experiment(exp, runs)
    compile_peak = peak_rss_mib()
    init, advance, evaluate, _ = c.programs
    cfg = exp.config
    n_chunks = cfg.n_logs // c.chunk

    def whole_run(chunks: int = n_chunks):
        state = init(c.hparams, c.seeds)
        for _ in range(chunks):
            state, hist = advance(c.hparams, state)  # advance donates the state
            to_host(hist)
        _, samples = evaluate(state)
        return to_host((samples, state.diverged))[1]

    t0 = time.perf_counter()
    whole_run(1)  # warm-up: the first call of each program, left out
    warmup_s = time.perf_counter() - t0
    reset_peak_rss()
    box = []
    best, reps = timed_blocks(lambda: box.append(whole_run()), budget, repeats)
    return dict(_jax_facts(c), rate=c.runs * steps / best, repeats=reps, block_s=best, steps=steps,
                log_every=cfg.log_every, eval_samples=cfg.eval_samples, chunks=n_chunks,
                reuse_fake=cfg.reuse_fake, compile_peak_rss_mib=compile_peak,
                warmup_s=warmup_s, warmup_steps=c.chunk * cfg.log_every,
                diverged=int(box[-1][: c.runs].sum()))


def cell_dcgan(size: Size, runs: int, steps: int, budget: float, repeats: int,
               fresh_fake: bool = False, cpu_devices: int | None = None) -> dict:
    """(c'): best block of ``steps`` steps of the DCGAN loop (``advance`` alone)."""
    start_jax(cpu_devices)
    import jax

    c = compile_experiment(dcgan_experiment(size, steps, fresh_fake), runs)
    compile_peak = peak_rss_mib()
    init, advance = c.programs[:2]
    box = [jax.block_until_ready(init(c.hparams, c.seeds))]

    def block():
        box[0], hist = advance(c.hparams, box[0])  # advance donates the state
        jax.block_until_ready((box[0], hist))

    block()  # the first call is left out
    reset_peak_rss()
    best, reps = timed_blocks(block, budget, repeats)
    return dict(_jax_facts(c), rate=c.runs * steps / best, repeats=reps, block_s=best,
                compile_peak_rss_mib=compile_peak,
                diverged=int(jax.device_get(box[0].diverged)[: c.runs].sum()))


def cell_compile_probe(size: Size, runs: int, steps: int, cache_dir: str,
                       cpu_devices: int | None = None) -> dict:
    """Compile seconds of (c)'s programs with the persistent cache in ``cache_dir``, by phase."""
    start_jax(cpu_devices)
    from jax import monitoring

    from mcjax.core.cache import enable_compilation_cache

    enable_compilation_cache(cache_dir)
    phases: dict[str, float] = {}
    counts: dict[str, int] = {}
    monitoring.register_event_duration_secs_listener(
        lambda event, secs, **_: phases.__setitem__(event, phases.get(event, 0.0) + secs))
    monitoring.register_event_listener(
        lambda event, **_: counts.__setitem__(event, counts.get(event, 0) + 1))
    t0 = time.perf_counter()
    (exp,) = cli_experiments(size, runs, steps)
    compile_experiment(exp, runs)
    return dict(compile_s=time.perf_counter() - t0, phases_s=phases, events=counts)


def _json_object(text: str) -> dict:
    """The JSON object printed on ``text`` (the CLI's ``--json`` summary)."""
    return json.JSONDecoder().raw_decode(text[text.index("{"):])[0]


def run_cli(size: Size, runs: int, steps: int, cpu_devices: int | None = None,
            wait_idle_s: float = 0.0, repeats: int = 1) -> dict:
    """The CLI cell: ``mcjax sweep`` end to end in a child process, measured by its own ``--json``;
    the best of ``repeats`` invocations (as (c) keeps its best whole run), every rate in ``rates``."""
    cells = [_run_cli_once(size, runs, steps, cpu_devices, wait_idle_s) for _ in range(max(repeats, 1))]
    best = max(cells, key=lambda c: c["rate"])
    return dict(best, rates=[c["rate"] for c in cells])


def _run_cli_once(size: Size, runs: int, steps: int, cpu_devices: int | None,
                  wait_idle_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="mcjax-bench-cli-") as tmp:
        flags = ["--json", "--no-figures", "--no-progress", "--no-cache", "--out"]
        cmd = [sys.executable, "-m", "mcjax.cli", "sweep", *cli_args(size, runs, steps), *flags]
        extra = {} if cpu_devices is None else {"MCJAX_CPU_DEVICES": str(cpu_devices)}
        proc = run_process(cmd + [os.path.join(tmp, "out")], wait_idle_s, child_env(**extra))
    if proc["returncode"]:
        sys.stderr.write(proc["stdout"] + proc["stderr"])
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc['returncode']})")
    summary = _json_object(proc["stdout"])
    diverged = [d for r in summary["remedies"].values() for d in r["diverged"]]
    return dict(rate=summary["run_steps_per_s"], run_s=summary["run_s"],
                compile_s=summary["compile_s"], platforms=summary["platforms"], steps=steps,
                measured_runs=len(diverged), diverged=sum(diverged),
                command=" ".join(["python"] + cmd[1:] + ["<tmpdir>"]),
                peak_rss_mib=proc["process_peak_rss_mib"],
                **{k: proc[k] for k in ("wall_s", "process_cpu_s", "cpu_busy_before",
                                         "others_cpu_share")})
