"""Protocol detection in the gateway: by path, by the first deciding event, and streams that never decide."""

from __future__ import annotations

from typing import Any

import pytest
from chunkfold.errors import UnknownProtocolError
from chunkfold.gateway import SNIFF_LIMIT, StreamMeter, StreamSummary, detect_protocol, tap
from chunkfold.gateway.protocols import PROTOCOLS, Protocol, fold_for, sniff_protocol
from conftest import FIXTURES

CHAT = (FIXTURES / "providers" / "openrouter_o3_encrypted_reasoning_keepalives.sse").read_bytes()
CHAT_EVENT = b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}'
RESPONSES_EVENT = b'{"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}'
ANTHROPIC_EVENT = b'{"type":"message_start","message":{"id":"msg_1","model":"claude"}}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/chat/completions", "chat"),
        ("/openai/deployments/gpt/chat/completions?api-version=2024-10-21", "chat"),
        ("/v1/responses", "responses"),
        ("/v1/responses/", "responses"),
        ("/v1/messages?beta=true", "anthropic"),
        ("/anthropic/v1/messages", "anthropic"),
        ("/v1/embeddings", None),
        ("/v1/responses/resp_123/input_items", None),
        ("", None),
    ],
)
def test_the_path_decides(path: str, expected: str | None) -> None:
    assert detect_protocol(path=path) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (CHAT_EVENT, "chat"),
        (b'{"id":"c","choices":[{"index":0,"delta":{}}]}', "chat"),  # Moonshot: no "object"
        (RESPONSES_EVENT, "responses"),
        (b'{"type":"response.output_text.delta","delta":"x"}', "responses"),
        (ANTHROPIC_EVENT, "anthropic"),
        (b'{"type":"content_block_delta","index":0}', "anthropic"),
        (b'{"type":"ping"}', None),
        (b'{"type":"keepalive","sequence_number":3}', None),
        (b'{"type":"error","error":{"type":"overloaded_error"}}', None),
        (b'{"error":{"message":"rate limited"}}', None),
        (b"[DONE]", None),
        (b"not json", None),
        (b"[1, 2]", None),
        ('{"type":"message_start"}', "anthropic"),
        ({"type": "response.completed"}, "responses"),
        ({"object": "chat.completion.chunk"}, "chat"),
    ],
)
def test_the_first_deciding_event_decides(event: Any, expected: str | None) -> None:
    assert detect_protocol(first_event=event) == expected


def test_the_path_wins_over_the_event() -> None:
    assert detect_protocol(path="/v1/messages", first_event=CHAT_EVENT) == "anthropic"
    assert detect_protocol(path="/v1/other", first_event=CHAT_EVENT) == "chat"


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match="first_event"):
        detect_protocol(first_event=12)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        detect_protocol(path=b"/v1/responses")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protocol"):
        tap([], protocol="grpc")  # type: ignore[call-overload]


@pytest.mark.parametrize("protocol", ["grpc", "Chat", None])
def test_an_unknown_protocol_name_is_a_value_error_where_a_fold_is_made(protocol: Any) -> None:
    with pytest.raises(ValueError, match="protocol must be one of"):
        fold_for(protocol)
    if protocol is not None:  # None is StreamMeter's "auto"
        with pytest.raises(ValueError, match="protocol must be one of"):
            StreamMeter(protocol=protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_has_a_lenient_fold(protocol: Protocol) -> None:
    acc, _ = fold_for(protocol)
    assert acc.feed(b"data: {not json\n\n") == []
    assert acc.skipped == 1


def summarise(reads: list[bytes], **options: Any) -> StreamSummary:
    summaries: list[StreamSummary] = []
    assert list(tap(reads, on_complete=summaries.append, **options)) == reads
    [summary] = summaries
    return summary


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_auto_folds_a_chat_stream_that_starts_with_comments_as_a_declared_one(size: int) -> None:
    reads = [CHAT[i : i + size] for i in range(0, len(CHAT), size)]
    auto = summarise(reads)
    declared = summarise(reads, protocol="chat")
    assert CHAT.startswith(b":")  # OpenRouter's processing comments come before any chunk
    assert auto.protocol == declared.protocol == "chat"
    assert auto.result == declared.result
    assert (auto.status, auto.usage, auto.token_usage, auto.bytes, auto.chunks) == (
        declared.status,
        declared.usage,
        declared.token_usage,
        declared.bytes,
        declared.chunks,
    )
    assert auto.token_usage is not None
    assert auto.token_usage.reasoning is not None


def test_request_model_and_wall_clock_start_are_kept() -> None:
    import time

    before = time.time_ns()
    summary = summarise([CHAT], request_model="o3", path="/api/v1/chat/completions")
    assert summary.request_model == "o3"
    assert summary.model == summary.result.model
    assert before <= summary.started_at <= time.time_ns()
    assert summary.finish_reasons == tuple(c.finish_reason for c in summary.result.choices)


def test_a_stream_that_never_decides_is_summarised_with_its_error_and_no_usage() -> None:
    body = b': keep-alive\n\nevent: ping\ndata: {"type":"ping"}\n\ndata: [DONE]\n\n'
    summary = summarise([body[:5], body[5:]])
    assert (summary.protocol, summary.result, summary.usage, summary.token_usage) == (None, None, None, None)
    assert summary.status == "error"
    assert isinstance(summary.error, UnknownProtocolError)
    assert summary.error.offset == len(body)
    assert summary.bytes == len(body)


def test_an_empty_stream_is_truncated_without_error() -> None:
    summary = summarise([])
    assert (summary.protocol, summary.status, summary.error, summary.bytes) == (None, "truncated", None, 0)


def test_an_upstream_error_before_the_protocol_shows_is_the_summary_error() -> None:
    failure = OSError("upstream reset")

    def source() -> Any:
        yield b": hello\n\n"
        raise failure

    summaries: list[StreamSummary] = []
    with pytest.raises(OSError, match="reset"):
        list(tap(source(), on_complete=summaries.append))
    assert summaries[0].status == "error"
    assert summaries[0].error is failure


def test_sniffing_holds_at_most_the_limit() -> None:
    meter = StreamMeter()
    ping = b": " + b"x" * 8190 + b"\n\n"
    for _ in range(SNIFF_LIMIT // len(ping) + 2):
        meter.feed(ping)
    assert meter._held is None  # gave up: nothing more is kept
    meter.feed(b"data: " + CHAT_EVENT + b"\n\n")  # too late to decide
    summary = meter.close()
    assert summary.protocol is None
    assert isinstance(summary.error, UnknownProtocolError)
    assert summary.bytes == (SNIFF_LIMIT // len(ping) + 2) * len(ping) + len(CHAT_EVENT) + 8


@pytest.mark.parametrize("folder", ["openai", "providers", "responses", "anthropic"])
def test_every_recorded_stream_is_sniffed_as_its_protocol(folder: str) -> None:
    expected = {"openai": "chat", "providers": "chat"}.get(folder, folder)
    wrong = {
        path.name: found
        for path in sorted((FIXTURES / folder).glob("*.sse"))
        if (found := sniff_protocol(path.read_bytes())) != expected
    }
    assert not wrong
    assert sniff_protocol(b"") is None
    assert sniff_protocol(b": only a comment\n\n") is None
