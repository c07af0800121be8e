"""MessageEventDecoder and the Anthropic models' decoding."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import msgspec
import pytest
from anthropic_reference import encode_events
from chunkfold import MessageEventDecoder
from chunkfold.anthropic import aiter_message_events, decode_event, iter_message_events, models
from chunkfold.errors import ChunkDecodeError, EventTooLargeError, StreamAPIError

START = {
    "type": "message_start",
    "message": {"id": "m", "model": "x", "content": [], "usage": {"input_tokens": 1}},
}
TEXT = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
STOP = {"type": "message_stop"}
ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_typed_events_routed_by_type_with_or_without_event_lines() -> None:
    data = encode_events([("message_start", START), ("", TEXT), ("ping", {"type": "ping"}), ("", STOP)])
    events = MessageEventDecoder().feed(data)
    assert [type(e).__name__ for e in events] == [
        "RawMessageStartEvent",
        "RawContentBlockDeltaEvent",
        "PingEvent",
        "RawMessageStopEvent",
    ]
    assert events[1] == models.RawContentBlockDeltaEvent(index=0, delta=models.TextDelta(text="hi"))
    assert events[0].type == "message_start"


def test_unknown_types_are_kept() -> None:
    odd_block = {"type": "content_block_start", "index": 0, "content_block": {"type": "hologram", "x": 1}}
    odd_delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "smell_delta", "y": 2}}
    events = MessageEventDecoder().feed(
        encode_events([("", {"type": "vertex_event", "z": 3}), ("", odd_block), ("", odd_delta)])
    )
    assert isinstance(events[0], models.UnknownEvent)
    assert (events[0].type, json.loads(bytes(events[0].raw))) == (
        "vertex_event",
        {"type": "vertex_event", "z": 3},
    )
    assert isinstance(events[1], models.RawContentBlockStartEvent)
    assert isinstance(events[1].content_block, models.UnknownBlock)
    assert isinstance(events[2], models.RawContentBlockDeltaEvent)
    assert isinstance(events[2].delta, models.UnknownDelta)
    assert events[2].delta.type == "smell_delta"
    assert json.loads(bytes(events[2].delta.raw)) == {"type": "smell_delta", "y": 2}


def test_error_events_raise_and_nothing_is_lost() -> None:
    decoder = MessageEventDecoder()
    with pytest.raises(StreamAPIError) as info:
        decoder.feed(encode_events([("", START), ("error", ERROR), ("", TEXT)]))
    assert (info.value.type, info.value.message) == ("overloaded_error", "Overloaded")
    assert [type(e).__name__ for e in info.value.decoded] == ["RawMessageStartEvent"]
    assert isinstance(decoder.finish()[0], models.RawContentBlockDeltaEvent)
    with pytest.raises(StreamAPIError, match="upstream died"):
        MessageEventDecoder().feed(b"event: error\ndata: upstream died\n\n")


def test_malformed_payloads() -> None:
    data = encode_events([("", START), ("", b"{oops"), ("", TEXT)])
    decoder = MessageEventDecoder()
    with pytest.raises(ChunkDecodeError) as info:
        decoder.feed(data)
    assert info.value.offset == len(encode_events([("", START)]))
    assert len(decoder.finish()) == 1
    lax = MessageEventDecoder(strict=False)
    assert len(lax.feed(data)) == 2
    assert lax.skipped == 1
    small = MessageEventDecoder(max_event_size=100)
    with pytest.raises(EventTooLargeError) as too_big:
        small.feed(encode_events([("", {"type": "ping", "pad": "x" * 200}), ("", STOP)]))
    assert [type(e).__name__ for e in too_big.value.decoded] == ["RawMessageStopEvent"]


def test_done_also_for_an_unterminated_message_stop() -> None:
    decoder = MessageEventDecoder()
    decoder.feed(encode_events([("", START)]) + b'data: {"type":"message_stop"}')
    assert not decoder.done
    assert [type(e).__name__ for e in decoder.finish()] == ["RawMessageStopEvent"]
    assert decoder.done
    other = MessageEventDecoder()
    other.feed(b'data: {"type":"ping"}')
    assert other.finish() == []  # any other incomplete event is discarded


def test_iter_helpers() -> None:
    data = encode_events([("", START), ("", TEXT), ("", STOP)])
    reads = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert len(list(iter_message_events(reads))) == 3

    async def source() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    async def collect() -> int:
        return len([e async for e in aiter_message_events(source())])

    assert asyncio.run(collect()) == 3


def test_decode_event_rejects_known_types_with_wrong_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_event(
            b'{"type":"content_block_delta","index":"zero","delta":{"type":"text_delta","text":"x"}}'
        )
    with pytest.raises(msgspec.ValidationError):
        decode_event(b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}')
