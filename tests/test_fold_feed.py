"""``feed`` of the Responses and Anthropic accumulators: with events and
partial JSON off it is the Rust method itself (no Python frame per read), and
either way the same strict / lenient errors, results and locking hold."""

from __future__ import annotations

import gc
import inspect
import json
import sysconfig
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import BuiltinMethodType
from typing import Any

import msgspec
import pytest
from chunkfold import (
    ChatCompletionAccumulator,
    ChunkDecodeError,
    ConcurrentUseError,
    EventTooLargeError,
    MessageAccumulator,
    ResponseAccumulator,
)
from chunkfold.chat.models import ChatCompletionChunk

DATA = Path(__file__).parent / "data" / "fixtures"
Make = Callable[..., Any]
PROTOCOLS: dict[str, tuple[Make, Path]] = {
    "responses": (ResponseAccumulator, DATA / "responses" / "dotnet-function-call.sse"),
    "anthropic": (MessageAccumulator, DATA / "anthropic" / "anthsdk-tool-use.sse"),
}
OPTIONS = [{}, {"events": True}, {"partial_json": True}, {"events": True, "partial_json": True}]
BAD = b"data: {not json\n\n"


def frames(body: bytes) -> list[bytes]:
    """The body's SSE events, each with its blank line."""
    return [event + b"\n\n" for event in body.replace(b"\r\n", b"\n").split(b"\n\n") if event.strip()]


def frame(payload: dict[str, Any], kind: str | None = None) -> bytes:
    head = b"" if kind is None else f"event: {kind}\n".encode()
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_feed_is_the_rust_method_only_with_events_and_partial_json_off(protocol: str) -> None:
    make, path = PROTOCOLS[protocol]
    for strict in (True, False):
        acc = make(strict=strict)
        assert isinstance(acc.feed, BuiltinMethodType)
        first, second = acc.feed(path.read_bytes()), acc.feed(b"")
        assert first == second == []
        assert first is not second  # a new list each call, never a shared one
    for options in OPTIONS[1:]:
        assert not isinstance(make(**options).feed, BuiltinMethodType)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_payload_raises_after_folding_the_rest_or_is_skipped(
    protocol: str, options: dict[str, bool]
) -> None:
    make, path = PROTOCOLS[protocol]
    events = frames(path.read_bytes())
    half = len(events) // 2
    data = b"".join(events[:half]) + BAD + b"".join(events[half:])
    clean = make(**options)
    expected_events = clean.feed(b"".join(events))
    expected = clean.finish()
    assert bool(expected_events) == bool(options.get("events"))

    acc = make(**options)
    with pytest.raises(ChunkDecodeError) as info:
        acc.feed(data)
    assert info.value.offset == len(b"".join(events[:half]))
    assert info.value.decoded == expected_events
    assert (acc.skipped, acc.chunks) == (0, clean.chunks)
    assert acc.finish() == expected

    lax = make(strict=False, **options)
    assert lax.feed(data) == expected_events
    assert (lax.skipped, lax.chunks) == (1, clean.chunks)
    assert lax.finish() == expected


@pytest.mark.parametrize("options", OPTIONS[:2])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_oversized_event_raises_after_folding_the_rest_or_is_dropped(
    protocol: str, options: dict[str, bool]
) -> None:
    make, path = PROTOCOLS[protocol]
    events = frames(path.read_bytes())
    limit = max(map(len, events))
    data = events[0] + b"data: " + b"x" * (limit + 1) + b"\n\n" + b"".join(events[1:])
    clean = make(**options)
    expected_events = clean.feed(b"".join(events))
    expected = clean.finish()

    acc = make(max_event_size=limit, **options)
    with pytest.raises(EventTooLargeError) as info:
        acc.feed(data)
    assert (info.value.offset, info.value.limit) == (len(events[0]), limit)
    assert info.value.decoded == expected_events
    assert acc.finish() == expected

    lax = make(max_event_size=limit, strict=False, **options)
    assert lax.feed(data) == expected_events
    assert lax.finish() == expected


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_feed_after_finish_raises_in_both_modes(protocol: str) -> None:
    from chunkfold.errors import DecoderFinishedError

    make, path = PROTOCOLS[protocol]
    for strict in (True, False):
        acc = make(strict=strict)
        acc.feed(path.read_bytes())
        acc.finish()
        with pytest.raises(DecoderFinishedError):
            acc.feed(b"data: {}\n\n")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_feed_refuses_str_with_type_error(protocol: str) -> None:
    make, _ = PROTOCOLS[protocol]
    for options in OPTIONS[:2]:
        with pytest.raises(TypeError, match="not str"):
            make(**options).feed("data: {}\n\n")


# A stream head, a one-token text delta, and a large read of events that
# change nothing (folded with the interpreter released, so that other
# threads run meanwhile and meet the lock).
STREAMS: dict[str, tuple[bytes, bytes, bytes]] = {
    "responses": (
        frame(
            {
                "type": "response.created",
                "response": {
                    "id": "resp_1",
                    "object": "response",
                    "created_at": 1,
                    "status": "in_progress",
                    "model": "gpt-test",
                    "output": [],
                },
            }
        )
        + frame(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "type": "message",
                    "id": "msg_1",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            }
        )
        + frame(
            {
                "type": "response.content_part.added",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []},
            }
        ),
        frame(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": "x",
            }
        ),
        frame({"type": "keepalive"}) * 60_000,
    ),
    "anthropic": (
        frame(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-test",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            }
        )
        + frame({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        frame({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
        frame({"type": "ping"}, "ping") * 60_000,
    ),
}


@pytest.mark.parametrize("options", OPTIONS[:2])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_threads_sharing_an_accumulator_meet_concurrent_use_error_and_lose_nothing(
    protocol: str, options: dict[str, bool]
) -> None:
    make, _ = PROTOCOLS[protocol]
    head, delta, idle = STREAMS[protocol]
    assert len(idle) >= 1 << 20  # released the interpreter while folded
    acc = make(**options)
    acc.feed(head)
    refused = 0
    fed = {"delta": 0, "idle": 0}
    stop = threading.Event()

    def idler() -> None:
        while not stop.is_set():
            try:
                acc.feed(idle)
            except ConcurrentUseError:
                continue
            fed["idle"] += 1

    thread = threading.Thread(target=idler)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not (refused >= 3 and fed["idle"] >= 2) and time.monotonic() < deadline:
            try:
                acc.feed(delta)
            except ConcurrentUseError:
                refused += 1
                continue
            fed["delta"] += 1
    finally:
        stop.set()
        thread.join()
    assert refused >= 3

    alone = make(**options)
    alone.feed(head + delta * fed["delta"] + idle * fed["idle"])
    assert acc.finish() == alone.finish()
    assert (acc.chunks, acc.bytes) == (alone.chunks, alone.bytes)


FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
ACCUMULATORS: dict[str, Make] = {
    "chat": ChatCompletionAccumulator,
    "responses": ResponseAccumulator,
    "anthropic": MessageAccumulator,
}


@pytest.mark.parametrize("protocol", ACCUMULATORS)
def test_feed_reuses_its_empty_list_only_when_nobody_holds_or_filled_it(protocol: str) -> None:
    acc = ACCUMULATORS[protocol]()
    held = acc.feed(b"")
    again = acc.feed(b"")
    assert held == again == []
    assert held is not again
    del held, again
    if not FREE_THREADED:  # where it is never reused
        # Dropped by the caller: the next call hands the same list out again.
        first = id(acc.feed(b""))
        assert id(acc.feed(b": keep-alive\n\n")) == first
    filled = acc.feed(b"")
    filled.append("the caller's")
    del filled
    assert acc.feed(b"") == []


@pytest.mark.parametrize("protocol", ACCUMULATORS)
def test_a_filled_list_is_let_go_at_the_threads_next_call(protocol: str) -> None:
    class Marker:
        pass

    make = ACCUMULATORS[protocol]
    acc, marker = make(), Marker()
    alive = weakref.ref(marker)
    acc.feed(b"").append((acc, marker))  # the list the thread keeps now holds both
    del acc, marker
    assert make().feed(b"") == []  # any accumulator's next call on this thread
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("protocol", ACCUMULATORS)
def test_feed_is_a_one_argument_method(protocol: str) -> None:
    make = ACCUMULATORS[protocol]
    core = type(make()._core)
    assert str(inspect.signature(core.feed)) == "(self, data, /)"
    with pytest.raises(TypeError, match="exactly one argument"):
        make().feed()
    with pytest.raises(TypeError, match="no keyword arguments"):
        make().feed(data=b"")
    with pytest.raises(TypeError, match="doesn't apply"):
        core.feed(object(), b"")


def test_add_chunk_reuses_its_empty_list_like_feed() -> None:
    chunk = msgspec.json.decode(
        b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}',
        type=ChatCompletionChunk,
    )
    acc = ChatCompletionAccumulator()
    held = acc.add(chunk)
    again = acc.add(chunk)
    assert held == again == []
    assert held is not again
    del held, again
    if not FREE_THREADED:
        first = id(acc.add(chunk))
        assert id(acc.feed(b"")) == first  # one list, shared by add and feed
    filled = acc.add(chunk)
    filled.append("the caller's")
    del filled
    assert acc.add(chunk) == []
    assert acc.snapshot().choices[0].message.content == "x" * 5  # every add folded
