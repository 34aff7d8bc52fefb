"""Sequential Monte Carlo: resampling, the particle filter's collapse operation.

``resampling`` (multinomial, systematic, stratified and residual resampling of weighted
particles), ``drift`` (repeated resampling of equally weighted particles: the particle filter's
neutral drift, the same operation as Wright-Fisher reproduction and roulette selection).
"""
