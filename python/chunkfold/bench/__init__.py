"""Tooling, not the library: the ``chunkfold bench`` runner (:mod:`.runner`),
the built-in corpus (:mod:`.corpus`) and the baselines it is timed against
(:mod:`.baselines`)."""
