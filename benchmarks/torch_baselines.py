"""The PyTorch peers: (a) one run after another, (b) the runs stacked into batched weights.

Same GAN as mcjax's (``benchmarks.spec``): MLP generator and critic, the 8-mode ring, the
non-saturating loss, Adam for both players, one critic step per generator step.

* **(a) one run after another**, written as a PyTorch user writes it: ``nn.Sequential`` MLPs,
  ``torch.optim.Adam`` (its CPU default), ``nn.BCEWithLogitsLoss``, and the standard DCGAN loop:
  one fake batch per step, used detached for the critic step and again, through the updated
  critic, for the generator step (``errG.backward()`` also fills the critic's weight gradients,
  which the next ``zero_grad`` throws away).
* **(b) runs stacked**: every weight gets a leading run axis ``[R, in, out]``, layers are
  ``torch.baddbmm``, one critic forward on the real and fake batches concatenated, gradients by
  ``torch.autograd.grad`` for exactly the parameters updated (so no critic weight gradients in the
  generator step), and ``torch.optim.Adam(fused=True)`` over the stacked tensors (``foreach`` when
  fused is unavailable). Same math as (a); the strongest plain-PyTorch peer we could write.

PyTorch is the ``bench`` extra (``pip install ".[bench]"``), never a dependency of mcjax: it is
imported inside these functions only, in the cells' child processes.
"""
from __future__ import annotations

import math
from typing import Callable

from benchmarks.flops import mlp_dims
from benchmarks.harness import reset_peak_rss, timed_blocks
from benchmarks.spec import BETA1, BETA2, DATA_DIM, LATENT, LR, RING_MODES, RING_RADIUS, RING_STD, Size


def torch_setup(threads: int, device: str = "auto") -> str:
    """Sets PyTorch's thread count (``0``: its default) and resolves ``device``: ``cuda`` when asked
    for or (``auto``) when PyTorch sees a GPU, else ``cpu``."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def torch_sync(device: str) -> None:
    """Waits for the GPU's queued work (nothing on a CPU)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _ring_means(device: str = "cpu"):
    import torch

    angles = 2 * math.pi * torch.arange(RING_MODES, dtype=torch.float32) / RING_MODES
    return RING_RADIUS * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).to(device)


def _ring_batch(means, shape: tuple, device: str):
    """Real samples of the ring, ``shape + (2,)``."""
    import torch

    return (means[torch.randint(0, RING_MODES, shape, device=device)]
            + RING_STD * torch.randn(*shape, DATA_DIM, device=device))


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
    means = _ring_means(device)
    netG, netD = mlp(LATENT, DATA_DIM).to(device), mlp(DATA_DIM, 1).to(device)
    optG = torch.optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, BETA2))
    optD = torch.optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, BETA2))
    criterion = nn.BCEWithLogitsLoss()
    B = size.batch
    real_label, fake_label = torch.ones(B, 1, device=device), torch.zeros(B, 1, device=device)
    for _ in range(steps):
        real = _ring_batch(means, (B,), device)
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


class StackedGAN:
    """``R`` independent GANs as stacked weights ``[R, in, out]``: same math as the DCGAN loop."""

    def __init__(self, size: Size, runs: int, seed: int = 0, device: str = "cpu"):
        import torch

        torch.manual_seed(seed)
        self.size, self.runs, self.device = size, runs, device
        self.means = _ring_means(device)
        self.G = self._init(mlp_dims(size, "G"))
        self.D = self._init(mlp_dims(size, "D"))
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
            layers.append((W.requires_grad_(), b.requires_grad_()))
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
        self.update(_ring_batch(self.means, (R, B), dev), torch.randn(R, B, LATENT, device=dev))

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


def _timed(block: Callable[[], object], runs: int, steps: int, budget: float, repeats: int,
           device: str) -> dict:
    """Times ``block`` (``runs`` x ``steps`` run-steps, warmed up already): the cell's result."""
    import torch

    reset_peak_rss()
    best, reps = timed_blocks(block, budget, repeats)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    return dict(rate=runs * steps / best, measured_runs=runs, repeats=reps, block_s=best,
                threads=torch.get_num_threads(), device=device, device_peak_mib=peak)


def cell_single(size: Size, runs: int, steps: int, a_max_runs: int, budget: float, repeats: int,
                device: str, threads: int) -> dict:
    """(a): at most ``a_max_runs`` of the ``runs`` runs, one after another (the rate of run after
    run does not depend on ``runs``)."""
    device = torch_setup(threads, device)
    torch_single_run(size, 5, seed=10**6, device=device)
    n = min(runs, a_max_runs)
    return _timed(lambda: [torch_single_run(size, steps, s, device) for s in range(n)],
                  n, steps, budget, repeats, device)


def cell_stacked(size: Size, runs: int, steps: int, budget: float, repeats: int, device: str,
                 threads: int) -> dict:
    """(b): the ``runs`` runs stacked, ``steps`` steps per timed block."""
    device = torch_setup(threads, device)
    gan = StackedGAN(size, runs, device=device)
    gan.train(5)
    result = _timed(lambda: gan.train(steps), runs, steps, budget, repeats, device)
    return dict(result, adam="fused" if gan.fused else "foreach")
