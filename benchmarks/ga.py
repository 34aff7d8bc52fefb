"""The genetic-algorithm system: mcjax's vmapped runs against a vectorised NumPy implementation.

``python -m benchmarks.ga`` runs ``R`` seeds x ``G`` generations of the GA of ``mcjax sweep
--system ga --remedy REMEDY`` (roulette selection on the CEC 2013 equal-maxima landscape, ``N``
individuals, mutation rate 0.1, scale 0.01; REMEDY ``none`` or ``sharing`` with sigma 0.1,
alpha 1) two ways:

* **mcjax**: ``jit(vmap(train))`` of the System over the seeds (the program the sweep compiles,
  without its chunking and checkpoints); compile timed apart, then the best of two timed runs
  (STYLE.md, point 12).
* **NumPy**: the same generation vectorised over runs (``[R, N]`` arrays; roulette as a cumulative
  wheel compared against ``[R, N]`` uniforms; the ``O(N^2)`` sharing niche counts as one
  ``[R, N, N]`` array).

**evosax** (0.3.2) is not a column: its GAs (``SimpleGA`` and relatives) select by truncation of an
elite and have no fitness-proportional, SUS or tournament selection and no niching, so it cannot
express the algorithm measured here. Checked in the 0.3.2 wheel's source (installed apart, not a
dependency): ``SimpleGA._ask`` argsorts the fitness and draws both parents uniformly from the top
``elite_ratio`` (0.5); no module of the package mentions roulette, tournament, sharing, niches or
crowding.

Rates are run-steps/s: runs x generations per second.

Commands::

    python -m benchmarks.ga              # R 1,024, G 200, N 100
    python -m benchmarks.ga --quick      # smoke: R 64, G 20
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

MUTATION = dict(mutation_rate=0.1, mutation_scale=0.01)


def cell_mcjax(remedy: str, runs: int, generations: int, population: int) -> dict:
    """Compile seconds and the best of two timed whole runs of ``runs`` seeds."""
    import jax
    import jax.numpy as jnp

    from mcjax.systems.ga.config import GAConfig, make_ga_hparams

    cfg = GAConfig(population=population, steps=generations, log_every=generations,
                   niching="sharing" if remedy == "sharing" else "none")
    system = cfg.make_system()
    train = lambda h, s: system.advance(h, system.init(h, jax.random.key(s)), cfg.n_logs)[1]
    hp = jax.tree.map(lambda v: jnp.full((runs,), v), make_ga_hparams(cfg, **MUTATION))
    seeds = jnp.arange(runs, dtype=jnp.uint32)
    t = time.perf_counter()
    program = jax.jit(jax.vmap(train)).lower(hp, seeds).compile()
    compile_s = time.perf_counter() - t
    best = math.inf
    for _ in range(2):
        t = time.perf_counter()
        jax.block_until_ready(program(hp, seeds))
        best = min(best, time.perf_counter() - t)
    return {"compile_s": compile_s, "run_s": best, "rate": runs * generations / best}


def _numpy_generation(rng: np.random.Generator, x: np.ndarray, sharing: bool) -> np.ndarray:
    """One generation of ``x [R, N]``: (shared) roulette, Gaussian mutation reflected into [0, 1]."""
    f = np.sin(5 * np.pi * x) ** 6
    if sharing:
        d = np.abs(x[:, :, None] - x[:, None, :])
        f = f / np.sum(np.where(d < 0.1, 1.0 - d / 0.1, 0.0), axis=2)
    cum = np.cumsum(f, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(x.shape)
    idx = np.minimum(np.sum(u[:, :, None] >= cum[:, None, :], axis=2), x.shape[1] - 1)
    x = np.take_along_axis(x, idx, axis=1)
    hit = rng.random(x.shape) < MUTATION["mutation_rate"]
    y = np.mod(np.abs(x + MUTATION["mutation_scale"] * rng.standard_normal(x.shape)), 2.0)
    return np.where(hit, np.where(y > 1.0, 2.0 - y, y), x)


def cell_numpy(remedy: str, runs: int, generations: int, population: int) -> dict:
    """The same runs vectorised in NumPy (one timed run)."""
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    x = rng.random((runs, population))
    for _ in range(generations):
        x = _numpy_generation(rng, x, remedy == "sharing")
    counts = np.stack([np.sum(np.minimum((x * 5).astype(int), 4) == k, axis=1) for k in range(5)], 1)
    p = counts / population
    _ = 1.0 / np.sum(p * p, axis=1)  # D2, as the System logs it
    run_s = time.perf_counter() - t
    return {"run_s": run_s, "rate": runs * generations / run_s}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="R 64, G 20 (a smoke run)")
    parser.add_argument("--population", type=int, default=100)
    args = parser.parse_args(argv)
    runs, generations = (64, 20) if args.quick else (1024, 200)
    print(f"GA, equal maxima, roulette, N={args.population}, R={runs} seeds x G={generations} "
          "generations; run-steps/s (compile apart)")
    print(f"{'remedy':<8} | {'mcjax run-steps/s':>18} | {'compile s':>9} | {'NumPy run-steps/s':>18} | speed-up")
    for remedy in ("none", "sharing"):
        m = cell_mcjax(remedy, runs, generations, args.population)
        n = cell_numpy(remedy, runs, generations, args.population)
        print(f"{remedy:<8} | {m['rate']:>18,.0f} | {m['compile_s']:>9.1f} | {n['rate']:>18,.0f} | "
              f"{m['rate'] / n['rate']:.1f}x")


if __name__ == "__main__":
    main()
