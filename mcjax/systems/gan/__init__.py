"""The GAN as a System, composed of parts that each own their state (optax-style).

``engine`` composes; ``rules`` (update rules), ``terms`` (loss terms), ``transforms`` (critic-input
transforms) and ``wrappers`` (EMA, spectral norm) are the parts, each with a registry; ``optimizers``
builds the players' optax optimizers.
"""
