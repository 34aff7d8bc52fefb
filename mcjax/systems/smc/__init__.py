"""Sequential Monte Carlo as a System: resampling is the particle filter's collapse operation.

``resampling`` (multinomial, systematic, stratified and residual resampling of weighted
particles), ``drift`` (repeated resampling of equally weighted particles: the particle filter's
neutral drift, the same operation as Wright-Fisher reproduction and roulette selection),
``config`` (static/traced split), ``engine`` (the bootstrap filter with its Kalman reference and
tempered SMC on a K-mode mixture, with ESS-threshold resampling, resample-move and adaptive
tempering), ``remedies`` (by name), ``spec`` (what ``mcjax sweep --system smc`` runs), ``theory``
(closed forms the tests check).
"""
