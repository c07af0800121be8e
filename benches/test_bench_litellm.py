"""LiteLLM on the corpus: its proxy's streaming path and ``stream_chunk_builder``.

Groups ``scenario-{scenario}-{pattern}``, the same as
``benches/test_bench_scenarios.py``, so LiteLLM's two paths
(:mod:`chunkfold.bench.litellm`) stand next to chunkfold's and the other
baselines in one table: ``litellm`` (``litellm.acompletion(..., stream=True)``
over an in-process mock upstream, to the response it logs) and
``litellm-builder`` (``litellm.stream_chunk_builder`` on the chunks it
yielded). Only on the scenarios where LiteLLM's result matches the corpus
(:data:`chunkfold.bench.litellm.SCENARIOS`), and skipped when ``litellm`` is not
installed (it is not a test extra: ``pip install -e '.[litellm]'``).

When timing is on, ``extra_info`` holds ``peak MB``, tracemalloc's peak during
one more call (memory per stream), next to ``us/item`` (µs per chunk)::

    pytest benches/test_bench_litellm.py benches/test_bench_scenarios.py -k "chat-event" \\
        --benchmark-enable --benchmark-columns=median --benchmark-sort=name
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from chunkfold.bench import corpus, litellm
from chunkfold.bench.corpus import CorpusStream
from chunkfold.bench.implementation import traced_peak

try:
    litellm.import_litellm()
except ImportError:
    pytest.skip("litellm is not installed (pip install -e '.[litellm]')", allow_module_level=True)

PATTERNS = ("event", "64k")
IMPLEMENTATIONS = {impl.name: impl for impl in litellm.IMPLEMENTATIONS}
CASES = [(s, p, name) for s in litellm.SCENARIOS for p in PATTERNS for name in IMPLEMENTATIONS]


@cache
def stream(scenario: str) -> CorpusStream:
    """The scenario's stream for seed 0, built once."""
    return corpus.SCENARIOS[scenario].stream()


@cache
def load(name: str) -> Callable[[list[bytes]], Any]:
    """One of LiteLLM's paths, loaded once."""
    return IMPLEMENTATIONS[name].load()


@pytest.mark.parametrize(("scenario", "pattern", "name"), CASES, ids=["-".join(c) for c in CASES])
def test_litellm(benchmark: Any, scenario: str, pattern: str, name: str) -> None:
    impl, fn, corpus_stream = IMPLEMENTATIONS[name], load(name), stream(scenario)
    data = corpus.reads(corpus_stream.body, pattern)
    benchmark.group = f"scenario-{scenario}-{pattern}"
    if benchmark.disabled:
        litellm.check(impl, benchmark(fn, data), corpus_stream)
    else:
        litellm.check(impl, fn(data), corpus_stream)
        benchmark.pedantic(fn, (data,), rounds=5, warmup_rounds=1)
        benchmark.extra_info["peak MB"] = round(traced_peak(fn, data) / 1e6, 2)
    chunks = corpus_stream.chunks
    info = benchmark.extra_info
    info.update(bytes=len(corpus_stream.body), reads=len(data), items=chunks)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        median = stats.stats.median
        info["MB/s"] = round(len(corpus_stream.body) / median / 1e6, 2)
        info["us/item"] = round(median / chunks * 1e6, 1)
