"""One GAN trained three ways, timed side by side: PyTorch run by run, PyTorch stacked, mcjax.

The GAN is mcjax's core one: MLP generator and critic (``depth`` hidden ReLU layers of ``width``
units), latent 16, the 8-mode ring (radius 2, std 0.02), non-saturating loss, Adam (lr 1e-3,
betas 0.5/0.999) for both players, alternating updates with one critic step per generator step.

* **(a) PyTorch, one run after another**, written as a PyTorch user writes it: ``nn.Sequential``
  MLPs, ``torch.optim.Adam`` (its CPU default), ``nn.BCEWithLogitsLoss``, and the standard DCGAN
  loop: one fake batch per step, used detached for the critic step and again, through the updated
  critic, for the generator step (``errG.backward()`` also fills the critic's weight gradients,
  which the next ``zero_grad`` throws away).
* **(b) PyTorch, runs stacked**: every weight gets a leading run axis ``[R, in, out]``, layers are
  ``torch.baddbmm``, one critic forward on the real and fake batches concatenated, gradients by
  ``torch.autograd.grad`` for exactly the parameters updated (so no critic weight gradients in the
  generator step), and ``torch.optim.Adam(fused=True)`` over the stacked tensors (``foreach`` when
  fused is unavailable). Same math as (a); the strongest plain-PyTorch peer we could write.
* **(c) mcjax**: ``mcjax.sweep.compiled_programs(config, R, 1)``, the programs ``run_sweep`` runs,
  (``init(hparams, seeds)``, ``advance(hparams, state)``), with ``log_every = steps`` and
  ``eval_samples = 256``, so a timed call is ``steps`` training steps
  and a single 256-sample evaluation (mode metrics are otherwise computed every ``log_every``).
  The config sets ``reuse_fake=True``: the DCGAN loop of (a) and (b), one generated batch per step
  for both players (``--fresh-fake`` times mcjax's default instead, a fresh batch for the generator
  step: one more generator forward pass per step). mcjax also checks every step for non-finite
  values. As ``mcjax sweep`` does, the child makes one CPU device per core
  (``mcjax.scale.use_cpu_cores``) and shards the runs over them (R padded to the device count);
  ``--cpu-devices 0`` keeps JAX's single CPU device, whose intra-op threads then share each op.

Each (variant, size, R) cell runs in a fresh child process, one after another, so peak memory is
that cell's own and two frameworks never share the two cores' thread pools. Timing, per cell:
warm-up first (mcjax: compile, timed separately as ``compile s``, then one full call, left out;
PyTorch: a 5-step run, left out), then timed blocks of ``steps`` steps, each ended by
``block_until_ready`` (mcjax) or by a host read of the last loss (PyTorch), and the best block is kept
(repeated while the cell's timed total stays under ``--block-budget`` seconds). Speed is
run-steps per second: runs x generator steps / seconds. For (a), whose runs are independent and
sequential, at most ``--a-max-runs`` runs are timed and the rate is that of the timed runs; rows
where R is larger are marked ``*`` (extrapolated: the rate of run-after-run does not depend on R).
PyTorch keeps its default thread count (all cores) unless ``--torch-threads`` says otherwise. On a machine with a GPU, (a) and (b) run on
CUDA (``--torch-device``) and mcjax on JAX's default device, and device peak memory is recorded.

FLOPs of one run-step (``flops_per_run_step``): matmuls only. A dense layer on ``m`` rows from
``i`` to ``o`` units costs ``2 m i o`` forward; its backward costs ``2 m i o`` for the weight
gradient (when the weights are trained in that pass) plus ``2 m i o`` for the input gradient (when
something upstream needs it), i.e. "backward = 2x forward" except that the first layer's input
gradient is never needed. With ``F_G``, ``F_D`` the forward cost of a player on ``B`` rows, mcjax's
step (with ``reuse_fake``, as (b)) is::

    critic update     G forward (B), kept for the generator step      F_G
                      D forward on real and fake (2B)                 2 F_D
                      D backward, weight + input gradients (2B)       ~4 F_D
    generator update  D forward (B)                                   F_D
                      D backward, input gradients only (B)            F_D
                      G backward, weight + input gradients (B)        ~2 F_G
    total                                                             ~3 F_G + 8 F_D

(a) does ``3 F_G + 9 F_D`` (critic weight gradients in the generator step); with
``--fresh-fake`` mcjax does ``4 F_G + 8 F_D`` (a second G forward on a fresh batch). Biases, activations, losses, sampling, Adam and mcjax's finiteness checks are
elementwise, ``O(B width + params)``, and not counted: they show up as lost utilization.

Utilization: mcjax's achieved FLOP/s (its count x run-steps/s) as a fraction of (i) this machine's
float32 matmul rate on one large product (``--big-matmul``, default 2048^3, ``jnp.dot``) and (ii)
its batched-matmul rate at the GAN's own hidden-layer shapes, ``jax.vmap(jnp.matmul)`` of
``[R, B, width] x [R, width, width]`` chained in a ``fori_loop``; both measured in the same
invocation, in a child process of their own. PyTorch's ``bmm`` rate at the same shapes is shown
for context.

Compile cache: a child process compiles the sweep's programs with JAX's persistent compilation
cache (``jax_compilation_cache_dir``, ``jax_persistent_cache_min_compile_time_secs = 0``) in a
fresh directory, then a second child does the same; the second's compile seconds is what a second
invocation of the same sweep pays.

Commands (PyTorch is the ``bench`` extra, never a dependency of mcjax)::

    pip install -e ".[bench]"
    python experiments/bench_sweep.py --out bench.json   # full: about 20 min on an idle 2-core CPU
    python experiments/bench_sweep.py --quick            # smoke run, about 2 min

Expected result: the tables of ``docs/benchmarks.md`` (on that machine); the issue-5 targets are
checked at the end of the printout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any, NamedTuple

LATENT = 16
DATA_DIM = 2
DEPTH = 3
LR, BETA1, BETA2 = 1e-3, 0.5, 0.999
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.02
EVAL_SAMPLES = 256
_RESULT = "@@bench-result "


class Size(NamedTuple):
    """One network/batch size of the benchmark."""

    width: int
    batch: int
    depth: int = DEPTH

    @property
    def label(self) -> str:
        return f"{self.depth}x{self.width}/b{self.batch}"


SIZES = (Size(32, 64), Size(128, 256))
RUNS = (1, 8, 64, 256)


# --------------------------------------------------------------------------------------- FLOPs


def _mlp_dims(size: Size, player: str) -> list[int]:
    first, last = (LATENT, DATA_DIM) if player == "G" else (DATA_DIM, 1)
    return [first] + [size.width] * size.depth + [last]


def _dense_flops(dims, rows, *, forward=False, weight_grad=False, input_grad=False,
                 first_input_grad=False) -> int:
    total = 0
    for j, (i, o) in enumerate(zip(dims[:-1], dims[1:])):
        mm = 2 * rows * i * o
        total += mm * forward + mm * weight_grad
        total += mm * (input_grad and (j > 0 or first_input_grad))
    return total


def flops_per_run_step(size: Size, variant: str) -> int:
    """Matmul FLOPs of one generator step (with its one critic step) of one run; see module doc.

    Args:
      size: widths and batch.
      variant: ``"a"`` (DCGAN loop), ``"b"`` (stacked PyTorch), ``"c"`` (mcjax, ``reuse_fake``)
        or ``"c-fresh"`` (mcjax's default: a fresh batch for the generator step).
    """
    G, D, B = _mlp_dims(size, "G"), _mlp_dims(size, "D"), size.batch
    critic = (_dense_flops(G, B, forward=True)
              + _dense_flops(D, 2 * B, forward=True, weight_grad=True, input_grad=True))
    g_forward = _dense_flops(D, B, forward=True)
    g_backward_d = _dense_flops(D, B, input_grad=True, first_input_grad=True,
                                weight_grad=(variant == "a"))
    g_backward_g = _dense_flops(G, B, weight_grad=True, input_grad=True)
    g_extra = _dense_flops(G, B, forward=True) if variant == "c-fresh" else 0
    return critic + g_extra + g_forward + g_backward_d + g_backward_g


# ------------------------------------------------------------------------------- child helpers


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark of this process (Linux ``clear_refs``), if allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _vm_hwm_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _timed_blocks(run_block, budget_s: float, max_repeats: int) -> tuple[float, int]:
    """Best of up to ``max_repeats`` calls of ``run_block`` (stops once ``budget_s`` is spent)."""
    best, spent, n = math.inf, 0.0, 0
    while n < max_repeats and (n == 0 or spent + best <= budget_s):
        t0 = time.perf_counter()
        run_block()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best, n


# ---------------------------------------------------------------------- (a) PyTorch, run by run


def _torch_setup(threads: int) -> None:
    import torch

    if threads > 0:
        torch.set_num_threads(threads)


def torch_device(name: str = "auto") -> str:
    """``cuda`` when asked for or (``auto``) when PyTorch sees a GPU, else ``cpu``."""
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _torch_sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _torch_ring_means(device: str = "cpu"):
    import torch

    angles = 2 * math.pi * torch.arange(RING_MODES, dtype=torch.float32) / RING_MODES
    return RING_RADIUS * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).to(device)


def torch_single_run(size: Size, steps: int, seed: int, device: str = "cpu") -> float:
    """One GAN run, the way a PyTorch user writes it (standard DCGAN loop); returns last D loss."""
    import torch
    from torch import nn

    def mlp(n_in, n_out):
        layers, n = [], n_in
        for _ in range(size.depth):
            layers += [nn.Linear(n, size.width), nn.ReLU()]
            n = size.width
        return nn.Sequential(*layers, nn.Linear(n, n_out))

    torch.manual_seed(seed)
    means = _torch_ring_means(device)
    netG, netD = mlp(LATENT, DATA_DIM).to(device), mlp(DATA_DIM, 1).to(device)
    optG = torch.optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, BETA2))
    optD = torch.optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, BETA2))
    criterion = nn.BCEWithLogitsLoss()
    B = size.batch
    real_label, fake_label = torch.ones(B, 1, device=device), torch.zeros(B, 1, device=device)
    for _ in range(steps):
        real = (means[torch.randint(0, RING_MODES, (B,), device=device)]
                + RING_STD * torch.randn(B, DATA_DIM, device=device))
        fake = netG(torch.randn(B, LATENT, device=device))
        netD.zero_grad()
        errD = criterion(netD(real), real_label) + criterion(netD(fake.detach()), fake_label)
        errD.backward()
        optD.step()
        netG.zero_grad()
        errG = criterion(netD(fake), real_label)
        errG.backward()
        optG.step()
    return float(errD.item())


def _torch_device_peak_mib(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None


def _cell_torch_a(size: Size, runs: int, steps: int, a_max_runs: int, budget: float, repeats: int,
                  device: str, threads: int):
    import torch

    _torch_setup(threads)
    device = torch_device(device)
    torch_single_run(size, 5, seed=10**6, device=device)
    n = min(runs, a_max_runs)
    _reset_peak_rss()
    best, reps = _timed_blocks(lambda: [torch_single_run(size, steps, s, device) for s in range(n)],
                               budget, repeats)
    return dict(rate=n * steps / best, measured_runs=n, repeats=reps, block_s=best,
                threads=torch.get_num_threads(), device=device,
                device_peak_mib=_torch_device_peak_mib(device))


# ------------------------------------------------------------------------ (b) PyTorch, stacked


class StackedGAN:
    """``R`` independent GANs as stacked weights ``[R, in, out]``: same math as the DCGAN loop."""

    def __init__(self, size: Size, runs: int, seed: int = 0, device: str = "cpu"):
        import torch

        torch.manual_seed(seed)
        self.size, self.runs, self.device = size, runs, device
        self.means = _torch_ring_means(device)
        self.G = self._init(_mlp_dims(size, "G"))
        self.D = self._init(_mlp_dims(size, "D"))
        self.g_params = [p for layer in self.G for p in layer]
        self.d_params = [p for layer in self.D for p in layer]
        self.optG, self.fused = self._adam(self.g_params)
        self.optD, _ = self._adam(self.d_params)

    def _init(self, dims):
        import torch

        layers = []
        for i, o in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(i)  # nn.Linear's default init, per run
            W = torch.empty(self.runs, i, o, device=self.device).uniform_(-bound, bound)
            b = torch.empty(self.runs, 1, o, device=self.device).uniform_(-bound, bound)
            W.requires_grad_()
            b.requires_grad_()
            layers.append((W, b))
        return layers

    @staticmethod
    def _adam(params):
        import torch

        try:
            return torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), fused=True), True
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), foreach=True), False

    @staticmethod
    def forward(layers, x):
        import torch

        for j, (W, b) in enumerate(layers):
            x = torch.baddbmm(b, x, W)
            if j < len(layers) - 1:
                x = torch.relu(x)
        return x

    @staticmethod
    def _apply(opt, params, grads):
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()

    def step(self) -> None:
        import torch

        R, B, dev = self.runs, self.size.batch, self.device
        real = (self.means[torch.randint(0, RING_MODES, (R, B), device=dev)]
                + RING_STD * torch.randn(R, B, DATA_DIM, device=dev))
        self.update(real, torch.randn(R, B, LATENT, device=dev))

    def update(self, real, z) -> None:
        """One critic and one generator update on real ``[R, B, 2]`` and latent ``[R, B, 16]``."""
        import torch
        import torch.nn.functional as F

        B = self.size.batch
        fake = self.forward(self.G, z)
        logits = self.forward(self.D, torch.cat([real, fake.detach()], dim=1))
        # Sum over runs of each run's mean BCE: every run's gradient is its own.
        errD = (F.softplus(-logits[:, :B]).sum() + F.softplus(logits[:, B:]).sum()) / B
        self._apply(self.optD, self.d_params, torch.autograd.grad(errD, self.d_params))
        errG = F.softplus(-self.forward(self.D, fake)).sum() / B
        self._apply(self.optG, self.g_params, torch.autograd.grad(errG, self.g_params))
        self.last = errD

    def train(self, steps: int) -> float:
        for _ in range(steps):
            self.step()
        return float(self.last.item())


def _cell_torch_b(size: Size, runs: int, steps: int, budget: float, repeats: int, device: str,
                  threads: int):
    import torch

    _torch_setup(threads)
    device = torch_device(device)
    gan = StackedGAN(size, runs, device=device)
    gan.train(5)
    _reset_peak_rss()
    best, reps = _timed_blocks(lambda: gan.train(steps), budget, repeats)
    return dict(rate=runs * steps / best, measured_runs=runs,
                repeats=reps, block_s=best,
                adam="fused" if gan.fused else "foreach", threads=torch.get_num_threads(),
                device=device, device_peak_mib=_torch_device_peak_mib(device))


# --------------------------------------------------------------------------------- (c) mcjax


def mcjax_config(size: Size, steps: int, fresh_fake: bool = False):
    from mcjax.config import Config

    return Config(target="ring", target_params=(("n_modes", RING_MODES), ("radius", RING_RADIUS),
                                                ("std", RING_STD)),
                  latent_dim=LATENT, width=size.width, depth=size.depth, activation="relu",
                  batch_size=size.batch, steps=steps, n_critic=1, loss="non-saturating",
                  optimizer="adam", log_every=steps, eval_samples=EVAL_SAMPLES,
                  keep_samples=EVAL_SAMPLES, reuse_fake=not fresh_fake)


def _mcjax_inputs(runs: int):
    """Per-run hyperparameters ``[R]`` and seeds ``0..R-1``, as ``run_sweep`` passes them."""
    import jax.numpy as jnp

    from mcjax.config import make_hparams

    hp = make_hparams(lr_g=LR, lr_d=LR, beta1=BETA1, beta2=BETA2)
    hp = type(hp)(*(jnp.full((runs,), v, jnp.float32) for v in hp))
    return hp, jnp.arange(runs, dtype=jnp.uint32)


def _sharded_inputs(runs: int):
    """``run_sweep``'s placement: runs padded to the device count, sharded over a 1-D mesh."""
    from mcjax.scale import padded_runs, place_runs, run_mesh

    mesh = run_mesh()
    hp, seeds = _mcjax_inputs(runs)
    place = lambda a: place_runs(a, mesh)
    return mesh, padded_runs(runs, mesh), type(hp)(*map(place, hp)), place(seeds)


def _cell_mcjax(size: Size, runs: int, steps: int, budget: float, repeats: int,
                fresh_fake: bool = False, cpu_devices: int | None = None):
    from mcjax.scale import use_cpu_cores

    use_cpu_cores(cpu_devices)  # what `mcjax sweep` does: one CPU device per core
    import jax

    from mcjax.sweep import compiled_programs

    cfg = mcjax_config(size, steps, fresh_fake)
    mesh, n_pad, hp, seeds = _sharded_inputs(runs)
    t0 = time.perf_counter()
    init, advance = compiled_programs(cfg, n_pad, 1, mesh)[:2]
    compile_s = time.perf_counter() - t0
    compile_peak = _peak_rss_mib()
    box = [jax.block_until_ready(init(hp, seeds))]

    def block():
        box[0], hist = advance(hp, box[0])  # advance donates the state
        jax.block_until_ready((box[0], hist))

    block()  # the first call is left out
    _reset_peak_rss()
    best, reps = _timed_blocks(block, budget, repeats)
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return dict(rate=runs * steps / best, measured_runs=runs, padded_runs=n_pad,
                devices=jax.device_count(), repeats=reps, block_s=best,
                compile_s=compile_s, compile_peak_rss_mib=compile_peak,
                diverged=int(jax.device_get(box[0].diverged).sum()),
                device=str(jax.devices()[0].device_kind),
                device_peak_mib=peak / 2**20 if peak else None)


def _cell_compile_probe(size: Size, runs: int, steps: int, cache_dir: str,
                        fresh_fake: bool = False, cpu_devices: int | None = None):
    from mcjax.scale import use_cpu_cores

    use_cpu_cores(cpu_devices)
    import jax

    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    from jax import monitoring

    from mcjax.sweep import compiled_programs

    phases: dict[str, float] = {}
    counts: dict[str, int] = {}
    monitoring.register_event_duration_secs_listener(
        lambda event, secs, **_: phases.__setitem__(event, phases.get(event, 0.0) + secs))
    monitoring.register_event_listener(
        lambda event, **_: counts.__setitem__(event, counts.get(event, 0) + 1))
    t0 = time.perf_counter()
    mesh, n_pad, _, _ = _sharded_inputs(runs)
    compiled_programs(mcjax_config(size, steps, fresh_fake), n_pad, 1, mesh)
    return dict(compile_s=time.perf_counter() - t0, phases_s=phases, events=counts)


# ------------------------------------------------------------------------------ matmul rates


def _best_time(fn, repeats=3) -> float:
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _cell_matmul(sizes: list[Size], runs: list[int], big: int, target_s: float, device: str,
                 threads: int, cpu_devices: int | None = None):
    """Float32 matmul rates (GFLOP/s): one big ``jnp.dot``; batched at the GAN's shapes (jax on one
    device and sharded over one device per core, as mcjax runs; torch)."""
    from mcjax.scale import pad_runs, padded_runs, run_mesh, run_sharding, use_cpu_cores

    use_cpu_cores(cpu_devices)
    import jax
    import jax.numpy as jnp
    import numpy as np

    a = jax.random.normal(jax.random.key(0), (big, big), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (big, big), jnp.float32)
    dot = jax.jit(jnp.dot)
    t = _best_time(lambda: dot(a, b).block_until_ready())
    out = dict(big_n=big, big_gflops=2 * big**3 / t / 1e9, batched={}, devices=jax.device_count())
    mesh = run_mesh()
    sharded_chain = jax.jit(lambda x, W, n: jax.lax.fori_loop(0, n, lambda _, h: bmm(h, W), x),
                            in_shardings=(run_sharding(mesh), run_sharding(mesh), None),
                            out_shardings=run_sharding(mesh))

    bmm = jax.vmap(jnp.matmul)

    @jax.jit
    def chain(x, W, n):
        return jax.lax.fori_loop(0, n, lambda _, h: bmm(h, W), x)

    import torch

    _torch_setup(threads)
    device = torch_device(device)
    out["torch_device"], out["jax_device"] = device, str(jax.devices()[0].device_kind)
    for size in sizes:
        for R in runs:
            w, B = size.width, size.batch
            flops = 2 * R * B * w * w
            n = max(4, int(target_s * 20e9 / flops))  # about target_s seconds at 20 GFLOP/s
            rng = np.random.default_rng(0)
            # Orthogonal W keeps the chained activations' scale: no overflow, no denormals.
            q = np.linalg.qr(rng.standard_normal((R, w, w)))[0].astype(np.float32)
            x0 = rng.standard_normal((R, B, w)).astype(np.float32)
            W, x = jnp.asarray(q), jnp.asarray(x0)
            tj = _best_time(lambda: chain(x, W, n).block_until_ready())
            Rp = padded_runs(R, mesh)
            xs = jax.device_put(pad_runs(x0, Rp), run_sharding(mesh))
            Ws = jax.device_put(pad_runs(q, Rp), run_sharding(mesh))
            ts = _best_time(lambda: sharded_chain(xs, Ws, n).block_until_ready())
            Wt, xt = torch.from_numpy(q).to(device), torch.from_numpy(x0).to(device)

            def torch_chain():
                h = xt
                for _ in range(n):
                    h = torch.bmm(h, Wt)
                _torch_sync(device)
                return h

            tt = _best_time(torch_chain)
            out["batched"][f"{size.label}|{R}"] = dict(
                jax_gflops=n * flops / tj / 1e9, torch_gflops=n * flops / tt / 1e9, chain=n,
                jax_sharded_gflops=n * flops * Rp / R / ts / 1e9, sharded_runs=Rp)
    return out


def _cell_idle(framework: str):
    if framework == "torch":
        import torch

        torch.ones(4).sum()
    else:
        import jax.numpy as jnp

        import mcjax  # noqa: F401

        jnp.ones(4).sum().block_until_ready()
    return {}


# ---------------------------------------------------------------------------------- orchestration


def _cpu_jiffies() -> tuple[int, int] | None:
    """``(idle, total)`` jiffies of all CPUs since boot, from /proc/stat (None if unavailable)."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        return vals[3] + vals[4], sum(vals)
    except (OSError, ValueError, IndexError):
        return None


def _cpu_busy(interval: float = 1.0) -> float:
    """Share of all CPUs busy over ``interval`` seconds; -1 if unknown."""
    a = _cpu_jiffies()
    time.sleep(interval)
    b = _cpu_jiffies()
    if a is None or b is None:
        return -1.0
    return 1.0 - (b[0] - a[0]) / max(b[1] - a[1], 1)


def _wait_idle(max_wait_s: float, threshold: float = 0.15) -> float:
    """Waits (up to ``max_wait_s``) for the CPUs to be idle; returns the last busy share seen."""
    busy = _cpu_busy()
    t0 = time.monotonic()
    while busy > threshold and time.monotonic() - t0 < max_wait_s:
        time.sleep(4.0)
        busy = _cpu_busy()
    return busy


def run_cell(kind: str, args: argparse.Namespace, **spec: Any) -> dict:
    """Runs one measurement in a fresh child process; returns its result dict."""
    busy = _wait_idle(args.wait_idle)
    import resource

    payload = json.dumps(dict(kind=kind, **spec))
    cpu0, ru0 = _cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_cell", payload],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu1, ru1 = _cpu_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
    others = -1.0
    if cpu0 and cpu1:  # CPU time used by other processes while the cell ran, share of the machine
        child = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) * os.sysconf("SC_CLK_TCK")
        total = max(cpu1[1] - cpu0[1], 1)
        others = max(0.0, (total - (cpu1[0] - cpu0[0]) - child) / total)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT)]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"benchmark cell {payload} failed (exit {proc.returncode})")
    result = json.loads(lines[-1][len(_RESULT):])
    result.update(cpu_busy_before=busy, others_cpu_share=others, wall_s=wall)
    return result


def _child(payload: str) -> None:
    spec = json.loads(payload)
    kind = spec.pop("kind")
    if "size" in spec:
        spec["size"] = Size(*spec["size"])
    if "sizes" in spec:
        spec["sizes"] = [Size(*s) for s in spec["sizes"]]
    fn = dict(a=_cell_torch_a, b=_cell_torch_b, c=_cell_mcjax, probe=_cell_compile_probe,
              matmul=_cell_matmul, idle=_cell_idle)[kind]
    t_cpu0 = time.process_time()
    result = fn(**spec)
    result.update(peak_rss_mib=_peak_rss_mib(), timed_peak_rss_mib=_vm_hwm_mib(),
                  cpu_s=time.process_time() - t_cpu0)
    print(_RESULT + json.dumps(result), flush=True)


def _machine() -> dict:
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for mod in ("torch", "jax", "jaxlib", "flax", "optax"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[mod] = None
    from importlib.util import find_spec

    spec = find_spec("mcjax")
    where = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else None
    commit = None
    if where:
        git = lambda *a: subprocess.run(["git", "-C", where, *a], capture_output=True,
                                        text=True).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD") or None
        if commit and git("status", "--porcelain", "mcjax"):
            commit += " (mcjax/ modified)"
    return dict(cpu=model, cores=os.cpu_count(), python=platform.python_version(),
                versions=versions, mcjax_path=where, mcjax_commit=commit)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    line = lambda cells: " | ".join(c.rjust(w) for c, w in zip(cells, widths))
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def report(res: dict) -> str:
    """The printed tables (markdown-compatible) from a results dict."""
    cells, mm = res["cells"], res["matmul"]
    out = []
    rows = []
    for c in cells:
        a, b, m = c["a"], c["b"], c["c"]
        star = "*" if a["measured_runs"] < c["runs"] else ""
        rows.append([c["size"], str(c["runs"]), _fmt(a["rate"]) + star, _fmt(b["rate"]),
                     _fmt(m["rate"]), f"{m['rate'] / a['rate']:.1f}", f"{m['rate'] / b['rate']:.2f}",
                     f"{m['compile_s']:.1f}",
                     f"{a['peak_rss_mib']:.0f} / {b['peak_rss_mib']:.0f} / {m['peak_rss_mib']:.0f}",
                     f"{100 * max(x.get('others_cpu_share', 0) for x in (a, b, m)):.0f}%"])
    out.append("Speed: run-steps/s (runs x generator steps per second; higher is better)")
    out.append(_table(["size", "R", "(a) torch 1-by-1", "(b) torch stacked", "(c) mcjax", "c/a",
                       "c/b", "compile s", "peak RSS MiB a / b / c", "others' CPU"], rows))
    if any(c["a"]["measured_runs"] < c["runs"] for c in cells):
        out.append("* (a) timed on fewer runs (run after run: the rate does not depend on R); "
                   "see measured_runs in the JSON")

    rows = []
    for c in cells:
        key = f"{c['size']}|{c['runs']}"
        flops = c["flops"]["c"]
        achieved = flops * c["c"]["rate"] / 1e9
        batched = mm["batched"][key]
        jax_best = max(batched["jax_gflops"], batched.get("jax_sharded_gflops", 0.0))
        rows.append([c["size"], str(c["runs"]), f"{flops / 1e6:.2f}", f"{achieved:.1f}",
                     f"{c['flops']['b'] * c['b']['rate'] / 1e9:.1f}",
                     f"{batched['jax_gflops']:.1f}",
                     f"{batched.get('jax_sharded_gflops', float('nan')):.1f}",
                     f"{batched['torch_gflops']:.1f}",
                     f"{100 * achieved / mm['big_gflops']:.0f}%",
                     f"{100 * achieved / jax_best:.0f}%",
                     f"{100 * achieved / batched['torch_gflops']:.0f}%"])
    out.append("")
    out.append(f"Utilization (float32; big matmul {mm['big_n']}^3 with jnp.dot: "
               f"{mm['big_gflops']:.1f} GFLOP/s)")
    out.append(_table(["size", "R", "MFLOP/run-step (c)", "(c) GFLOP/s", "(b) GFLOP/s",
                       "bmm jax 1 dev", f"bmm jax {mm.get('devices', 1)} dev", "bmm torch",
                       "(c) / big", "(c) / best bmm jax", "(c) / bmm torch"], rows))
    out.append("bmm columns: GFLOP/s of chained [R, B, w] x [R, w, w] products; jax on one device, and "
               "sharded over the run axis on one CPU device per core as mcjax runs (R padded to "
               "the device count).")

    if res.get("cache"):
        out.append("")
        out.append("Compile seconds with the persistent compilation cache (fresh cache dir; "
                   "one child process each)")
        phase = lambda p, name: p["warm"]["phases_s"].get(f"/jax/core/compile/{name}_duration", 0.0)
        out.append(_table(
            ["size", "R", "1st invocation", "2nd invocation", "2nd: trace", "2nd: to MLIR",
             "2nd: backend/cache", "2nd: cache hits"],
            [[p["size"], str(p["runs"]), f"{p['cold_s']:.2f}", f"{p['warm_s']:.2f}",
              f"{phase(p, 'jaxpr_trace'):.2f}", f"{phase(p, 'jaxpr_to_mlir_module'):.2f}",
              f"{phase(p, 'backend_compile'):.2f}",
              str(p["warm"]["events"].get("/jax/compilation_cache/cache_hits", 0))]
             for p in res["cache"]]))
    if res.get("targets"):
        out.append("")
        out.append("Issue-5 targets")
        out.append(_table(["target", "measured", "met"],
                          [[t["name"], t["measured"], "yes" if t["met"] else "NO"]
                           for t in res["targets"]]))
    idle = res.get("idle", {})
    busy = max((c[v].get("others_cpu_share", 0) for c in cells for v in "abc"), default=0)
    out.append("")
    out.append(f"Peak RSS: resource.getrusage(RUSAGE_SELF).ru_maxrss of each cell's own child process "
               f"(whole process, mcjax's includes compilation); an idle child is "
               f"{idle.get('torch', 0):.0f} MiB (torch) / {idle.get('jax', 0):.0f} MiB (jax + mcjax). "
               f"Others' CPU: share of the machine's CPU time used by other processes while the row's cells "
               f"ran; at most {100 * busy:.0f}%"
               f"{' (the machine was shared: treat the numbers with care)' if busy > 0.1 else ''}.")
    return "\n".join(out)


def _targets(res: dict) -> list[dict]:
    by = {(c["size"], c["runs"]): c for c in res["cells"]}
    found = []

    def add(name, value, goal, fmt):
        found.append(dict(name=name, measured=fmt.format(value), met=bool(value >= goal)))

    small, large = by.get(("3x32/b64", 64)), by.get(("3x128/b256", 64))
    if small:
        add("3x32/b64 R=64: c/a >= 30", small["c"]["rate"] / small["a"]["rate"], 30, "{:.1f}x")
        add("3x32/b64 R=64: c/b >= 1.5", small["c"]["rate"] / small["b"]["rate"], 1.5, "{:.2f}x")
    if large:
        add("3x128/b256 R=64: c/a >= 3", large["c"]["rate"] / large["a"]["rate"], 3, "{:.1f}x")
        add("3x128/b256 R=64: c/b >= 1.2", large["c"]["rate"] / large["b"]["rate"], 1.2, "{:.2f}x")
        achieved = large["flops"]["c"] * large["c"]["rate"] / 1e9
        batched = res["matmul"]["batched"]["3x128/b256|64"]
        bmm_rates = dict(jax=max(batched["jax_gflops"], batched.get("jax_sharded_gflops", 0.0)),
                         torch=batched["torch_gflops"])
        for lib, bmm in bmm_rates.items():
            add(f"3x128/b256 R=64: >= 85% of {lib} bmm rate", achieved / bmm, 0.85, "{:.0%}")
    for p in res.get("cache", []):
        found.append(dict(name=f"{p['size']} R={p['runs']}: 2nd compile < 1 s",
                          measured=f"{p['warm_s']:.2f} s", met=bool(p["warm_s"] < 1.0)))
    return found


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200, help="generator steps per timed block (200)")
    p.add_argument("--runs", type=int, nargs="+", help="R values (1 8 64 256; --quick: 1 4)")
    p.add_argument("--sizes", nargs="+", default=[f"{s.width}/{s.batch}" for s in SIZES],
                   help="WIDTH/BATCH pairs, 3 hidden layers each (32/64 128/256)")
    p.add_argument("--a-max-runs", type=int, default=8,
                   help="(a) times at most this many runs; larger R is extrapolated (8)")
    p.add_argument("--repeats", type=int, default=3, help="timed blocks per cell at most (3)")
    p.add_argument("--block-budget", type=float, default=20.0,
                   help="stop repeating once a cell's timed blocks add up to this many s (20)")
    p.add_argument("--big-matmul", type=int, default=2048, help="side of the big matmul (2048)")
    p.add_argument("--no-cache-probe", action="store_true", help="skip the compile-cache probe")
    p.add_argument("--cache-dir", help="persistent-cache dir for the probe (default: a fresh temp dir)")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each cell wait up to this many s for other processes to leave "
                   "the CPUs idle (0: do not wait)")
    p.add_argument("--torch-device", default="auto",
                   help="device of (a) and (b): auto (cuda when PyTorch sees one), cpu, cuda")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch.set_num_threads for (a), (b) and torch's bmm (0: PyTorch's default)")
    p.add_argument("--fresh-fake", action="store_true",
                   help="time mcjax's default update (a fresh batch for the generator step) instead "
                   "of the DCGAN loop's shared batch (Config.reuse_fake)")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="CPU devices for mcjax (default: one per core, as `mcjax sweep`; 0: JAX's "
                   "default single device)")
    p.add_argument("--quick", action="store_true", help="smoke run: 20 steps, R in {1, 4}")
    p.add_argument("--out", help="also save the results (and tables) as JSON here")
    p.add_argument("--report", metavar="JSON", help="only print the tables of a saved --out file")
    p.add_argument("--_cell", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._cell:
        _child(args._cell)
        return {}
    if args.report:
        with open(args.report) as f:
            res = json.load(f)
        res["targets"] = _targets(res)
        print(report(res))
        return res
    if args.quick:
        args.steps, args.a_max_runs, args.repeats, args.big_matmul = 20, 2, 1, 512
    args.runs = args.runs or ([1, 4] if args.quick else list(RUNS))
    sizes = []
    for s in args.sizes:
        w, b = s.split("/")
        sizes.append(Size(int(w), int(b)))

    res: dict[str, Any] = dict(machine=_machine(), command=" ".join([sys.argv[0]] + (argv or sys.argv[1:])),
                               args={k: v for k, v in vars(args).items() if k != "_cell"},
                               cells=[])
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    say(f"machine: {res['machine']}")
    res["idle"] = {fw: run_cell("idle", args, framework=fw)["peak_rss_mib"] for fw in ("torch", "jax")}
    say("matmul rates ...")
    res["matmul"] = run_cell("matmul", args, sizes=sizes, runs=args.runs, big=args.big_matmul,
                             target_s=0.05 if args.quick else 0.3, device=args.torch_device,
                             threads=args.torch_threads, cpu_devices=args.cpu_devices)
    common = dict(steps=args.steps, budget=args.block_budget, repeats=args.repeats)
    for size in sizes:
        for R in args.runs:
            cell = dict(size=size.label, runs=R, steps=args.steps,
                        flops={v: flops_per_run_step(size, v) for v in ("a", "b", "c-fresh" if
                                                                        args.fresh_fake else "c")})
            cell["flops"]["c"] = cell["flops"].pop("c-fresh", cell["flops"].get("c"))
            cell["a"] = run_cell("a", args, size=size, runs=R, a_max_runs=args.a_max_runs,
                                 device=args.torch_device, threads=args.torch_threads, **common)
            cell["b"] = run_cell("b", args, size=size, runs=R, device=args.torch_device,
                                 threads=args.torch_threads, **common)
            cell["c"] = run_cell("c", args, size=size, runs=R, fresh_fake=args.fresh_fake,
                                 cpu_devices=args.cpu_devices, **common)
            say(f"{size.label} R={R}: a {cell['a']['rate']:.0f}  b {cell['b']['rate']:.0f}  "
                f"c {cell['c']['rate']:.0f} run-steps/s (compile {cell['c']['compile_s']:.1f} s)")
            res["cells"].append(cell)

    if not args.no_cache_probe:
        res["cache"] = []
        probe_runs = 64 if 64 in args.runs else args.runs[-1]
        for size in (sizes[:1] if args.quick else sizes):
            with tempfile.TemporaryDirectory(prefix="mcjax-jax-cache-") as tmp:
                cache_dir = args.cache_dir or tmp
                cold, warm = (run_cell("probe", args, size=size, runs=probe_runs, steps=args.steps,
                                       fresh_fake=args.fresh_fake, cpu_devices=args.cpu_devices,
                                       cache_dir=os.path.join(cache_dir, size.label.replace("/", "_")))
                              for _ in range(2))
            res["cache"].append(dict(size=size.label, runs=probe_runs, cold_s=cold["compile_s"],
                                     warm_s=warm["compile_s"], cold=cold, warm=warm))
            say(f"compile cache {size.label}: {cold['compile_s']:.2f} s -> {warm['compile_s']:.2f} s")

    res["targets"] = _targets(res)
    res["table"] = report(res)
    print(res["table"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    from importlib.util import find_spec

    if find_spec("mcjax") is None:  # run from a checkout without installing
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
