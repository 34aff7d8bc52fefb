"""Beam-search collapse as a System: decoders of a "topic" Markov language model.

The first token picks topic ``k`` with probability ``pi_k``; later tokens follow topic ``k``'s
Markov chain. Beam search keeps the ``B`` most probable sequences, which all start with the most
probable topic when its chain is peaked enough: the decoding analogue of mode collapse.
``model`` (the language model, exact enumeration), ``beam`` (greedy, beam, stochastic beam,
diverse beam search), ``sampling`` (temperature and nucleus sampling), ``metrics`` (topics
covered, Hill numbers, distinct-n, Hamming), ``config`` (static/traced split), ``engine`` (the
System), ``theory`` (closed forms), ``remedies`` (decoders by name), ``spec`` and ``cli``
(``mcjax sweep --system decoding``).
"""
