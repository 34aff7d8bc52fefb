"""Strict numerics for every test (equinox-style): rank promotion raises, key reuse is checked."""
import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)
