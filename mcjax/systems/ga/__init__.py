"""A genetic algorithm (evolutionary computation) as a System: selection collapses a population
onto few peaks of a multimodal landscape; niching (fitness sharing, deterministic crowding,
clearing, island models) keeps it spread. ``landscapes`` (the CEC 2013 one-dimensional niching
functions, their peaks and basins), ``config`` (static/traced split), ``operators`` (selection,
crossover, mutation), ``niching`` (the diversity-keeping operators), ``engine`` (the generation
and its measurements), ``remedies`` (niching by name), ``spec`` (what ``mcjax sweep --system ga``
runs), ``theory`` (closed forms the tests check)."""
