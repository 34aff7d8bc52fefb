"""Strict numerics for every test (equinox-style): rank promotion raises, key reuse is checked.

XLA's backend optimisation is lowered for the test run (and the subprocesses tests start, which
inherit the environment): tests compile many tiny programs and run each briefly, so compile time
dominates; results are still compared within one setting.
"""
import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)
