"""The Wright-Fisher system: mcjax's vmapped sweep against vectorised NumPy and a plain Python loop.

``python -m benchmarks wright-fisher`` runs ``R`` seeds x ``G`` generations of one haploid
population (``N`` individuals, ``K`` alleles, allele 0 with fitness ``1 + s``, everything else
neutral; the diversity measured every ``--log-every`` generations) three ways, each cell in a
child process of its own (``benchmarks.harness``), one after another:

* **mcjax**: the programs ``mcjax sweep --system wright-fisher --remedy selection:s=S
  --population N --alleles K --generations G --seeds R`` compiles (its own spec, chunking, padding
  and mesh: one CPU device per core), one whole run (``init``, every chunk, ``evaluate``) timed
  after a first, untimed one; compile timed apart (STYLE.md, point 12).
* **NumPy**: the same model vectorised over runs: one ``Generator.binomial`` (``K = 2``) or
  ``Generator.multinomial`` call per generation for all ``R`` runs at once, the same Hill numbers
  and heterozygosity every ``--log-every`` generations.
* **Python loop**: run after run, generation after generation, individual after individual (each
  child draws a parent allele with ``random.random()`` against the cumulative frequencies), on as
  many runs as fit ``--python-budget`` seconds (the rate of run after run does not depend on R).

Rates are run-steps/s: runs x generations per second.

Commands::

    flock /tmp/mcjax-cpu.lock python -m benchmarks wright-fisher --out wf.json   # R 10,000, G 1,000
    python -m benchmarks wright-fisher --quick                                  # smoke: R 256, G 100
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time

import numpy as np

from benchmarks import harness
from benchmarks.harness import start_jax

ROWS = ((100, 2), (1000, 2), (1000, 8))  # (N, K): one categorical path, two binomial paths


def wf_spec(population: int, alleles: int, runs: int, generations: int, s: float, log_every: int):
    """The ``WFSpec`` of ``mcjax sweep --system wright-fisher`` for one row."""
    from mcjax.systems.wright_fisher.spec import WFSpec

    return WFSpec(remedy=(f"selection:s={s:g}",), seeds=runs, population=population, alleles=alleles,
                  generations=generations, log_every=log_every)


def cell_mcjax(population: int, alleles: int, runs: int, generations: int, s: float,
               log_every: int, cpu_devices: int | None = None) -> dict:
    """mcjax: compile seconds, then the best whole run (a second one only while the timed total
    stays within the untimed first run's time) after a first, untimed one."""
    start_jax(cpu_devices)
    from benchmarks.mcjax_cells import _jax_facts, compile_experiment
    from mcjax.core.sharding import to_host

    (exp,) = wf_spec(population, alleles, runs, generations, s, log_every).experiments()
    c = compile_experiment(exp, runs)
    init, advance, evaluate, _ = c.programs
    n_chunks = exp.config.n_logs // c.chunk

    def whole_run():
        state = init(c.hparams, c.seeds)
        for _ in range(n_chunks):
            state, hist = advance(c.hparams, state)  # advance donates the state
            to_host(hist)
        stats, _ = evaluate(state)
        return to_host(stats["fixed"])[: c.runs]

    t0 = time.perf_counter()
    whole_run()
    first = time.perf_counter() - t0
    best, reps = harness.timed_blocks(whole_run, budget_s=first, max_repeats=2)
    fixed = whole_run()
    return dict(_jax_facts(c), rate=runs * generations / best, run_s=best, repeats=reps,
                fixed_share=float(np.mean(fixed)))


def _hill(counts: np.ndarray) -> np.ndarray:
    """``[R, 3]`` D0, D1, D2 of allele counts ``[R, K]`` (NumPy)."""
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return np.stack([(p > 0).sum(axis=1), np.exp(ent), 1.0 / np.sum(p * p, axis=1)], axis=1)


def numpy_run(population: int, alleles: int, runs: int, generations: int, s: float,
              log_every: int, seed: int = 0) -> tuple[np.ndarray, list]:
    """The model vectorised over runs in NumPy: final counts ``[R, K]`` and the logged stats."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((runs, alleles))
    counts[:] = population // alleles
    counts[:, : population % alleles] += 1
    w = np.ones(alleles)
    w[0] = 1 + s
    logs = []
    for t in range(1, generations + 1):
        p = counts * w
        p /= p.sum(axis=1, keepdims=True)
        if alleles == 2:
            x0 = rng.binomial(population, p[:, 0])
            counts = np.stack([x0, population - x0], axis=1).astype(np.float64)
        else:
            counts = rng.multinomial(population, p).astype(np.float64)
        if t % log_every == 0:
            logs.append((_hill(counts), 1.0 - np.sum((counts / population) ** 2, axis=1)))
    return counts, logs


def cell_numpy(population: int, alleles: int, runs: int, generations: int, s: float,
               log_every: int) -> dict:
    t0 = time.perf_counter()
    counts, _ = numpy_run(population, alleles, runs, generations, s, log_every)
    dt = time.perf_counter() - t0
    return dict(rate=runs * generations / dt, run_s=dt,
                fixed_share=float(np.mean((counts > 0).sum(axis=1) == 1)))


def python_run(population: int, alleles: int, generations: int, s: float, log_every: int,
               rng: random.Random) -> list:
    """One run in plain Python, individual by individual; its final counts."""
    counts = [population // alleles + (i < population % alleles) for i in range(alleles)]
    w = [1 + s] + [1.0] * (alleles - 1)
    for t in range(1, generations + 1):
        weights = [c * wi for c, wi in zip(counts, w)]
        total, cum, acc = sum(weights), [], 0.0
        for x in weights:
            acc += x / total
            cum.append(acc)
        new = [0] * alleles
        for _ in range(population):
            u, i = rng.random(), 0
            while i < alleles - 1 and u >= cum[i]:
                i += 1
            new[i] += 1
        counts = new
        if t % log_every == 0:
            p = [c / population for c in counts]
            _ = (sum(c > 0 for c in counts), 1.0 / sum(q * q for q in p))
    return counts


def cell_python(population: int, alleles: int, generations: int, s: float, log_every: int,
                budget: float) -> dict:
    rng, runs, t0 = random.Random(0), 0, time.perf_counter()
    while runs == 0 or time.perf_counter() - t0 < budget:
        python_run(population, alleles, generations, s, log_every, rng)
        runs += 1
    dt = time.perf_counter() - t0
    return dict(rate=runs * generations / dt, run_s=dt, measured_runs=runs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks wright-fisher",
                                description="Wright-Fisher: mcjax against NumPy and a Python loop.")
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--generations", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--s", type=float, default=0.01, help="selection coefficient of allele 0")
    p.add_argument("--rows", default=",".join(f"{n}/{k}" for n, k in ROWS), help="N/K,N/K,...")
    p.add_argument("--python-budget", type=float, default=20.0, help="seconds of the Python loop")
    p.add_argument("--cpu-devices", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="R 256, G 100, 2 s of Python")
    p.add_argument("--out", default=None, help="write the results as JSON")
    return p


def report(res: dict) -> str:
    from mcjax.core.tables import render_table

    a = res["args"]
    head = ["N", "K", "mcjax run-steps/s", "compile s", "NumPy run-steps/s", "Python run-steps/s",
            "mcjax / NumPy", "mcjax / Python", "fixed (mcjax, NumPy)"]
    rows = []
    for r in res["rows"]:
        m, n, py = r["mcjax"], r["numpy"], r["python"]
        rows.append([str(r["population"]), str(r["alleles"]), f"{m['rate']:,.0f}",
                     f"{m['compile_s']:.1f}", f"{n['rate']:,.0f}", f"{py['rate']:,.0f}",
                     f"{m['rate'] / n['rate']:.1f}x", f"{m['rate'] / py['rate']:,.0f}x",
                     f"{m['fixed_share']:.3f}, {n['fixed_share']:.3f}"])
    return render_table(head, rows, align="right", footer=(
        f"{a['runs']:,} runs x {a['generations']:,} generations, s = {a['s']:g}, stats every "
        f"{a['log_every']} generations; mcjax on {res['rows'][0]['mcjax']['platform']}"))


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.runs, args.generations, args.python_budget = 256, 100, 2.0
    rows = [tuple(int(v) for v in text.split("/")) for text in args.rows.split(",")]
    res = dict(machine=harness.machine(), args=vars(args), rows=[])
    common = dict(generations=args.generations, s=args.s, log_every=args.log_every)
    for n, k in rows:
        print(f"N={n} K={k} ...", file=sys.stderr, flush=True)
        row = dict(population=n, alleles=k)
        row["mcjax"] = harness.run_cell(cell_mcjax, population=n, alleles=k, runs=args.runs,
                                        cpu_devices=args.cpu_devices, **common)
        row["numpy"] = harness.run_cell(cell_numpy, population=n, alleles=k, runs=args.runs, **common)
        row["python"] = harness.run_cell(cell_python, population=n, alleles=k,
                                         budget=args.python_budget, **common)
        res["rows"].append(row)
    res["table"] = report(res)
    print(res["table"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    main()
