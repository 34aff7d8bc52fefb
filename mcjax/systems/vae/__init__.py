"""VAE posterior collapse as Systems.

``vae``: a linear VAE (probabilistic PCA with a diagonal Gaussian encoder) whose latents
collapse to the prior exactly where the data's variance is below the decoder's noise:
``config`` (static/traced split), ``model`` (parameters, ELBO terms, measurements),
``objective`` (the loss with its traced remedies), ``engine`` (Adam steps as a System),
``theory`` (closed forms), ``remedies`` (by name), ``spec`` (``mcjax sweep --system vae``).

``vae-mixture``: an MLP VAE on a 2-D Gaussian mixture with a one-Gaussian or a mixture
(strong) decoder: ``mixture_config``, ``mixture_engine``, ``mixture_spec``.
"""
