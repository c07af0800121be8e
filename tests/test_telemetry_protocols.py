"""Telemetry for OpenAI Responses and Anthropic Messages streams: the example
proxy under uvicorn with an otel_recorder, driven by the official SDKs, read
back from the real OpenTelemetry SDK."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import test_telemetry as harness
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import StatusCode
from test_telemetry import Telemetry, common, stream_span, traced_proxy, wait_for_summaries

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import mock_anthropic
import mock_responses

otel = harness.otel
upstream = harness.upstream
USAGE = "gen_ai.client.inference.usage"


def tokens_by_type(otel: Telemetry) -> dict[str, float]:
    return {
        p.attributes[genai.GEN_AI_TOKEN_TYPE]: p.sum
        for p in otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    }


def test_responses_stream_tokens_span_and_provider(serve: Any, otel: Telemetry, upstream: str) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-resp", base_url=f"{proxy.base}/v1")
    events = list(
        client.responses.create(model="mock-reasoning", input="hi", max_output_tokens=10, stream=True)
    )
    final = events[-1].response  # type: ignore[union-attr]
    assert final.usage is not None
    wait_for_summaries(proxy.app, 1)
    attrs = common(proxy, "mock-reasoning")
    assert tokens_by_type(otel) == {"input": final.usage.input_tokens, "output": final.usage.output_tokens}
    [streams] = otel.points("chunkfold.gateway.streams")
    assert dict(streams.attributes) == {
        **attrs,
        "chunkfold.stream.status": "done",
        "chunkfold.stream.usage_source": "provider",
    }
    span, _ = stream_span(otel)
    assert span.name == "chat mock-reasoning"
    assert span.status.status_code == StatusCode.UNSET
    assert span.attributes is not None
    assert dict(span.attributes) == {
        **attrs,
        genai.GEN_AI_RESPONSE_ID: mock_responses.RESPONSE_ID,
        genai.GEN_AI_RESPONSE_FINISH_REASONS: ("completed",),
        genai.GEN_AI_USAGE_INPUT_TOKENS: final.usage.input_tokens,
        genai.GEN_AI_USAGE_OUTPUT_TOKENS: final.usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": final.usage.input_tokens_details.cached_tokens,
        "gen_ai.usage.cache_creation.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": final.usage.output_tokens_details.reasoning_tokens,
    }
    assert final.usage.output_tokens_details.reasoning_tokens > 0


def test_responses_reasoning_tokens_under_the_latest_conventions(
    serve: Any,
    otel: Telemetry,
    upstream: str,
) -> None:
    proxy = traced_proxy(serve, otel, upstream, semconv="latest")
    client = openai.OpenAI(api_key="sk-telemetry-resp", base_url=f"{proxy.base}/v1")
    events = list(
        client.responses.create(model="mock-reasoning", input="hi", max_output_tokens=10, stream=True)
    )
    usage = events[-1].response.usage  # type: ignore[union-attr]
    assert usage is not None
    assert usage.output_tokens_details.reasoning_tokens > 0
    wait_for_summaries(proxy.app, 1)
    values = {
        name: [p.value for p in otel.points(name)]
        for name in (f"{USAGE}.input_tokens", f"{USAGE}.output_tokens", f"{USAGE}.reasoning.output_tokens")
    }
    assert values == {
        f"{USAGE}.input_tokens": [usage.input_tokens],
        f"{USAGE}.output_tokens": [usage.output_tokens],
        f"{USAGE}.reasoning.output_tokens": [usage.output_tokens_details.reasoning_tokens],
    }


def test_responses_failed_stream_records_the_error_code(
    serve: Any,
    otel: Telemetry,
    upstream: str,
) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-resp", base_url=f"{proxy.base}/v1", max_retries=0)
    types = [e.type for e in client.responses.create(model="mock-error", input="hi", stream=True)]
    assert types[-2:] == ["error", "response.failed"]
    wait_for_summaries(proxy.app, 1)
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[error_attributes.ERROR_TYPE] == "server_error"
    [streams] = otel.points("chunkfold.gateway.streams")
    assert streams.attributes["chunkfold.stream.status"] == "error"
    span, _ = stream_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[error_attributes.ERROR_TYPE] == "server_error"


def anthropic_client(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-telemetry", base_url=base, max_retries=0)


def test_anthropic_stream_tokens_span_and_provider(serve: Any, otel: Telemetry, upstream: str) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    messages: Any = [{"role": "user", "content": "hi"}]
    with anthropic_client(proxy.base).messages.stream(
        model="mock-tools", max_tokens=8, messages=messages
    ) as stream:
        final = stream.get_final_message()
    wait_for_summaries(proxy.app, 1)
    attrs = {**common(proxy, "mock-tools"), genai.GEN_AI_PROVIDER_NAME: "anthropic"}
    # Anthropic's input_tokens leaves out the cache; the mock reports none.
    assert tokens_by_type(otel) == {"input": mock_anthropic.INPUT_TOKENS, "output": final.usage.output_tokens}
    for point in otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION):
        assert dict(point.attributes) == attrs
    span, _ = stream_span(otel)
    assert span.name == "chat mock-tools"
    assert span.attributes is not None
    assert dict(span.attributes) == {
        **attrs,
        genai.GEN_AI_RESPONSE_ID: final.id,
        genai.GEN_AI_RESPONSE_FINISH_REASONS: ("tool_use",),
        genai.GEN_AI_USAGE_INPUT_TOKENS: mock_anthropic.INPUT_TOKENS,
        genai.GEN_AI_USAGE_OUTPUT_TOKENS: final.usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_creation.input_tokens": 0,
    }


def test_anthropic_overloaded_mid_stream_is_an_error_with_its_type(
    serve: Any,
    otel: Telemetry,
    upstream: str,
) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded"),
        anthropic_client(proxy.base).messages.stream(model="mock-error", max_tokens=8, messages=[]) as stream,
    ):
        for _ in stream:
            pass
    wait_for_summaries(proxy.app, 1)
    [streams] = otel.points("chunkfold.gateway.streams")
    assert streams.attributes["chunkfold.stream.status"] == "error"
    assert streams.attributes[genai.GEN_AI_PROVIDER_NAME] == "anthropic"
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[error_attributes.ERROR_TYPE] == "overloaded_error"
    # The input counted before the error is still metered.
    assert tokens_by_type(otel)["input"] == mock_anthropic.INPUT_TOKENS
    span, _ = stream_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[error_attributes.ERROR_TYPE] == "overloaded_error"
