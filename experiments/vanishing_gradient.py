"""Parallel lines and the vanishing gradient (issue 17, study 2).

Part 1, the pull toward a missed line (:func:`mcjax.analysis.gradients.critic_pull`): the generator
is stuck on a vertical segment at ``x = 0`` and the data lie on a parallel one at ``x = d``
(length 2, noise std 0.02, the ``lines`` target's segments). For each ``d`` in ``--distances`` and
each of ``--seeds`` seeds, a 2x64 ReLU MLP critic is trained with Adam (lr 1e-3, betas 0.5/0.999,
batch 128) for ``--critic-steps`` steps, with the GAN critic loss (the pull of the minimax and of
the non-saturating generator loss) and with WGAN-GP (weight 10; the Wasserstein generator's pull);
the pull is the generator loss's negative gradient at 256 generated points, along ``+x``,
averaged. All ``distances x seeds`` critics are one vmapped program. Overlaid: the closed forms
for two point masses of :mod:`mcjax.analysis.gradients` (optimal JS critic 0, W1 1, WGAN-GP
``1 + d / 20``, the L2-penalised logistic critic).

Part 2, coverage over training on ``lines`` (4 segments, spacing 1, length 2, std 0.02): ``gan``
and ``wgan-gp`` through the sweep engine (``mcjax.run``), 2x64 MLPs, latent 16, batch 128, Adam
lr 1e-3, ``--seeds`` per remedy, ``--steps`` generator steps, a log every ``--log-every``.

Commands::

    python experiments/vanishing_gradient.py --out runs/vanishing_gradient   # full, ~10 min
    python experiments/vanishing_gradient.py --smoke --out /tmp/vg            # tiny

Cost: see docs/results.md, "Parallel lines and the vanishing gradient".
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from mcjax._validation import ConfigError
from mcjax.analysis import gradients

FULL = dict(distances=list(np.geomspace(0.125, 8.0, 13)), pull_seeds=8, critic_steps=4000,
            record_every=100, seeds=64, steps=2000, log_every=50, eval_samples=1000)
SMOKE = dict(distances=[0.5, 2.0, 8.0], pull_seeds=2, critic_steps=100, record_every=50,
             seeds=4, steps=100, log_every=50, eval_samples=256)
L2_WEIGHT = 0.01  # lambda of the logistic closed-form curves drawn for reference


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/vanishing_gradient")
    p.add_argument("--smoke", action="store_true", help="tiny study, to check the pipeline")
    p.add_argument("--distances", type=float, nargs="+")
    p.add_argument("--pull-seeds", type=int)
    p.add_argument("--critic-steps", type=int)
    p.add_argument("--record-every", type=int)
    p.add_argument("--seeds", type=int, help="seeds per remedy of the coverage sweep")
    p.add_argument("--steps", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--eval-samples", type=int)
    p.add_argument("--no-figures", action="store_true")
    return p


def measure_pulls(args) -> tuple[gradients.PullScan, gradients.PullScan, float]:
    t = time.perf_counter()
    kw = dict(steps=args.critic_steps, record_every=args.record_every)
    seeds = list(range(args.pull_seeds))
    js = gradients.critic_pull(args.distances, seeds, "js", **kw)
    wgp = gradients.critic_pull(args.distances, seeds, "wgan-gp", **kw)
    return js, wgp, time.perf_counter() - t


def pull_table(js, wgp) -> dict:
    d = js.distances
    rows = {"minimax": js.pull["minimax"][:, :, -1], "non-saturating": js.pull["non-saturating"][:, :, -1],
            "wasserstein": wgp.pull["wasserstein"][:, :, -1]}
    print("pull toward the missed line after the critic's last step: mean over seeds (min-max)")
    print("d      | minimax                  | non-saturating           | wgan-gp (closed 1+d/20)")
    print("-------+--------------------------+--------------------------+------------------------")
    for i, di in enumerate(d):
        cells = [f"{v[i].mean():9.3g} ({v[i].min():.2g}-{v[i].max():.2g})" for v in rows.values()]
        print(f"{di:6.3f} | {cells[0]:<24} | {cells[1]:<24} | {cells[2]} "
              f"({1 + di / 20:.3f})")
    return {"distances": d.tolist(),
            **{k: v.mean(axis=1).tolist() for k, v in rows.items()},
            **{f"{k}_min": v.min(axis=1).tolist() for k, v in rows.items()},
            **{f"{k}_max": v.max(axis=1).tolist() for k, v in rows.items()},
            "wgan_gp_closed": gradients.two_point_pull(d, "wgan-gp", 10.0).tolist()}


def coverage(args, folder: str):
    from mcjax import RunSpec, run

    spec = RunSpec(target="lines", remedy=("gan", "wgan-gp"), seeds=args.seeds, steps=args.steps,
                   log_every=args.log_every, eval_samples=args.eval_samples,
                   keep_samples=min(512, args.eval_samples))
    out = run(spec, folder, overwrite=True, progress=False, figures=False)
    result = out.result
    print(result.table())
    summary = {}
    for g in result.groups:
        m = np.asarray(g.history["modes_covered"])[0]  # [seeds, logs]
        summary[g.label] = {"final_mean": float(m[:, -1].mean()),
                            "final_all4": int((m[:, -1] == 4).sum()),
                            "final_hist": np.bincount(m[:, -1], minlength=5).tolist(),
                            "run_s": g.run_s, "compile_s": g.compile_s}
    return result, summary


def figures(js, wgp, result, folder: str) -> list[str]:
    from mcjax.plots import coverage_over_training, sample_grid
    from mcjax.plots.gradients import pull_vs_distance, pull_vs_steps

    out = []
    for name, fig in (("pull", pull_vs_distance(js, wgp, L2_WEIGHT)),
                      ("pull_steps", pull_vs_steps(js)),
                      ("coverage", coverage_over_training(result)),
                      ("samples", sample_grid(result))):
        out.append(os.path.join(folder, f"study2_{name}.png"))
        fig.savefig(out[-1], dpi=110)
    return out


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    for k, v in (SMOKE if args.smoke else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    try:
        if min(args.distances) <= 0:
            raise ConfigError(f"--distances must be positive, got {args.distances}")
        os.makedirs(args.out, exist_ok=True)
        t = time.perf_counter()  # the sweep first: it sets up the CPU devices before JAX starts
        result, cov = coverage(args, os.path.join(args.out, "sweep"))
        sweep_s = time.perf_counter() - t
        js, wgp, pull_s = measure_pulls(args)
    except ConfigError as e:
        sys.exit(f"vanishing_gradient: {e}")
    print(f"pulls: {len(args.distances)} distances x {args.pull_seeds} seeds x 2 critics, "
          f"{args.critic_steps} critic steps, {pull_s:.0f} s (compile included)")
    summary = {"pull": pull_table(js, wgp), "coverage": cov, "pull_s": pull_s,
               "sweep_s": sweep_s}
    for label, c in cov.items():
        print(f"{label}: final modes {c['final_mean']:.2f} of 4, all 4 in {c['final_all4']} of "
              f"{args.seeds} seeds, histogram 0..4 {c['final_hist']}")
    np.savez_compressed(os.path.join(args.out, "pulls.npz"), distances=js.distances,
                        steps=js.steps, critic_loss_js=js.critic_loss,
                        critic_loss_wgan_gp=wgp.critic_loss,
                        **{k: v for k, v in js.pull.items()}, **wgp.pull)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if not args.no_figures:
        for path in figures(js, wgp, result, args.out):
            print(f"figure: {path}")
    return summary


if __name__ == "__main__":
    main()
