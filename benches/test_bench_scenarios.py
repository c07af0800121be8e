"""Every corpus scenario and read pattern: chunkfold's three paths and the four baselines.

Groups ``scenario-{scenario}-{pattern}`` for the seven scenarios of
:data:`chunkfold.bench.corpus.SCENARIOS` (chat, long, tools, n3, logprobs, reasoning,
cjk) and the reads ``event``, ``1k``, ``64k`` and ``random``. Each group holds
chunkfold's framing (``sse``), decoding (``chunks``) and folding (``feed``)
the baselines (``openai``, ``httpx-sse``, ``msgspec``, ``orjson``) of
:mod:`chunkfold.bench.baselines`, the same code ``chunkfold bench`` times, and the
msgspec limits of :mod:`chunkfold.bench.limits` (``msgspec-array`` everywhere,
``msgspec-logprobs`` on the logprobs stream).

Every result is checked with :func:`chunkfold.bench.baselines.check` against what the
corpus recorded while writing the stream, before any timing: with timing off
(the default) the one run is the checked one; with ``--benchmark-enable`` the
check runs first and then pytest-benchmark times it. ``us/item`` in
``extra_info`` is µs per chunk::

    pytest benches/test_bench_scenarios.py --benchmark-enable --benchmark-columns=median --benchmark-sort=name
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from chunkfold.bench import baselines, corpus
from chunkfold.bench.corpus import CorpusStream

PATTERNS = ("event", "1k", "64k", "random")
IMPLEMENTATIONS = baselines.BY_NAME
CASES = [
    (s, p, i)
    for s in corpus.SCENARIOS
    for p in PATTERNS
    for i, impl in IMPLEMENTATIONS.items()
    if impl.scenarios is None or s in impl.scenarios
]


@cache
def stream(scenario: str) -> CorpusStream:
    """The scenario's stream for seed 0, built once."""
    return corpus.SCENARIOS[scenario].stream()


@cache
def split(scenario: str, pattern: str) -> list[bytes]:
    """The stream's reads; they join back to its body."""
    reads = corpus.reads(stream(scenario).body, pattern)
    assert b"".join(reads) == stream(scenario).body
    return reads


@cache
def load(name: str) -> Callable[[list[bytes]], Any]:
    """An implementation's run function (a missing baseline fails the test: they are test extras)."""
    return IMPLEMENTATIONS[name].load()


@pytest.mark.parametrize(("scenario", "pattern", "name"), CASES, ids=["-".join(c) for c in CASES])
def test_scenario(benchmark: Any, scenario: str, pattern: str, name: str) -> None:
    impl, fn, data, corpus_stream = (
        IMPLEMENTATIONS[name],
        load(name),
        split(scenario, pattern),
        stream(scenario),
    )
    benchmark.group = f"scenario-{scenario}-{pattern}"
    if benchmark.disabled:
        baselines.check(impl, benchmark(fn, data), corpus_stream)
    else:
        baselines.check(impl, fn(data), corpus_stream)
        benchmark(fn, data)
    chunks = corpus_stream.expected.chunks
    info = benchmark.extra_info
    info.update(bytes=len(corpus_stream.body), reads=len(data), items=chunks)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        median = stats.stats.median
        info["MB/s"] = round(len(corpus_stream.body) / median / 1e6, 1)
        info["us/item"] = round(median / chunks * 1e6, 3)
