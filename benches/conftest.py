"""Fixtures for the benchmarks: corpus streams, their reads, references, helpers.

Timing is off by default (``--benchmark-disable`` in pyproject), so each bench
runs once as a correctness smoke test; ``pytest benches --benchmark-enable``
times them. Every bench asserts its result equals a reference computed with
the standard library.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import chunkfold._core
import pytest
from chunkfold.bench import baselines, corpus

#: Read patterns every group is run with.
PATTERNS = ("event", "1k", "64k")
ALLOW_DEBUG_ENV = "CHUNKFOLD_BENCH_ALLOW_DEBUG"


@dataclass(frozen=True)
class Stream:
    """A corpus stream split into reads, with what decoding it must give."""

    pattern: str
    body: bytes
    reads: list[bytes]
    payloads: list[bytes]
    """The data of every event, ``[DONE]`` included."""
    chunks: list[dict[str, Any]]
    """Every chunk as a dict, ``[DONE]`` excluded."""
    content: str
    """The concatenated ``delta.content`` of choice 0."""


@cache
def _stream(scenario: str, pattern: str) -> Stream:
    body = corpus.SCENARIOS[scenario].body()
    events = corpus.reads(body, "event")
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events)
    payloads = [e[6:-2] for e in events]
    assert payloads[-1] == b"[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    reads = corpus.reads(body, pattern)
    assert b"".join(reads) == body
    return Stream(pattern, body, reads, payloads, chunks, content_of(chunks))


def content_of(chunks: list[dict[str, Any]]) -> str:
    """Concatenated ``choices[0].delta.content`` of dict chunks."""
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


@pytest.fixture(params=PATTERNS)
def chat(request: pytest.FixtureRequest) -> Stream:
    """The 500-token ``chat`` scenario, once per read pattern."""
    return _stream("chat", request.param)


@pytest.fixture(params=[(s, p) for s in ("chat", "long") for p in PATTERNS], ids="-".join)
def scenario_stream(request: pytest.FixtureRequest) -> tuple[str, Stream]:
    """``(scenario, stream)`` for the 500-token ``chat`` and the 4000-token ``long`` scenarios,
    once per read pattern."""
    scenario, pattern = request.param
    return scenario, _stream(scenario, pattern)


@pytest.fixture
def framer() -> Callable[[list[bytes]], list[bytes]]:
    """:func:`chunkfold.bench.baselines.split_payloads`: ``bytes.split`` framing, up to ``[DONE]``."""
    return baselines.split_payloads


@pytest.fixture
def run(benchmark: Any) -> Callable[..., Any]:
    """``run(group, fn, stream, items)`` times ``fn(stream.reads)`` and returns its result.

    Records bytes and item counts in ``extra_info``, and when timing is on,
    ``MB/s`` and ``us/item`` from the median.
    """

    def go(group: str, fn: Callable[[list[bytes]], Any], stream: Stream, items: int) -> Any:
        benchmark.group = group
        result = benchmark(fn, stream.reads)
        info = benchmark.extra_info
        info.update(bytes=len(stream.body), reads=len(stream.reads), items=items)
        stats = getattr(benchmark, "stats", None)
        if stats is not None:
            median = stats.stats.median
            info["MB/s"] = round(len(stream.body) / median / 1e6, 1)
            info["us/item"] = round(median / items * 1e6, 3)
        return result

    return go


def _elf_sections(path: Path) -> list[str] | None:
    """Section names of a 64-bit little-endian ELF file, or ``None`` if it is not one."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        return None
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    strtab = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)[0]
    names = []
    for i in range(shnum):
        (name,) = struct.unpack_from("<I", data, shoff + i * shentsize)
        start = strtab + name
        names.append(data[start : data.index(b"\0", start)].decode("ascii", "replace"))
    return names


@cache
def _debug_build() -> bool:
    sections = _elf_sections(Path(chunkfold._core.__file__ or ""))
    return sections is not None and ".debug_info" in sections


@pytest.fixture(autouse=True)
def _release_only(benchmark: Any) -> None:
    """Refuses to time a debug build of the extension (it has DWARF ``.debug_info``)."""
    if not benchmark.disabled and _debug_build() and not os.environ.get(ALLOW_DEBUG_ENV):
        pytest.skip(
            f"chunkfold._core is a debug build; rebuild with `maturin develop --release` "
            f"or set {ALLOW_DEBUG_ENV}=1"
        )


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails any bench that opens a connection (the openai client must not)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"benches must not use the network: connect{args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
