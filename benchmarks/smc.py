"""The SMC system against blackjax: the same resamplers and the same adaptive tempered SMC.

``python -m benchmarks.smc`` (needs the optional extra: ``pip install ".[blackjax]"``) measures:

* **Resamplers.** Ancestor indices of ``N`` particles under fixed Dirichlet weights, drawn for
  ``R`` runs at once (``jit(vmap)``) by ``mcjax.systems.smc.resampling`` and by
  ``blackjax.smc.resampling``: the copy counts' mean against ``N w_i`` and their variance (the
  schemes' defining property: multinomial ``N w (1 - w)``, the others less), and draws/s.
* **Adaptive tempered SMC** on the tempered model of ``mcjax sweep --system smc`` (``K`` modes,
  spacing ``sep``, prior ``N(0, prior_scale^2)``): mcjax's ``adaptive`` remedy with
  ``threshold=1`` (resample every step, as blackjax does), systematic resampling, ``moves``
  random-walk Metropolis steps of scale 1, ESS target 0.5; blackjax's ``adaptive_tempered_smc``
  with the same resampler, target ESS and ``additive_step_random_walk`` kernel, run under
  ``vmap`` over seeds with a ``lax.while_loop`` until the temperature is 1. Columns: modes
  covered, ``D_1``, ``log Zhat`` (the truth is 0: prior and target are normalised), steps to
  reach temperature 1, compile seconds and the run's seconds for all seeds (mcjax runs a fixed
  number of steps, 4 more than blackjax's slowest seed needed, moving at temperature 1 after
  reaching it; blackjax's loop stops at 1). The two choose temperatures differently: blackjax
  from the ESS of the incremental weights of the unweighted particles, then resample, move and
  reweight; mcjax from the conditional ESS of the weighted particles (Zhou, Johansen & Aston
  2016), then resample and move.

Where blackjax did not fit the System: its tempered kernels resample at every step (no
ESS-threshold option) and its loop runs until the temperature reaches 1 (a data-dependent
``while_loop``), while a System advances a fixed number of logged steps so that chunked runs,
checkpoints and resume are the same program; its ``SMCState`` carries no ancestry (the founder
histogram of the filter needs it). So mcjax keeps its own engine and uses blackjax here as an
independent reference.

Commands::

    python -m benchmarks.smc            # R 1,024 resampling runs of N 1,024; 64 SMC seeds, N 256
    python -m benchmarks.smc --quick    # smoke
"""
from __future__ import annotations

import argparse
import time

import numpy as np

SCHEMES = ("multinomial", "systematic", "stratified", "residual")


def _timed(fn, *args, repeats: int = 2):
    """``(output, compile s, best run s)`` of a jitted ``fn``."""
    import jax

    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return out, compile_s, best


def resampler_rows(runs: int, n: int) -> list[dict]:
    """Per scheme and library: copy-count mean error, variance, draws/s."""
    import jax
    import jax.numpy as jnp
    from blackjax.smc import resampling as bj

    from mcjax.systems.smc import resampling as ours

    w = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(n)), jnp.float32)
    keys = jax.random.split(jax.random.key(0), runs)
    rows = []
    for scheme in SCHEMES:
        for lib, fn in (("mcjax", lambda k, s=scheme: ours.resample(s, k, w)),
                        ("blackjax", lambda k, s=scheme: getattr(bj, s)(k, w, n))):
            def counts(keys, fn=fn):
                idx = jax.vmap(fn)(keys)
                return jax.vmap(lambda i: jnp.zeros(n, jnp.int32).at[i].add(1))(idx)

            c, compile_s, run_s = _timed(jax.jit(counts), keys)
            c = np.asarray(c, np.float64)
            rows.append(dict(scheme=scheme, library=lib,
                             mean_err=float(np.abs(c.mean(0) - n * np.asarray(w)).max()),
                             var=float(c.var(0).mean()), compile_s=compile_s,
                             draws_per_s=runs / run_s))
    return rows


def _target(k: int, sep: float, scale: float):
    import jax.numpy as jnp

    from mcjax.systems.smc.engine import log_prior, log_target

    return (lambda x: log_prior(x, jnp.float32(scale)),
            lambda x: log_target(x, k, jnp.float32(sep)) - log_prior(x, jnp.float32(scale)))


def _stats(x, k: int, sep: float):
    """Modes covered and D_1 of each run's (equally weighted) particles ``[R, N]``."""
    from mcjax.metrics import hill_numbers

    mus = (np.arange(k) - (k - 1) / 2) * sep
    nearest = np.abs(np.asarray(x, np.float64)[..., None] - mus).argmin(-1)
    counts = np.stack([np.bincount(row, minlength=k) for row in nearest])
    d = np.asarray(hill_numbers(counts, qs=(0, 1)), np.float64)
    return d[:, 0], d[:, 1]


def smc_mcjax(seeds: int, n: int, k: int, sep: float, scale: float, moves: int, steps: int) -> dict:
    import jax

    from mcjax.systems.smc.config import SMCConfig, make_smc_hparams
    from mcjax.systems.smc.engine import make_system

    cfg = SMCConfig(particles=n, modes=k, steps=steps, log_every=1, scheme="systematic",
                    moves=moves, adaptive=True)
    system = make_system(cfg)
    hp = make_smc_hparams(cfg, threshold=1.0, ess_target=0.5, step_size=1.0, sep=sep,
                          prior_scale=scale)

    def run(keys):
        def one(key):
            state, hist = system.advance(hp, system.init(hp, key), cfg.n_logs)
            return state.x, state.loglik, hist["beta"]

        return jax.vmap(one)(keys)

    (x, logz, beta), compile_s, run_s = _timed(jax.jit(run), jax.random.split(jax.random.key(1), seeds))
    beta = np.asarray(beta)
    reached = np.where((beta >= 1).any(1), (beta >= 1).argmax(1) + 1, steps + 1)
    d0, d1 = _stats(x, k, sep)
    return dict(library="mcjax", d0=d0, d1=d1, logz=np.asarray(logz), steps=reached,
                compile_s=compile_s, run_s=run_s, steps_run=steps)


def smc_blackjax(seeds: int, n: int, k: int, sep: float, scale: float, moves: int) -> dict:
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.smc import resampling

    logprior, loglik = _target(k, sep, scale)
    from blackjax.mcmc import random_walk

    additive = random_walk.build_additive_step()

    def rwm_step(key, state, logdensity_fn, sigma):  # blackjax's parameters must be arrays
        return additive(key, state, logdensity_fn,
                        lambda k, x: sigma * jax.random.normal(k, jnp.shape(x)))

    kernel = blackjax.adaptive_tempered_smc(
        logprior, loglik, rwm_step, random_walk.init, {"sigma": jnp.ones((1,), jnp.float32)},
        resampling.systematic, 0.5, num_mcmc_steps=moves)

    def one(key):
        k_init, key = jax.random.split(key)
        state = kernel.init(scale * jax.random.normal(k_init, (n,)))

        def body(carry):
            i, state, logz, key = carry
            key, sub = jax.random.split(key)
            state, info = kernel.step(sub, state)
            return i + 1, state, logz + info.log_likelihood_increment, key

        i, state, logz, _ = jax.lax.while_loop(lambda c: c[1].tempering_param < 1, body,
                                               (0, state, jnp.float32(0.0), key))
        return state.particles, logz, i

    (x, logz, i), compile_s, run_s = _timed(jax.jit(jax.vmap(one)),
                                            jax.random.split(jax.random.key(1), seeds))
    d0, d1 = _stats(x, k, sep)
    i = np.asarray(i)
    return dict(library="blackjax", d0=d0, d1=d1, logz=np.asarray(logz), steps=i,
                compile_s=compile_s, run_s=run_s, steps_run=int(i.max()))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke-sized run")
    a = p.parse_args(argv)
    runs, n, seeds, particles = (64, 128, 8, 64) if a.quick else (1024, 1024, 64, 256)
    k, sep, scale, moves = 8, 8.0, 100.0, 5
    print(f"## Resamplers: {runs} runs x N {n}, Dirichlet(1) weights\n")
    print("| scheme | library | max abs(mean copies - N w) | mean var(copies) | compile s | draws/s |")
    print("|---|---|---|---|---|---|")
    for r in resampler_rows(runs, n):
        print(f"| {r['scheme']} | {r['library']} | {r['mean_err']:.3f} | {r['var']:.4f} | "
              f"{r['compile_s']:.2f} | {r['draws_per_s']:,.0f} |")
    print(f"\n## Adaptive tempered SMC: K {k} modes, sep {sep}, prior sd {scale}, N {particles}, "
          f"{moves} RWM moves, ESS target 0.5, {seeds} seeds\n")
    bj = smc_blackjax(seeds, particles, k, sep, scale, moves)
    ours = smc_mcjax(seeds, particles, k, sep, scale, moves, steps=int(bj["steps"].max()) + 4)
    print("| library | modes covered | D1 | log Zhat (truth 0) | steps to beta = 1 | steps run | "
          "compile s | run s (all seeds) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in (ours, bj):
        se = lambda v: v.std(ddof=1) / np.sqrt(len(v))  # noqa: E731
        print(f"| {r['library']} | {r['d0'].mean():.2f} +- {se(r['d0']):.2f} of {k} | "
              f"{r['d1'].mean():.2f} +- {se(r['d1']):.2f} | {r['logz'].mean():.3f} +- "
              f"{se(r['logz']):.3f} | {np.median(r['steps']):.0f} ({r['steps'].min()}-"
              f"{r['steps'].max()}) | {r['steps_run']} | {r['compile_s']:.1f} | {r['run_s']:.3f} |")


if __name__ == "__main__":
    main()
