"""The system-independent machinery: the System contract, sweeps, sharding, checkpoints, results.

Nothing here imports a particular system (the GAN lives in ``mcjax.systems.gan``).
"""
