"""Anthropic Messages streams for the mock upstream (``POST /v1/messages``).

Chosen by ``model``, like the chat streams: ``mock-chat`` text,
``mock-tools`` text then a tool call whose input arrives in small
``input_json_delta`` fragments, ``mock-reasoning`` a thinking block (with
its signature) then text, ``mock-error`` text then an ``overloaded_error``
event mid-stream, ``mock-incomplete`` text stopped by ``max_tokens``.
Framed as Anthropic frames them: an ``event:`` line naming each event, a
``ping`` after the first block starts, cumulative usage in
``message_delta``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MESSAGE_ID = "msg_mock0000000000000000000"
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "streams", "flow"]
INPUT_TOKENS = 12


def _event(kind: str, **fields: Any) -> bytes:
    payload = {"type": kind, **fields}
    return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> Iterator[tuple[bytes, int]]:
    yield _event("content_block_start", index=index, content_block=start), 0
    if index == 0:
        yield _event("ping"), 0
    for delta in deltas:
        carries = delta["type"] != "signature_delta"
        yield _event("content_block_delta", index=index, delta=delta), int(carries)
    yield _event("content_block_stop", index=index), 0


def _words(count: int) -> list[str]:
    return [f" {WORDS[i % len(WORDS)]}" for i in range(count)]


def frames(model: str, tokens: int) -> Iterator[tuple[bytes, int]]:
    """The stream for a request, as (frame, tokens it carries) pairs."""
    usage = {
        "input_tokens": INPUT_TOKENS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    message = {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    yield _event("message_start", message=message), 0
    index = 0
    sent = 0
    stop_reason = "end_turn"
    if model == "mock-reasoning":
        thoughts = _words(tokens // 2)
        deltas = [{"type": "thinking_delta", "thinking": t} for t in thoughts]
        deltas.append({"type": "signature_delta", "signature": "EqMBCkgIARABGAIiQL0mock"})
        yield from _block(index, {"type": "thinking", "thinking": "", "signature": ""}, deltas)
        index += 1
        sent += len(thoughts)
    words = tokens - sent
    if model == "mock-incomplete":
        words = max(1, tokens // 2)
        stop_reason = "max_tokens"
    if model == "mock-error":
        words = tokens // 2
    yield from _block(
        index, {"type": "text", "text": ""}, [{"type": "text_delta", "text": w} for w in _words(words)]
    )
    index += 1
    sent += words
    if model == "mock-error":
        error = {"type": "overloaded_error", "message": "Overloaded"}
        yield _event("error", error=error), 0
        return
    if model == "mock-tools":
        stop_reason = "tool_use"
        arguments = '{"city": "Paris", "units": "celsius"}'
        start = {"type": "tool_use", "id": "toolu_mock0", "name": "get_weather", "input": {}}
        fragments = [{"type": "input_json_delta", "partial_json": ""}]
        fragments += [
            {"type": "input_json_delta", "partial_json": arguments[i : i + 5]}
            for i in range(0, len(arguments), 5)
        ]
        yield from _block(index, start, fragments)
        sent += len(fragments) - 1
    delta_usage = {"output_tokens": sent}
    yield (
        _event("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None}, usage=delta_usage),
        0,
    )
    yield _event("message_stop"), 0
