"""Callgrind driver for the per-event cost of ``feed`` + ``finish()`` on the
chat, Responses and Anthropic bench streams (README, "At the limits").

    valgrind --tool=callgrind python tools/callgrind_feed.py none 0
    valgrind --tool=callgrind python tools/callgrind_feed.py anthropic:event 20

Every case is built and folded once first, so that a run folding one case
``K`` more times differs from the ``none`` run only by those folds: the
per-event cost is the difference of the two instruction totals divided by
``K`` times the stream's events. Cases: ``chat:event``,
``chat:64k``, ``responses:event``, ``responses:64k``, ``anthropic:event``,
``anthropic:64k``.
"""

from __future__ import annotations

import sys

import chunkfold
from chunkfold.bench import anthropic, corpus, responses
from chunkfold.bench.corpus import reads

STREAMS = {
    "chat": (chunkfold.ChatCompletionAccumulator, corpus.SCENARIOS["chat"].stream()),
    "responses": (chunkfold.ResponseAccumulator, responses.SCENARIOS["responses-text"].stream()),
    "anthropic": (chunkfold.MessageAccumulator, anthropic.SCENARIOS["anthropic-text"].stream()),
}


def fold(protocol: str, data: list[bytes]) -> None:
    acc = STREAMS[protocol][0](strict=False)
    feed = acc.feed
    for read in data:
        feed(read)
    acc.finish()


def main() -> None:
    case, times = sys.argv[1], int(sys.argv[2])
    data = {
        (protocol, pattern): reads(stream.body, pattern)
        for protocol, (_, stream) in STREAMS.items()
        for pattern in ("event", "64k")
    }
    for (protocol, _), pieces in data.items():
        fold(protocol, pieces)
    if case != "none":
        protocol, pattern = case.split(":")
        for _ in range(times):
            fold(protocol, data[(protocol, pattern)])
    events = {p: len(reads(s.body, "event")) for p, (_, s) in STREAMS.items()}
    print(f"{case} x{times}; events per stream: {events}")


if __name__ == "__main__":
    main()
