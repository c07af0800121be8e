"""Decoders used from many threads: each works, or refuses clearly, never corrupts."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chunkfold import (
    ChatCompletionAccumulator,
    ChunkDecodeError,
    ChunkDecoder,
    ConcurrentUseError,
    SSEDecoder,
)
from chunkfold.bench.corpus import chat_stream, reads
from chunkfold.events import ContentDelta, ToolArgumentsDelta

T = TypeVar("T")
BODY = chat_stream(200)
EXPECTED = len(ChunkDecoder().feed(BODY))


def decode_alone(seed: int) -> int:
    decoder = ChunkDecoder()
    chunks = [c for piece in reads(BODY, "random", seed=seed) for c in decoder.feed(piece)]
    return len(chunks + decoder.finish())


def test_unshared_decoders_in_a_pool_of_16() -> None:
    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(decode_alone, range(64))) == [EXPECTED] * 64


def test_shared_decoder_fed_whole_events_from_16_threads() -> None:
    decoder = SSEDecoder()
    frame = b"data: x\n\n"

    def feed(_: int) -> int:
        while True:
            try:
                return len(decoder.feed(frame))
            except ConcurrentUseError:
                continue

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(feed, range(2000))) == 2000
    assert decoder.position == 2000 * len(frame)


def frame(payload: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def tool_piece(arguments: str) -> bytes:
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": arguments}}
    return frame({"id": "c", "choices": [{"index": 0, "delta": {"content": "x", "tool_calls": [call]}}]})


def retrying(feed: Callable[[bytes], list[T]], data: bytes) -> list[T]:
    while True:
        try:
            return feed(data)
        except ConcurrentUseError:
            continue


def test_shared_accumulator_with_events_and_partial_json_from_16_threads() -> None:
    acc = ChatCompletionAccumulator(events=True, partial_json=True)
    acc.feed(tool_piece('{"k": ['))
    piece = tool_piece("1,")

    with ThreadPoolExecutor(16) as pool:
        events = [e for batch in pool.map(lambda _: retrying(acc.feed, piece), range(2000)) for e in batch]

    assert sum(isinstance(e, ContentDelta) for e in events) == 2000
    assert sum(isinstance(e, ToolArgumentsDelta) for e in events) == 2000
    assert acc.tool_arguments() == [{"k": [1] * 2000}]
    message = acc.finish().choices[0].message
    assert message.content == "x" * 2001
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.arguments == '{"k": [' + "1," * 2000
    assert acc.chunks == 2001


def test_shared_chunk_decoder_loses_and_repeats_nothing_across_errors() -> None:
    # Every fourth read holds a malformed chunk between two good ones: the
    # error path's backlog is shared by the threads.
    decoder = ChunkDecoder()
    good = frame({"id": "ok", "choices": []})
    mixed = good + b"data: {nope\n\n" + good

    def feed(i: int) -> tuple[int, int]:
        data = mixed if i % 4 == 0 else good
        try:
            chunks = retrying(decoder.feed, data)
        except ChunkDecodeError as exc:
            return len(exc.decoded), 1
        return len(chunks), 0

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(feed, range(2000)))
    held_back = retrying(lambda _: decoder.finish(), b"")
    decoded = sum(n for n, _ in results) + len(held_back)
    assert sum(e for _, e in results) == 500
    assert decoded == 1500 + 500 * 2


def test_shared_response_accumulator_with_events_and_partial_json_from_16_threads() -> None:
    from chunkfold import ResponseAccumulator
    from chunkfold.events import ArgumentsDelta

    acc = ResponseAccumulator(events=True, partial_json=True)
    delta = {"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc"}
    acc.feed(frame({**delta, "delta": '{"k": ['}))
    piece = frame({**delta, "delta": "1,"})

    with ThreadPoolExecutor(16) as pool:
        events = [e for batch in pool.map(lambda _: retrying(acc.feed, piece), range(2000)) for e in batch]

    assert sum(isinstance(e, ArgumentsDelta) for e in events) == 2000
    assert acc.tool_arguments() == {0: {"k": [1] * 2000}}
    call = acc.finish().output[0]
    assert getattr(call, "arguments", None) == '{"k": [' + "1," * 2000
    assert acc.chunks == 2001
