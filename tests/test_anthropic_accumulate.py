"""MessageAccumulator: statuses, each merge rule of the README's Anthropic table,
token_usage, events, partial_json and errors."""

from __future__ import annotations

import json
from typing import Any

import chunkfold
import msgspec
import pytest
from anthropic_reference import encode_events
from chunkfold import MessageAccumulator
from chunkfold.anthropic import models, token_usage
from chunkfold.anthropic.events import (
    BlockStopped,
    InputJSONReceived,
    StopReasonReceived,
    TextReceived,
    UsageUpdated,
)
from chunkfold.errors import ChunkDecodeError, DecoderFinishedError, EventTooLargeError
from chunkfold.events import ErrorReceived
from chunkfold.usage import TokenUsage


def start(**message: Any) -> tuple[str, Any]:
    base = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": []}
    base.update(
        {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    )
    base.update(message)
    return ("message_start", {"type": "message_start", "message": base})


def block(index: int, **content: Any) -> tuple[str, Any]:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": content})


def delta(index: int, **body: Any) -> tuple[str, Any]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})


def text(index: int, value: str) -> tuple[str, Any]:
    return delta(index, type="text_delta", text=value)


def args(index: int, value: str) -> tuple[str, Any]:
    return delta(index, type="input_json_delta", partial_json=value)


def stop(index: int) -> tuple[str, Any]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(usage: dict[str, Any] | None = None, **body: Any) -> tuple[str, Any]:
    return ("message_delta", {"type": "message_delta", "delta": body, "usage": usage or {"output_tokens": 5}})


END = ("message_stop", {"type": "message_stop"})
OVERLOADED = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


def fold(*events: tuple[str, Any], finish: bool = True, **options: Any) -> MessageAccumulator:
    acc = MessageAccumulator(**options)
    acc.feed(encode_events(events))
    if finish:
        acc.finish()
    return acc


def test_public_names() -> None:
    assert chunkfold.MessageAccumulator is MessageAccumulator
    assert chunkfold.MessageEventDecoder is chunkfold.anthropic.MessageEventDecoder
    assert "MessageAccumulator" in chunkfold.__all__


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([start()], "truncated"),
        ([start(), text(0, "a"), message_delta(stop_reason="end_turn")], "finished"),
        ([start(), text(0, "a"), message_delta(stop_reason="end_turn"), END], "done"),
        ([start(), message_delta(stop_reason="max_tokens")], "incomplete"),
        ([start(), message_delta(stop_reason="max_tokens"), END], "incomplete"),
        ([start(), message_delta(stop_reason="model_context_window_exceeded"), END], "incomplete"),
        ([start(), text(0, "a"), OVERLOADED], "error"),
        ([start(), OVERLOADED, message_delta(stop_reason="end_turn"), END], "error"),
        ([], "truncated"),
    ],
)
def test_status(events: list[tuple[str, Any]], status: str) -> None:
    assert fold(*events).status == status


def test_in_progress_until_finish_and_message_stop_without_a_blank_line() -> None:
    acc = fold(start(), text(0, "a"), message_delta(stop_reason="end_turn"), finish=False)
    assert acc.status == "in_progress"
    acc.feed(b'event: message_stop\ndata: {"type":"message_stop"}')
    assert not acc.done
    acc.finish()
    assert (acc.status, acc.done) == ("done", True)
    with pytest.raises(DecoderFinishedError):
        acc.feed(b"")


def test_rule_1_blocks_by_index_value_sorted() -> None:
    message = fold(
        start(), block(5, type="text", text=""), text(5, "b"), block(2, type="text", text=""), text(2, "a")
    ).snapshot()
    assert [b.text for b in message.content if isinstance(b, models.TextBlock)] == ["a", "b"]


def test_rule_2_a_delta_creates_its_block_and_a_wrong_kind_is_counted() -> None:
    acc = fold(
        start(),
        text(0, "hi"),
        delta(1, type="thinking_delta", thinking="hm"),
        delta(1, type="signature_delta", signature="sig"),
        args(2, '{"a": 1}'),
        delta(3, type="citations_delta", citation={"type": "char_location", "cited_text": "x"}),
        text(1, "stray"),
    )
    content = acc.snapshot().content
    assert content[0] == models.TextBlock(text="hi")
    assert isinstance(content[1], models.ThinkingBlock)
    assert (content[1].thinking, content[1].signature) == ("hm", "sig")
    assert isinstance(content[2], models.ToolUseBlock)
    assert content[2].input == {"a": 1}
    assert isinstance(content[3], models.TextBlock)
    assert content[3].citations == [{"type": "char_location", "cited_text": "x"}]
    assert acc.mismatched_deltas == 1
    assert json.loads(acc._core.snapshot_json())["content"][1]["text"] == "stray"  # kept


def test_rule_3_append_set_and_citations_in_order() -> None:
    cite = [{"type": "web_search_result_location", "url": f"u{i}"} for i in range(3)]
    events = [start(), block(0, type="text", text="A", citations=[cite[0]])]
    events += [text(0, "b"), delta(0, type="citations_delta", citation=cite[1]), text(0, "c")]
    events += [delta(0, type="citations_delta", citation=cite[2])]
    events += [
        block(1, type="thinking", thinking="", signature=""),
        delta(1, type="signature_delta", signature="1"),
    ]
    events += [delta(1, type="signature_delta", signature="2")]
    events += [block(2, type="compaction", content=None), delta(2, type="compaction_delta", content="x")]
    events += [delta(2, type="compaction_delta", content="y")]
    content = fold(*events).snapshot().content
    assert content[0] == models.TextBlock(text="Abc", citations=cite)
    assert content[1] == models.ThinkingBlock(thinking="", signature="2")
    assert content[2] == models.CompactionBlock(content="xy")


def test_rule_4_tool_input_parsed_once_empty_kept_invalid_kept_and_counted() -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    acc = fold(
        start(),
        block(0, **tool),
        args(0, '{"city": "Pa'),
        args(0, 'ris", "n": [1, 2]}'),
        block(1, **tool),
        args(1, ""),
        stop(1),
        block(2, **tool),
        args(2, '{"a": '),
        stop(2),
        finish=False,
    )
    open_view = acc.snapshot().content[0]
    assert isinstance(open_view, models.ToolUseBlock)
    assert open_view.input == {}
    assert open_view.input_json == '{"city": "Paris", "n": [1, 2]}'
    message = acc.finish()
    first, empty, bad = message.content
    assert isinstance(first, models.ToolUseBlock)
    assert first.input == {"city": "Paris", "n": [1, 2]}
    assert first.input_json is msgspec.UNSET
    assert isinstance(empty, models.ToolUseBlock)
    assert empty.input == {}
    assert isinstance(bad, models.ToolUseBlock)
    assert (bad.input, bad.input_json) == (None, '{"a": ')
    assert acc.invalid_inputs == 1


def test_rule_4_argument_text_after_the_stop_streams_again() -> None:
    # A delta after content_block_stop (or a block restarted at its index):
    # the parsed input no longer holds, so the snapshot shows the start's
    # input with the whole text, and the end parses the whole text again.
    tool = {"type": "tool_use", "id": "t", "name": "f", "input": {}}
    acc = fold(
        block(0, **tool), args(0, '{"a": 1}'), stop(0), block(0, **tool), args(0, '{"b": '), finish=False
    )
    view = acc.snapshot().content[0]
    assert isinstance(view, models.ToolUseBlock)
    assert (view.input, view.input_json) == ({}, '{"a": 1}{"b": ')
    final = acc.finish().content[0]
    assert isinstance(final, models.ToolUseBlock)
    assert (final.input, final.input_json, acc.invalid_inputs) == (None, '{"a": 1}{"b": ', 1)


def test_rule_4_partial_json_view_while_streaming() -> None:
    acc = MessageAccumulator(partial_json=True)
    acc.feed(
        encode_events(
            [start(), block(3, type="tool_use", id="t", name="f", input={}), args(3, '{"city": "Pa')]
        )
    )
    assert acc.tool_input(3) == {"city": "Pa"}
    acc.feed(encode_events([args(3, 'ris"}')]))
    assert acc.tool_input(3) == {"city": "Paris"}
    assert acc.tool_input(0) is None
    with pytest.raises(ValueError, match="partial_json=True"):
        MessageAccumulator().tool_input(0)


def test_rule_5_whole_blocks_are_kept_as_sent() -> None:
    result = {
        "type": "web_search_tool_result",
        "tool_use_id": "s",
        "content": [{"type": "web_search_result", "url": "u"}],
    }
    unknown = {"type": "advisor_tool_result", "tool_use_id": "a", "content": {"x": [1, 2]}}
    acc = fold(
        start(),
        block(0, **result),
        stop(0),
        block(1, type="redacted_thinking", data="abc"),
        block(2, **unknown),
    )
    content = acc.snapshot().content
    assert content[0] == models.WebSearchToolResultBlock(tool_use_id="s", content=result["content"])
    assert content[1] == models.RedactedThinkingBlock(data="abc")
    assert isinstance(content[2], models.UnknownBlock)
    assert (content[2].type, json.loads(bytes(content[2].raw))) == ("advisor_tool_result", unknown)


def test_rule_6_message_start_with_content_and_a_second_message_start() -> None:
    whole = [
        {"type": "text", "text": "done already"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
    ]
    acc = fold(start(content=whole, stop_reason="tool_use"), END)
    message = acc.snapshot()
    assert [type(b).__name__ for b in message.content] == ["TextBlock", "ToolUseBlock"]
    assert (acc.status, message.stop_reason) == ("done", "tool_use")

    acc = fold(start(), text(0, "once"), start(model="other"), text(0, "twice"), END)
    assert acc.status == "error"
    assert acc.model == "claude-x"
    assert acc.snapshot().content == [models.TextBlock(text="once")]
    assert acc.error is not None
    assert acc.error.type == "protocol_error"
    assert "second message_start" in acc.error.message
    assert acc.ignored == 2


def test_rule_6_message_start_may_lack_fields() -> None:
    acc = fold(
        ("message_start", {"type": "message_start", "message": {"id": "m", "model": "x"}}), text(0, "a")
    )
    message = acc.snapshot()
    assert (message.id, message.type, message.role, message.model) == ("m", "message", "assistant", "x")
    assert acc.usage is None


def test_rule_7_usage_overwrites_and_never_adds() -> None:
    acc = fold(
        start(usage={"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}),
        message_delta(
            {"output_tokens": 7, "input_tokens": None, "server_tool_use": {"web_search_requests": 1}}
        ),
        message_delta({"output_tokens": 9, "cache_creation_input_tokens": 3}),
    )
    usage = acc.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (10, 9)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (5, 3)
    assert usage.server_tool_use == models.ServerToolUsage(web_search_requests=1)
    assert acc.token_usage == TokenUsage(input=18, cached_input=5, cache_creation_input=3, output=9, total=27)


def test_rule_7_never_reported_is_none_not_zero() -> None:
    assert fold(start(usage={"output_tokens": 1})).token_usage == TokenUsage(output=1, total=1)
    assert fold(start(usage=None)).token_usage is None


def test_token_usage_reasoning_and_bedrock_fallback() -> None:
    usage = models.Usage(
        input_tokens=1, output_tokens=9, output_tokens_details=models.OutputTokensDetails(thinking_tokens=4)
    )
    assert token_usage(usage) == TokenUsage(input=1, output=9, reasoning=4, total=10)
    metrics = {"inputTokenCount": 3, "outputTokenCount": 4, "invocationLatency": 10, "firstByteLatency": 5}
    acc = fold(
        ("message_start", {"type": "message_start", "message": {}}),
        ("message_stop", {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}),
    )
    assert json.loads(acc.usage_json() or b"{}") == {"amazon-bedrock-invocationMetrics": metrics}
    assert acc.token_usage == TokenUsage(input=3, output=4, total=7)
    # Anthropic usage, when there is some, wins.
    acc = fold(
        start(), ("message_stop", {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})
    )
    assert acc.token_usage == TokenUsage(input=10, output=1, total=11)


def test_rule_8_stop_reason_and_sequence_last_non_null_wins() -> None:
    acc = fold(
        start(),
        message_delta(stop_reason="stop_sequence", stop_sequence="###"),
        message_delta(stop_reason=None, stop_sequence=None),
    )
    message = acc.snapshot()
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "###")
    assert acc.finish_reasons == ["stop_sequence"]


def test_rule_9_routed_by_type_without_event_lines_and_renames_counted() -> None:
    events = [
        (("", payload) if name != "content_block_delta" else ("ping", payload))
        for name, payload in [start(), text(0, "a"), END]
    ]
    acc = fold(*events)
    assert acc.snapshot().content == [models.TextBlock(text="a")]
    assert (acc.status, acc.renamed) == ("done", 1)


def test_rule_10_error_event_keeps_what_came_before() -> None:
    acc = fold(start(), text(0, "partial"), ("message_delta", OVERLOADED[1]), events=True)
    assert acc.status == "error"
    assert acc.error is not None
    assert (acc.error.type, acc.error.message) == ("overloaded_error", "Overloaded")
    assert acc.snapshot().content == [models.TextBlock(text="partial")]
    assert acc.token_usage == TokenUsage(input=10, output=1, total=11)
    acc = MessageAccumulator()
    acc.feed(b"event: error\ndata: upstream exploded\n\n")
    assert acc.error is not None
    assert acc.error.raw == "upstream exploded"


def test_rule_11_ping_is_not_a_token_and_eof_is_not_done() -> None:
    acc = fold(start(), ("ping", {"type": "ping"}), finish=False)
    assert acc.first_byte_ns is not None
    assert acc.first_token_ns is None
    acc.feed(encode_events([text(0, "a")]))
    assert acc.first_token_ns is not None
    assert acc.last_token_ns is not None
    assert acc.first_byte_ns <= acc.first_token_ns <= acc.last_token_ns
    acc.finish()
    assert (acc.done, acc.status) == (False, "truncated")


def test_rule_12_vertex_and_unknown_events_never_break_the_fold() -> None:
    acc = fold(
        start(),
        ("vertex_event", {"type": "vertex_event", "x": 1}),
        ("", {"no_type": True}),
        delta(0, type="future_delta", x=1),
        text(0, "a"),
        END,
    )
    assert acc.snapshot().content == [models.TextBlock(text="a")]
    assert (acc.status, acc.ignored, acc.unknown_deltas) == ("done", 2, 1)


def test_events() -> None:
    acc = MessageAccumulator(events=True)
    out = acc.feed(
        encode_events(
            [start(), block(0, type="tool_use", id="t", name="get", input={}), args(0, "{}"), stop(0)]
        )
    )
    assert out == [InputJSONReceived(index=0, name="get", delta="{}"), BlockStopped(index=0)]
    out = acc.feed(
        encode_events(
            [text(1, "hi"), message_delta({"output_tokens": 3}, stop_reason="end_turn"), OVERLOADED]
        )
    )
    assert out[0] == TextReceived(index=1, delta="hi")
    assert out[1] == StopReasonReceived(stop_reason="end_turn")
    assert isinstance(out[2], UsageUpdated)
    assert (out[2].usage.input_tokens, out[2].usage.output_tokens) == (10, 3)
    assert isinstance(out[3], ErrorReceived)
    assert MessageAccumulator().feed(encode_events([text(0, "x")])) == []


def test_malformed_payloads_raise_after_folding_the_rest_or_are_skipped() -> None:
    data = encode_events([start(), ("", b"{not json"), text(0, "a")])
    acc = MessageAccumulator()
    with pytest.raises(ChunkDecodeError) as info:
        acc.feed(data)
    assert info.value.offset == len(encode_events([start()]))
    assert acc.snapshot().content == [models.TextBlock(text="a")]
    lax = MessageAccumulator(strict=False)
    assert lax.feed(data) == []
    assert (lax.skipped, lax.chunks) == (1, 2)


def test_oversized_event() -> None:
    acc = MessageAccumulator(max_event_size=200)
    with pytest.raises(EventTooLargeError):
        acc.feed(encode_events([text(0, "x" * 500), text(0, "ok")]))
    assert acc.snapshot().content == [models.TextBlock(text="ok")]


def test_add_folds_decoded_events_like_feed() -> None:
    stream = [
        start(),
        block(0, type="text", text=""),
        text(0, "a"),
        ("vertex_event", {"type": "vertex_event"}),
    ]
    stream += [
        block(1, type="advisor_tool_result", x=1),
        delta(0, type="future_delta", y=2),
        message_delta(stop_reason="end_turn"),
        END,
    ]
    data = encode_events(stream)
    fed = fold(*stream)
    added = MessageAccumulator()
    for event in chunkfold.anthropic.MessageEventDecoder().feed(data):
        added.add(event)
    added.finish()
    assert added.snapshot() == fed.snapshot()
    assert (added.status, added.unknown_deltas, added.ignored) == ("done", 1, 1)


def test_wrong_argument_types() -> None:
    with pytest.raises(TypeError):
        MessageAccumulator().feed("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MessageAccumulator(max_event_size="big")  # type: ignore[arg-type]


def test_shared_accumulator_fed_whole_events_from_16_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chunkfold.errors import ConcurrentUseError

    acc = MessageAccumulator(events=True)
    acc.feed(encode_events([start(), block(0, type="text", text="")]))
    frame = encode_events([text(0, "x")])

    def feed(_: int) -> int:
        while True:
            try:
                return len(acc.feed(frame))
            except ConcurrentUseError:
                continue

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(feed, range(2000))) == 2000
    block0 = acc.finish().content[0]
    assert isinstance(block0, models.TextBlock)
    assert block0.text == "x" * 2000
