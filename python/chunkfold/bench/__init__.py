"""Tooling, not the library: the ``chunkfold bench`` runner (:mod:`.runner`), which
iterates the protocols of :mod:`.protocols`: chat completions (the corpus of
:mod:`.corpus` and the baselines of :mod:`.baselines`), the Responses API
(:mod:`.responses`) and Anthropic Messages (:mod:`.anthropic`), each with its
scenarios, the implementations timed on them and its result check."""
