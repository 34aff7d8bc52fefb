"""Tiny configurations shared by the engine tests (compile in seconds on 2 CPU cores)."""
from mcjax.systems.gan.config import Config

TINY = Config(width=16, depth=1, batch_size=32, latent_dim=4, steps=20, log_every=10,
              eval_samples=200, keep_samples=50)
