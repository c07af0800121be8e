"""What chunkfold encodes is OpenAI's wire format: openai-python accepts it as it is.

Over every recorded fixture and every generated corpus stream:

* each chunk, decoded and encoded again with ``encode_sse``, validates as openai's
  ``ChatCompletionChunk`` and dumps to the same values as the payload the provider sent;
* decoding, encoding and decoding again gives the same chunk (hypothesis too);
* each stream's folded result, encoded, validates as openai's ``ChatCompletion``
  wherever the stream's own values fit openai's types, and has the values of the
  final completion of ``compat.openai.ChatCompletionStreamState``.
"""

from __future__ import annotations

import json
from typing import Any

import chunkfold
import msgspec
import pydantic
import pytest
from chunkfold.bench import corpus
from chunkfold.chat import models
from chunkfold.compat.openai import ChatCompletionStreamState
from conftest import fixture_streams, stream_id
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._models import construct_type
from openai.types import chat as oai

_chunk = msgspec.json.Decoder(models.ChatCompletionChunk)


def _payloads(body: bytes) -> list[bytes]:
    events = chunkfold.SSEDecoder().feed(body) + chunkfold.SSEDecoder().finish()
    out = []
    for event in events:
        raw = event.raw.strip()
        if raw == b"[DONE]":
            break
        if event.event == "message" and raw:
            out.append(event.raw)
    return out


def _chunk_payloads(body: bytes) -> list[bytes]:
    """The payloads that are chunks (API errors left out), up to ``[DONE]``."""
    objs = [(p, json.loads(p)) for p in _payloads(body)]
    return [p for p, obj in objs if "error" not in obj and obj.get("object") != "error"]


STREAMS: list[tuple[str, bytes]] = [(stream_id(p), p.read_bytes()) for p in fixture_streams()] + [
    (f"corpus/{name}", scenario.stream().body) for name, scenario in corpus.SCENARIOS.items()
]

# Fixtures whose own chunk values are outside openai's types: openai rejects the
# payload as sent, and chunkfold keeps those values, so it rejects our encoding too.
CHUNKS_OPENAI_REJECTS = {
    "providers/azure_model_router_prompt_filter": "its first chunk has object ''",
    "providers/mistral_magistral_content_parts": "content is a list of parts",
    "providers/mistral_tool_call_no_index_no_type": "tool calls without index",
    "providers/perplexity_sonar_citations_cumulative_usage": "chunks have object 'chat.completion'",
}

# Streams whose folded result openai's ChatCompletion rejects, and why: the
# finish_reason stays as sent, and these streams never sent one.
_NO_FINISH = "the stream sends no finish_reason"
COMPLETIONS_OPENAI_REJECTS = {
    "openai/dotnet-ChatWithAudioAsync-5941131d": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutput-0a2ce7b4": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutput-32dd61b1": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutput-f5436f74": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutputAsync-4e5089da": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutputAsync-69e393cc": _NO_FINISH,
    "openai/dotnet-ChatWithBasicAudioOutputAsync-ab95edc8": _NO_FINISH,
    "providers/groq_gpt_oss_reasoning_then_error_event": "cut by an error event before any finish_reason",
}


def _loc_errors(payload: bytes, model: type[pydantic.BaseModel]) -> set[tuple[Any, ...]] | None:
    try:
        model.model_validate_json(payload)
    except pydantic.ValidationError as exc:
        return {tuple(e["loc"]) for e in exc.errors()}
    return None


@pytest.mark.parametrize(("name", "body"), STREAMS, ids=[n for n, _ in STREAMS])
def test_encoded_chunks_validate_as_openai_chunks(name: str, body: bytes) -> None:
    rejected: set[tuple[Any, ...]] = set()
    for i, payload in enumerate(_chunk_payloads(body)):
        chunk = _chunk.decode(payload)
        frame = chunkfold.encode_sse(chunk)
        assert frame.startswith(b"data: ")
        assert frame.endswith(b"\n\n")
        encoded = frame[6:-2]
        errors = _loc_errors(encoded, oai.ChatCompletionChunk)
        if errors is not None:
            # Only values the provider sent may be rejected: openai rejects the payload too.
            assert _loc_errors(payload, oai.ChatCompletionChunk) is not None, f"{name}#{i}: {errors}"
            rejected |= errors
            continue
        ours = oai.ChatCompletionChunk.model_validate_json(encoded).model_dump()
        theirs = construct_type(type_=oai.ChatCompletionChunk, value=json.loads(payload)).model_dump(
            warnings=False
        )
        # Documented: a missing object decodes as OpenAI's value, missing choices as [].
        if theirs.get("object") is None:
            theirs["object"] = "chat.completion.chunk"
        if theirs.get("choices") is None:
            theirs["choices"] = []
        _same_values(ours, theirs, f"{name}#{i}")
    assert bool(rejected) == (name in CHUNKS_OPENAI_REJECTS), f"{name}: {sorted(rejected)}"


@pytest.mark.parametrize(("name", "body"), STREAMS, ids=[n for n, _ in STREAMS])
def test_decode_encode_decode_is_the_identity(name: str, body: bytes) -> None:
    for payload in _chunk_payloads(body):
        chunk = _chunk.decode(payload)
        assert chunkfold.ChunkDecoder().feed(chunkfold.encode_sse(chunk)) == [chunk]
        assert msgspec.convert(msgspec.to_builtins(chunk), models.ChatCompletionChunk) == chunk


def _same_values(ours: Any, theirs: Any, where: str) -> None:
    """``ours`` (a dump of what we encoded) has the values of ``theirs``. A key only
    ``theirs`` has is a provider field chunkfold does not type (tolerated and
    dropped, by design); a key only ``ours`` has must be None."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in ours:
            if key in ("parsed", "parsed_arguments"):
                continue  # openai's parsing result, no wire field
            _same_values(ours[key], theirs.get(key), f"{where}.{key}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same_values(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


# Streams the compat state cannot fold, as openai's own state cannot (see
# test_accumulate_fixtures.SDK_CANNOT_FOLD).
# openrouter_midstream_error_chunk: its error chunk carries the usage, which
# chunkfold folds (README merge rule 11) and openai's state never sees (openai raises).
COMPAT_CANNOT_FOLD = {
    "providers/openrouter_midstream_error_chunk",
    "providers/anthropic_openai_compat_tool_index_starts_at_1",
    "providers/mistral_magistral_content_parts",
    "providers/mistral_tool_call_no_index_no_type",
    "providers/openrouter_web_search_annotations_usage",
}


@pytest.mark.parametrize(("name", "body"), STREAMS, ids=[n for n, _ in STREAMS])
def test_folded_result_validates_as_openai_completion(name: str, body: bytes) -> None:
    acc = chunkfold.ChatCompletionAccumulator(strict=False)
    acc.feed(body)
    final = acc.finish()
    encoded = msgspec.json.encode(final)
    assert msgspec.json.decode(encoded, type=models.ChatCompletion) == final
    assert msgspec.json.encode(acc.snapshot()) == encoded
    errors = _loc_errors(encoded, oai.ChatCompletion)
    if name in COMPLETIONS_OPENAI_REJECTS:
        assert errors == {("choices", 0, "finish_reason")}, name
        return
    assert errors is None, f"{name}: {errors}"
    ours = oai.ChatCompletion.model_validate_json(encoded).model_dump()
    if name in COMPAT_CANNOT_FOLD:
        return
    state = ChatCompletionStreamState()
    for payload in _chunk_payloads(body):
        state.handle_chunk(construct_type(type_=oai.ChatCompletionChunk, value=json.loads(payload)))
    # The snapshot: get_final_completion() raises on finish_reason "length" (openai's
    # LengthFinishReasonError when parsing), which is not what this test is about.
    theirs = state.current_completion_snapshot.model_dump(warnings=False)
    _same_values(ours, theirs, name)


_text = st.text(max_size=8)
_opt_text = st.none() | _text


@st.composite
def _chunks(draw: st.DrawFn) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if draw(st.booleans()):
        delta["role"] = draw(st.none() | st.just("assistant"))
    for key in ("content", "refusal", "reasoning_content", "reasoning"):
        if draw(st.booleans()):
            delta[key] = draw(_opt_text)
    if draw(st.booleans()):
        call: dict[str, Any] = {"function": {"arguments": draw(_text)}}
        if draw(st.booleans()):
            call["index"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            call["id"] = draw(_opt_text)
        delta["tool_calls"] = [call]
    choice: dict[str, Any] = {"delta": delta}
    for key, values in (
        ("index", st.integers(0, 3)),
        ("finish_reason", st.none() | st.sampled_from(["stop", "length", "eos"])),
        ("logprobs", st.none() | st.just({"content": [{"token": "a", "logprob": -0.5, "top_logprobs": []}]})),
        ("content_filter_results", st.none() | st.just({})),
    ):
        if draw(st.booleans()):
            choice[key] = draw(values)
    chunk: dict[str, Any] = {"choices": draw(st.none() | st.just([]) | st.just([choice]))}
    for key, values in (
        ("id", _text),
        ("created", st.integers(0, 2**40)),
        ("model", _text),
        ("object", st.just("chat.completion.chunk")),
        ("system_fingerprint", _opt_text),
        ("usage", st.none() | st.just({"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1})),
        ("obfuscation", _opt_text),
        ("citations", st.none() | st.lists(_text, max_size=2)),
    ):
        if draw(st.booleans()):
            chunk[key] = draw(values)
    return chunk


@settings(max_examples=300, deadline=None)
@given(_chunks())
def test_round_trip_property(obj: dict[str, Any]) -> None:
    chunk = msgspec.convert(obj, models.ChatCompletionChunk)
    frame = chunkfold.encode_sse(chunk)
    assert chunkfold.ChunkDecoder().feed(frame) == [chunk]
    again = json.loads(frame[6:-2])
    # OpenAI's own chunk and choice fields are always written, 0 and null included.
    assert {"id", "object", "created", "model", "choices"} <= again.keys()
    for choice in again["choices"]:
        assert {"index", "delta", "finish_reason", "logprobs"} <= choice.keys()
    # An extension is written exactly when it was sent, null included.
    for key in ("obfuscation", "citations"):
        assert (key in again) == (key in obj)
    for choice, sent in zip(again["choices"], obj.get("choices") or [], strict=True):
        for key in ("reasoning_content", "reasoning"):
            assert (key in choice["delta"]) == (key in sent["delta"])
        assert ("content_filter_results" in choice) == ("content_filter_results" in sent)
    sent = obj.get("choices") or [{"delta": {}}]
    calls = sent[0]["delta"].get("tool_calls") or []
    if sent[0].get("finish_reason") != "eos" and all("index" in c for c in calls):
        oai.ChatCompletionChunk.model_validate_json(frame[6:-2])


def test_usage_chunk_writes_empty_choices_and_zeros() -> None:
    chunk = chunkfold.ChunkDecoder().feed(
        b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"m","choices":[],'
        b'"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}\n\n'
    )[0]
    out = json.loads(chunkfold.encode_sse(chunk)[6:-2])
    assert out["choices"] == []
    assert out["created"] == 0
    assert out["usage"]["total_tokens"] == 0
    oai.ChatCompletionChunk.model_validate_json(chunkfold.encode_sse(chunk)[6:-2])


def test_payloads_stop_at_done() -> None:
    body = b'data: {"id":"a","choices":[]}\n\ndata: [DONE]\n\ndata: {"id":"b","choices":[]}\n\n'
    assert [json.loads(p)["id"] for p in _payloads(body)] == ["a"]


def test_fixture_lists_name_real_streams() -> None:
    names = {name for name, _ in STREAMS}
    assert set(CHUNKS_OPENAI_REJECTS) <= names
    assert set(COMPLETIONS_OPENAI_REJECTS) <= names
    assert names >= COMPAT_CANNOT_FOLD
