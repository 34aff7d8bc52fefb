"""FLOP counts of one run-step, and the matmul rates that utilization is measured against.

FLOPs of one run-step (:func:`flops_per_run_step`): matmuls only. A dense layer on ``m`` rows from
``i`` to ``o`` units costs ``2 m i o`` forward; its backward costs ``2 m i o`` for the weight
gradient (when the weights are trained in that pass) plus ``2 m i o`` for the input gradient (when
something upstream needs it), i.e. "backward = 2x forward" except that the first layer's input
gradient is never needed. With ``F_G``, ``F_D`` the forward cost of a player on ``B`` rows, the
DCGAN loop (mcjax with ``reuse_fake``, as (b)) is::

    critic update     G forward (B), kept for the generator step      F_G
                      D forward on real and fake (2B)                 2 F_D
                      D backward, weight + input gradients (2B)       ~4 F_D
    generator update  D forward (B)                                   F_D
                      D backward, input gradients only (B)            F_D
                      G backward, weight + input gradients (B)        ~2 F_G
    total                                                             ~3 F_G + 8 F_D

(a) does ``3 F_G + 9 F_D`` (critic weight gradients in the generator step); mcjax's default update
(``mcjax sweep``, cell (c)) does ``4 F_G + 8 F_D`` (a second G forward on a fresh batch), besides
its evaluations (a G forward on ``eval_samples`` rows every ``log_every`` steps, not counted).
Biases, activations, losses, sampling, Adam and mcjax's finiteness checks are elementwise,
``O(B width + params)``, and not counted: they show up as lost utilization.

Utilization: achieved FLOP/s (count x run-steps/s) as a fraction of (i) the machine's float32
matmul rate on one large product (``--big-matmul``, ``jnp.dot``) and (ii) its batched-matmul rate
at the GAN's own hidden-layer shapes, ``jax.vmap(jnp.matmul)`` of ``[R, B, width] x [R, width,
width]`` chained in a ``fori_loop``, on one device and sharded over one CPU device per core as mcjax
runs; PyTorch's ``bmm`` at the same shapes for context (:func:`cell_matmul`, a child process).
"""
from __future__ import annotations

from benchmarks.harness import best_time, start_jax
from benchmarks.spec import DATA_DIM, LATENT, Size

VARIANTS = ("a", "b", "dcgan", "c")  # the DCGAN loop in torch (a, b) and mcjax (c'); mcjax sweep (c)


def mlp_dims(size: Size, player: str) -> list[int]:
    """Layer widths of the generator (``"G"``) or the critic (``"D"``)."""
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
      variant: ``"a"`` (DCGAN loop in PyTorch), ``"b"`` (stacked PyTorch), ``"dcgan"`` (mcjax with
        ``reuse_fake``, cell (c')) or ``"c"`` (mcjax's default: a fresh batch for the generator
        step, cell (c)).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    G, D, B = mlp_dims(size, "G"), mlp_dims(size, "D"), size.batch
    critic = (_dense_flops(G, B, forward=True)
              + _dense_flops(D, 2 * B, forward=True, weight_grad=True, input_grad=True))
    g_forward = _dense_flops(D, B, forward=True)
    g_backward_d = _dense_flops(D, B, input_grad=True, first_input_grad=True,
                                weight_grad=(variant == "a"))
    g_backward_g = _dense_flops(G, B, weight_grad=True, input_grad=True)
    g_extra = _dense_flops(G, B, forward=True) if variant == "c" else 0
    return critic + g_extra + g_forward + g_backward_d + g_backward_g


def _chains(mesh):
    """Jitted ``n`` chained batched matmuls ``h <- h @ W``: on the default device, and sharded."""
    import jax
    import jax.numpy as jnp

    from mcjax.core.sharding import run_sharding

    bmm = jax.vmap(jnp.matmul)
    chain = lambda x, W, n: jax.lax.fori_loop(0, n, lambda _, h: bmm(h, W), x)
    sharded = jax.jit(chain, in_shardings=(run_sharding(mesh), run_sharding(mesh), None),
                      out_shardings=run_sharding(mesh))
    return jax.jit(chain), sharded


def _bmm_rates(size: Size, runs: int, target_s: float, mesh, chains, torch_device: str) -> dict:
    """GFLOP/s of chained ``[R, B, w] x [R, w, w]`` products: jax, jax sharded, torch."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    from benchmarks.torch_baselines import torch_sync
    from mcjax.core.sharding import pad_runs, padded_runs, run_sharding

    w, B, R = size.width, size.batch, runs
    flops = 2 * R * B * w * w
    n = max(4, int(target_s * 20e9 / flops))  # about target_s seconds at 20 GFLOP/s
    rng = np.random.default_rng(0)
    # Orthogonal W keeps the chained activations' scale: no overflow, no denormals.
    q = np.linalg.qr(rng.standard_normal((R, w, w)))[0].astype(np.float32)
    x0 = rng.standard_normal((R, B, w)).astype(np.float32)
    chain, sharded_chain = chains
    W, x = jnp.asarray(q), jnp.asarray(x0)
    tj = best_time(lambda: chain(x, W, n).block_until_ready())
    Rp = padded_runs(R, mesh)
    xs = jax.device_put(pad_runs(x0, Rp), run_sharding(mesh))
    Ws = jax.device_put(pad_runs(q, Rp), run_sharding(mesh))
    ts = best_time(lambda: sharded_chain(xs, Ws, n).block_until_ready())
    Wt, xt = torch.from_numpy(q).to(torch_device), torch.from_numpy(x0).to(torch_device)

    def torch_chain():
        h = xt
        for _ in range(n):
            h = torch.bmm(h, Wt)
        torch_sync(torch_device)
        return h

    tt = best_time(torch_chain)
    return dict(jax_gflops=n * flops / tj / 1e9, torch_gflops=n * flops / tt / 1e9, chain=n,
                jax_sharded_gflops=n * flops * Rp / R / ts / 1e9, sharded_runs=Rp)


def cell_matmul(sizes: list[Size], runs: list[int], big: int, target_s: float, device: str,
                threads: int, cpu_devices: int | None = None) -> dict:
    """Float32 matmul rates (GFLOP/s): one big ``jnp.dot``, and batched at the GAN's shapes."""
    start_jax(cpu_devices)
    import jax
    import jax.numpy as jnp

    from benchmarks.torch_baselines import torch_setup
    from mcjax.core.sharding import run_mesh

    a = jax.random.normal(jax.random.key(0), (big, big), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (big, big), jnp.float32)
    dot = jax.jit(jnp.dot)
    t = best_time(lambda: dot(a, b).block_until_ready())
    out = dict(big_n=big, big_gflops=2 * big**3 / t / 1e9, batched={}, devices=jax.device_count())
    mesh = run_mesh()
    chains = _chains(mesh)
    device = torch_setup(threads, device)
    out["torch_device"], out["jax_device"] = device, str(jax.devices()[0].device_kind)
    for size in sizes:
        for R in runs:
            out["batched"][f"{size.label}|{R}"] = _bmm_rates(size, R, target_s, mesh, chains, device)
    return out
