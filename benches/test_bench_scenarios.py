"""Every corpus scenario and read pattern: chunkfold's paths and the baselines, per protocol.

Groups ``scenario-{scenario}-{pattern}`` for the seven scenarios of
:data:`chunkfold.bench.corpus.SCENARIOS` (chat, long, tools, n3, logprobs, reasoning,
cjk) and the reads ``event``, ``1k``, ``64k`` and ``random``. Each group holds
chunkfold's framing (``sse``), decoding (``chunks``) and folding (``feed``)
the baselines (``openai``, ``httpx-sse``, ``msgspec``, ``orjson``) of
:mod:`chunkfold.bench.baselines`, the same code ``chunkfold bench`` times, and the
msgspec limits of :mod:`chunkfold.bench.limits` (``msgspec-array`` everywhere,
``msgspec-logprobs`` on the logprobs stream).

Groups ``responses-{text,tools,reasoning}-{pattern}`` and
``anthropic-{text,tool,thinking}-{pattern}`` hold the other protocols' scenarios
(:mod:`chunkfold.bench.responses`, :mod:`chunkfold.bench.anthropic`): their
accumulator's ``feed``, the best pure-Python fold (``msgspec``) and the SDK's own
path (``openai``'s ``ResponseStream`` state, ``anthropic``'s ``MessageStream``).

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
from chunkfold.bench import baselines, corpus, protocols
from chunkfold.bench.corpus import CorpusStream
from chunkfold.bench.implementation import Implementation

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


OTHERS = protocols.PROTOCOLS[1:]
PROTOCOL_CASES = [
    (p.name, s, pattern, i.name)
    for p in OTHERS
    for s in p.scenarios
    for pattern in PATTERNS
    for i in p.implementations
]


@cache
def protocol_stream(scenario: str) -> Any:
    """A Responses or Anthropic scenario's stream for seed 0, built once."""
    return protocols.by_scenario(scenario).scenarios[scenario].stream()


@cache
def protocol_impl(protocol: str, name: str) -> tuple[Implementation, Callable[[list[bytes]], Any]]:
    """One protocol's implementation and its run function."""
    impl = next(i for p in OTHERS if p.name == protocol for i in p.implementations if i.name == name)
    return impl, impl.load()


@pytest.mark.parametrize(
    ("protocol", "scenario", "pattern", "name"), PROTOCOL_CASES, ids=["-".join(c[1:]) for c in PROTOCOL_CASES]
)
def test_protocol_scenario(benchmark: Any, protocol: str, scenario: str, pattern: str, name: str) -> None:
    check = protocols.by_scenario(scenario).check
    (impl, fn), bench_stream = protocol_impl(protocol, name), protocol_stream(scenario)
    data = corpus.reads(bench_stream.body, pattern)
    benchmark.group = f"{scenario}-{pattern}"
    if benchmark.disabled:
        check(impl, benchmark(fn, data), bench_stream)
    else:
        check(impl, fn(data), bench_stream)
        benchmark(fn, data)
    info = benchmark.extra_info
    info.update(bytes=len(bench_stream.body), reads=len(data), items=bench_stream.chunks)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        median = stats.stats.median
        info["MB/s"] = round(len(bench_stream.body) / median / 1e6, 1)
        info["us/item"] = round(median / bench_stream.chunks * 1e6, 3)
