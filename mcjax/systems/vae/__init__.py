"""VAE posterior collapse as a System: a linear VAE (probabilistic PCA with a diagonal Gaussian
encoder) whose latents collapse to the prior exactly where the data's variance is below the
decoder's noise. ``config`` (static/traced split), ``model`` (parameters, ELBO terms,
measurements), ``objective`` (the loss with its remedies), ``engine`` (Adam steps as a System),
``theory`` (closed forms), ``remedies`` (by name), ``spec`` (what ``mcjax sweep --system vae``
runs)."""
