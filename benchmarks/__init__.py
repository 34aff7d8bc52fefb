"""One GAN trained by PyTorch and by mcjax, timed side by side, and ``mcjax sweep`` timed as run.

The GAN is mcjax's core one (``benchmarks.spec``): MLP generator and critic (``depth`` hidden ReLU
layers of ``width`` units), latent 16, the 8-mode ring (radius 2, std 0.02), non-saturating loss,
Adam (lr 1e-3, betas 0.5/0.999) for both players, alternating updates with one critic step per
generator step. Cells of one (size, R) row:

* **(a) PyTorch, one run after another** and **(b) PyTorch, runs stacked** (``torch.baddbmm``,
  fused Adam): the DCGAN loop, one generated batch per step for both players
  (``benchmarks.torch_baselines``).
* **(c') mcjax, DCGAN loop**: mcjax's programs with ``Config(reuse_fake=True)`` and one small
  evaluation per block, the like-for-like peer of (a) and (b) (the old script's "(c) mcjax").
* **(c) mcjax sweep programs**: exactly the programs ``mcjax sweep --remedy gan --width W --depth D
  --batch-size B --seeds R --steps S`` compiles (its Experiment from the CLI's own parser, its
  chunking, padding and mesh), timed over one whole run: evaluations every 200 steps on 2,500
  samples and a fresh batch for the generator step, as users run it.
* **mcjax CLI**: that command itself, end to end in a child process, measured by its own ``--json``
  (``run_steps_per_s``, ``compile_s``, ``platforms``). CLI / (c) shows what the program cell does
  not see of what users run; the report ends with the check that it is >= 0.9 at 3x32/b64, R = 64.

Timing (``benchmarks.harness``): every cell in a fresh child process, one after another. Compile
is timed separately and left out of the rate (STYLE.md, point 12); the first call of each
program (mcjax) or a 5-step run (PyTorch) is a warm-up, left out; then timed blocks, ended by
``block_until_ready`` / a host read (mcjax) or a host read of the last loss (PyTorch), and the best
block is kept (repeated while the cell's timed total stays under ``--block-budget``). A block is
``--steps`` steps for (a), (b), (c') and one whole run for (c). Speed is run-steps per second: runs
x generator steps / seconds. (a) times at most ``--a-max-runs`` runs (rows marked ``*``: the rate of
run after run does not depend on R). PyTorch keeps its default thread count unless
``--torch-threads``; on a GPU machine (a) and (b) run on CUDA (``--torch-device``) and mcjax on
JAX's default device. As ``mcjax sweep`` does, every mcjax child makes one CPU device per core
(``mcjax.core.sharding.use_cpu_cores``) and shards the runs over them; ``--cpu-devices`` overrides it for
the children and the CLI (``MCJAX_CPU_DEVICES``). FLOP counts and utilization:
``benchmarks.flops``; compile cache probe: ``benchmarks.mcjax_cells``; tables: ``benchmarks.report``.

Commands (PyTorch is the ``bench`` extra, never a dependency of mcjax)::

    pip install -e ".[bench]"
    python -m benchmarks --out bench.json   # full, 8 rows: longer than the old script's 21 min
    python -m benchmarks --quick            # smoke run, 2-3 min
    python -m benchmarks --report bench.json

Expected result: the tables of ``docs/benchmarks.md`` (on that machine); the issue-5 targets and
the CLI-vs-programs check are printed at the end.
"""
from benchmarks.flops import flops_per_run_step as flops_per_run_step
from benchmarks.mcjax_cells import cli_args as cli_args
from benchmarks.mcjax_cells import cli_experiments as cli_experiments
from benchmarks.spec import Size as Size
from benchmarks.torch_baselines import StackedGAN as StackedGAN
from benchmarks.torch_baselines import torch_single_run as torch_single_run
