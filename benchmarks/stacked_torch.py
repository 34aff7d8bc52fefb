"""The PyTorch side of ``python -m benchmarks stacked``: mcjax's DCGAN in PyTorch, trained (a) run
after run as a PyTorch user writes it and (b) with the runs stacked by ``torch.func``.

Same layers and parameter counts as ``mcjax.systems.gan.convnets`` (``tests/test_bench_stacked.py``
checks them), NCHW, batch normalisation with the batch's statistics and no running averages,
non-saturating loss, Adam for both players, one critic step per generator step, real batches of
three independent training digits drawn on the device inside the loop. ``torch`` is imported only
inside the functions, so that ``benchmarks.stacked`` imports without it.
"""
from __future__ import annotations

import copy
import functools
import math
import time
from typing import NamedTuple

from benchmarks.harness import reset_peak_rss, timed_blocks
from benchmarks.spec import BETA1, BETA2, LATENT, LR

# target: (digit source of mcjax.targets.digits.load_digits, image shape H, W, C)
TARGETS = {"stacked-mnist": ("mnist", (28, 28, 3)), "stacked-digits": ("digits", (8, 8, 3))}
WARMUP_STEPS = 2


class ConvSize(NamedTuple):
    """One DCGAN setting: channel width ``w``, batch and image target."""

    width: int
    batch: int
    target: str = "stacked-digits"

    @property
    def image(self) -> tuple:
        return TARGETS[self.target][1]

    @property
    def label(self) -> str:
        return f"w{self.width}/b{self.batch}"


@functools.lru_cache(maxsize=None)
def _torch_modules():
    """The generator's class, defined once (``torch`` is imported only in the cells)."""
    import torch
    from torch import nn

    class TorchGenerator(nn.Module):
        """mcjax's ``DCGANGenerator`` in PyTorch (NCHW): same layers, same parameter count."""

        def __init__(self, width: int, image: tuple):
            super().__init__()
            H, W, C = image
            self.shape = (2 * width, H // 4, W // 4)
            n = math.prod(self.shape)
            self.project = nn.Linear(LATENT, n)
            self.bn0 = nn.BatchNorm1d(n, track_running_stats=False)
            self.up1 = nn.ConvTranspose2d(2 * width, width, 5, stride=2, padding=2, output_padding=1)
            self.bn1 = nn.BatchNorm2d(width, track_running_stats=False)
            self.up2 = nn.ConvTranspose2d(width, C, 5, stride=2, padding=2, output_padding=1)

        def forward(self, z):
            x = torch.relu(self.bn0(self.project(z))).reshape(z.shape[0], *self.shape)
            x = torch.relu(self.bn1(self.up1(x)))
            return torch.tanh(self.up2(x))

    return TorchGenerator


def torch_generator(width: int, image: tuple = TARGETS["stacked-digits"][1]):
    """The generator as a PyTorch module (batch normalisation without running averages)."""
    return _torch_modules()(width, image)


def torch_critic(width: int, image: tuple = TARGETS["stacked-digits"][1]):
    """mcjax's ``DCGANCritic`` in PyTorch: ``[n, C, H, W] -> [n, 1]`` logits."""
    from torch import nn

    H, W, C = image
    return nn.Sequential(nn.Conv2d(C, width, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
                         nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(2 * width * (H // 4) * (W // 4), 1))


def torch_digits(device: str, target: str = "stacked-digits"):
    """The target's training digits ``[n, H, W]`` in [-1, 1] as a tensor on ``device``."""
    import torch

    from mcjax.targets.digits import load_digits

    return torch.tensor(load_digits(TARGETS[target][0]).train_x, device=device)


def real_batch(images, shape: tuple):
    """``shape + (3, H, W)`` real images: three independent training digits as the channels."""
    import torch

    return images[torch.randint(0, images.shape[0], (*shape, 3), device=images.device)]


def torch_single_run(size: ConvSize, steps: int, seed: int, images) -> float:
    """One DCGAN run, the standard PyTorch loop; returns the last critic loss."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    dev, B = images.device, size.batch
    netG = torch_generator(size.width, size.image).to(dev)
    netD = torch_critic(size.width, size.image).to(dev)
    optG = torch.optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, BETA2))
    optD = torch.optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, BETA2))
    criterion = nn.BCEWithLogitsLoss()
    real_label, fake_label = torch.ones(B, 1, device=dev), torch.zeros(B, 1, device=dev)
    for _ in range(steps):
        real = real_batch(images, (B,))
        fake = netG(torch.randn(B, LATENT, device=dev))
        netD.zero_grad()
        errD = criterion(netD(real), real_label) + criterion(netD(fake.detach()), fake_label)
        errD.backward()
        optD.step()
        netG.zero_grad()
        errG = criterion(netD(fake), real_label)
        errG.backward()
        optG.step()
    return float(errD.item())


class FuncStackedDCGAN:
    """``R`` DCGANs stacked by ``torch.func`` (``stack_module_state``, ``functional_call``,
    ``torch.vmap``): the DCGAN loop of :func:`torch_single_run` on all runs at once."""

    def __init__(self, size: ConvSize, runs: int, images, seed: int = 0):
        import torch
        from torch.func import functional_call, stack_module_state

        torch.manual_seed(seed)
        self.size, self.runs, self.images, dev = size, runs, images, images.device
        gens = [torch_generator(size.width, size.image).to(dev) for _ in range(runs)]
        crits = [torch_critic(size.width, size.image).to(dev) for _ in range(runs)]
        self.pg, _ = stack_module_state(gens)
        self.pd, _ = stack_module_state(crits)
        base_g, base_d = copy.deepcopy(gens[0]).to("meta"), copy.deepcopy(crits[0]).to("meta")
        self.G = torch.vmap(lambda p, z: functional_call(base_g, p, (z,)))
        self.D = torch.vmap(lambda p, x: functional_call(base_d, p, (x,)))
        self.g_params, self.d_params = list(self.pg.values()), list(self.pd.values())
        self.optG, self.fused = self._adam(self.g_params)
        self.optD, _ = self._adam(self.d_params)

    @staticmethod
    def _adam(params):
        import torch

        try:
            return torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), fused=True), True
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), foreach=True), False

    @staticmethod
    def _apply(opt, params, grads):
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()

    def step(self):
        """One critic and one generator update of every run; returns the critic loss (summed)."""
        import torch
        import torch.nn.functional as F

        R, B = self.runs, self.size.batch
        real = real_batch(self.images, (R, B))
        fake = self.G(self.pg, torch.randn(R, B, LATENT, device=self.images.device))
        logits = self.D(self.pd, torch.cat([real, fake.detach()], dim=1))
        # the sum over runs of each run's mean loss: every run's gradient is its own
        errD = (F.softplus(-logits[:, :B]).sum() + F.softplus(logits[:, B:]).sum()) / B
        self._apply(self.optD, self.d_params, torch.autograd.grad(errD, self.d_params))
        errG = F.softplus(-self.D(self.pd, fake)).sum() / B
        self._apply(self.optG, self.g_params, torch.autograd.grad(errG, self.g_params))
        return errD

    def train(self, steps: int) -> float:
        for _ in range(steps):
            last = self.step()
        return float(last.item())


def _torch_cell(block, runs: int, steps: int, budget: float, repeats: int, warmup_s: float) -> dict:
    import torch

    reset_peak_rss()
    best, reps = timed_blocks(block, budget, repeats)
    return dict(rate=runs * steps / best, measured_runs=runs, repeats=reps, block_s=best,
                warmup_s=warmup_s, threads=torch.get_num_threads(), compile_s=None)


def cell_torch_single(width: int, batch: int, runs: int, steps: int, a_max_runs: int, budget: float,
                      repeats: int, device: str, threads: int, target: str = "stacked-digits") -> dict:
    """(a): at most ``a_max_runs`` runs one after another (its rate does not depend on ``runs``)."""
    from benchmarks.torch_baselines import torch_setup

    device = torch_setup(threads, device)
    size, images = ConvSize(width, batch, target), torch_digits(device, target)
    t0 = time.perf_counter()
    torch_single_run(size, WARMUP_STEPS, seed=10**6, images=images)
    warmup_s = time.perf_counter() - t0
    n = min(runs, a_max_runs)
    losses = []
    block = lambda: losses.extend(torch_single_run(size, steps, s, images) for s in range(n))
    return dict(_torch_cell(block, n, steps, budget, repeats, warmup_s), device=device,
                finite=all(map(math.isfinite, losses)))


def cell_torch_stacked(width: int, batch: int, runs: int, steps: int, budget: float, repeats: int,
                       device: str, threads: int, target: str = "stacked-digits") -> dict:
    """(b): the ``runs`` runs stacked by ``torch.func``, ``steps`` steps per timed block."""
    from benchmarks.torch_baselines import torch_setup

    device = torch_setup(threads, device)
    gan = FuncStackedDCGAN(ConvSize(width, batch, target), runs, torch_digits(device, target))
    t0 = time.perf_counter()
    losses = [gan.train(WARMUP_STEPS)]
    warmup_s = time.perf_counter() - t0
    result = _torch_cell(lambda: losses.append(gan.train(steps)), runs, steps, budget, repeats,
                         warmup_s)
    return dict(result, device=device, adam="fused" if gan.fused else "foreach",
                finite=all(map(math.isfinite, losses)))
