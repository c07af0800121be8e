"""The Python surface of SSEDecoder and ServerSentEvent."""

from __future__ import annotations

import gc

import chunkfold
import msgspec
import pytest
from chunkfold import DecoderFinishedError, EventTooLargeError, ServerSentEvent, SSEDecoder


def feed_all(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for piece in pieces for e in decoder.feed(piece)]
    return events + decoder.finish()


def test_event_fields() -> None:
    [event] = feed_all(b'event: add\nid: 7\nretry: 300\ndata: {"a": 1}\n\n')
    assert (event.event, event.data, event.id, event.retry) == ("add", '{"a": 1}', "7", 300)
    assert event.raw == b'{"a": 1}'
    assert event.offset == 0
    assert len(event) == 8


def test_defaults() -> None:
    [event] = feed_all(b"data: x\n\n")
    assert (event.event, event.id, event.retry) == ("message", None, None)


def test_accepts_bytes_bytearray_and_memoryview() -> None:
    body = b"data: a\n\ndata: b\n\n"
    for data in (body, bytearray(body), memoryview(body), memoryview(b"xx" + body)[2:]):
        assert [e.data for e in feed_all(data)] == ["a", "b"]


def test_buffer_protocol_is_zero_copy_and_msgspec_reads_it() -> None:
    [event] = feed_all(b'data: {"x": [1, 2]}\n\n')
    view = memoryview(event)
    assert view.readonly
    assert bytes(view) == b'{"x": [1, 2]}'
    assert msgspec.json.decode(event) == {"x": [1, 2]}


def test_event_outlives_the_input_buffer() -> None:
    decoder = SSEDecoder()
    source = bytearray(b"data: keep\n\n")
    [event] = decoder.feed(source)
    source[6:10] = b"XXXX"
    del source
    gc.collect()
    assert event.data == "keep"


def test_data_spanning_reads_is_carried() -> None:
    events = feed_all(b"data: hel", b"lo\ndata: wor", b"ld\n", b"\n")
    assert [e.data for e in events] == ["hello\nworld"]


def test_invalid_utf8_becomes_replacement_character() -> None:
    [event] = feed_all(b"data: a\xffb\xe2\x82\n\n")
    assert event.data == "a\ufffdb\ufffd"
    assert event.raw == b"a\xffb\xe2\x82"


def test_last_event_id_and_retry_are_exposed() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    decoder.feed(b"id: 42\nretry: 10\n\n")
    assert decoder.last_event_id == "42"
    assert decoder.retry == 10
    assert decoder.position == len(b"id: 42\nretry: 10\n\n")


def test_feeding_str_is_a_type_error_that_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match=r"not str.*encode\(\)"):
        SSEDecoder().feed("data: x\n\n")  # type: ignore[arg-type]


def test_feeding_other_objects_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        SSEDecoder().feed(5)  # type: ignore[arg-type]


def test_feeding_after_finish_is_a_clear_error() -> None:
    decoder = SSEDecoder()
    decoder.finish()
    with pytest.raises(DecoderFinishedError, match="finish"):
        decoder.feed(b"data: x\n\n")
    assert issubclass(DecoderFinishedError, chunkfold.ChunkfoldError)


def test_oversized_event_names_limit_and_offset_and_keeps_neighbours() -> None:
    decoder = SSEDecoder(max_event_size=16)
    body = b"data: ok\n\ndata: " + b"x" * 100 + b"\n\ndata: after\n\n"
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(body)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.limit, err.offset) == (16, 10)
    assert "16" in str(err)
    assert "offset 10" in str(err)
    assert [e.data for e in err.decoded] == ["ok", "after"]
    assert [e.data for e in decoder.feed(b"data: next\n\n")] == ["next"]


def test_default_limit_is_at_least_16_mib() -> None:
    assert SSEDecoder().max_event_size == chunkfold.DEFAULT_MAX_EVENT_SIZE >= 16 * 1024 * 1024


def test_events_compare_and_repr() -> None:
    [a] = feed_all(b"data: x\n\n")
    assert a == ServerSentEvent("x")
    assert a != ServerSentEvent("y")
    assert a != ServerSentEvent("x", event="other")
    assert repr(a) == "ServerSentEvent(event='message', data='x', id=None, retry=None)"


def fields(events: list[ServerSentEvent]) -> list[tuple[object, ...]]:
    return [(e.event, e.raw, e.id, e.retry, e.offset) for e in events]


def test_a_large_read_gives_the_events_of_small_ones() -> None:
    # Reads of 1 MiB and more are scanned with the interpreter released.
    frames = [
        b"data: carried ",
        b"over\nevent: add\nid: 7\nretry: 9\ndata: a\r\ndata: b\n\n",
        *(b'id: %d\ndata: {"n": %d}\n\n' % (i, i) for i in range(60_000)),
        b"data: " + b"x" * 100 + b"\n\n",
        b"event: tail\ndata: unterminated",
    ]
    body = b"".join(frames)
    assert len(body) > 1024 * 1024
    big, small = SSEDecoder(max_event_size=64), SSEDecoder(max_event_size=64)
    head = len(frames[0])
    assert big.feed(body[:head]) == []
    with pytest.raises(EventTooLargeError) as big_error:
        big.feed(body[head:])
    small_events: list[ServerSentEvent] = []
    for start in range(0, len(body), 4096):
        try:
            small_events += small.feed(body[start : start + 4096])
        except EventTooLargeError as error:
            small_events += error.decoded
    assert fields(big_error.value.decoded) == fields(small_events)
    assert big_error.value.decoded[0].raw == b"carried over\na\nb"
    assert (big.position, big.last_event_id) == (small.position, small.last_event_id) == (len(body), "59999")
