"""The Dirac-GAN zoo (issue 17, study 4): which update rules converge, orbit or diverge, and why.

For every rule of :data:`mcjax.analysis.dirac_zoo.ZOO_RULES` (simultaneous and alternating gradient
descent, each also with the R1 penalty, consensus, SGA, extragradient, optimistic, unrolled) the
update matrix at the equilibrium is measured by ``jax.jacobian`` of one step of mcjax's own rule code
on the Dirac-GAN (float64) and checked against its closed form; the iterates of the nonlinear game
are run from three starting points (the phase portraits, like Mescheder et al. 2018, Fig. 1).

Setting (``ZooSetting``): non-saturating loss (f'(0) = 1/2), step size h = 0.1 for both players
(plain SGD), R1 weight 0.3, consensus gamma 1, SGA lambda 1, unrolled k = 5 critic steps.

Commands::

    python experiments/dirac_zoo.py --out docs/figures           # ~30 s on the 2-core CPU
    python experiments/dirac_zoo.py --smoke --out /tmp/zoo       # ~10 s, 200 steps, fewer h

Outputs in ``--out``: ``study4_dirac_zoo_portraits.png``, ``study4_dirac_zoo_spectra.png`` and
``study4_dirac_zoo.json`` (the table). ``main`` returns the table as a dict.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from mcjax._validation import ConfigError
from mcjax.analysis import dirac_zoo as zoo
from mcjax.analysis.games import dirac_gan

STARTS = np.array([[1.0, 1.0], [-1.5, 0.5], [0.3, -0.3]])
# what the papers say about each rule on this game (near the equilibrium, small h)
PAPER = {
    "simultaneous": "diverges: |1 ± i h f'(0)| > 1 (Mescheder et al. 2018, Sec. 2.2, Fig. 1)",
    "alternating": "orbits: |λ| = 1 for h f'(0) < 2 (Mescheder et al. 2018, Sec. 2.2, Fig. 1)",
    "simultaneous+r1": "converges for small h (Mescheder et al. 2018, Sec. 4.1, Thm. 4.1)",
    "alternating+r1": "converges for small h (Mescheder et al. 2018, Sec. 4.1)",
    "consensus": "converges (Mescheder et al. 2018, Sec. 3; Mescheder et al. 2017)",
    "sga": "converges on Hamiltonian games (Balduzzi et al. 2018); not in Mescheder et al.",
    "extragradient": "converges on bilinear games for small h (Korpelevich 1976; Gidel et al. 2019)",
    "optimistic": "converges on bilinear games for small h (Daskalakis et al. 2018)",
    "unrolled": "no Dirac-GAN claim (Metz et al. 2017)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="docs/figures")
    p.add_argument("--smoke", action="store_true", help="fewer steps and step sizes")
    p.add_argument("--h", type=float, default=0.1, help="step size of the table (0.1)")
    p.add_argument("--steps", type=int, default=2000, help="steps of each portrait trajectory")
    p.add_argument("--no-figures", action="store_true")
    return p


def table(setting: zoo.ZooSetting, steps: int) -> tuple[dict, dict]:
    """Per rule: closed-form and measured eigenvalues, spectral radius, verdict, distance after
    ``steps`` from (1, 1); and the iterates from every start, ``rule -> [3, steps + 1, 2]``."""
    rows, paths = {}, {}
    for rule in zoo.ZOO_RULES:
        cf = zoo.closed_form_eigenvalues(rule, setting)
        measured = zoo.match_eigenvalues(np.linalg.eigvals(zoo.update_matrix(rule, setting)), cf)
        paths[rule] = zoo.trajectories(rule, STARTS, steps, setting)
        path = paths[rule][0]
        rows[rule] = dict(
            rho_closed_form=zoo.spectral_radius(cf), rho_measured=zoo.spectral_radius(measured),
            eig_closed_form=[[float(v.real), float(v.imag)] for v in cf],
            eig_measured=[[float(v.real), float(v.imag)] for v in measured],
            verdict=zoo.classify(zoo.spectral_radius(measured)),
            distance_end=float(np.hypot(*path[-1])), paper=PAPER[rule])
    return rows, paths


def print_table(rows: dict, setting: zoo.ZooSetting, steps: int) -> None:
    print(f"Dirac-GAN, {setting.loss} loss (f'(0) = {setting.f_prime_0:g}), h = {setting.h:g}, "
          f"R1 {setting.r1:g}, consensus {setting.consensus_gamma:g}, SGA {setting.sga_lambda:g}, "
          f"unrolled k = {setting.unroll}")
    print(f"{'rule':16s} | rho closed form | rho measured | verdict   | |z| after {steps} steps "
          f"from (1, 1) | paper")
    for rule, r in rows.items():
        print(f"{rule:16s} | {r['rho_closed_form']:.6f}        | {r['rho_measured']:.6f}     | "
              f"{r['verdict']:9s} | {r['distance_end']:.3g} | {r['paper']}")


def figures(setting: zoo.ZooSetting, rows: dict, paths: dict, steps: int, hs_measured,
            out: str) -> list[str]:
    from mcjax.plots.dirac_zoo import zoo_portraits, zoo_spectra

    fields = {r: dirac_gan(setting.loss, setting.gamma(r)) for r in zoo.ZOO_RULES}
    titles = {r: f"{r}: ρ = {rows[r]['rho_measured']:.4f}, {rows[r]['verdict']}" for r in rows}
    fig = zoo_portraits(paths, fields, titles)
    fig.suptitle(f"Dirac-GAN ({setting.loss}), h = {setting.h:g}, {steps} steps from 3 starts; "
                 "grey: the game's field -ξ", fontsize=10)
    names = [os.path.join(out, "study4_dirac_zoo_portraits.png")]
    fig.savefig(names[0], dpi=80)
    hs = np.logspace(-2, np.log10(4.0), 200)
    curve = lambda r, h: zoo.spectral_radius(zoo.closed_form_eigenvalues(r, setting._replace(h=h)))
    rho_curves = {r: (hs, [curve(r, h) for h in hs]) for r in zoo.ZOO_RULES}
    rho_at = lambda r, h: (rows[r]["rho_measured"] if h == setting.h else zoo.spectral_radius(
        np.linalg.eigvals(zoo.update_matrix(r, setting._replace(h=h)))))
    measured = {r: (hs_measured, [rho_at(r, h) for h in hs_measured]) for r in zoo.ZOO_RULES}
    eigs = {r: np.array([complex(*v) for v in rows[r]["eig_measured"]]) for r in rows}
    fig = zoo_spectra(eigs, rho_curves, measured, h=setting.h)
    names.append(os.path.join(out, "study4_dirac_zoo_spectra.png"))
    fig.savefig(names[1], dpi=110)
    return names


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    steps = 200 if args.smoke else args.steps
    try:  # bad input: one line, before anything is compiled or written
        setting = zoo.ZooSetting(h=args.h).check()
        if steps < 1:
            raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    except ConfigError as e:
        parser.error(str(e))
    hs_measured = [setting.h, 1.0] if args.smoke else [0.03, setting.h, 0.3, 1.0, 3.0]
    t0 = time.perf_counter()
    rows, paths = table(setting, steps)
    print_table(rows, setting, steps)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "study4_dirac_zoo.json"), "w") as f:
        json.dump(dict(setting=setting._asdict(), steps=steps, rules=rows), f, indent=1)
    if not args.no_figures:
        for name in figures(setting, rows, paths, steps, hs_measured, args.out):
            print("wrote", name)
    print(f"wall {time.perf_counter() - t0:.1f} s")
    return rows


if __name__ == "__main__":
    main()
