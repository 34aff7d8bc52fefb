"""Model collapse under recursive training (Shumailov et al. 2024) as a System: a 1-D Gaussian
mixture fitted, generation after generation, to samples of the previous generation's fit (EM,
the weights alone, or one Gaussian); modes are lost as alleles are in a Wright-Fisher population.
``config`` (static/traced split), ``engine`` (sample, fit, measure), ``theory`` (closed forms),
``remedies`` (real data mixed back in, by name), ``spec`` (``mcjax sweep --system recursive``)."""
