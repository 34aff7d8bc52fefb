"""Prints, as JSON, how many collective operations each compiled sweep program holds when its runs
are sharded over two CPU devices (tests/test_no_collectives.py). Runs are independent, so there
should be none: a collective inside a loop of one device's program waits for the other device."""
import json
import re
import sys

from mcjax.core.sharding import use_cpu_cores

use_cpu_cores(2)

from mcjax.core.sharding import run_mesh  # noqa: E402
from mcjax.core.sweep import compiled_programs, place_experiment  # noqa: E402
from mcjax.systems.gan.spec import RunSpec  # noqa: E402

COLLECTIVES = ("all-gather", "all-reduce", "collective-permute", "all-to-all", "reduce-scatter")
SPECS = {
    "ring, every log and metric": RunSpec(remedy=("r1",), seeds=4, steps=4, log_every=2, width=8,
                                          depth=1, batch_size=8, eval_samples=64, log_dynamics=True,
                                          log_collapse=True, dynamics_probes=2, lanczos_order=3,
                                          metrics=("frechet", "prdc")),
    "stacked digits, dcgan": RunSpec(target="stacked-digits", arch="dcgan", remedy=("pacgan:pack=2",),
                                     seeds=4, steps=4, log_every=2, width=4, batch_size=8,
                                     eval_samples=64, metrics=("frechet", "prdc")),
}

out = {}
mesh = run_mesh()
assert mesh.devices.size == 2, mesh
for name, spec in SPECS.items():
    exp = spec.experiments()[0]
    placed = place_experiment(exp, list(range(spec.seeds)), mesh)
    programs = compiled_programs(exp.config, placed.n_pad, placed.chunk, mesh)[:3]
    for prog, part in zip(programs, ("init", "advance", "evaluate")):
        text = prog.as_text()
        out[f"{name}: {part}"] = {op: len(re.findall(re.escape(op) + r"[.(]", text))
                                  for op in COLLECTIVES}
        out[f"{name}: {part}"]["lapack"] = len(re.findall(r'custom_call_target="lapack', text))
        out[f"{name}: {part}"]["devices"] = text.count("num_partitions=2") and 2 or 1
json.dump(out, sys.stdout)
