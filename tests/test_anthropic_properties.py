"""Properties of the Anthropic fold, with hypothesis.

* Generated streams (any block order, sparse indices, deltas before their block,
  wrong-kind and unknown deltas, nulls, missing fields, renamed and unnamed events,
  errors, second message_starts, invalid tool JSON) fold exactly as the reference
  fold in tests/anthropic_reference.py, however the bytes are split.
* Garbage through every new entry point gives a typed error or a result; never a
  crash, never an untyped exception.
* Hostile inputs: huge indices, deep nesting, long lines, invalid UTF-8.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
import pytest
from anthropic_reference import encode_events, reference_fold
from chunkfold import MessageAccumulator, MessageEventDecoder
from chunkfold.anthropic import decode_event, decode_message
from chunkfold.errors import ChunkfoldError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
indices = st.sampled_from([0, 1, 2, 7, -1, 2**40])
maybe = st.none() | st.integers(0, 10**6)
usage = st.dictionaries(
    st.sampled_from(
        [
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "service_tier",
        ]
    ),
    maybe | st.just("standard"),
    max_size=4,
)
fragments = st.sampled_from(
    ['{"a"', ": 1", ', "b": [true, null]', "}", "", "  ", '{"x": "é\\n"}', "[1]", "{"]
)


@st.composite
def block_starts(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "text",
                "thinking",
                "tool_use",
                "server_tool_use",
                "compaction",
                "redacted_thinking",
                "web_search_tool_result",
                "mystery",
            ]
        )
    )
    block: dict[str, Any] = {"type": kind}
    if kind == "text":
        block["text"] = draw(texts)
        if draw(st.booleans()):
            block["citations"] = [{"type": "char_location", "i": draw(st.integers(0, 3))}]
    elif kind == "thinking":
        block.update(thinking=draw(texts), signature="")
    elif kind.endswith("tool_use"):
        block.update(id="toolu_x", name=draw(texts), input={})
    elif kind == "compaction":
        block["content"] = None
    else:
        block["data"] = draw(texts)
    return block


@st.composite
def deltas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "text_delta",
                "thinking_delta",
                "signature_delta",
                "input_json_delta",
                "citations_delta",
                "compaction_delta",
                "odd_delta",
            ]
        )
    )
    value: Any = {
        "text_delta": ("text", texts),
        "thinking_delta": ("thinking", texts),
        "signature_delta": ("signature", texts),
        "input_json_delta": ("partial_json", fragments),
        "citations_delta": (
            "citation",
            st.fixed_dictionaries({"type": st.just("url"), "n": st.integers(0, 9)}),
        ),
        "compaction_delta": ("content", texts),
        "odd_delta": ("x", st.integers()),
    }[kind]
    body: dict[str, Any] = {"type": kind}
    if draw(st.integers(0, 9)) > 0:
        body[value[0]] = draw(value[1])
    elif draw(st.booleans()):
        body[value[0]] = None
    if draw(st.booleans()):  # some proxies sort keys: the value before the type
        body = dict(reversed(list(body.items())))
    return body


@st.composite
def events(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "start",
                "block",
                "delta",
                "delta",
                "delta",
                "stop",
                "message_delta",
                "message_stop",
                "ping",
                "error",
                "odd",
                "junk",
            ]
        )
    )
    index = draw(indices)
    if kind == "start":
        message: dict[str, Any] = {"id": "msg_" + draw(texts), "model": draw(texts), "usage": draw(usage)}
        if draw(st.booleans()):
            message.update(type="message", role="assistant", stop_reason=None, stop_sequence=None)
        if draw(st.integers(0, 5)) == 0:
            message["content"] = draw(st.lists(block_starts(), max_size=2))
        return ("message_start", {"type": "message_start", "message": message})
    if kind == "block":
        return (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": draw(block_starts())},
        )
    if kind == "delta":
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": draw(deltas())},
        )
    if kind == "stop":
        return ("content_block_stop", {"type": "content_block_stop", "index": index})
    if kind == "message_delta":
        body = {
            "stop_reason": draw(st.none() | st.sampled_from(["end_turn", "max_tokens", "tool_use"])),
            "stop_sequence": draw(st.none() | texts),
        }
        return ("message_delta", {"type": "message_delta", "delta": body, "usage": draw(usage)})
    if kind == "message_stop":
        return ("message_stop", {"type": "message_stop"})
    if kind == "ping":
        return ("ping", {"type": "ping"})
    if kind == "error":
        return ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    if kind == "odd":
        return ("vertex_event", {"type": "vertex_event", "n": index})
    return (
        "",
        draw(st.sampled_from([b"{nope", b"[1, 2]", b'"just a string"', b'{"type": 5, "index": "0"}'])),
    )


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, Any]]:
    body = draw(st.lists(events(), max_size=25))
    if draw(st.booleans()):
        body = [("message_start", {"type": "message_start", "message": {"id": "m", "model": "x"}}), *body]
    renamed = draw(st.integers(0, 3))
    out = []
    for name, payload in body:
        if renamed == 0 and draw(st.booleans()):
            name = ""  # a data-only proxy
        elif renamed == 1 and draw(st.integers(0, 4)) == 0:
            name = "ping"
        out.append((name, payload))
    return out


def _raw(events: list[tuple[str, Any]]) -> list[tuple[str, bytes]]:
    return [(n, p if isinstance(p, bytes) else json.dumps(p).encode()) for n, p in events]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.lists(st.integers(1, 400), max_size=8))
def test_generated_streams_fold_as_the_reference_at_any_split(
    stream: list[tuple[str, Any]], cuts: list[int]
) -> None:
    data = encode_events(stream)
    acc = MessageAccumulator(strict=False)
    at = 0
    for size in cuts:
        acc.feed(data[at : at + size])
        at += size
    acc.feed(data[at:])
    acc.finish()
    ref = reference_fold(_raw(stream))
    assert json.loads(acc._core.snapshot_json()) == ref.message
    assert acc.status == ref.status
    assert (acc.chunks, acc.skipped, acc.ignored, acc.renamed) == (
        ref.chunks,
        ref.skipped,
        ref.ignored,
        ref.renamed,
    )
    assert (acc.mismatched_deltas, acc.invalid_inputs, acc.unknown_deltas) == (
        ref.mismatched,
        ref.invalid_inputs,
        ref.unknown_deltas,
    )
    usage = acc.usage_json()
    assert (None if usage is None else json.loads(usage)) == ref.usage
    assert (acc.error is None) == (ref.error is None)
    acc.snapshot()  # the typed message always decodes
    acc.token_usage  # noqa: B018


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_garbage_bytes_never_crash(data: bytes, step: int) -> None:
    acc = MessageAccumulator(strict=False, events=True, partial_json=True)
    decoder = MessageEventDecoder(strict=False)
    for at in range(0, len(data), step):
        acc.feed(data[at : at + step])
        with contextlib.suppress(ChunkfoldError):
            decoder.feed(data[at : at + step])
    acc.finish()
    acc.snapshot()
    acc.usage  # noqa: B018
    acc.token_usage  # noqa: B018
    with contextlib.suppress(ChunkfoldError):
        decoder.finish()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["type", "index", "delta", "message", "content_block", "usage", "text", "content", "input"]
            )
            | texts,
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["", "error", "message_start", "content_block_delta"]))
def test_garbage_json_through_every_entry_point(value: Any, name: str) -> None:
    payload = json.dumps(value).encode()
    event = (name, payload)
    acc = MessageAccumulator(strict=False)
    acc.feed(encode_events([event]))
    acc.finish()
    acc.snapshot()
    try:
        acc2 = MessageAccumulator()
        acc2.add_json(payload)
        acc2.snapshot()
    except ChunkfoldError:
        pass
    with contextlib.suppress(ChunkfoldError):
        MessageEventDecoder().feed(encode_events([event]))
    # msgspec's DecodeError and ValidationError are ValueErrors.
    with contextlib.suppress(ValueError):
        decode_event(payload)
    with contextlib.suppress(ValueError):
        decode_message(payload)


def _delta_line(index: bytes, text: bytes) -> bytes:
    body = b'"delta":{"type":"text_delta","text":"' + text + b'"}'
    return b'data: {"type":"content_block_delta","index":' + index + b"," + body + b"}\n\n"


def test_hostile_inputs() -> None:
    acc = MessageAccumulator(max_event_size=1 << 19, strict=False)
    acc.feed(b"data: " + b"x" * (1 << 20))  # a line with no end: dropped, bounded
    acc.feed(b"\n\n")
    deep = b"[" * 100_000 + b"]" * 100_000
    acc.feed(b'data: {"type":"vertex_event","x":' + deep + b"}\n\n")
    acc.feed(_delta_line(b"99999999999999999999", b"x"))
    acc.feed(_delta_line(b"9223372036854775807", b"\xff"))
    acc.feed(_delta_line(b"-9223372036854775808", b"ok"))
    tool = {"type": "tool_use", "id": "t", "name": "f", "input": {}}
    acc.feed(encode_events([("", {"type": "content_block_start", "index": 1, "content_block": tool})]))
    nested = {"type": "input_json_delta", "partial_json": "[" * 5000}
    acc.feed(encode_events([("", {"type": "content_block_delta", "index": 1, "delta": nested})]))
    acc.finish()
    message = acc.snapshot()
    assert [getattr(b, "text", None) for b in message.content][:1] == ["ok"]
    assert acc.invalid_inputs == 1  # 5000 levels of nesting: not an object we accept
    assert acc.skipped == 1  # the invalid UTF-8 (the oversized line is dropped, not counted)
    assert acc.ignored == 2  # the vertex_event and the index beyond 64 bits


@pytest.mark.parametrize("fragments", [200, 16_000])
def test_long_tool_inputs_fold_in_one_parse(fragments: int) -> None:
    parts = ['{"items": [', *('{"k": "v"}, ' for _ in range(fragments - 1)), '{"k": "v"}]}']
    stream = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            },
        )
    ]
    stream += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p},
            },
        )
        for p in parts
    ]
    stream += [("content_block_stop", {"type": "content_block_stop", "index": 0})]
    acc = MessageAccumulator()
    acc.feed(encode_events(stream))
    block = acc.finish().content[0]
    assert getattr(block, "input", None) == {"items": [{"k": "v"}] * fragments}


# JSON that serde_json lets through but msgspec refuses, as a tool input and
# inside a block's start: the accumulator must refuse it at feed time
# (invalid input, or a malformed payload), never leave it for finish().
_MSGSPEC_REFUSES = [
    '{"a": "\\ud800"}',
    '{"a": "\\udc00"}',
    '{"a": "\\ud800\\u0041"}',
    '{"a": 1e400}',
    '{"a": ' + "[" * 2000 + "]" * 2000 + "}",
]


def _tool_stream(start_input: str, partial: str | None) -> bytes:
    start = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "t", "name": "f"},
    }
    raw_start = json.dumps(start)[:-2] + ', "input": ' + start_input + "}}"
    events: list[tuple[str, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "type": "message",
                    "role": "assistant",
                    "model": "c",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            },
        ),
    ]
    body = encode_events(events) + b"event: content_block_start\ndata: " + raw_start.encode() + b"\n\n"
    if partial is not None:
        delta = {"type": "input_json_delta", "partial_json": partial}
        body += encode_events(
            [("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})]
        )
    return body + encode_events(
        [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


@pytest.mark.parametrize("text", _MSGSPEC_REFUSES, ids=range(len(_MSGSPEC_REFUSES)))
def test_tool_input_msgspec_refuses_is_invalid_not_a_crash_in_finish(text: str) -> None:
    with pytest.raises((msgspec.DecodeError, RecursionError)):
        msgspec.json.decode(text)
    acc = MessageAccumulator()
    acc.feed(_tool_stream("{}", text))
    message = acc.finish()
    assert acc.invalid_inputs == 1
    assert message.content[0].input is None
    assert message.content[0].input_json == text


@pytest.mark.parametrize("text", _MSGSPEC_REFUSES, ids=range(len(_MSGSPEC_REFUSES)))
def test_start_input_msgspec_refuses_is_a_malformed_payload(text: str) -> None:
    acc = MessageAccumulator()
    with pytest.raises(ChunkfoldError) as raised:
        acc.feed(_tool_stream(text, None))
    assert raised.value.offset == len(_tool_stream("{}", None).split(b"event: content_block_start")[0])
    assert acc.finish().content == []
    lenient = MessageAccumulator(strict=False)
    lenient.feed(_tool_stream(text, None))
    assert lenient.skipped == 1
    assert lenient.finish().content == []
