"""The printed tables, the issue-5 targets and the CLI-vs-programs check, from a results dict.

Cells of a row (``res["cells"]``): ``a``, ``b`` (PyTorch), ``dcgan`` (c', mcjax's DCGAN loop),
``c`` (mcjax sweep programs, one whole run) and ``cli`` (``mcjax sweep`` end to end). Results saved
by ``experiments/bench_sweep.py`` (before the CLI column) hold the DCGAN loop under ``c``;
:func:`upgrade` renames it, and their tables print without the sweep table.
"""
from __future__ import annotations

from benchmarks.spec import ACCEPTANCE, CLI_STEPS

CHECK_RATIO = 0.9  # the CLI must run at >= 90 % of its own programs' rate


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    from mcjax.core.tables import render_table

    return render_table(header, rows, align="right")


def upgrade(res: dict) -> dict:
    """Results of the old script (no ``cli`` cells): its ``c`` was the DCGAN loop, now ``dcgan``."""
    for cell in res["cells"]:
        if "cli" not in cell and "dcgan" not in cell:
            cell["dcgan"] = cell.pop("c")
            cell["flops"]["dcgan"] = cell["flops"].pop("c")
    return res


def _devices(platforms) -> str:
    """``"cpu x2, jax 0.10.2"`` (or a list of them) as ``"cpu x2"``."""
    items = [platforms] if isinstance(platforms, str) else list(platforms)
    return "+".join(p.split(",")[0] for p in items) or "?"


def _others(cell: dict, keys) -> str:
    return f"{100 * max(cell[k].get('others_cpu_share', 0) for k in keys if k in cell):.0f}%"


def _speed_table(cells: list[dict]) -> list[str]:
    rows = []
    for c in cells:
        a, b, m = c["a"], c["b"], c["dcgan"]
        star = "*" if a["measured_runs"] < c["runs"] else ""
        rows.append([c["size"], str(c["runs"]), _fmt(a["rate"]) + star, _fmt(b["rate"]),
                     _fmt(m["rate"]), f"{m['rate'] / a['rate']:.1f}", f"{m['rate'] / b['rate']:.2f}",
                     f"{m['compile_s']:.1f}",
                     f"{a['peak_rss_mib']:.0f} / {b['peak_rss_mib']:.0f} / {m['peak_rss_mib']:.0f}",
                     _others(c, ("a", "b", "dcgan"))])
    out = ["Speed, like for like: the DCGAN loop in each framework (run-steps/s: runs x generator "
           "steps per second; higher is better)",
           _table(["size", "R", "(a) torch 1-by-1", "(b) torch stacked", "(c') mcjax DCGAN loop",
                   "c'/a", "c'/b", "compile s c'", "peak RSS MiB a / b / c'", "others' CPU"], rows)]
    if any(c["a"]["measured_runs"] < c["runs"] for c in cells):
        out.append("* (a) timed on fewer runs (run after run: the rate does not depend on R); "
                   "see measured_runs in the JSON")
    return out


def _sweep_table(cells: list[dict]) -> list[str]:
    rows = []
    for c in cells:
        p, cli = c["c"], c["cli"]
        rows.append([c["size"], str(c["runs"]), str(p["steps"]), _fmt(p["rate"]), _fmt(cli["rate"]),
                     f"{cli['rate'] / p['rate']:.2f}", f"{p['rate'] / c['dcgan']['rate']:.2f}",
                     f"{_devices(p['platform'])} / {_devices(cli['platforms'])}",
                     f"{p['compile_s']:.1f} / {cli['compile_s']:.1f}", f"{cli['wall_s']:.1f}",
                     f"{p['peak_rss_mib']:.0f} / {cli['peak_rss_mib']:.0f}",
                     _others(c, ("dcgan", "c", "cli"))])
    return ["", "What `mcjax sweep` runs: (c) its compiled programs, best whole run; mcjax CLI: "
            "the command end to end (run-steps/s)",
            _table(["size", "R", "steps", "(c) sweep programs", "mcjax CLI", "CLI/c", "c/c'",
                    "devices c / CLI", "compile s c / CLI", "CLI wall s", "peak RSS MiB c / CLI",
                    "others' CPU"], rows),
            "(c) and CLI: `mcjax sweep --remedy gan --width W --depth D --batch-size B --seeds R "
            "--steps S` (log every 200 steps, 2,500 evaluation samples: the CLI's defaults; a fresh "
            "batch for the generator step). CLI rate: its --json run_steps_per_s (wall clock minus "
            "compile, checkpoint writes included), the best of its invocations as (c) keeps its "
            "best run (every rate in the JSON); CLI wall s: the whole process, start-up and "
            "saving included. c/c': what the sweep's evaluations and fresh batch cost."]


def _utilization_table(cells: list[dict], mm: dict) -> list[str]:
    rows = []
    for c in cells:
        key = f"{c['size']}|{c['runs']}"
        flops = c["flops"]["dcgan"]
        achieved = flops * c["dcgan"]["rate"] / 1e9
        batched = mm["batched"][key]
        jax_best = max(batched["jax_gflops"], batched.get("jax_sharded_gflops", 0.0))
        sweep = f"{c['flops']['c'] * c['c']['rate'] / 1e9:.1f}" if "c" in c else "-"
        rows.append([c["size"], str(c["runs"]), f"{flops / 1e6:.2f}", f"{achieved:.1f}", sweep,
                     f"{c['flops']['b'] * c['b']['rate'] / 1e9:.1f}",
                     f"{batched['jax_gflops']:.1f}",
                     f"{batched.get('jax_sharded_gflops', float('nan')):.1f}",
                     f"{batched['torch_gflops']:.1f}",
                     f"{100 * achieved / mm['big_gflops']:.0f}%",
                     f"{100 * achieved / jax_best:.0f}%",
                     f"{100 * achieved / batched['torch_gflops']:.0f}%"])
    return ["", f"Utilization (float32; big matmul {mm['big_n']}^3 with jnp.dot: "
            f"{mm['big_gflops']:.1f} GFLOP/s)",
            _table(["size", "R", "MFLOP/run-step (c')", "(c') GFLOP/s", "(c) GFLOP/s", "(b) GFLOP/s",
                    "bmm jax 1 dev", f"bmm jax {mm.get('devices', 1)} dev", "bmm torch",
                    "(c') / big", "(c') / best bmm jax", "(c') / bmm torch"], rows),
            "bmm columns: GFLOP/s of chained [R, B, w] x [R, w, w] products; jax on one device, and "
            "sharded over the run axis on one CPU device per core as mcjax runs (R padded to the "
            "device count). (c) GFLOP/s counts its training matmuls only, not its evaluations."]


def _cache_table(probes: list[dict]) -> list[str]:
    phase = lambda p, name: p["warm"]["phases_s"].get(f"/jax/core/compile/{name}_duration", 0.0)
    rows = [[p["size"], str(p["runs"]), f"{p['cold_s']:.2f}", f"{p['warm_s']:.2f}",
             f"{phase(p, 'jaxpr_trace'):.2f}", f"{phase(p, 'jaxpr_to_mlir_module'):.2f}",
             f"{phase(p, 'backend_compile'):.2f}",
             str(p["warm"]["events"].get("/jax/compilation_cache/cache_hits", 0))] for p in probes]
    which = "(c) sweep" if all(p.get("programs") == "c" for p in probes) else "(c') DCGAN-loop"
    return ["", f"Compile seconds of the {which} programs with the persistent compilation cache "
            "(fresh cache dir; one child process each)",
            _table(["size", "R", "1st invocation", "2nd invocation", "2nd: trace", "2nd: to MLIR",
                    "2nd: backend/cache", "2nd: cache hits"], rows)]


def targets(res: dict) -> list[dict]:
    """Issue 5's targets, on the like-for-like cell (c') and the compile probe."""
    by = {(c["size"], c["runs"]): c for c in res["cells"]}
    found = []

    def add(name, value, goal, fmt):
        found.append(dict(name=name, measured=fmt.format(value), met=bool(value >= goal)))

    for label, goal_a, goal_b in (("3x32/b64", 30, 1.5), ("3x128/b256", 3, 1.2)):
        cell = by.get((label, 64))
        if cell:
            rate = cell["dcgan"]["rate"]
            add(f"{label} R=64: c'/a >= {goal_a}", rate / cell["a"]["rate"], goal_a, "{:.1f}x")
            add(f"{label} R=64: c'/b >= {goal_b}", rate / cell["b"]["rate"], goal_b, "{:.2f}x")
    large = by.get(("3x128/b256", 64))
    if large:
        achieved = large["flops"]["dcgan"] * large["dcgan"]["rate"] / 1e9
        batched = res["matmul"]["batched"]["3x128/b256|64"]
        bmm_rates = dict(jax=max(batched["jax_gflops"], batched.get("jax_sharded_gflops", 0.0)),
                         torch=batched["torch_gflops"])
        for lib, bmm in bmm_rates.items():
            add(f"3x128/b256 R=64: c' >= 85% of {lib} bmm rate", achieved / bmm, 0.85, "{:.0%}")
    for p in res.get("cache", []):
        found.append(dict(name=f"{p['size']} R={p['runs']}: 2nd compile < 1 s",
                          measured=f"{p['warm_s']:.2f} s", met=bool(p["warm_s"] < 1.0)))
    return found


def check_line(res: dict) -> str:
    """The acceptance: ``mcjax sweep`` at 3x32/b64 R=64 runs at >= 90 % of its programs' rate (c)."""
    size, runs = ACCEPTANCE
    cell = next((c for c in res["cells"] if (c["size"], c["runs"]) == ACCEPTANCE and "cli" in c), None)
    head = f"Check: mcjax CLI / (c) sweep programs at {size} R={runs}"
    if cell is None:
        return f"{head}: not measured (no CLI cell for that size and R)"
    p, cli = cell["c"], cell["cli"]
    ratio = cli["rate"] / p["rate"]
    devices = f"devices {_devices(p['platform'])} / {_devices(cli['platforms'])}"
    if _devices(p["platform"]) != _devices(cli["platforms"]):
        devices += " (they differ)"
    short = (f" (a short run: the acceptance is at the CLI's default {CLI_STEPS} steps)"
             if p["steps"] < CLI_STEPS else "")
    return (f"{head}, {p['steps']} steps: {_fmt(cli['rate'])} / {_fmt(p['rate'])} run-steps/s = "
            f"{ratio:.2f} (>= {CHECK_RATIO:.2f}): {'PASS' if ratio >= CHECK_RATIO else 'FAIL'}; "
            f"{devices}{short}")


def report(res: dict) -> str:
    """The printed tables (markdown-compatible) from a results dict, ending with the check line."""
    cells = res["cells"]
    out = _speed_table(cells)
    sweep_cells = [c for c in cells if "cli" in c]
    if sweep_cells:
        out += _sweep_table(sweep_cells)
    out += _utilization_table(cells, res["matmul"])
    if res.get("cache"):
        out += _cache_table(res["cache"])
    if res.get("targets"):
        out += ["", "Issue-5 targets (like for like: c')",
                _table(["target", "measured", "met"],
                       [[t["name"], t["measured"], "yes" if t["met"] else "NO"]
                        for t in res["targets"]])]
    idle = res.get("idle", {})
    busy = max((c[k].get("others_cpu_share", 0) for c in cells for k in ("a", "b", "dcgan", "c", "cli")
                if k in c), default=0)
    out += ["", "Peak RSS: ru_maxrss of each cell's own child process (whole process, mcjax's "
            "includes compilation; the CLI's from wait4); an idle child is "
            f"{idle.get('torch', 0):.0f} MiB (torch) / {idle.get('jax', 0):.0f} MiB (jax + mcjax). "
            "Others' CPU: share of the machine's CPU time used by other processes while the row's "
            f"cells ran; at most {100 * busy:.0f}%"
            f"{' (the machine was shared: treat the numbers with care)' if busy > 0.1 else ''}.",
            "", check_line(res)]
    return "\n".join(out)
