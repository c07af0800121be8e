"""ChunkDecoder: bytes to typed chunks, errors that lose nothing, helpers."""

from __future__ import annotations

import json

import chunkfold
import msgspec
import pytest
from chunkfold import ChunkDecodeError, ChunkDecoder, StreamAPIError, encode_sse
from chunkfold.chat.models import ChatCompletionChunk
from conftest import FIXTURES, fixture_streams, stream_id

CHUNK = (
    b'{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}'
)


def event(content: str) -> bytes:
    return b"data: " + CHUNK.replace(b"%s", content.encode()) + b"\n\n"


def decode_all(
    body: bytes, *, reads: int = 0, strict: bool = True
) -> tuple[list[ChatCompletionChunk], ChunkDecoder]:
    decoder = ChunkDecoder(strict=strict)
    pieces = [body] if reads == 0 else [body[i : i + reads] for i in range(0, len(body), reads)]
    chunks = [c for piece in pieces for c in decoder.feed(piece)]
    return chunks + decoder.finish(), decoder


def decode_through_errors(body: bytes, *, reads: int = 0) -> list[ChatCompletionChunk]:
    """Decodes everything, collecting chunks around API errors as a gateway would."""
    decoder = ChunkDecoder()
    pieces = [body] if reads == 0 else [body[i : i + reads] for i in range(0, len(body), reads)]
    chunks: list[ChatCompletionChunk] = []
    for piece in [*pieces, None]:
        try:
            chunks += decoder.feed(piece) if piece is not None else decoder.finish()
        except StreamAPIError as exc:
            chunks += exc.decoded
            chunks += (exc.chunk and [exc.chunk]) or []
    return chunks


def contents(chunks: list[ChatCompletionChunk]) -> list[object]:
    return [choice.delta.content for chunk in chunks for choice in chunk.choices or []]


def test_decodes_typed_chunks() -> None:
    chunks, decoder = decode_all(event("a") + b": ping\n\n" + event("b") + b"data: [DONE]\n\n")
    assert contents(chunks) == ["a", "b"]
    assert isinstance(chunks[0], ChatCompletionChunk)
    assert chunks[0].choices[0].index == 0
    assert decoder.done


@pytest.mark.parametrize("reads", [1, 7, 64, 0])
def test_any_read_size_gives_the_same_chunks(reads: int) -> None:
    body = b"".join(event(str(i)) for i in range(20)) + b"data: [DONE]\n\n"
    chunks, decoder = decode_all(body, reads=reads)
    assert contents(chunks) == [str(i) for i in range(20)]
    assert decoder.done


def test_stops_at_done() -> None:
    chunks, _ = decode_all(event("a") + b"data: [DONE]\n\n" + event("late"))
    assert contents(chunks) == ["a"]


@pytest.mark.parametrize("tail", [b"data: [DONE]", b"data: [DONE]\n", b"data: [DONE]\r\n"])
def test_unterminated_done_at_eof_counts(tail: bytes) -> None:
    chunks, decoder = decode_all(event("a") + tail)
    assert contents(chunks) == ["a"]
    assert decoder.done


def test_missing_done_is_reported() -> None:
    _, decoder = decode_all(event("a"))
    assert not decoder.done


def test_blank_data_is_a_keepalive() -> None:
    chunks, decoder = decode_all(b"data:\n\n" + event("a") + b"data:   \n\n")
    assert contents(chunks) == ["a"]
    assert decoder.keepalives == 2


def test_choices_null_or_missing_means_no_choices() -> None:
    for payload in (b'{"id":"x","choices":null}', b'{"id":"x"}', b'{"id":"x","choices":[]}'):
        [chunk] = ChunkDecoder().feed(b"data: " + payload + b"\n\n")
        assert chunk.choices == []


def test_content_containing_the_word_error_is_a_chunk() -> None:
    chunks, _ = decode_all(event('say \\"error\\"') + event("error"))
    assert contents(chunks) == ['say "error"', "error"]


@pytest.mark.parametrize(
    ("payload", "event_type", "message", "type_", "code"),
    [
        (
            b'{"error":{"message":"boom","type":"server_error","code":"x1","param":"p"}}',
            b"",
            "boom",
            "server_error",
            "x1",
        ),
        (
            b'{"object":"error","message":"vllm says no","type":"BadRequestError","code":400}',
            b"",
            "vllm says no",
            "BadRequestError",
            400,
        ),
        (b'{"error":"plain"}', b"", "plain", None, None),
        (b"not json at all", b"event: error\n", "not json at all", None, None),
        (b'{"error":{"message":"m"}}', b"event: error\n", "m", None, None),
    ],
)
def test_api_errors_are_raised_with_fields_and_keep_earlier_chunks(
    payload: bytes, event_type: bytes, message: str, type_: str | None, code: object
) -> None:
    decoder = ChunkDecoder()
    body = event("before") + event_type + b"data: " + payload + b"\n\n" + event("after")
    with pytest.raises(StreamAPIError) as info:
        decoder.feed(body)
    err = info.value
    assert (err.message, err.type, err.code) == (message, type_, code)
    assert err.offset == len(event("before"))
    assert contents(err.decoded) == ["before"]
    assert contents(decoder.finish()) == ["after"]


def test_error_param_and_raw_are_kept() -> None:
    with pytest.raises(StreamAPIError) as info:
        ChunkDecoder().feed(b'data: {"error":{"message":"m","param":"messages"}}\n\n')
    assert info.value.param == "messages"
    assert info.value.raw == {"error": {"message": "m", "param": "messages"}}


def test_openrouter_error_chunk_keeps_its_usage() -> None:
    body = (FIXTURES / "providers" / "openrouter_midstream_error_chunk.sse").read_bytes()
    with pytest.raises(StreamAPIError) as info:
        decode_all(body)
    err = info.value
    assert err.message == "Token limit reached"
    assert err.code == 400
    assert err.chunk is not None
    assert err.chunk.usage is not None
    assert err.chunk.usage.total_tokens == 53
    assert len(err.decoded) == 3


def test_undecodable_payload_names_offset_excerpt_and_cause() -> None:
    decoder = ChunkDecoder()
    body = event("a") + b'data: {"choices": 5}\n\n' + event("b")
    with pytest.raises(ChunkDecodeError) as info:
        decoder.feed(body)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.offset == len(event("a"))
    assert err.excerpt == b'{"choices": 5}'
    assert isinstance(err.__cause__, msgspec.ValidationError)
    assert f"offset {err.offset}" in str(err)
    assert contents(err.decoded) == ["a"]
    assert contents(decoder.finish()) == ["b"]


def test_excerpt_is_bounded() -> None:
    with pytest.raises(ChunkDecodeError) as info:
        ChunkDecoder().feed(b"data: {" + b"x" * 10_000 + b"\n\n")
    assert len(info.value.excerpt) == 200


def test_non_strict_skips_and_counts() -> None:
    body = event("a") + b"data: {broken\n\n" + event("b") + b'data: {"choices": 1}\n\n'
    chunks, decoder = decode_all(body, strict=False)
    assert contents(chunks) == ["a", "b"]
    assert decoder.skipped == 2


def test_non_strict_skips_oversized_events() -> None:
    decoder = ChunkDecoder(strict=False, max_event_size=300)
    body = event("a") + b"data: " + b"x" * 1000 + b"\n\n" + event("b")
    assert contents(decoder.feed(body)) == ["a", "b"]
    assert decoder.skipped == 1


def test_strict_oversized_event_keeps_neighbours() -> None:
    decoder = ChunkDecoder(max_event_size=300)
    with pytest.raises(chunkfold.EventTooLargeError) as info:
        decoder.feed(event("a") + b"data: " + b"x" * 1000 + b"\n\n" + event("b"))
    assert contents(info.value.decoded) == ["a", "b"]


def test_encode_sse_round_trips() -> None:
    body = (FIXTURES / "providers" / "openai_gpt4o_parallel_tool_calls.sse").read_bytes()
    chunks, _ = decode_all(body)
    encoded = b"".join(encode_sse(c) for c in chunks) + chunkfold.DONE_FRAME
    again, decoder = decode_all(encoded)
    assert again == chunks
    assert decoder.done


@pytest.mark.parametrize("path", fixture_streams(), ids=stream_id)
def test_every_fixture_decodes(path: object) -> None:
    body = path.read_bytes()  # type: ignore[attr-defined]
    whole = decode_through_errors(body)
    assert whole, "no chunk decoded"
    split = decode_through_errors(body, reads=37)
    assert split == whole
    assert [encode_sse(c) for c in whole] == [encode_sse(c) for c in split]


def test_provider_extensions_are_typed() -> None:
    def first(name: str) -> list[ChatCompletionChunk]:
        chunks, _ = decode_all((FIXTURES / "providers" / f"{name}.sse").read_bytes(), strict=False)
        return chunks

    deepseek = first("deepseek_reasoner_reasoning_content")
    assert any(c.choices and c.choices[0].delta.reasoning_content for c in deepseek)
    groq = first("groq_tool_call_x_groq_usage")
    assert any(c.x_groq and c.x_groq.usage and c.x_groq.usage.total_tokens for c in groq)
    azure = first("azure_model_router_prompt_filter")
    assert azure[0].choices == []
    assert azure[0].prompt_filter_results
    assert any(c.choices and c.choices[0].content_filter_results for c in azure)
    magistral = first("mistral_magistral_content_parts")
    parts = [
        p
        for c in magistral
        for ch in c.choices or []
        if isinstance(ch.delta.content, list)
        for p in ch.delta.content
    ]
    assert {p.type for p in parts} == {"thinking", "text"}
    mistral = first("mistral_tool_call_no_index_no_type")
    calls = [t for c in mistral for ch in c.choices or [] for t in ch.delta.tool_calls or []]
    assert calls
    assert all(t.index is msgspec.UNSET for t in calls)
    moonshot = first("moonshot_kimi_reasoning_no_object")
    assert moonshot[0].object == "chat.completion.chunk"  # OpenAI's value when omitted
    perplexity = first("perplexity_sonar_citations_cumulative_usage")
    assert perplexity[0].citations


def test_every_payload_decodes_like_a_single_msgspec_call() -> None:
    """The batched fast path gives what one decode per event gives."""
    single = msgspec.json.Decoder(ChatCompletionChunk)
    for path in fixture_streams():
        events = chunkfold.SSEDecoder().feed(path.read_bytes())
        payloads = [e.raw for e in events if e.event == "message" and e.raw.strip() not in (b"", b"[DONE]")]
        expected = []
        for payload in payloads:
            obj = json.loads(payload)
            if isinstance(obj, dict) and ("error" in obj or obj.get("object") == "error"):
                break
            expected.append(single.decode(payload))
        got = decode_through_errors(path.read_bytes())
        assert got[: len(expected)] == expected, path.name
