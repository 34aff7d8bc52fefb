"""The static/traced split of a training run.

``Config`` holds everything that decides shapes and control flow: one ``Config`` is one
compilation. ``HParams`` holds the continuous values a sweep varies: arrays, traced, vmappable;
changing them never recompiles.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mcjax.core.system import System, register_config
from mcjax.systems.gan.optimizers import OPTIMIZERS
from mcjax._validation import (
    ConfigError,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = ["Config", "HParams", "make_hparams", "stack_hparams", "OPTIMIZERS", "PENALTIES"]

PENALTIES = ("none", "gp", "r1", "r2")


@register_config
@dataclasses.dataclass(frozen=True)
class Config:
    """Static description of one GAN training program (hashable; one compilation): the GAN's
    :class:`~mcjax.core.system.SystemConfig`.

    Attributes:
      target: target name (``ring`` or ``grid``).
      target_params: extra constructor arguments of the target, as ``((name, value), ...)``.
      arch: the players' networks (``mcjax.systems.gan.architectures.ARCHS``): ``mlp`` (``depth``
        hidden layers of ``width`` units, images flattened) or ``dcgan`` (image targets only; the
        DCGAN of ``mcjax.systems.gan.convnets``, ``width`` channels in its first convolution).
      latent_dim: size of the generator's Gaussian latent ``z``.
      width: hidden units per layer, both players.
      depth: hidden layers, both players.
      activation: hidden activation, both players (a key of ``mcjax.systems.gan.nets.ACTIVATIONS``).
      batch_size: real and generated samples per step.
      steps: generator steps.
      n_critic: critic steps per generator step (alternating updates).
      loss: a key of ``mcjax.systems.gan.losses.LOSSES``.
      penalty: critic penalty of weight ``HParams.penalty_weight``: ``none``, ``gp`` (WGAN-GP,
        ``w E (||grad D(xhat)|| - 1)^2``), ``r1`` / ``r2`` (``w/2 E ||grad D||^2`` on real /
        generated data).
      clip: clip critic weights to ``[-HParams.clip_value, HParams.clip_value]`` after each step.
      instance_noise: add Gaussian noise of std ``HParams.noise_std``, annealed linearly to 0 over
        training, to the critic's real and generated inputs (Sonderby et al. 2017).
      spectral_norm: divide every critic kernel by its spectral norm (one power iteration a step).
      pack: PacGAN packing degree ``m``: the critic sees ``m`` samples concatenated.
      mbd_kernels, mbd_dim: minibatch-discrimination kernels (0: off) and their dimension.
      mbstd: append the minibatch standard-deviation feature to the critic.
      feature_matching: the generator matches the mean of the critic's last hidden features.
      terms: names of extra loss terms (``mcjax.systems.gan.terms.TERM_NAMES``), e.g.
        ``("entropy",)``: subtract ``HParams.entropy_weight`` times a k-NN entropy estimate
        (``entropy_k`` neighbours) of the generated batch from the generator's loss;
        ``("mode-seeking",)``: add ``HParams.ms_weight`` times MSGAN's mode-seeking term.
      update: ``alternating`` (critic steps, then a generator step), or a simultaneous rule:
        ``simultaneous``, ``consensus`` (gamma = ``HParams.consensus_gamma``), ``sga`` (lambda =
        ``HParams.sga_lambda``), ``extragradient``, ``optimistic``; these need ``n_critic = 1``.
      unroll: the generator differentiates through this many critic updates (0: off).
      reuse_fake: the generator step reuses the critic step's generated batch (its ``z`` and the
        generator's forward pass, through ``jax.vjp``) instead of drawing a fresh one: the loop of
        PyTorch's DCGAN example, one generator forward pass per step instead of two. Needs
        ``update='alternating'``, ``n_critic=1`` and ``unroll=0``.
      ema: also keep (and evaluate) an exponential moving average of the generator's weights with
        decay ``HParams.ema_decay``.
      log_dynamics: also log, every ``log_every`` steps inside the scan, the rotation index
        (``dynamics_probes`` probes), each player's top and bottom Hessian eigenvalue (Lanczos of
        order ``lanczos_order``) and ``||xi||``; see ``mcjax.analysis``.
      log_collapse: also log, every ``log_every`` steps, the measurements of collapse mechanisms
        of ``mcjax.analysis.collapse`` (mode flux per mode, critic field, generator stretch); see
        ``mcjax.systems.gan.engine``'s ``_collapse_fn``.
      feature_metrics: measured once on the final generator against ``eval_samples`` real
        samples, in the target's feature space: ``"frechet"`` (Frechet distance) and ``"prdc"``
        (precision, recall, density, coverage, k = 5); see ``mcjax.metrics.features``.
      collapse_samples: points of the mode flux and the critic field of ``log_collapse`` (the
        first of the evaluation latents and samples; at most ``eval_samples``). Which modes are
        uncovered is still read from all ``eval_samples`` samples. Results saved before this field
        existed used all evaluation samples and load with ``collapse_samples = eval_samples``.
      optimizer: ``adam`` (lr, beta1, beta2), ``rmsprop`` (lr, decay = beta2), ``sgd``
        (lr, momentum = beta1), ``muon`` (lr, momentum = beta1; Adam with beta1, beta2 on
        non-matrix parameters) or ``kron`` (PSGD Kron, a Kronecker-factored Shampoo-family
        preconditioner of the gradients' EMA; lr, momentum = beta1; needs the optional package
        psgd-jax, ``pip install "mcjax[kron]"``), the same kind for both players. Unrolling
        (``unroll``) differentiates through any of them.
      log_every: steps between two logged evaluations; must divide ``steps``.
      eval_samples: generated samples per evaluation (2500 in VEEGAN/PacGAN).
      keep_samples: generated samples per run kept in the results for figures.
    """

    system: ClassVar[str] = "gan"

    target: str = "ring"
    target_params: tuple = ()
    arch: str = "mlp"
    latent_dim: int = 16
    width: int = 64
    depth: int = 2
    activation: str = "relu"
    batch_size: int = 128
    steps: int = 4000
    n_critic: int = 1
    loss: str = "non-saturating"
    penalty: str = "none"
    clip: bool = False
    instance_noise: bool = False
    spectral_norm: bool = False
    pack: int = 1
    mbd_kernels: int = 0
    mbd_dim: int = 5
    mbstd: bool = False
    feature_matching: bool = False
    terms: tuple = ()
    entropy_k: int = 3
    update: str = "alternating"
    unroll: int = 0
    reuse_fake: bool = False
    ema: bool = False
    log_dynamics: bool = False
    log_collapse: bool = False
    dynamics_probes: int = 4
    lanczos_order: int = 10
    collapse_samples: int = 2048
    feature_metrics: tuple = ()
    optimizer: str = "adam"
    log_every: int = 200
    eval_samples: int = 2500
    keep_samples: int = 512

    def __post_init__(self) -> None:
        from mcjax.systems.gan.losses import LOSSES
        from mcjax.systems.gan.nets import ACTIVATIONS
        from mcjax.targets import TARGETS

        check_choice("target", self.target, TARGETS)
        from mcjax.systems.gan.rules import UPDATE_RULES

        for name in ("latent_dim", "width", "depth", "batch_size", "steps", "n_critic",
                     "log_every", "eval_samples", "keep_samples", "pack", "mbd_dim", "entropy_k",
                     "dynamics_probes", "lanczos_order", "collapse_samples"):
            check_positive_int(name, getattr(self, name))
        for name in ("mbd_kernels", "unroll"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
        check_choice("update rule", self.update, UPDATE_RULES)
        if self.update != "alternating" and (self.n_critic != 1 or self.unroll):
            raise ConfigError(
                f"update={self.update!r} takes one simultaneous step of both players: it needs "
                f"n_critic=1 and unroll=0, got n_critic={self.n_critic}, unroll={self.unroll}"
            )
        if self.reuse_fake and (self.update != "alternating" or self.n_critic != 1 or self.unroll):
            raise ConfigError(
                "reuse_fake shares one generated batch between one critic step and the generator "
                "step: it needs update='alternating', n_critic=1 and unroll=0, got "
                f"update={self.update!r}, n_critic={self.n_critic}, unroll={self.unroll}"
            )
        from mcjax.systems.gan.parts import check_selected
        from mcjax.systems.gan.terms import TERM_NAMES, TERMS

        if not isinstance(self.terms, tuple) or len(set(self.terms)) != len(self.terms):
            raise ConfigError(f"terms must be a tuple of distinct names, got {self.terms!r}")
        for name in self.terms:
            check_choice("loss term", name, TERM_NAMES)
        check_selected(TERMS, self)
        check_choice("activation", self.activation, ACTIVATIONS)
        from mcjax.systems.gan.architectures import ARCHS

        check_choice("arch", self.arch, ARCHS)
        from mcjax.systems.gan.engine import FEATURE_METRICS, PRDC_K

        if not isinstance(self.feature_metrics, tuple) or len(set(self.feature_metrics)) != len(
                self.feature_metrics):
            raise ConfigError(f"feature_metrics must be a tuple of distinct names, got "
                              f"{self.feature_metrics!r}")
        for name in self.feature_metrics:
            check_choice("feature metric", name, FEATURE_METRICS)
        if "prdc" in self.feature_metrics and self.eval_samples <= PRDC_K:
            raise ConfigError(f"prdc needs eval_samples > k = {PRDC_K}, got {self.eval_samples}")
        check_choice("loss", self.loss, LOSSES)
        check_choice("penalty", self.penalty, PENALTIES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.steps % self.log_every:
            divisors = [d for d in range(1, self.steps + 1) if self.steps % d == 0]
            near = sorted(divisors, key=lambda d: abs(d - self.log_every))[:3]
            raise ConfigError(
                f"log_every={self.log_every} does not divide steps={self.steps}; "
                f"nearby divisors: {', '.join(map(str, sorted(near)))}"
            )
        if self.keep_samples > self.eval_samples:
            raise ConfigError(
                f"keep_samples={self.keep_samples} must be <= eval_samples={self.eval_samples}"
            )
        try:
            hash(self.target_params)
            params = dict(self.target_params)
        except (TypeError, ValueError) as e:
            raise ConfigError(
                f"target_params must be a tuple of (name, value) pairs, got {self.target_params!r}"
            ) from e
        try:
            target = self.make_target()
        except TypeError as e:
            raise ConfigError(f"bad target_params {params!r} for target {self.target!r}: {e}") from e
        from mcjax.systems.gan.architectures import check_arch

        check_arch(self, target)
        if self.log_collapse and not hasattr(target, "means"):
            raise ConfigError(f"log_collapse measures the flux toward each mode's centre: it needs a "
                              f"Gaussian-mixture target (ring, grid, high_dim), got {self.target!r}")

    @property
    def n_logs(self) -> int:
        return self.steps // self.log_every

    def memory_per_run(self) -> int:
        """A lower estimate of the bytes one run holds at its peak, to refuse a sweep that cannot
        fit before anything is compiled: the hidden activations of the larger of the evaluation
        (``eval_samples`` points) and a training step (a real and a fake batch), through both
        players' ``depth`` layers of ``width`` float32 units, and four copies (parameters,
        gradient, two Adam moments) of both players' weights. Measured against it: 256 runs of
        the 3x128 grid at 10,000 evaluation samples held 60 MB a run (this says 31)."""
        if self.arch != "mlp":
            return self._conv_memory_per_run()
        dim = int(self.make_target().dim)
        w, d = self.width, self.depth
        weights = (self.latent_dim + dim + 1) * w + 2 * (d - 1) * w * w + (dim + 1) * w
        points = max(self.eval_samples, 2 * self.batch_size * max(self.pack, 1))
        return 4 * (points * w * d * 2 + 4 * weights)

    def _conv_memory_per_run(self) -> int:
        """:meth:`memory_per_run` of a convolutional architecture, from the layer sizes
        (:func:`mcjax.systems.gan.architectures.player_sizes`): the larger of a training step (every
        layer's output and its gradient for a real and a fake batch through the critic, ``k + 1``
        times when unrolled ``k`` steps, and a fake batch through the generator) and the evaluation
        (``eval_samples`` generated images kept, one generator batch's layers, what the target's
        classifier holds to read them), plus four copies of the weights. Measured against it:
        stacked-digits, width 16, 26,000 evaluation samples held 129 MB a run (2 and 10 runs'
        peak RSS); this says 85."""
        from mcjax.systems.gan.architectures import player_sizes

        target = self.make_target()
        weights, gen, crit = player_sizes(self, target)
        m, unroll = max(self.pack, 1), self.unroll + 1
        train = 2 * (self.batch_size * m * gen + 2 * self.batch_size * crit * unroll)
        image = int(np.prod(target.event_shape))
        evaluation = self.eval_samples * image + self.batch_size * m * gen
        if hasattr(target, "evaluation_floats"):  # a classifier reads the samples (image targets)
            evaluation += target.evaluation_floats(self.eval_samples)
        return 4 * (max(train, evaluation) + 4 * weights)

    def make_target(self):
        from mcjax.targets import make_target

        return make_target(self.target, **dict(self.target_params))

    def make_system(self) -> System:
        """The GAN as a :class:`~mcjax.core.system.System` (``mcjax.systems.gan.engine.make_system``)."""
        from mcjax.systems.gan.engine import make_system

        return make_system(self)

    def default_hparams(self) -> "HParams":
        return HParams()

    def describe(self) -> dict[str, Any]:
        """The target's pinned constants (``n_modes`` among them), recorded in results files."""
        return self.make_target().describe()

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["target_params"] = [list(p) for p in self.target_params]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        d = dict(d)
        d["target_params"] = tuple(tuple(p) for p in d.get("target_params", ()))
        terms = list(d.get("terms", ()))
        for old, name in (("entropy", "entropy"), ("mode_seeking", "mode-seeking")):
            if d.pop(old, False):  # results saved when these terms were Config switches
                terms.append(name)
        d["terms"] = tuple(terms)
        d["feature_metrics"] = tuple(d.get("feature_metrics", ()))
        # saved before collapse_samples existed: the collapse log used every evaluation sample
        d.setdefault("collapse_samples", d.get("eval_samples", cls.eval_samples))
        return cls(**d)


class HParams(NamedTuple):
    """Continuous, traced hyperparameters (each a float32 array; a leading axis stacks settings).

    Attributes:
      lr_g: generator learning rate.
      lr_d: critic learning rate.
      beta1: Adam's first-moment decay; SGD's momentum.
      beta2: Adam's second-moment decay; RMSProp's decay.
      penalty_weight: weight of the critic penalty (``Config.penalty``).
      clip_value: critic weight-clipping bound (``Config.clip``).
      noise_std: initial instance-noise standard deviation (``Config.instance_noise``).
      entropy_weight: weight of the generator's entropy bonus (``"entropy" in Config.terms``).
      ms_weight: weight of the mode-seeking term (``"mode-seeking" in Config.terms``).
      consensus_gamma: consensus-optimisation weight (``Config.update == "consensus"``).
      sga_lambda: symplectic-gradient-adjustment weight (``Config.update == "sga"``).
      ema_decay: decay of the generator's weight average (``Config.ema``).
    """

    lr_g: Any = 1e-3
    lr_d: Any = 1e-3
    beta1: Any = 0.5
    beta2: Any = 0.999
    penalty_weight: Any = 10.0
    clip_value: Any = 0.01
    noise_std: Any = 0.1
    entropy_weight: Any = 0.1
    ms_weight: Any = 1.0
    consensus_gamma: Any = 1.0
    sga_lambda: Any = 1.0
    ema_decay: Any = 0.999


_POSITIVE = ("lr_g", "lr_d")
_UNIT = ("beta1", "beta2", "ema_decay")


def make_hparams(**values: Any) -> HParams:
    """Validated ``HParams`` of float32 scalars; unknown names and bad values raise ``ConfigError``."""
    for name in values:
        check_choice("hyperparameter", name, HParams._fields)
    hp = HParams()._replace(**values)
    for name, v in zip(HParams._fields, hp):
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {v!r}") from None
        if arr.ndim != 0:
            raise ConfigError(f"{name} must be a scalar, got shape {arr.shape}; use stack_hparams")
        if name in _POSITIVE:
            check_positive(name, float(arr))
        elif name in _UNIT:
            if not 0.0 <= float(arr) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {float(arr)!r}")
        else:
            check_nonnegative(name, float(arr))
        check_float32(name, float(arr))
    return HParams(*(jnp.asarray(v, jnp.float32) for v in hp))


def check_float32(name: str, value: float) -> None:
    """Training runs in float32: a value that overflows to inf or falls below its smallest normal
    number (flushed to 0 by XLA) would train as something other than what its label says."""
    tiny, big = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)
    if value != 0 and not tiny <= abs(value) <= big:
        raise ConfigError(f"{name}={value!r} is not a float32 number (training runs in float32); "
                          f"allowed: 0 or magnitudes from {tiny:.3g} to {big:.3g}")


def stack_hparams(settings: list[HParams]) -> HParams:
    """Stacks scalar ``HParams`` into one with a leading settings axis ``[S]``."""
    if not settings:
        raise ConfigError("at least one hyperparameter setting is needed")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *settings)
