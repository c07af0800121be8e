"""The example proxy carrying OpenAI Responses and Anthropic Messages streams,
driven by the official SDKs against uvicorn on 127.0.0.1, compared with a
direct connection to the mock upstream."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from chunkfold.errors import StreamAPIError
from chunkfold.gateway import StreamSummary
from chunkfold.usage import TokenUsage

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import gateway as example_gateway
import mock_anthropic
import mock_responses
import mock_upstream

MODELS = ("mock-chat", "mock-tools", "mock-reasoning", "mock-incomplete")


@pytest.fixture(scope="module")
def proxy(serve: Any) -> tuple[str, str, Any]:
    upstream = serve(mock_upstream.create_app(rate=0))
    app = example_gateway.create_app(upstream)
    return upstream, serve(app), app


def last_summary(app: Any, count_before: int) -> StreamSummary:
    deadline = time.monotonic() + 5
    while len(app.state.summaries) <= count_before:  # the summary lands after the last byte
        assert time.monotonic() < deadline, "no summary"
        time.sleep(0.01)
    summary: StreamSummary = app.state.summaries[-1]
    return summary


def expected_usage(frames: Any, model: str, tokens: int) -> dict[str, Any]:
    import json

    usage: dict[str, Any] = {}
    for frame, _ in frames(model, tokens):
        data = json.loads(frame.split(b"data: ", 1)[1])
        for holder in (data, data.get("response") or {}, data.get("message") or {}):
            if isinstance(holder, dict) and holder.get("usage"):
                usage.update(holder["usage"])
    return usage


@pytest.mark.parametrize("model", [*MODELS, "mock-error"])
def test_responses_through_the_proxy_equal_a_direct_connection(
    proxy: tuple[str, str, Any], model: str
) -> None:
    upstream, gateway, app = proxy
    direct = openai.OpenAI(api_key="sk-direct", base_url=f"{upstream}/v1")
    via = openai.OpenAI(api_key="sk-responses-01", base_url=f"{gateway}/v1")
    request = {"model": model, "input": "hi", "max_output_tokens": 8, "stream": True}
    expected = [e.model_dump() for e in direct.responses.create(**request)]
    before = len(app.state.summaries)
    assert [e.model_dump() for e in via.responses.create(**request)] == expected
    summary = last_summary(app, before)
    assert summary.protocol == "responses"
    assert summary.request_model == model
    assert summary.model == model
    assert summary.response_id == mock_responses.RESPONSE_ID
    usage = expected_usage(mock_responses.frames, model, 8)
    assert summary.token_usage == TokenUsage(
        input=usage["input_tokens"],
        cached_input=usage["input_tokens_details"]["cached_tokens"],
        cache_creation_input=usage["input_tokens_details"]["cache_write_tokens"],
        output=usage["output_tokens"],
        reasoning=usage["output_tokens_details"]["reasoning_tokens"],
        total=usage["total_tokens"],
    )
    status = {"mock-error": "error", "mock-incomplete": "incomplete"}.get(model, "done")
    assert summary.status == status
    assert (summary.error is not None) == (model == "mock-error")
    assert summary.time_to_first_token is not None


def test_responses_stream_helper_through_the_proxy(proxy: tuple[str, str, Any]) -> None:
    upstream, gateway, _ = proxy
    finals = []
    for base in (upstream, gateway):
        client = openai.OpenAI(api_key="sk-helper", base_url=f"{base}/v1")
        with client.responses.stream(model="mock-tools", input="hi") as stream:
            finals.append(stream.get_final_response().model_dump())
    assert finals[0] == finals[1]
    assert [item["name"] for item in finals[1]["output"]] == ["get_weather", "get_time"]


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_through_the_proxy_equals_a_direct_connection(
    proxy: tuple[str, str, Any], model: str
) -> None:
    upstream, gateway, app = proxy
    messages = [{"role": "user", "content": "hi"}]
    finals = []
    before = len(app.state.summaries)
    for base in (upstream, gateway):
        client = anthropic.Anthropic(api_key="sk-ant-direct", base_url=base)
        with client.messages.stream(model=model, max_tokens=8, messages=messages) as stream:  # type: ignore[arg-type]
            events = [e.model_dump() for e in stream]
            finals.append((events, stream.get_final_message().model_dump()))
    assert finals[0] == finals[1]
    summary = last_summary(app, before)
    final = finals[1][1]
    assert summary.protocol == "anthropic"
    assert (summary.request_model, summary.model, summary.response_id) == (model, model, final["id"])
    assert summary.finish_reasons == (final["stop_reason"],)
    assert summary.token_usage == TokenUsage(
        input=mock_anthropic.INPUT_TOKENS,
        cached_input=0,
        cache_creation_input=0,
        output=final["usage"]["output_tokens"],
        total=mock_anthropic.INPUT_TOKENS + final["usage"]["output_tokens"],
    )
    assert summary.status == ("incomplete" if model == "mock-incomplete" else "done")


def test_anthropic_overloaded_mid_stream_is_forwarded_and_summarised(proxy: tuple[str, str, Any]) -> None:
    upstream, gateway, app = proxy
    texts = []
    before = len(app.state.summaries)
    for base in (upstream, gateway):
        client = anthropic.Anthropic(api_key="sk-ant", base_url=base, max_retries=0)
        with (
            pytest.raises(anthropic.APIStatusError, match="Overloaded"),
            client.messages.stream(model="mock-error", max_tokens=8, messages=[]) as stream,
        ):
            for _ in stream:
                pass
        texts.append(stream.current_message_snapshot.content[0].text)  # type: ignore[union-attr]
    assert texts[0] == texts[1] != ""
    summary = last_summary(app, before)
    assert summary.status == "error"
    assert summary.error is not None
    assert isinstance(summary.error, StreamAPIError)
    assert (summary.error.type, summary.error.message) == ("overloaded_error", "Overloaded")
    assert summary.result.content[0].text == texts[0]
    assert summary.token_usage is not None
    assert summary.token_usage.input == mock_anthropic.INPUT_TOKENS


def test_bytes_are_forwarded_untouched(proxy: tuple[str, str, Any]) -> None:
    upstream, gateway, _ = proxy
    for path, body in (
        ("/v1/responses", {"model": "mock-reasoning", "input": "hi", "stream": True}),
        ("/v1/messages", {"model": "mock-tools", "max_tokens": 8, "messages": [], "stream": True}),
    ):
        direct = httpx.post(f"{upstream}{path}", json=body).content
        assert httpx.post(f"{gateway}{path}", json=body).content == direct
