"""chunkfold.compat.openai.ChatCompletionStreamState against openai-python's own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import chunkfold
import pytest
from chunkfold.compat.openai import ChatCompletionStreamState
from conftest import fixture_streams, stream_id
from openai._models import construct_type
from openai.lib.streaming.chat import ChatCompletionStreamState as OpenAIState
from openai.types.chat import ChatCompletionChunk

# Fields openai-python keeps as pydantic extras and chunkfold drops, on purpose:
# unknown provider fields are tolerated, not carried (README, "Where we differ").
EXTRAS = {"provider", "x_groq", "sla_metrics", "prompt_filter_results", "content_filter_results", "text"}
MESSAGE_EXTRAS = {"channel", "reasoning_details", "token_id", "index"}


def openai_chunks(path: Path) -> list[Any]:
    events = chunkfold.SSEDecoder().feed(path.read_bytes())
    payloads = [
        json.loads(e.data) for e in events if e.event == "message" and e.data.strip() not in ("", "[DONE]")
    ]
    return [construct_type(type_=ChatCompletionChunk, value=p) for p in payloads if "error" not in p]


def run(state: Any, chunks: list[Any]) -> tuple[list[str], dict[str, Any]]:
    kinds = [event.type for chunk in chunks for event in state.handle_chunk(chunk)]
    return kinds, state.get_final_completion().model_dump(warnings=False)


def expected_from_openai(theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """openai's result with the cases where it is wrong put right, each named."""
    fixed = {k: v for k, v in theirs.items() if k not in EXTRAS and (k in ours or v is not None)}
    for key in ("id", "model", "created"):
        if not theirs[key]:  # Azure's first chunk has "" and 0: first non-empty wins
            fixed[key] = ours[key]
    if theirs.get("system_fingerprint") == "":
        fixed["system_fingerprint"] = None  # "" is not a fingerprint
    for i, choice in enumerate(fixed["choices"]):
        for key in set(choice) - set(ours["choices"][i]):
            choice.pop(key)  # choice-level extras such as OpenRouter's native_finish_reason
        message = choice["message"]
        for key in MESSAGE_EXTRAS:
            message.pop(key, None)
        for key in [k for k, v in message.items() if v is None and k not in ours["choices"][i]["message"]]:
            message.pop(key)  # an extra openai kept only as null
        role = message["role"]
        if role is None:
            message["role"] = "assistant"  # openai's type requires it
        elif re.fullmatch(r"(assistant)+", role):
            message["role"] = "assistant"  # openai concatenates repeated roles
    return fixed


# Chat Completions streams only: the Anthropic fixtures are another protocol.
CHAT_STREAMS = [p for p in fixture_streams() if p.parent.name != "anthropic"]


@pytest.mark.parametrize("path", CHAT_STREAMS, ids=stream_id)
def test_matches_openai_where_openai_is_right(path: Path) -> None:
    chunks = openai_chunks(path)
    try:
        theirs = run(OpenAIState(), chunks)
    except (TypeError, IndexError, AttributeError, KeyError, RuntimeError) as exc:
        # openai crashes on chunks without `choices`, on tool calls without
        # index and on list deltas (Mistral content parts, OpenRouter annotations).
        pytest.skip(f"openai-python fails on this stream: {exc!r}")
    except Exception as exc:  # LengthFinishReasonError and the like: ours must raise the same
        with pytest.raises(type(exc)):
            run(ChatCompletionStreamState(), chunks)
        return
    kinds, ours = run(ChatCompletionStreamState(), chunks)
    assert kinds == theirs[0]
    assert ours == expected_from_openai(theirs[1], ours)


def test_response_format_and_tools_are_parsed_by_openai() -> None:
    import pydantic

    class Weather(pydantic.BaseModel):
        city: str
        units: str

    path = next(p for p in fixture_streams() if p.name == "py-2024-08-06-parse_pydantic_model.sse")
    state = ChatCompletionStreamState(response_format=Weather)
    events = [e for chunk in openai_chunks(path) for e in state.handle_chunk(chunk)]
    final = state.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Weather)
    done = [e for e in events if e.type == "content.done"]
    assert len(done) == 1
    assert isinstance(done[0].parsed, Weather)


def test_events_are_lazy_and_snapshot_is_openai_typed() -> None:
    from openai.lib.streaming.chat._types import ParsedChatCompletionSnapshot

    path = next(p for p in fixture_streams() if p.name == "openai_gpt4o_text_usage_chunk.sse")
    state = ChatCompletionStreamState()
    for chunk in openai_chunks(path):
        state.handle_chunk(chunk)  # events never built
    snapshot = state.current_completion_snapshot
    assert isinstance(snapshot, ParsedChatCompletionSnapshot)
    assert snapshot.choices[0].message.content == "The capital of Mexico is Mexico City."
    assert snapshot.usage is not None
    assert snapshot.usage.total_tokens == 22


def test_provider_usage_counters_survive() -> None:
    path = next(p for p in fixture_streams() if p.name == "deepseek_reasoner_tool_call.sse")
    state = ChatCompletionStreamState()
    for chunk in openai_chunks(path):
        state.handle_chunk(chunk)
    usage = state.get_final_completion().usage
    assert usage is not None
    assert usage.model_extra is not None
    assert usage.model_extra["prompt_cache_hit_tokens"] == 320


def test_conversions_name_what_they_take() -> None:
    with pytest.raises(TypeError, match="openai ChatCompletionChunk or ChatCompletion, not dict"):
        chunkfold.from_openai({"id": "x"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="chunkfold ChatCompletionChunk or ChatCompletion, not dict"):
        chunkfold.to_openai({"id": "x"})  # type: ignore[call-overload]
