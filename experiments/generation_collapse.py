"""Collapse in systems that generate (issue 19): beam search and VAE posterior collapse, 64 seeds
per setting, against their closed forms.

(1) **Decoding** (``--system decoding``): topics covered by B outputs of beam search, sampling,
stochastic beam search and diverse beam search (G = B groups, lambda = 1 > log(pi_1 / pi_2))
against the width B = 1, 2, 4, 8, on a topic Markov model (6 tokens, 4 topics with Zipf(1) prior pi,
length 4) with uniform chains (concentration 0, where every sequence of topic k has probability
pi_k 6^-3, so the exact top B all share topic 1) and peaked ones (8). Closed forms: beam search
on uniform chains covers 1 topic; B independent samples cover sum_k [1 - (1 - pi_k)^B].

(2) **Linear VAE** (``--system vae``): data eigenvalues (4, 2, 0.5, 0.25), decoder noise 1; each
remedy's active units, KL and I(x; z) over training against the closed-form optimum of its
objective (``mcjax.systems.vae.theory.optimum``: latent j active iff lambda_j > beta sigma^2).

Commands::

    python experiments/generation_collapse.py --out runs/generation_collapse   # ~5 min, 2 cores
    python experiments/generation_collapse.py --smoke --out /tmp/gen            # ~1 min

Outputs in ``--out``: ``decoding.md`` / ``vae.md`` (the tables), ``generation_collapse.json``,
``decoding_width.png`` (D_0 against B), ``vae_training.png`` (active units over training), and
the sweep folders (``mcjax show`` reads them).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax import ConfigError, DecodeSpec, VAESpec, run
from mcjax.core.tables import render_table
from mcjax.systems.decoding.theory import expected_topics_covered, zipf_probs
from mcjax.systems.vae import theory as vae_theory

WIDTHS = (1, 2, 4, 8)
DECODERS = ("beam", "sample", "stochastic-beam", "diverse-beam")
CONCENTRATIONS = (0.0, 8.0)
VOCAB, TOPICS, LENGTH = 6, 4, 4
SMOKE = dict(seeds=8, widths=(1, 4), vae_steps=300)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/generation_collapse")
    p.add_argument("--seeds", type=int, default=64, help="seeds per setting (default 64)")
    p.add_argument("--smoke", action="store_true", help="8 seeds, widths 1 and 4, short VAE runs")
    p.add_argument("--no-figures", action="store_true")
    return p


def decoding_part(seeds: int, widths, out: str) -> dict:
    """``"decoder (concentration c)" -> [(B, D_0 median, mean, SE)]`` and the closed forms; one
    sweep per width B (a static size), each decoder one program with both concentrations."""
    found = {}
    for w in widths:
        # diverse beam search with one beam per group (G = B) and lambda = 1 > log(pi_1 / pi_2)
        remedies = ("beam", "sample", "stochastic-beam", f"diverse-beam:groups={w},lambda=1")
        spec = DecodeSpec(remedy=remedies, seeds=seeds, vocab=VOCAB, topics=TOPICS, length=LENGTH,
                          width=w, log_every=LENGTH,
                          sweep=("concentration=" + ",".join(f"{c:g}" for c in CONCENTRATIONS),))
        result = run(spec, os.path.join(out, f"decoding-B{w}"), overwrite=True, progress=False,
                     figures=False).result
        for g, d in zip(result.groups, DECODERS):
            d0 = np.asarray(g.final("D0"), np.float64)  # [concentrations, seeds]
            for i, c in enumerate(CONCENTRATIONS):
                found.setdefault(f"{d} (concentration {c:g})", []).append(
                    (w, float(np.median(d0[i])), float(d0[i].mean()),
                     float(d0[i].std(ddof=1) / np.sqrt(d0.shape[1]))))
    pi = zipf_probs(TOPICS, 1.0)
    exact = {"sample": [expected_topics_covered(pi, w) for w in widths],
             "beam (concentration 0)": [1.0 for _ in widths]}
    return {"found": found, "exact": exact, "widths": list(widths)}


def vae_part(seeds: int, out: str, steps: int | None) -> dict:
    """Per remedy: the final active units, KL and I(x; z) (median over seeds) and the curves."""
    spec = VAESpec(seeds=seeds, **({"steps": steps, "log_every": steps // 10} if steps else {}))
    result = run(spec, os.path.join(out, "vae"), overwrite=True, progress=False,
                 figures=False).result
    rows, curves = {}, {}
    for g in result.groups:
        fin = {m: float(np.median(np.asarray(g.final(m)))) for m in ("active", "kl", "mi")}
        rows[g.label] = fin
        curves[g.label] = (np.asarray(g.log_steps), np.asarray(g.history["active"])[0])
    base = vae_theory.optimum(spec.eigenvalues, 1.0, spec.latents)
    beta = vae_theory.optimum(spec.eigenvalues, 1.0, spec.latents, beta=0.4)
    exact = {"vae": (int(base["active"].sum()), float(base["kl"].sum()), float(base["mi"])),
             "beta (0.4)": (int(beta["active"].sum()), float(beta["kl"].sum()), float(beta["mi"]))}
    return {"rows": rows, "curves": curves, "exact": exact}


def render_decoding(dec: dict, fmt: str = "text") -> str:
    head = ["decoder"] + [f"B = {w}" for w in dec["widths"]]
    lines = [[name] + [f"{m:.0f} ({mean:.2f} +- {se:.2f})" for _, m, mean, se in vals]
             for name, vals in dec["found"].items()]
    lines += [[f"closed form: {k}"] + [f"{v:.3f}" for v in vals] for k, vals in dec["exact"].items()]
    return render_table(head, lines, fmt=fmt, footer="topics covered D_0 of 4: median (mean +- SE) "
                        "over seeds; closed forms: sum_k 1 - (1 - pi_k)^B for B samples, 1 for beam "
                        "search on uniform chains")


def render_vae(vae: dict, fmt: str = "text") -> str:
    lines = [[r, f"{v['active']:.0f} of 4", f"{v['kl']:.3f}", f"{v['mi']:.3f}"]
             for r, v in vae["rows"].items()]
    lines += [[f"closed form: {k}", f"{a} of 4", f"{kl:.3f}", f"{mi:.3f}"]
              for k, (a, kl, mi) in vae["exact"].items()]
    return render_table(["remedy", "active units", "KL", "I(x;z)"], lines, fmt=fmt,
                        footer="median over seeds at the last step")


def _figures(dec: dict, vae: dict, out: str) -> list[str]:
    from mcjax.plots.across_fields import remedies_figure
    from mcjax.plots.decoding import width_figure

    files = [os.path.join(out, "decoding_width.png"), os.path.join(out, "vae_training.png")]
    width_figure(dec["found"], dec["exact"], dec["widths"]).savefig(files[0], dpi=110)
    remedies_figure({"linear VAE: active units": vae["curves"]},
                    metric="active units", xlabel="training step").savefig(files[1], dpi=110)
    return files


def main(argv=None) -> dict:
    p = build_parser()
    args = p.parse_args(argv)
    seeds = SMOKE["seeds"] if args.smoke else args.seeds
    if seeds < 2:
        p.error(f"--seeds must be >= 2, got {seeds}")
    t0 = time.perf_counter()
    try:
        os.makedirs(args.out, exist_ok=True)
        dec = decoding_part(seeds, SMOKE["widths"] if args.smoke else WIDTHS, args.out)
        vae = vae_part(seeds, args.out, SMOKE["vae_steps"] if args.smoke else None)
    except (ConfigError, OSError) as e:
        p.error(str(e))
    tables = {"decoding": render_decoding(dec), "vae": render_vae(vae)}
    print(tables["decoding"] + "\n\n" + tables["vae"])
    for name, render, part in (("decoding", render_decoding, dec), ("vae", render_vae, vae)):
        with open(os.path.join(args.out, f"{name}.md"), "w") as f:
            f.write(render(part, "markdown") + "\n")
    with open(os.path.join(args.out, "generation_collapse.json"), "w") as f:
        json.dump({"decoding": {k: v for k, v in dec.items()},
                   "vae": {"rows": vae["rows"], "exact": vae["exact"]}}, f, indent=1, default=float)
    figures = [] if args.no_figures else _figures(dec, vae, args.out)
    wall = time.perf_counter() - t0
    print(f"wall {wall:.0f} s; outputs in {args.out}")
    return {"decoding": dec, "vae": vae, "tables": tables, "figures": figures, "wall_s": wall}


if __name__ == "__main__":
    main()
