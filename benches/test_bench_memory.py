"""Memory: what an accumulator costs while it waits, idle or mid-stream.

A gateway holds one accumulator per open stream, so these are assertions in
smoke runs too:

* ``memory-idle``: new accumulators. tracemalloc sees only their Python
  objects (10,000 of them); the Rust state is not visible to it, so the
  resident set (``/proc/self/statm``) of 20,000 is measured in a fresh
  interpreter, where no freed heap from earlier tests can absorb it, and must
  stay under 1 KiB per accumulator.
* ``memory-midstream``: 10,000 accumulators each fed the first half of the
  500-token chat stream in 1k reads (the last read ends inside an event). They
  must hold no Python object per chunk: gc-tracked objects grow by fewer than 3
  per accumulator, tracemalloc traces under 2 KiB per accumulator (the chunk
  Structs are ``gc=False``, so only this catches them), and the resident set
  stays under a quarter of the bytes fed (it must not keep the stream).

The figures are in ``extra_info``. Timing, when enabled, is of one
accumulator: creating it, or feeding it the half stream.

``python benches/test_bench_memory.py {idle|midstream} N`` prints the resident
set growth of N accumulators as JSON (the tests run it as a subprocess).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import chunkfold
import pytest
from chunkfold.bench import corpus

COUNT = 10_000
RSS_COUNT = {"idle": 20_000, "midstream": COUNT}
STATM = Path("/proc/self/statm")
KIB = 1024


@cache
def half_stream() -> list[bytes]:
    """The first half of the 1k reads of the 500-token chat stream."""
    reads = corpus.reads(corpus.SCENARIOS["chat"].body(), "1k")
    return reads[: len(reads) // 2]


def idle() -> Any:
    """A new accumulator."""
    return chunkfold.ChatCompletionAccumulator()


def midstream() -> Any:
    """An accumulator fed :func:`half_stream`."""
    acc = chunkfold.ChatCompletionAccumulator()
    for read in half_stream():
        acc.feed(read)
    return acc


BUILDERS: dict[str, Callable[[], Any]] = {"idle": idle, "midstream": midstream}


def rss() -> int:
    """Resident set size of this process, in bytes."""
    return int(STATM.read_bytes().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_growth(mode: str, count: int) -> dict[str, int]:
    """In this process: the resident set growth from building ``count`` accumulators."""
    build = BUILDERS[mode]
    # One-time allocations (lazy statics, caches) are not per accumulator. The
    # warm-up ones stay alive, so their memory is not reused by the measured ones.
    warm = [build() for _ in range(64)]
    accs: list[Any] = [None] * count
    gc.collect()
    before = rss()
    for i in range(count):
        accs[i] = build()
    gc.collect()
    grown = rss() - before
    assert len(warm) + len(accs) == 64 + count
    return {"count": count, "rss": grown}


def measure_rss(mode: str) -> dict[str, int]:
    """:func:`rss_growth` in a fresh interpreter."""
    if not STATM.exists():
        pytest.skip("needs /proc/self/statm (Linux)")
    count = RSS_COUNT[mode]
    proc = subprocess.run(
        [sys.executable, __file__, mode, str(count)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, int] = json.loads(proc.stdout)
    return result


def python_growth(build: Callable[[], Any], count: int) -> tuple[list[Any], int, int]:
    """Builds ``count`` accumulators; returns them, the tracemalloc-traced bytes and the
    gc-tracked objects they added."""
    build()
    accs: list[Any] = [None] * count
    gc.collect()
    objects = len(gc.get_objects())
    tracemalloc.start()
    try:
        traced = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            accs[i] = build()
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced
    finally:
        tracemalloc.stop()
    return accs, traced, len(gc.get_objects()) - objects


def test_idle(benchmark: Any) -> None:
    accs, traced, objects = python_growth(idle, COUNT)
    assert all(acc.status == "in_progress" and acc.chunks == 0 for acc in accs)
    del accs
    resident = measure_rss("idle")
    per_rss = resident["rss"] / resident["count"]
    info = {
        "python B/acc": round(traced / COUNT, 1),
        "gc objects/acc": round(objects / COUNT, 2),
        "RSS B/acc": round(per_rss, 1),
    }
    assert traced / COUNT < KIB, info
    assert per_rss < KIB, info

    benchmark.group = "memory-idle"
    benchmark.extra_info.update(info)
    assert benchmark(idle).chunks == 0


def test_midstream(benchmark: Any) -> None:
    fed = b"".join(half_stream())
    assert not fed.endswith(b"\n\n")
    chunks = fed.count(b"\n\n")
    content = "".join(corpus.words(500))

    accs, traced, objects = python_growth(midstream, COUNT)
    for acc in (accs[0], accs[-1]):
        assert (acc.status, acc.done, acc.chunks, acc.bytes) == ("in_progress", False, chunks, len(fed))
        text = acc.snapshot().choices[0].message.content
        assert text
        assert content.startswith(text)
    del accs
    resident = measure_rss("midstream")
    per_rss = resident["rss"] / resident["count"]
    info = {
        "bytes fed": len(fed),
        "chunks": chunks,
        "python B/acc": round(traced / COUNT, 1),
        "gc objects/acc": round(objects / COUNT, 2),
        "RSS B/acc": round(per_rss, 1),
    }
    # Holding each chunk would be `chunks` objects per accumulator (about 250).
    assert objects < 3 * COUNT, info
    assert traced / COUNT < 2 * KIB, info
    assert per_rss < len(fed) / 4, info

    benchmark.group = "memory-midstream"
    benchmark.extra_info.update(info)
    assert benchmark(midstream).chunks == chunks


if __name__ == "__main__":
    print(json.dumps(rss_growth(sys.argv[1], int(sys.argv[2]))))
