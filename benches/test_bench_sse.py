"""SSE framing: the data of every event of the 500-token chat stream, per read pattern.

Groups ``sse-{pattern}``. Each implementation returns the event data in its
native type (``bytes``, ``str`` or an event object); the test checks it against
the reference after timing.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

import chunkfold
import httpx_sse._decoders as httpx_sse_decoders
import openai._streaming
from chunkfold.bench import baselines

Reads = list[bytes]


def chunkfold_raw(reads: Reads) -> list[bytes]:
    """``chunkfold.SSEDecoder``, taking ``event.raw`` of every event."""
    decoder = chunkfold.SSEDecoder()
    out: list[bytes] = []
    for read in reads:
        out.extend([e.raw for e in decoder.feed(read)])
    out.extend([e.raw for e in decoder.finish()])
    return out


def httpx_sse(reads: Reads) -> list[str]:
    """httpx-sse's ``EventSource.iter_sse``: httpx's incremental UTF-8 text, then lines."""
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = httpx_sse_decoders.SSELineDecoder()
    sse = httpx_sse_decoders.SSEDecoder()
    out: list[str] = []

    def decode(batch: list[str]) -> None:
        for line in batch:
            event = sse.decode(line.rstrip("\n"))
            if event is not None:
                out.append(event.data)

    for read in reads:
        if chars := text.decode(read):
            decode(lines.decode(chars))
    if chars := text.decode(b"", True):
        decode(lines.decode(chars))
    decode(lines.flush())
    return out


def openai_sse(reads: Reads) -> list[str]:
    """openai-python's ``SSEDecoder.iter_bytes``, as ``openai.Stream`` runs it."""
    return [e.data for e in openai._streaming.SSEDecoder().iter_bytes(iter(reads))]


def as_bytes(items: list[Any]) -> list[bytes]:
    """Event data as bytes, whatever the implementation returned."""
    return [item.encode() if isinstance(item, str) else bytes(memoryview(item)) for item in items]


def test_chunkfold_raw(run: Any, chat: Any) -> None:
    result = run(f"sse-{chat.pattern}", chunkfold_raw, chat, len(chat.payloads))
    assert result == chat.payloads


def test_chunkfold_events(run: Any, chat: Any) -> None:
    events = baselines.BY_NAME["sse"].load()
    result = run(f"sse-{chat.pattern}", events, chat, len(chat.payloads))
    assert all(isinstance(e, chunkfold.ServerSentEvent) and e.event == "message" for e in result)
    assert as_bytes(result) == chat.payloads


def test_httpx_sse(run: Any, chat: Any) -> None:
    result = run(f"sse-{chat.pattern}", httpx_sse, chat, len(chat.payloads))
    assert as_bytes(result) == chat.payloads


def test_openai(run: Any, chat: Any) -> None:
    result = run(f"sse-{chat.pattern}", openai_sse, chat, len(chat.payloads))
    assert as_bytes(result) == chat.payloads


def test_bytes_split(run: Any, chat: Any, framer: Callable[[Reads], list[bytes]]) -> None:
    result = run(f"sse-{chat.pattern}", framer, chat, len(chat.payloads))
    assert result == chat.payloads[:-1]  # it stops at [DONE]
