"""The VAE run spec: what ``mcjax sweep --system vae`` runs, as one frozen, serialisable value
(its fields are the command's options)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from mcjax.core.run import SpecFields, register_spec
from mcjax.systems.vae.remedies import DEFAULT_VAE_REMEDIES

__all__ = ["VAESpec"]



@register_spec
@dataclasses.dataclass(frozen=True)
class VAESpec(SpecFields):
    """A linear-VAE sweep: every remedy x every ``--sweep`` setting x ``seeds`` seeds.

    Attributes:
      remedy: remedy specs ``NAME[:KEY=VALUE,...]`` (``mcjax remedies --system vae``), one
        compiled program each.
      sweep: ``KEY=V1,V2,...`` axes of ``VAEHParams`` fields (``lr``, ``lr_decay``, ``sigma2``, ``beta``,
        ``warmup``, ``cycle``, ``ratio``, ``free_bits``, ``delta``, ``init_scale``) swept inside
        each program (their product).
      eigenvalues, latents, n_data, batch, estimator, learn_sigma, steps, log_every: the base
        ``VAEConfig`` that each remedy changes.
      sigma2, lr: base values of those ``VAEHParams`` (a remedy's or a sweep's values win).
      seeds: seeds ``0..seeds-1`` per setting.
    """

    NUMBER_FIELDS: ClassVar[tuple] = (("eigenvalues", "L1,L2,..."),)
    system: ClassVar[str] = "vae"

    remedy: tuple = DEFAULT_VAE_REMEDIES
    sweep: tuple = ()
    seeds: int = 16
    eigenvalues: tuple = (4.0, 2.0, 0.5, 0.25)
    latents: int = 4
    n_data: int = 256
    batch: int = 0
    estimator: str = "analytic"
    learn_sigma: bool = False
    steps: int = 2000
    log_every: int = 100
    sigma2: float = 1.0
    lr: float = 0.03

    def base_config(self):
        from mcjax.systems.vae.config import VAEConfig

        return VAEConfig(eigenvalues=self.eigenvalues, latents=self.latents, n_data=self.n_data,
                         batch=self.batch, estimator=self.estimator, learn_sigma=self.learn_sigma,
                         steps=self.steps, log_every=self.log_every)

    def experiments(self) -> list:
        """One :class:`~mcjax.core.sweep.Experiment` per remedy, its settings the product of the
        sweeps (``sigma2`` and ``lr`` give the base values a remedy or a sweep overrides).

        Raises:
          ConfigError: a bad value, naming it and the allowed ones.
        """
        from mcjax.core.remedies import remedy_experiments
        from mcjax.systems.vae.config import make_vae_hparams, stack_vae_hparams
        from mcjax.systems.vae.remedies import VAE_TABLE

        return remedy_experiments(VAE_TABLE, self.base_config(), self.remedy, self.sweep,
                                  self.seeds, make_vae_hparams, stack_vae_hparams,
                                  base_hparams={"sigma2": self.sigma2, "lr": self.lr})
