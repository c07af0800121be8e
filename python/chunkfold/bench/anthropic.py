"""Anthropic Messages scenarios and baselines for ``chunkfold bench``.

Scenarios (:data:`SCENARIOS`, synthetic streams shaped like the recorded ones:
``event:`` lines, pings, whitespace-padded JSON): a text answer, a tool call
whose input streams in 1,000 ``input_json_delta`` fragments, and extended
thinking followed by text. Each records the message a correct fold gives,
which :func:`check` compares every implementation's result with.

Implementations (:data:`IMPLEMENTATIONS`), each from reads to the final message:

* ``feed``: :meth:`chunkfold.MessageAccumulator.feed`, then ``finish()``;
* ``msgspec``: the best pure Python we know: ``bytes.split`` framing, msgspec
  Structs and a minimal fold that joins each tool's fragments and parses them
  once;
* ``anthropic``: anthropic-sdk-python's ``MessageStream`` over its own
  ``Stream`` of pydantic events (what ``client.messages.stream(...)`` gives,
  folded by its ``accumulate_event``), on an in-memory response: no request is sent.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import msgspec

import chunkfold
from chunkfold.bench.implementation import Implementation, Reads, Run, feed_all, plain
from chunkfold.bench.streams import BenchScenario, checker, scenarios

__all__ = ["IMPLEMENTATIONS", "SCENARIOS", "check", "message_stream", "summarize"]

_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "streaming",
    "tokens",
    "arrive",
    "one",
    "by",
    "one",
]
_SIGNATURE = "EqQBCkYIBxgCKkBbench" * 8


def _event(name: str, obj: dict[str, Any], pad: int = 0) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if pad:
        data = data[:-1] + " " * pad + "}"
    return f"event: {name}\ndata: {data}\n\n".encode()


def _text_block(index: int, deltas: int, seed: int, kind: str = "text") -> tuple[list[bytes], dict[str, Any]]:
    """A text or thinking block's events, and the block they fold to."""
    field, delta_type = ("text", "text_delta") if kind == "text" else ("thinking", "thinking_delta")
    start = {"type": kind, field: ""} if kind == "text" else {"type": kind, "thinking": "", "signature": ""}
    body = {"type": "content_block_start", "index": index, "content_block": start}
    out = [_event("content_block_start", body)]
    pieces = []
    for i in range(deltas):
        if i % 40 == 20:
            out.append(_event("ping", {"type": "ping"}))
        piece = " " + _WORDS[(i + seed) % len(_WORDS)] + ("\n" if i % 17 == 0 else "")
        pieces.append(piece)
        body = {"type": "content_block_delta", "index": index, "delta": {"type": delta_type, field: piece}}
        out.append(_event("content_block_delta", body, i % 13))
    block = {**start, field: "".join(pieces)}
    if kind == "thinking":
        signature = {"type": "signature_delta", "signature": _SIGNATURE}
        out.append(
            _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": signature})
        )
        block["signature"] = _SIGNATURE
    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}, 14))
    return out, block


def _tool_block(index: int, fragments: int, seed: int) -> tuple[list[bytes], dict[str, Any]]:
    """A tool_use block whose input streams in ``fragments`` pieces, and the block they fold to."""
    block = {"type": "tool_use", "id": "toolu_01Bench", "name": "write_rows", "input": {}}
    body = {"type": "content_block_start", "index": index, "content_block": block}
    out = [_event("content_block_start", body)]
    pieces = ['{"rows": [']
    for i in range(seed, seed + fragments - 2):
        pieces.append(f'{{"id": {i}, "city": "Paris"}}, ' if i % 2 == 0 else f'{{"id": {i}, "ok": true}}, ')
    pieces.append('{"id": -1}]}')
    for piece in pieces:
        delta = {"type": "input_json_delta", "partial_json": piece}
        out.append(
            _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, 7)
        )
    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}, 14))
    return out, {**block, "input": json.loads("".join(pieces))}


def message_stream(kind: str, deltas: int, *, seed: int = 0) -> tuple[bytes, dict[str, Any]]:
    """An Anthropic-shaped Messages stream and the message it folds to: ``kind`` is
    ``"text"``, ``"tool"`` (20 text deltas, then a tool input in ``deltas`` fragments)
    or ``"thinking"`` (half thinking, half text); ``deltas`` counts delta events."""
    if kind == "text":
        blocks = [_text_block(0, deltas, seed)]
        stop_reason = "end_turn"
    elif kind == "tool":
        blocks = [_text_block(0, 20, seed), _tool_block(1, deltas, seed)]
        stop_reason = "tool_use"
    elif kind == "thinking":
        blocks = [_text_block(0, deltas // 2, seed, "thinking"), _text_block(1, deltas - deltas // 2, seed)]
        stop_reason = "end_turn"
    else:
        raise ValueError(f"unknown Anthropic scenario kind {kind!r}")
    usage = {"input_tokens": 812, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    message: dict[str, Any] = {
        "model": "claude-sonnet-4-5-20250929",
        "id": "msg_01BenchBenchBenchBench",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    out = [_event("message_start", {"type": "message_start", "message": message})]
    for events, _ in blocks:
        out += events
    end = {"stop_reason": stop_reason, "stop_sequence": None}
    final_usage = {"input_tokens": 812, "output_tokens": deltas}
    out.append(_event("message_delta", {"type": "message_delta", "delta": end, "usage": final_usage}, 11))
    out.append(_event("message_stop", {"type": "message_stop"}, 9))
    final = {**message, **end, "content": [b for _, b in blocks], "usage": {**usage, **final_usage}}
    return b"".join(out), final


# --- implementations -------------------------------------------------------------------


def _feed() -> Run:
    """chunkfold.MessageAccumulator.feed: bytes to the final Message."""

    return functools.partial(feed_all, chunkfold.MessageAccumulator)


class _Delta(msgspec.Struct, gc=False):
    type: str = ""
    stop_reason: str | None = None
    stop_sequence: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None


class _Event(msgspec.Struct, gc=False):
    type: str
    index: int | None = None
    delta: _Delta | None = None
    content_block: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


def _msgspec() -> Run:
    """bytes.split framing + msgspec Structs + a minimal fold (tool input parsed once): best pure Python."""
    decode = msgspec.json.Decoder(_Event).decode

    def run(reads: Reads) -> Any:
        message: dict[str, Any] = {}
        blocks: dict[int, dict[str, Any]] = {}
        parts: dict[int, list[str]] = {}
        usage: dict[str, Any] = {}
        carry = b""
        for read in reads:
            chunks = (carry + read if carry else read).split(b"\n\n")
            carry = chunks.pop()
            for chunk in chunks:
                event = decode(chunk[chunk.find(b"data: ") + 6 :])
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    assert delta is not None
                    assert event.index is not None
                    if delta.text is not None or delta.thinking is not None or delta.partial_json is not None:
                        parts.setdefault(event.index, []).append(
                            delta.text or delta.thinking or delta.partial_json or ""
                        )
                    elif delta.signature is not None:
                        blocks[event.index]["signature"] = delta.signature
                elif kind == "content_block_start":
                    assert event.index is not None
                    assert event.content_block is not None
                    blocks[event.index] = event.content_block
                elif kind == "content_block_stop":
                    assert event.index is not None
                    block, joined = blocks[event.index], "".join(parts.pop(event.index, ()))
                    if block["type"] == "tool_use":
                        block["input"] = msgspec.json.decode(joined) if joined else block["input"]
                    elif block["type"] in ("text", "thinking"):
                        block[block["type"]] += joined
                elif kind == "message_start":
                    message = event.message or {}
                    usage.update(message.get("usage") or {})
                elif kind == "message_delta":
                    if event.delta is not None:
                        for key in ("stop_reason", "stop_sequence"):
                            if getattr(event.delta, key) is not None:
                                message[key] = getattr(event.delta, key)
                    usage.update({k: v for k, v in (event.usage or {}).items() if v is not None})
        message["content"] = [blocks[i] for i in sorted(blocks)]
        message["usage"] = usage
        return message

    return run


def _anthropic() -> Run:
    """anthropic-sdk-python's MessageStream over its Stream of pydantic events (accumulate_event)."""
    import anthropic
    import httpx2
    from anthropic.lib.streaming import MessageStream
    from anthropic.types import RawMessageStreamEvent

    base = "http://127.0.0.1:9"
    client = anthropic.Anthropic(api_key="sk-bench", base_url=base, max_retries=0)
    request = httpx2.Request("POST", f"{base}/v1/messages")
    headers = {"content-type": "text/event-stream"}

    def run(reads: Reads) -> Any:
        response = httpx2.Response(200, headers=headers, content=iter(reads), request=request)
        cast_to: Any = RawMessageStreamEvent
        raw: anthropic.Stream[Any] = anthropic.Stream(cast_to=cast_to, response=response, client=client)
        stream: MessageStream[None] = MessageStream(raw, anthropic.NOT_GIVEN)
        for _ in stream:
            pass
        return stream.get_final_message()

    return run


#: Every implementation, chunkfold's first; ``feed`` is what the baselines are compared with.
IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation("feed", "chunkfold MessageAccumulator", "fold", False, (), _feed),
    Implementation("msgspec", "split + msgspec Structs", "fold", True, (), _msgspec),
    Implementation("anthropic", "anthropic MessageStream", "fold", True, ("anthropic",), _anthropic),
)


#: The Anthropic scenarios, by name.
SCENARIOS: dict[str, BenchScenario] = scenarios(
    message_stream,
    ("anthropic-text", "text", 500, "Anthropic text answer, 500 text_delta events"),
    ("anthropic-tool", "tool", 1000, "Anthropic tool call, input in 1000 input_json_delta fragments"),
    ("anthropic-thinking", "thinking", 500, "Anthropic thinking, then text, 500 deltas"),
)


# --- checking results -------------------------------------------------------------------


def _block(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    return {
        "type": kind,
        "text": block.get("text"),
        "thinking": block.get("thinking"),
        "signature": block.get("signature"),
        "id": block.get("id"),
        "name": block.get("name"),
        "input": block.get("input"),
    }


def summarize(message: Any) -> dict[str, Any]:
    """A final message of any implementation (chunkfold or anthropic models, or a dict)
    reduced to what every one must agree on: id, model, stop reason, blocks and usage."""
    data = plain(message) or {}
    usage = data.get("usage") or {}
    return {
        "id": data.get("id"),
        "model": data.get("model"),
        "stop_reason": data.get("stop_reason"),
        "content": [_block(block) for block in data.get("content") or ()],
        "usage": [usage.get("input_tokens"), usage.get("output_tokens")],
    }


#: Raises :class:`~chunkfold.bench.implementation.ResultMismatch` unless a result is what the
#: stream recorded, as :func:`summarize` sees it.
check = checker(summarize)
