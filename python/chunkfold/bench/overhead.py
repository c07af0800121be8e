"""Per-call costs on the chat stream, in-process: ``python -m chunkfold.bench.overhead``.

What ``chunkfold bench`` does not show on its own, measured in one process
with the same rounds (each sample of every case in turn, medians, garbage
collector off):

* ``feed`` with one read per SSE event and with 64 KiB reads, µs per chunk,
  and their ratio (the per-call overhead);
* ``add(chunk)`` on the stream's chunks already decoded by msgspec, µs per
  chunk, next to ``add_json`` of the same payloads;
* ``tap`` over the event reads, and the Python it adds per read beyond the
  fold: its time minus that of ``feed`` on the same reads.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable

import msgspec

import chunkfold
from chunkfold.bench.corpus import SCENARIOS, reads
from chunkfold.bench.limits import payloads
from chunkfold.chat.models import ChatCompletionChunk
from chunkfold.gateway import tap

__all__ = ["main", "measure"]


def _feed(data: list[bytes]) -> Callable[[], object]:
    def run() -> object:
        acc = chunkfold.ChatCompletionAccumulator(strict=False)
        feed = acc.feed
        for read in data:
            feed(read)
        return acc.finish()

    return run


def measure(repeat: int = 15, min_time: float = 0.02) -> dict[str, float]:
    """µs per chunk (or per read) of each case, medians of ``repeat`` samples."""
    body = SCENARIOS["chat"].body()
    events, big = reads(body, "event"), reads(body, "64k")
    raw = payloads(big)
    chunks = [msgspec.json.decode(p, type=ChatCompletionChunk) for p in raw]

    def add() -> object:
        acc = chunkfold.ChatCompletionAccumulator()
        fold = acc.add
        for chunk in chunks:
            fold(chunk)
        return acc.finish()

    def add_json() -> object:
        acc = chunkfold.ChatCompletionAccumulator()
        fold = acc.add_json
        for payload in raw:
            fold(payload)
        return acc.finish()

    def tapped() -> None:
        for _ in tap(events, protocol="chat"):
            pass

    cases: dict[str, tuple[Callable[[], object], int]] = {
        "feed, event reads": (_feed(events), len(chunks)),
        "feed, 64 KiB reads": (_feed(big), len(chunks)),
        "add(chunk)": (add, len(chunks)),
        "add_json(payload)": (add_json, len(chunks)),
        "tap, event reads (per read)": (tapped, len(events)),
        "feed, event reads (per read)": (_feed(events), len(events)),
    }
    numbers = {}
    for name, (fn, _) in cases.items():
        start = time.perf_counter()
        fn()
        numbers[name] = max(1, int(min_time / max(time.perf_counter() - start, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, (fn, units) in cases.items():
                start = time.perf_counter_ns()
                for _ in range(numbers[name]):
                    fn()
                samples[name].append((time.perf_counter_ns() - start) / numbers[name] / units / 1e3)
    finally:
        gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    """Prints :func:`measure`'s medians and the ratios the README quotes."""
    m = measure()
    for name, value in m.items():
        print(f"{name:>30}: {value:.3f} µs")
    event, big = m["feed, event reads"], m["feed, 64 KiB reads"]
    print(f"{'feed event ÷ 64 KiB':>30}: {event / big:.2f}x")
    tap_extra = m["tap, event reads (per read)"] - m["feed, event reads (per read)"]
    print(f"{'tap beyond the fold, per read':>30}: {tap_extra:.3f} µs")
    print(f"Python {sys.version.split()[0]}, chunkfold {chunkfold.__version__}")


if __name__ == "__main__":
    main()
