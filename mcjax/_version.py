"""The one source of mcjax's version: pyproject.toml reads it from here without importing jax."""

__version__ = "0.1.0"
