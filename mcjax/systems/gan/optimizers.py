"""The players' optimizers: optax transformations with traced learning rates and betas."""
from __future__ import annotations

from typing import Any

import contextlib

import jax
import jax.numpy as jnp
import optax

__all__ = ["make_optimizer", "OPTIMIZERS", "solve_upper_right"]

OPTIMIZERS = ("adam", "rmsprop", "sgd", "muon", "kron")


def make_optimizer(kind: str, lr: jax.Array, hp: Any, *, differentiable: bool = False
                   ) -> optax.GradientTransformation:
    """Optimizer of ``kind`` with traced learning rate and betas (see ``Config.optimizer``).

    ``differentiable`` adds ``eps_root`` inside Adam's square root so that gradients *through* an
    update (unrolled GANs) stay finite where a second moment is exactly 0.
    """
    eps_root = 1e-12 if differentiable else 0.0
    if kind == "adam":
        return optax.adam(lr, b1=hp.beta1, b2=hp.beta2, eps_root=eps_root)
    if kind == "rmsprop":
        return optax.rmsprop(lr, decay=hp.beta2, eps=1e-8)
    if kind == "sgd":
        return optax.sgd(lr, momentum=hp.beta1)
    if kind == "muon":
        return optax.contrib.muon(lr, beta=hp.beta1, adam_b1=hp.beta1, adam_b2=hp.beta2,
                                  adam_eps_root=eps_root)
    if kind == "kron":
        return psgd_kron(lr, hp.beta1)
    raise ValueError(f"unknown optimizer {kind!r}")


def _import_psgd_kron():
    import importlib
    import sys

    from mcjax._validation import ConfigError

    try:  # psgd-jax 0.2.9 imports (never uses) optax._src.clipping, gone from newer optax
        importlib.import_module("optax._src.clipping")
    except ImportError:
        sys.modules.setdefault("optax._src.clipping", optax.transforms._clipping)
    try:
        import psgd_jax.kron as psgd_kron_module
    except ImportError as e:
        raise ConfigError(
            "optimizer 'kron' needs the optional package psgd-jax: pip install \"mcjax[kron]\""
            f" ({type(e).__name__}: {e})") from e
    return psgd_kron_module


def psgd_kron(lr: jax.Array, beta1: jax.Array) -> optax.GradientTransformation:
    """PSGD Kron (Li 2015, 2018; the optional package ``psgd-jax``, imported only here).

    ``-lr * P m`` with ``m`` the bias-corrected EMA of gradients (decay ``beta1``) and ``P`` a
    Kronecker-factored preconditioner, one triangular factor per kernel dimension (diagonal for
    biases), fitted by ``psgd_jax.kron.scale_by_kron``. It equals ``psgd_jax.kron.kron(lr,
    b1=beta1, ...)`` with the arguments below, but the momentum is ``optax.ema`` ahead of a
    momentum-free ``scale_by_kron``: ``kron`` branches on ``b1 > 0`` in Python, which a traced
    ``beta1`` cannot do.
    """
    import io

    kron = _import_psgd_kron()
    scale_by_kron = kron.scale_by_kron(
        b1=0.0,  # momentum is the optax.ema below (traced beta1)
        # default schedule: a preconditioner update every step for 500 steps, then every
        # ~1/p steps with p annealed to 0.03 (deterministic counter; under vmap both
        # branches of its lax.cond run, so every step pays for an update)
        preconditioner_update_probability=kron.precond_update_prob_schedule(),
        max_size_triangular=8192,  # dense factors for every MLP kernel dimension
        momentum_into_precond_update=True,
        preconditioner_lr=0.1,
        preconditioner_init_scale=1.0,
        # tiny factors: full float32 costs nothing and keeps GPU runs close to CPU ones
        precond_update_precision="float32",
        precond_grads_precision="float32",
    )

    # psgd divides [n, 1]-shaped arrays by [1]-shaped diagonal factors (every kernel with a
    # size-1 dimension, e.g. the critic's output): numpy broadcasting, correct, but refused
    # under jax_numpy_rank_promotion="raise"; allowed here, inside psgd only.
    def init(params):
        # psgd prints the preconditioner size: keep standard output clean (--json)
        with contextlib.redirect_stdout(io.StringIO()), jax.numpy_rank_promotion("allow"):
            return scale_by_kron.init(params)

    def update(updates, state, params=None, **extra_args):
        with jax.numpy_rank_promotion("allow"), _xla_triangular_solves(kron):
            return scale_by_kron.update(updates, state, params, **extra_args)

    return optax.chain(
        optax.ema(beta1, debias=True),
        optax.GradientTransformationExtraArgs(init, update),
        optax.scale_by_learning_rate(lr),
    )


def solve_upper_right(x: jax.Array, a: jax.Array) -> jax.Array:
    """``x @ inv(a)`` for an upper-triangular ``a`` [d, d], by substitution in XLA's own ops.

    ``x`` is [d] or [..., n, d]. Column ``j`` of the solution ``y`` is
    ``(x[..., j] - y[..., :j] @ a[:j, j]) / a[j, j]``: one matrix-vector product per column, the
    same O(n d^2) work as LAPACK's ``trsm``. Why not ``jax.lax.linalg.triangular_solve``: on the CPU
    it is a call into jaxlib's LAPACK kernel, which splits its (vmapped) batch over the same
    intra-op thread pool that the training programs run on and waits for it; with the pool's
    threads busy in those programs nothing runs the pieces and the sweep hangs for good (seen with
    80 PSGD Kron runs on the 2-core CPU, on one device as on two; docs/results.md, study 5).
    """
    dtype = jnp.promote_types(a.dtype, x.dtype)
    a, x = a.astype(dtype), x.astype(dtype)
    d = a.shape[-1]
    upper = jnp.triu(a)

    def column(j, y):
        col = (x[..., j] - y @ upper[:, j]) / upper[j, j]  # columns >= j of y are still 0
        return y.at[..., j].set(col)

    return jax.lax.fori_loop(0, d, column, jnp.zeros_like(x))


@contextlib.contextmanager
def _xla_triangular_solves(kron_module):
    """While psgd's update is traced, its triangular solves are :func:`solve_upper_right`."""
    original = kron_module._solve_triangular_right
    kron_module._solve_triangular_right = solve_upper_right
    try:
        yield
    finally:
        kron_module._solve_triangular_right = original
