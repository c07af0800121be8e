"""Differential and hostile-input properties of ResponseAccumulator.

Random Responses event streams (every event kind the fold reads, sparse and
missing indices, unknown items and events, resumed-stream repeats, errors and
every terminal) are framed as SSE, fed in random reads and compared with the
reference fold (tests/responses_reference.py), with other read partitions and
with the same events ``add()``-ed one by one. Garbage and hostile inputs get a
typed error or a correct result, never anything else.
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

import msgspec
import pytest
from chunkfold import ChunkDecodeError, EventTooLargeError, ResponseAccumulator, ResponseEventDecoder
from chunkfold.events import ArgumentsDelta, OutputItemAdded, OutputTextDelta, ReasoningTextDelta
from chunkfold.responses import models as m
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from responses_reference import reference_fold, sse_events

SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# No lone surrogates: JSON text may escape them, but they are not Unicode text.
TEXT = st.text(st.characters(codec="utf-8"), max_size=6) | st.sampled_from(["", "中文", "😀", '"\\', "\n"])
INDEX = st.one_of(st.none(), st.integers(0, 3), st.sampled_from([-1, 2**63 - 1, 2**62]))
ITEM_IDS = st.sampled_from([None, "", "msg_1", "fc_2", "rs_3"])
ITEM_TYPES = [
    "message",
    "function_call",
    "reasoning",
    "custom_tool_call",
    "apply_patch_call",
    "shell_call",
    "hologram",
]


@st.composite
def item(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(ITEM_TYPES))
    out: dict[str, Any] = {"type": kind, "status": draw(st.sampled_from(["in_progress", "completed"]))}
    if draw(st.booleans()):
        out["id"] = draw(ITEM_IDS.filter(bool))
    if kind == "message":
        out |= {"role": "assistant", "content": draw(st.lists(part(), max_size=2))}
    elif kind in ("function_call", "custom_tool_call"):
        out |= {"name": draw(st.sampled_from(["f", "get"])), "call_id": "c"}
        out["arguments" if kind == "function_call" else "input"] = draw(TEXT)
    elif kind == "reasoning":
        out["summary"] = [
            {"type": "summary_text", "text": draw(TEXT)} for _ in range(draw(st.integers(0, 2)))
        ]
    elif kind == "apply_patch_call":
        out["operation"] = {"type": "create_file", "path": "a.md", "diff": draw(TEXT)}
    elif kind == "shell_call":
        out["action"] = {"commands": [draw(TEXT)], "timeout_ms": None}
    return out


@st.composite
def part(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["output_text", "refusal", "reasoning_text", "summary_text", "odd"]))
    out: dict[str, Any] = {"type": kind, "refusal" if kind == "refusal" else "text": draw(TEXT)}
    if kind == "output_text":
        out |= {"annotations": [annotation(i) for i in range(draw(st.integers(0, 2)))], "logprobs": []}
    return out


def annotation(i: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": f"https://e.com/{i}",
        "title": "t",
        "start_index": 0,
        "end_index": i,
    }


def response(draw: Any, *, output: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": draw(st.sampled_from(["resp_1", "resp_1", "resp_2", ""])),
        "object": "response",
        "created_at": draw(st.sampled_from([1761175204, 1.5, 0])),
        "model": draw(st.sampled_from(["gpt-5", "", "grok"])),
        "status": draw(st.sampled_from(["in_progress", "completed"])),
        "error": None,
        "incomplete_details": draw(st.sampled_from([None, {"reason": "max_output_tokens"}])),
        "output": draw(st.lists(item(), max_size=2)) if output else [],
        "usage": draw(st.sampled_from([None, usage(1), usage(2)])),
    }
    for key in draw(st.lists(st.sampled_from(sorted(out)), max_size=2)):
        out.pop(key, None)
    return out


def usage(n: int) -> dict[str, Any]:
    return {
        "input_tokens": 10 * n,
        "input_tokens_details": {"cached_tokens": n},
        "output_tokens": 5 * n,
        "output_tokens_details": {"reasoning_tokens": n},
        "total_tokens": 15 * n,
    }


DELTAS = [
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.mcp_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.code_interpreter_call_code.delta",
    "response.apply_patch_call_operation_diff.delta",
    "response.shell_call_command.delta",
    "response.audio.transcript.delta",
    "response.audio.delta",
]
DONES = {
    "response.output_text.done": "text",
    "response.refusal.done": "refusal",
    "response.reasoning_text.done": "text",
    "response.reasoning_summary_text.done": "text",
    "response.function_call_arguments.done": "arguments",
    "response.mcp_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
    "response.code_interpreter_call_code.done": "code",
    "response.apply_patch_call_operation_diff.done": "diff",
    "response.shell_call_command.added": "command",
    "response.shell_call_command.done": "command",
}
OTHER = [
    "keepalive",
    "ping",
    "response.web_search_call.searching",
    "response.mcp_call.in_progress",
    "response.brand_new_event",
    "thing",
]


@st.composite
def event(draw: Any) -> tuple[str, dict[str, Any] | str]:
    """One event: its SSE ``event:`` type and its payload (a dict, or raw text)."""
    choice = draw(st.integers(0, 99))
    ev: dict[str, Any]
    if choice < 8:
        kind = draw(st.sampled_from(["response.created", "response.in_progress", "response.queued"]))
        ev = {"type": kind, "response": response(draw, output=False)}
    elif choice < 18:
        kind = draw(st.sampled_from(["response.output_item.added", "response.output_item.done"]))
        ev = {"type": kind, "item": draw(item())}
    elif choice < 24:
        kind = draw(
            st.sampled_from(
                [
                    "response.content_part.added",
                    "response.content_part.done",
                    "response.reasoning_summary_part.added",
                    "response.reasoning_summary_part.done",
                ]
            )
        )
        ev = {"type": kind, "part": draw(part())}
    elif choice < 60:
        ev = {"type": draw(st.sampled_from(DELTAS)), "delta": draw(TEXT)}
    elif choice < 62:
        ev = {
            "type": "response.shell_call_output_content.delta",
            "delta": {"stdout": draw(TEXT), "stderr": draw(TEXT)},
        }
    elif choice < 63:
        ev = {
            "type": "response.shell_call_output_content.done",
            "output": [{"stdout": draw(TEXT), "stderr": ""}],
        }
    elif choice < 72:
        kind = draw(st.sampled_from(sorted(DONES)))
        ev = {"type": kind, DONES[kind]: draw(TEXT)}
    elif choice < 75:
        ev = {
            "type": "response.output_text.annotation.added",
            "annotation": annotation(draw(st.integers(0, 3))),
        }
        if draw(st.booleans()):
            ev["annotation_index"] = draw(st.integers(0, 3))
    elif choice < 82:
        ev = {"type": draw(st.sampled_from(OTHER))}
    elif choice < 86:
        error = {"type": "server_error", "code": "boom", "message": draw(TEXT), "param": None}
        ev = {"type": "error", **error} if draw(st.booleans()) else {"type": "error", "error": error}
        if draw(st.booleans()):
            return ("error", ev)
    elif choice < 92:
        kind = draw(st.sampled_from(["response.completed", "response.incomplete", "response.failed"]))
        ev = {"type": kind, "response": response(draw, output=draw(st.booleans()))}
    elif choice < 94:
        return ("message", draw(st.sampled_from(["{nope", "[1]", "[DONE]", "", '"str"'])))
    else:
        ev = {
            "type": draw(st.sampled_from(DELTAS[:4])),
            "delta": draw(TEXT),
            "obfuscation": "xyz",
            "logprobs": [],
        }
    for key, values in (
        ("output_index", INDEX),
        ("item_id", ITEM_IDS),
        ("content_index", INDEX),
        ("summary_index", INDEX),
        ("command_index", INDEX),
    ):
        value = draw(values)
        if value is not None:
            ev[key] = value
    return ("message", ev)


@st.composite
def stream(draw: Any) -> bytes:
    events = draw(st.lists(event(), max_size=30))
    numbered = draw(st.booleans())
    sequence, frames = 0, []
    for sse_type, payload in events:
        if isinstance(payload, dict):
            if numbered:
                sequence += draw(st.sampled_from([1, 1, 1, 1, 0, -1, 3]))
                payload = {**payload, "sequence_number": sequence}
            data = json.dumps(payload, ensure_ascii=draw(st.booleans()))
        else:
            data = payload
        head = f"event: {sse_type}\n" if sse_type == "error" or draw(st.booleans()) else ""
        if sse_type != "error" and head:
            head = f"event: {payload['type'] if isinstance(payload, dict) else 'message'}\n"
        frames.append(f"{head}data: {data}\n\n")
    if draw(st.booleans()):
        frames.append(": comment\n\n")
    return "".join(frames).encode()


def reads(body: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(rng.randint(0, 12), max(len(body) - 1, 0))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def folded(pieces: list[bytes]) -> ResponseAccumulator:
    acc = ResponseAccumulator(strict=False)
    for piece in pieces:
        acc.feed(piece)
    acc.finish()
    return acc


def observed(acc: ResponseAccumulator) -> tuple[Any, ...]:
    return (
        json.loads(acc._core.snapshot_json()),
        acc.status,
        acc.finish_reasons,
        acc.chunks,
        acc.skipped,
        acc.duplicates,
        acc.sequence_gaps,
        acc.item_id_mismatches,
        acc.ignored,
        acc.audio_transcript,
        acc.audio_bytes,
    )


@SETTINGS
@given(stream(), st.randoms(use_true_random=False))
def test_fold_matches_the_reference_at_any_split(body: bytes, rng: random.Random) -> None:
    note(body.decode())
    acc = folded(reads(body, rng))
    ref = reference_fold(sse_events(body))
    assert observed(acc) == (
        ref.response,
        ref.status,
        [ref.finish_reason] if ref.finish_reason else [],
        ref.chunks,
        ref.skipped,
        ref.duplicates,
        ref.gaps,
        ref.mismatches,
        ref.ignored,
        ref.transcript,
        ref.audio_bytes,
    )
    assert (acc.first_token_ns is not None) == (ref.tokens > 0)
    assert (acc.error is None) == (ref.error is None)
    assert acc.usage_json() == (None if ref.usage is None else acc.usage_json())
    assert observed(folded([body])) == observed(acc)
    response = acc.snapshot()  # always decodes into the models
    assert isinstance(response, m.Response)
    if acc.usage is not None:
        assert json.loads(acc.usage_json() or b"") == ref.usage


@SETTINGS
@given(stream())
def test_add_folds_like_feed(body: bytes) -> None:
    events = sse_events(body)
    if any(sse_type == "error" for sse_type, _ in events):
        return  # add() cannot say a payload came as `event: error`
    fed = folded([body])
    added = ResponseAccumulator(strict=False)
    decoder = ResponseEventDecoder(strict=False)
    for _, data in events:
        with contextlib.suppress(ChunkDecodeError):
            added.add_json(data)
    for ev in decoder.feed(body) + decoder.finish():
        assert isinstance(ev, msgspec.Struct)
    added.finish()
    assert json.loads(added._core.snapshot_json()) == json.loads(fed._core.snapshot_json())
    assert (added.status, added.chunks) == (fed.status, fed.chunks)


@SETTINGS
@given(st.binary(max_size=400), st.randoms(use_true_random=False))
def test_garbage_gives_a_typed_error_or_a_result(garbage: bytes, rng: random.Random) -> None:
    acc = ResponseAccumulator(max_event_size=128)
    offsets = []
    for piece in reads(b"data: " + garbage, rng):
        try:
            acc.feed(piece)
        except (ChunkDecodeError, EventTooLargeError) as exc:
            offsets.append(exc.offset)
    assert None not in offsets
    acc.finish()
    assert isinstance(acc.snapshot(), m.Response)
    decoder = ResponseEventDecoder(strict=False, max_event_size=128)
    for piece in reads(garbage, rng):
        decoder.feed(piece)
    decoder.finish()


def test_invalid_utf8_is_replaced_as_whatwg_says() -> None:
    acc = ResponseAccumulator()
    acc.feed(
        b'data: {"type":"response.output_text.delta","output_index":0,"content_index":0,'
        b'"delta":"a\xff\xfeb"}\n\n'
    )
    [message] = acc.finish().output
    assert message.content[0].text == "a\ufffd\ufffdb" == b"a\xff\xfeb".decode("utf-8", "replace")


def test_hostile_inputs() -> None:
    acc = ResponseAccumulator(max_event_size=1 << 16)
    with pytest.raises(EventTooLargeError):
        acc.feed(b"data: " + b"x" * (1 << 20))  # no newline: bounded by max_event_size
    with pytest.raises(ChunkDecodeError):
        acc.feed(b"\n\ndata: " + b"[" * 50_000 + b"\n\n")  # deep nesting: no recursion
    # invalid UTF-8: WHATWG's rule, as everywhere: one U+FFFD per invalid sequence
    acc.feed(b'data: {"type":"response.output_text.delta","delta":"\xff\xfe"}\n\n')
    acc.feed(
        b'data: {"type":"response.output_text.delta","output_index":9223372036854775807,"delta":"a"}\n\n'
    )
    acc.feed(
        b'data: {"type":"response.output_text.delta","output_index":99999999999999999999,"delta":"b"}\n\n'
    )
    added = b'data: {"type":"response.output_item.added","output_index":1,"item":{"type":"x","d":%s}}\n\n'
    with pytest.raises(ChunkDecodeError, match="deeper than 128"):
        acc.feed(added % (b"[" * 5000 + b"]" * 5000))  # kept objects nest at most 128 levels
    acc.feed(added % (b"[" * 120 + b"]" * 120))
    response = acc.finish()
    assert acc.status == "truncated"
    assert [i.type for i in response.output] == ["x", "message"]  # by output_index


def test_events_and_partial_json() -> None:
    body = b"".join(
        b"data: " + json.dumps(e).encode() + b"\n\n"
        for e in [
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "function_call", "id": "fc", "name": "get", "arguments": ""},
            },
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"city": "Pa'},
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": 'ris"}'},
            {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "hi"},
            {
                "type": "response.reasoning_summary_text.delta",
                "output_index": 2,
                "summary_index": 1,
                "delta": "hm",
            },
            {
                "type": "response.function_call_arguments.done",
                "output_index": 0,
                "arguments": '{"city": "Rome"}',
            },
        ]
    )
    acc = ResponseAccumulator(events=True, partial_json=True)
    got = acc.feed(body)
    assert got == [
        OutputItemAdded(output_index=0, item_type="function_call", item_id="fc"),
        ArgumentsDelta(output_index=0, name="get", delta='{"city": "Pa'),
        ArgumentsDelta(output_index=0, name="get", delta='ris"}'),
        OutputTextDelta(output_index=1, content_index=0, delta="hi"),
        ReasoningTextDelta(output_index=2, index=1, summary=True, delta="hm"),
    ]
    assert acc.tool_arguments() == {0: {"city": "Rome"}}
    assert acc.first_token_ns is not None
    quiet = ResponseAccumulator()
    assert quiet.feed(body) == []
    with pytest.raises(ValueError, match="partial_json"):
        quiet.tool_arguments()
