"""chunkfold.gateway.telemetry with the real OpenTelemetry SDK, against the example
proxy under uvicorn, the mock upstream and the openai client."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from chunkfold.gateway import (
    StreamMeterMiddleware,
    StreamSummary,
    fan_out,
    otel_recorder,
    tap,
)
from chunkfold.gateway.telemetry import stream_error_type
from conftest import FIXTURES
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import gateway as example_gateway
import mock_upstream

TEXT = (FIXTURES / "providers" / "openai_gpt4o_text_usage_chunk.sse").read_bytes()
# The conventions' ExplicitBucketBoundaries advice, as the spec text writes it.
DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
TPOT_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
PROMPT_TOKENS = 12  # what the mock upstream reports
# The newer token metrics live in the GenAI conventions' own repository
# (gen-ai-token-metrics.md), not yet in opentelemetry-semantic-conventions.
TOKEN_MODALITY = "gen_ai.token.modality"


@dataclass
class Telemetry:
    reader: InMemoryMetricReader
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    tracer_provider: TracerProvider

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}

    def points(self, name: str) -> list[Any]:
        return list(self.metrics()[name].data.data_points)

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    yield Telemetry(reader, spans, meter_provider, tracer_provider)
    meter_provider.shutdown()
    tracer_provider.shutdown()


@dataclass
class Proxy:
    base: str
    app: Any
    port: int


def traced_proxy(serve: Any, otel: Telemetry, upstream: str, **options: Any) -> Proxy:
    """The example proxy with an otel_recorder, behind OpenTelemetry's own
    ASGI instrumentation (the server span)."""
    port = httpx.URL(upstream).port
    recorder = otel_recorder(
        otel.meter_provider.get_meter("test"),
        otel.tracer_provider.get_tracer("test"),
        server_address="127.0.0.1",
        server_port=port,
        **options,
    )
    app = example_gateway.create_app(upstream, recorder=recorder)
    traced = OpenTelemetryMiddleware(
        app,
        tracer_provider=otel.tracer_provider,
        meter_provider=NoOpMeterProvider(),
        exclude_spans=["receive", "send"],
    )
    return Proxy(serve(traced), app, port or 0)


@pytest.fixture(scope="module")
def upstream(serve: Any) -> str:
    return str(serve(mock_upstream.create_app(rate=0)))


def wait_for_summaries(app: Any, count: int) -> None:
    for _ in range(200):
        if len(app.state.summaries) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{len(app.state.summaries)} summaries, expected {count}")


def common(proxy: Proxy, model: str = "mock-chat") -> dict[str, Any]:
    return {
        genai.GEN_AI_OPERATION_NAME: "chat",
        genai.GEN_AI_PROVIDER_NAME: "openai",
        genai.GEN_AI_REQUEST_MODEL: model,
        genai.GEN_AI_RESPONSE_MODEL: model,
        server_attributes.SERVER_ADDRESS: "127.0.0.1",
        server_attributes.SERVER_PORT: proxy.port,
    }


def stream_span(otel: Telemetry) -> tuple[ReadableSpan, ReadableSpan]:
    """The one GenAI span and the server span it must be a child of (which
    ends a little after the response, so it is waited for)."""
    for _ in range(200):
        spans = otel.finished()
        if any(s.kind == SpanKind.SERVER for s in spans):
            break
        time.sleep(0.01)
    [server] = [s for s in spans if s.kind == SpanKind.SERVER]
    [stream] = [s for s in spans if s.name.startswith("chat")]
    assert stream.parent is not None
    assert stream.parent.span_id == server.context.span_id
    assert stream.context.trace_id == server.context.trace_id
    return stream, server


# --- end to end: the example proxy, the mock upstream, the openai client ----------------


def test_success_names_units_buckets_attributes_tokens_and_span(
    serve: Any, otel: Telemetry, upstream: str
) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-0001", base_url=f"{proxy.base}/v1")
    chunks = list(
        client.chat.completions.create(
            model="mock-chat",
            messages=[],
            stream=True,
            max_tokens=10,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage is not None
    wait_for_summaries(proxy.app, 1)
    metrics = otel.metrics()
    assert set(metrics) == {
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
        "chunkfold.gateway.streams",
        "chunkfold.stream.max_gap",
    }
    units = {name: metric.unit for name, metric in metrics.items()}
    assert units == {
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION: "s",
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: "s",
        gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE: "{token}",
        "chunkfold.gateway.streams": "{stream}",
        "chunkfold.stream.max_gap": "s",
    }
    attrs = common(proxy)
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    [ttft] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    for point in (duration, ttft):
        assert isinstance(point, HistogramDataPoint)
        assert dict(point.attributes) == attrs
        assert list(point.explicit_bounds) == DURATION_BOUNDS
        assert point.count == 1
    assert 0 < ttft.sum <= duration.sum
    tokens = {
        p.attributes[genai.GEN_AI_TOKEN_TYPE]: p
        for p in otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    }
    assert set(tokens) == {"input", "output"}
    for kind, point in tokens.items():
        assert dict(point.attributes) == {**attrs, genai.GEN_AI_TOKEN_TYPE: kind}
        assert list(point.explicit_bounds) == TOKEN_BOUNDS
    assert (tokens["input"].sum, tokens["output"].sum) == (PROMPT_TOKENS, 10)
    [streams] = otel.points("chunkfold.gateway.streams")
    assert dict(streams.attributes) == {
        **attrs,
        "chunkfold.stream.status": "done",
        "chunkfold.stream.usage_source": "provider",
    }
    assert streams.value == 1
    span, server = stream_span(otel)
    assert span.name == "chat mock-chat"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    assert span.attributes is not None
    assert dict(span.attributes) == {
        **attrs,
        genai.GEN_AI_RESPONSE_ID: chunks[0].id,
        genai.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        genai.GEN_AI_USAGE_INPUT_TOKENS: PROMPT_TOKENS,
        genai.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
    }
    assert span.start_time is not None
    assert span.end_time is not None
    assert server.start_time is not None
    assert server.end_time is not None
    # The span starts when the request went upstream, inside the server span.
    assert server.start_time <= span.start_time < span.end_time <= server.end_time
    assert span.end_time - span.start_time == pytest.approx(duration.sum * 1e9, abs=1000)


def test_no_include_usage_still_meters_the_tokens_the_gateway_asked_for(
    serve: Any, otel: Telemetry, upstream: str
) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-0002", base_url=f"{proxy.base}/v1")
    chunks = list(client.chat.completions.create(model="mock-chat", messages=[], stream=True, max_tokens=7))
    assert all(chunk.usage is None for chunk in chunks)  # the client did not ask for it
    wait_for_summaries(proxy.app, 1)
    tokens = {
        p.attributes[genai.GEN_AI_TOKEN_TYPE]: p.sum
        for p in otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    }
    assert tokens == {"input": PROMPT_TOKENS, "output": 7}
    span, _ = stream_span(otel)
    assert span.attributes is not None
    assert span.attributes[genai.GEN_AI_USAGE_OUTPUT_TOKENS] == 7


def test_mid_stream_error(serve: Any, otel: Telemetry, upstream: str) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-0003", base_url=f"{proxy.base}/v1")
    with pytest.raises(openai.APIError, match="overloaded"):
        list(client.chat.completions.create(model="mock-error", messages=[], stream=True, max_tokens=20))
    wait_for_summaries(proxy.app, 1)
    attrs = common(proxy, "mock-error")
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert dict(duration.attributes) == {**attrs, error_attributes.ERROR_TYPE: "server_error"}
    [streams] = otel.points("chunkfold.gateway.streams")
    assert streams.attributes["chunkfold.stream.status"] == "error"
    assert streams.attributes["chunkfold.stream.usage_source"] == "missing"
    assert gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE not in otel.metrics()  # no usage was sent
    span, _ = stream_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "server_error"
    assert span.attributes is not None
    assert span.attributes[error_attributes.ERROR_TYPE] == "server_error"


def test_truncated_stream(serve: Any, otel: Telemetry) -> None:
    cut = TEXT[: TEXT.index(b'"finish_reason":"stop"')]
    cut = cut[: cut.rindex(b"\n\n") + 2]

    async def route(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for i in range(0, len(cut), 64):
                yield cut[i : i + 64]
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="text/event-stream")

    cutting = serve(Starlette(routes=[Route("/v1/chat/completions", route, methods=["POST"])]))
    proxy = traced_proxy(serve, otel, cutting)
    client = openai.OpenAI(api_key="sk-telemetry-0004", base_url=f"{proxy.base}/v1")
    content = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="gpt-4o", messages=[], stream=True)
        if c.choices
    )
    assert content
    wait_for_summaries(proxy.app, 1)
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[error_attributes.ERROR_TYPE] == "truncated"
    assert duration.attributes[genai.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert duration.attributes[genai.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    span, _ = stream_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.name == "chat gpt-4o"


def test_client_disconnect(serve: Any, otel: Telemetry) -> None:
    slow = serve(mock_upstream.create_app(rate=200))
    proxy = traced_proxy(serve, otel, slow)
    client = openai.OpenAI(api_key="sk-telemetry-0005", base_url=f"{proxy.base}/v1")
    stream = client.chat.completions.create(model="mock-chat", messages=[], stream=True, max_tokens=400)
    for i, _ in enumerate(stream):
        if i == 10:
            break
    stream.close()
    wait_for_summaries(proxy.app, 1)
    [summary] = proxy.app.state.summaries
    assert summary.status == "cancelled"
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[error_attributes.ERROR_TYPE] == "cancelled"
    span, _ = stream_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "cancelled"


def test_n_choices(serve: Any, otel: Telemetry, upstream: str) -> None:
    proxy = traced_proxy(serve, otel, upstream)
    client = openai.OpenAI(api_key="sk-telemetry-0006", base_url=f"{proxy.base}/v1")
    chunks = list(
        client.chat.completions.create(
            model="mock-chat",
            messages=[],
            stream=True,
            max_tokens=5,
            n=3,
            stream_options={"include_usage": True},
        )
    )
    assert {c.choices[0].index for c in chunks if c.choices} == {0, 1, 2}
    wait_for_summaries(proxy.app, 1)
    tokens = {
        p.attributes[genai.GEN_AI_TOKEN_TYPE]: p.sum
        for p in otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    }
    assert tokens == {"input": PROMPT_TOKENS, "output": 15}
    span, _ = stream_span(otel)
    assert span.attributes is not None
    assert span.attributes[genai.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop", "stop", "stop")
    assert span.attributes[genai.GEN_AI_USAGE_OUTPUT_TOKENS] == 15


def test_server_side_through_the_middleware(serve: Any, otel: Telemetry, upstream: str) -> None:
    recorder = otel_recorder(
        otel.meter_provider.get_meter("test"), otel.tracer_provider.get_tracer("test"), side="server"
    )
    summaries: list[StreamSummary] = []
    app = StreamMeterMiddleware(
        example_gateway.create_app(upstream),
        on_complete=fan_out(lambda summary, scope: summaries.append(summary), recorder),
    )
    base = serve(
        OpenTelemetryMiddleware(
            app,
            tracer_provider=otel.tracer_provider,
            meter_provider=NoOpMeterProvider(),
            exclude_spans=["receive", "send"],
        )
    )
    client = openai.OpenAI(api_key="sk-telemetry-0007", base_url=f"{base}/v1")
    list(
        client.chat.completions.create(
            model="mock-reasoning",
            messages=[],
            stream=True,
            max_tokens=12,
            stream_options={"include_usage": True},
        )
    )
    for _ in range(100):
        if summaries:
            break
        time.sleep(0.02)
    [summary] = summaries
    metrics = otel.metrics()
    assert set(metrics) == {
        gen_ai_metrics.GEN_AI_SERVER_REQUEST_DURATION,
        gen_ai_metrics.GEN_AI_SERVER_TIME_TO_FIRST_TOKEN,
        gen_ai_metrics.GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN,
        gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
        "chunkfold.gateway.streams",
        "chunkfold.stream.max_gap",
    }
    [duration] = otel.points(gen_ai_metrics.GEN_AI_SERVER_REQUEST_DURATION)
    [ttft] = otel.points(gen_ai_metrics.GEN_AI_SERVER_TIME_TO_FIRST_TOKEN)
    [tpot] = otel.points(gen_ai_metrics.GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN)
    assert list(duration.explicit_bounds) == DURATION_BOUNDS
    assert list(ttft.explicit_bounds) == TTFT_BOUNDS
    assert list(tpot.explicit_bounds) == TPOT_BOUNDS
    assert dict(duration.attributes) == {
        genai.GEN_AI_OPERATION_NAME: "chat",
        genai.GEN_AI_PROVIDER_NAME: "openai",
        genai.GEN_AI_REQUEST_MODEL: "mock-reasoning",
        genai.GEN_AI_RESPONSE_MODEL: "mock-reasoning",
    }
    # The first token of a reasoning model is its first reasoning chunk.
    assert summary.time_to_first_token is not None
    assert ttft.sum == summary.time_to_first_token
    assert tpot.sum == pytest.approx((duration.sum - ttft.sum) / (12 - 1))
    span, _ = stream_span(otel)
    assert span.kind == SpanKind.INTERNAL
    assert span.name == "chat mock-reasoning"


# --- without a server: semconv, error types, fan_out ---------------------------------------


def reads(body: bytes, size: int = 97) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def test_latest_semconv_by_argument_and_by_environment(
    otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    recorder = otel_recorder(otel.meter_provider.get_meter("test"), spans=False)
    list(tap(reads(TEXT), on_complete=recorder, request_model="gpt-4o"))
    metrics = otel.metrics()
    usage = "gen_ai.client.inference.usage"
    assert set(metrics) == {
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        f"{usage}.input_tokens",
        f"{usage}.output_tokens",
        f"{usage}.cache_read.input_tokens",
        f"{usage}.reasoning.output_tokens",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
        "chunkfold.gateway.streams",
        "chunkfold.stream.max_gap",
    }
    [point] = otel.points(f"{usage}.input_tokens")
    assert (point.value, point.attributes[TOKEN_MODALITY]) == (14, "unknown")
    assert metrics[f"{usage}.output_tokens"].unit == "{token}"
    [histogram] = otel.points("gen_ai.client.inference.operation.output_tokens")
    assert (histogram.sum, list(histogram.explicit_bounds)) == (8, TOKEN_BOUNDS)
    assert TOKEN_MODALITY not in histogram.attributes
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN")
    with pytest.raises(ValueError, match="semconv"):
        otel_recorder(semconv="newest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="side"):
        otel_recorder(side="proxy")  # type: ignore[arg-type]


def test_without_an_sdk_the_recorder_is_a_no_op() -> None:
    recorder = otel_recorder()  # the global providers: the API's no-op ones here
    assert b"".join(tap(reads(TEXT), on_complete=recorder)) == TEXT


def test_error_types() -> None:
    summaries: list[StreamSummary] = []
    list(tap(reads(TEXT), on_complete=summaries.append))
    assert stream_error_type(summaries[0]) is None

    def reset() -> Iterator[bytes]:
        yield TEXT[:300]
        raise httpx.ReadError("reset")

    with pytest.raises(httpx.ReadError):
        list(tap(reset(), on_complete=summaries.append))
    assert stream_error_type(summaries[1]) == "httpx.ReadError"
    groq = (FIXTURES / "providers" / "groq_gpt_oss_reasoning_then_error_event.sse").read_bytes()
    list(tap(reads(groq), on_complete=summaries.append))
    assert summaries[2].status == "error"
    assert stream_error_type(summaries[2]) == summaries[2].error.type  # type: ignore[union-attr]


def test_caller_attributes_and_provider_name(otel: Telemetry) -> None:
    recorder = otel_recorder(
        otel.meter_provider.get_meter("test"),
        otel.tracer_provider.get_tracer("test"),
        provider_name="azure.ai.openai",
        attributes=lambda summary: {"tenant": "blue"},
    )
    list(tap(reads(TEXT), on_complete=recorder))
    [duration] = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.attributes[genai.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert duration.attributes["tenant"] == "blue"
    assert genai.GEN_AI_REQUEST_MODEL not in duration.attributes  # tap was not told it
    [span] = otel.finished()
    assert span.name == "chat gpt-4o-2024-08-06"  # no request model: the response's
    assert span.parent is None


def test_fan_out_calls_every_sink_and_survives_one_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    got: list[str] = []

    def boom(summary: StreamSummary) -> None:
        raise RuntimeError("sink down")

    async def later(summary: StreamSummary) -> None:
        await asyncio.sleep(0)
        got.append("async")

    list(tap(reads(TEXT), on_complete=fan_out(lambda s: got.append("a"), boom, lambda s: got.append("b"))))
    assert got == ["a", "b"]
    assert "sink down" in caplog.text

    async def run() -> None:
        async def source() -> AsyncIterator[bytes]:
            for piece in reads(TEXT):
                yield piece

        async for _ in tap(source(), on_complete=fan_out(later, lambda s: got.append("sync"))):
            pass

    asyncio.run(run())
    assert got == ["a", "b", "sync", "async"]
    with pytest.raises(TypeError, match="callables"):
        fan_out(42)  # type: ignore[arg-type]


def test_first_token_is_the_first_chunk_with_output() -> None:
    """A role-only chunk is not a token; a tool call's head (its name) is."""
    from chunkfold import ChatCompletionAccumulator

    frames = [frame for frame, _ in mock_upstream.frames("mock-tools", 4, False)]
    acc = ChatCompletionAccumulator()
    acc.feed(frames[0])  # {"role": "assistant", "content": ""}
    assert acc.first_byte_ns is not None
    assert acc.first_token_ns is None
    assert b'"name":"get_weather","arguments":""' in frames[1]
    acc.feed(frames[1])
    assert acc.first_token_ns is not None


def test_times_count_from_the_request_not_from_the_first_read(serve: Any) -> None:
    got: list[StreamSummary] = []
    sent = time.monotonic_ns() - 50_000_000  # the request went upstream 50 ms ago
    before = time.time_ns()
    list(tap(reads(TEXT), on_complete=got.append, start_ns=sent))
    after = time.time_ns()
    [summary] = got
    assert summary.duration >= 0.05
    assert summary.time_to_first_byte is not None
    assert summary.time_to_first_byte >= 0.05
    assert before - 50_000_000 - 5_000_000 <= summary.started_at <= after - 50_000_000

    async def slow_headers(request: Request) -> StreamingResponse:
        await asyncio.sleep(0.1)  # the upstream takes its time to answer
        return StreamingResponse(iter([TEXT]), media_type="text/event-stream")

    app = StreamMeterMiddleware(
        Starlette(routes=[Route("/v1/chat/completions", slow_headers, methods=["POST"])]),
        on_complete=lambda summary, scope: got.append(summary),
    )
    httpx.post(f"{serve(app)}/v1/chat/completions", json={"model": "gpt-4o"})
    for _ in range(100):
        if len(got) == 2:
            break
        time.sleep(0.02)
    served = got[1]
    assert served.time_to_first_token is not None
    assert served.time_to_first_token >= 0.1  # the server's TTFT includes the wait
