"""Collapse in systems that generate (issue 19): beam search, VAE posterior collapse and model
collapse under recursive training, 64 seeds per setting, against their closed forms.

(1) **Decoding** (``--system decoding``): topics covered by B outputs of beam search, sampling,
stochastic beam search and diverse beam search (G = B groups, lambda = 1 > log(pi_1 / pi_2))
against the width B = 1, 2, 4, 8, on a topic Markov model (6 tokens, 4 topics with Zipf(1) prior pi,
length 4) with uniform chains (concentration 0, where every sequence of topic k has probability
pi_k 6^-3, so the exact top B all share topic 1) and peaked ones (8). Closed forms: beam search
on uniform chains covers 1 topic; B independent samples cover sum_k [1 - (1 - pi_k)^B].

(2) **Linear VAE** (``--system vae``): data eigenvalues (4, 2, 0.5, 0.25), decoder noise 1; each
remedy's active units, KL and I(x; z) over training against the closed-form optimum of its
objective (``mcjax.systems.vae.theory.optimum``: latent j active iff lambda_j > beta sigma^2).

(3) **Recursive training** (``--system recursive``): an 8-mode 1-D mixture (spacing 10, std 1)
refitted for 200 generations to M = 100 or 1000 samples of the previous model, with a share
alpha = 0 or 0.1 of real data; modes alive D_0 for the EM and weights-only fits, and the closed
forms: a Gaussian's (and EM's) variance sigma_0^2 ((M - 1) / M)^g, the weights' heterozygosity
H_0 (1 - 1/M)^g (Wright-Fisher, alpha = 0) and its exact real-mix recursion (alpha = 0.1).

Commands::

    python experiments/generation_collapse.py --out runs/generation_collapse   # ~5 min, 2 cores
    python experiments/generation_collapse.py --smoke --out /tmp/gen            # ~1 min

Outputs in ``--out``: ``decoding.md`` / ``vae.md`` / ``recursive_modes.md`` /
``recursive_closed_forms.md`` (the tables), ``generation_collapse.json``, ``decoding_width.png``
(D_0 against B), ``vae_training.png`` (active units over training),
``generation_recursive.png`` (D_0 over generations), and the sweep folders (``mcjax show`` reads
them).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax import ConfigError, DecodeSpec, RecursiveSpec, VAESpec, run
from mcjax.core.tables import render_table
from mcjax.systems.decoding.theory import expected_topics_covered, zipf_probs
from mcjax.systems.recursive import theory as rec_theory
from mcjax.systems.vae import theory as vae_theory

WIDTHS = (1, 2, 4, 8)
DECODERS = ("beam", "sample", "stochastic-beam", "diverse-beam")
CONCENTRATIONS = (0.0, 8.0)
VOCAB, TOPICS, LENGTH = 6, 4, 4
RECURSIVE = dict(generations=200, log_every=10, samples=(100, 1000), alpha=0.1, at=(50, 100, 200))
SMOKE = dict(seeds=8, widths=(1, 4), vae_steps=300,
             recursive=dict(generations=20, log_every=10, samples=(20, 100), alpha=0.1, at=(10, 20)))


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


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.shape[0]))


def recursive_part(seeds: int, out: str, opts: dict) -> dict:
    """Recursive training of an 8-mode mixture (spacing 10, std 1), alpha in {0, alpha} x M in
    ``samples``, one sweep per fit (``em``, ``weights``, ``gaussian``): D_0 over generations per
    setting, and the measured variance and heterozygosity at generations ``at`` beside their
    closed forms."""
    m_small, m_large = opts["samples"]
    curves, modes, closed = {}, {}, []
    for fit in ("em", "weights", "gaussian"):
        spec = RecursiveSpec(remedy=("none", f"real-mix:alpha={opts['alpha']:g}"), fit=fit,
                             seeds=seeds, generations=opts["generations"],
                             log_every=opts["log_every"], sweep=(f"samples={m_small},{m_large}",))
        result = run(spec, os.path.join(out, f"recursive-{fit}"), overwrite=True, progress=False,
                     figures=False).result
        cfg = result.groups[0].config
        var0 = rec_theory.mixture_variance(cfg.true_weights(), cfg.true_means(),
                                           [cfg.std**2] * cfg.modes)
        steps = np.asarray(result.groups[0].log_steps)
        idx = [int(np.flatnonzero(steps == g)[0]) for g in opts["at"]]
        for g, alpha in zip(result.groups, (0.0, opts["alpha"])):
            for s, m in enumerate((m_small, m_large)):
                name = f"{fit}, alpha = {alpha:g}, M = {m}"
                h = {k: np.asarray(v)[s] for k, v in g.history.items()}  # [seeds, logs]
                if fit != "gaussian":
                    curves.setdefault(f"{fit} fit", {})[f"alpha={alpha:g}, M={m}"] = (steps, h["D0"])
                    modes[name] = [_mean_se(h["D0"][:, i]) for i in idx] + [
                        (float(np.median(h["D0"][:, -1])), float(np.mean(h["D0"][:, -1] == cfg.modes)))]
                if alpha == 0 and fit != "weights":
                    exact = rec_theory.variance_decay(1.0, m, opts["at"])
                    closed.append((f"{fit}: variance / sigma_0^2, M = {m}",
                                   [_mean_se(h["variance"][:, i] / var0) for i in idx], list(exact)))
                if fit == "weights":
                    h0 = 1.0 - np.sum(cfg.true_weights() ** 2)
                    exact = (rec_theory.heterozygosity_decay(h0, m, opts["at"]) if alpha == 0 else
                             1.0 - rec_theory.real_mix_homozygosity(
                                 m, alpha, cfg.true_weights(), max(opts["at"]), 1.0 - h0)[
                                     np.asarray(opts["at"]) - 1])
                    closed.append((f"weights: H, alpha = {alpha:g}, M = {m}",
                                   [_mean_se(h["heterozygosity"][:, i]) for i in idx], list(exact)))
    return {"modes": modes, "closed": closed, "curves": curves, "at": list(opts["at"]),
            "var0": var0}


def render_recursive_modes(rec: dict, fmt: str = "text") -> str:
    head = ["fit, alpha, M"] + [f"g = {g}" for g in rec["at"]] + ["final: median, all 8 alive"]
    lines = [[name] + [f"{mean:.2f} +- {se:.2f}" for mean, se in vals[:-1]]
             + [f"{vals[-1][0]:.0f}, {100 * vals[-1][1]:.0f} %"] for name, vals in rec["modes"].items()]
    return render_table(head, lines, fmt=fmt, footer="modes alive D_0 of 8 (the components fitting "
                        "a mode weigh >= 1e-4): mean +- SE over seeds")


def render_recursive_closed(rec: dict, fmt: str = "text") -> str:
    head = ["quantity"] + [f"g = {g}: measured / exact" for g in rec["at"]]
    lines = [[name] + [f"{mean:.4f} +- {se:.4f} / {ex:.4f}" for (mean, se), ex in zip(vals, exact)]
             for name, vals, exact in rec["closed"]]
    return render_table(head, lines, fmt=fmt, footer="mean +- SE over seeds; exact: sigma_0^2 "
                        "((M - 1) / M)^g, H_0 (1 - 1/M)^g, and the real-mix recursion of "
                        "mcjax.systems.recursive.theory.real_mix_homozygosity")


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


def _figures(dec: dict, vae: dict, rec: dict, out: str) -> list[str]:
    from mcjax.plots.across_fields import remedies_figure
    from mcjax.plots.decoding import width_figure

    files = [os.path.join(out, name) for name in ("decoding_width.png", "vae_training.png",
                                                  "generation_recursive.png")]
    width_figure(dec["found"], dec["exact"], dec["widths"]).savefig(files[0], dpi=110)
    remedies_figure({"linear VAE: active units": vae["curves"]},
                    metric="active units", xlabel="training step").savefig(files[1], dpi=110)
    remedies_figure(rec["curves"], metric="D0 modes alive").savefig(files[2], dpi=110)
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
        rec = recursive_part(seeds, args.out, SMOKE["recursive"] if args.smoke else RECURSIVE)
    except (ConfigError, OSError) as e:
        p.error(str(e))
    parts = (("decoding", render_decoding, dec), ("vae", render_vae, vae),
             ("recursive_modes", render_recursive_modes, rec),
             ("recursive_closed_forms", render_recursive_closed, rec))
    tables = {name: render(part) for name, render, part in parts}
    print("\n\n".join(tables.values()))
    for name, render, part in parts:
        with open(os.path.join(args.out, f"{name}.md"), "w") as f:
            f.write(render(part, "markdown") + "\n")
    with open(os.path.join(args.out, "generation_collapse.json"), "w") as f:
        json.dump({"decoding": {k: v for k, v in dec.items()},
                   "vae": {"rows": vae["rows"], "exact": vae["exact"]},
                   "recursive": {k: v for k, v in rec.items() if k != "curves"}},
                  f, indent=1, default=float)
    figures = [] if args.no_figures else _figures(dec, vae, rec, args.out)
    wall = time.perf_counter() - t0
    print(f"wall {wall:.0f} s; outputs in {args.out}")
    return {"decoding": dec, "vae": vae, "recursive": rec, "tables": tables, "figures": figures,
            "wall_s": wall}


if __name__ == "__main__":
    main()
