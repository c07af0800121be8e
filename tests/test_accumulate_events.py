"""Opt-in events and the partial-JSON view of tool arguments."""

from __future__ import annotations

import json

import chunkfold
import pytest
from chunkfold import events
from conftest import FIXTURES

PARALLEL = (FIXTURES / "providers" / "openai_gpt4o_parallel_tool_calls.sse").read_bytes()
FRAGMENTS = (FIXTURES / "providers" / "openai_gpt4o_tool_call_args_fragments.sse").read_bytes()
TEXT = (FIXTURES / "providers" / "openai_gpt4o_text_usage_chunk.sse").read_bytes()


def feed_in_pieces(acc: chunkfold.ChatCompletionAccumulator, body: bytes, size: int = 50) -> list[object]:
    return [e for i in range(0, len(body), size) for e in acc.feed(body[i : i + size])]


def test_events_are_off_by_default() -> None:
    acc = chunkfold.ChatCompletionAccumulator()
    assert acc.feed(TEXT) == []


def test_content_finish_and_usage_events() -> None:
    acc = chunkfold.ChatCompletionAccumulator(events=True)
    got = feed_in_pieces(acc, TEXT)
    text = "".join(e.delta for e in got if isinstance(e, events.ContentDelta))
    assert text == acc.finish().choices[0].message.content == "The capital of Mexico is Mexico City."
    assert [e for e in got if isinstance(e, events.ChoiceFinished)] == [
        events.ChoiceFinished(choice=0, finish_reason="stop")
    ]
    [usage] = [e for e in got if isinstance(e, events.UsageReceived)]
    assert usage.usage.total_tokens == 22


def test_tool_argument_events_carry_index_and_name() -> None:
    acc = chunkfold.ChatCompletionAccumulator(events=True)
    got = [e for e in feed_in_pieces(acc, PARALLEL) if isinstance(e, events.ToolArgumentsDelta)]
    calls = acc.finish().choices[0].message.tool_calls or []
    for position, call in enumerate(calls):
        mine = [e for e in got if e.index == position]
        assert {e.name for e in mine} == {call.function.name}
        assert "".join(e.delta for e in mine) == call.function.arguments


def test_error_event_is_reported_once() -> None:
    acc = chunkfold.ChatCompletionAccumulator(events=True)
    got = acc.feed((FIXTURES / "providers" / "openrouter_midstream_error_chunk.sse").read_bytes())
    [error] = [e for e in got if isinstance(e, events.ErrorReceived)]
    assert error.error.message == "Token limit reached"
    assert acc.status == "error"
    assert acc.feed(b"") == []


def test_logprob_events_hold_the_token_objects() -> None:
    body = (FIXTURES / "openai" / "py-2024-08-06-content_logprobs_events.sse").read_bytes()
    acc = chunkfold.ChatCompletionAccumulator(events=True)
    got = [e for e in acc.feed(body) if isinstance(e, events.LogprobsDelta)]
    final = acc.finish().choices[0].logprobs
    assert final is not None
    assert final.content is not None
    assert [t["token"] for e in got for t in e.tokens] == [t.token for t in final.content]


@pytest.mark.parametrize("size", [1, 7, 64])
def test_partial_arguments_grow_to_the_final_json(size: int) -> None:
    acc = chunkfold.ChatCompletionAccumulator(partial_json=True)
    views = []
    for i in range(0, len(FRAGMENTS), size):
        acc.feed(FRAGMENTS[i : i + size])
        views.append(json.loads(json.dumps(acc.tool_arguments())))  # the views are live
    final = acc.finish().choices[0].message.tool_calls or []
    assert acc.tool_arguments() == [json.loads(c.function.arguments) for c in final]
    assert {"city": "Mexico"} in [v[0] for v in views if v]


def test_partial_arguments_need_the_option() -> None:
    with pytest.raises(ValueError, match="partial_json=True"):
        chunkfold.ChatCompletionAccumulator().tool_arguments()
