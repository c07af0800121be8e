"""Times Responses API folding: chunkfold, the best pure Python, openai-python.

    python benches/responses_perf.py [--quick]

Per scenario (OpenAI-shaped streams from ``chunkfold.bench.responses.stream``, cut
into 64 KiB reads), µs per event (best of several runs of the whole stream,
``finish()`` included), and chunkfold's speedup over each baseline from the same
run. Then ``feed()`` alone per text-delta event: the median over the stream's
reads, each a fresh ``bytes``, as from a socket (a single slow read on this shared
machine is another process's time slice, not the fold's).
"""

from __future__ import annotations

import statistics
import sys
import time

from chunkfold import ResponseAccumulator
from chunkfold.bench.responses import IMPLEMENTATIONS, stream

READ = 65536


def best_time(run: object, reads: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(reads)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    quick = "--quick" in sys.argv
    scenarios = [("text", 2000), ("tools", 200), ("tools", 16000), ("reasoning", 2000)]
    runs = {name: factory() for name, _, factory in IMPLEMENTATIONS}
    print(f"{'scenario':16} " + " ".join(f"{name:>10}" for name in runs) + "   feed speedup")
    for kind, events in scenarios:
        body = stream(kind, events)
        reads = [body[i : i + READ] for i in range(0, len(body), READ)]
        times = {}
        for name, run in runs.items():
            repeat = 1 if name == "openai" and (quick or events > 2000) else (3 if quick else 7)
            times[name] = best_time(run, reads, repeat) / events * 1e6
        ratios = ", ".join(f"{times[n] / times['feed']:.0f}x {n}" for n in runs if n != "feed")
        cells = " ".join(f"{times[n]:10.3f}" for n in runs)
        print(f"{kind + ' ' + str(events):16} {cells}   {ratios}   (µs/event)")
    print("\nfeed() alone, median per fresh 64 KiB read:")
    for kind, events in (("text", 200), ("text", 16000), ("tools", 200), ("tools", 16000)):
        body = stream(kind, events)
        per_event = len(body) / (events + 8)
        best = float("inf")
        for _ in range(3 if quick else 7):
            acc = ResponseAccumulator()
            samples = []
            for i in range(0, len(body), READ):
                read = bytes(body[i : i + READ])
                start = time.perf_counter_ns()
                acc.feed(read)
                samples.append((time.perf_counter_ns() - start) / (len(read) / per_event))
            best = min(best, statistics.median(samples))
        print(f"  {kind:6} {events:6} events: {best / 1000:.3f} µs/event")


if __name__ == "__main__":
    main()
