"""Telemetry on the wire: Prometheus scraped over HTTP, the same families as
OpenTelemetry's Prometheus exporter, and OTLP/HTTP decoded by a receiver on
127.0.0.1 from the example gateway run with ``--otlp`` and ``--metrics-port``."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from chunkfold.gateway import StreamSummary, otel_recorder, prometheus_recorder, tap
from conftest import FIXTURES
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import mock_upstream  # noqa: E402

PROVIDERS = FIXTURES / "providers"
TEXT = (PROVIDERS / "openai_gpt4o_text_usage_chunk.sse").read_bytes()


def reads(body: bytes, size: int = 97) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def summaries() -> list[StreamSummary]:
    """Streams that end every way: done, tool calls, an API error, cut, cancelled."""
    out: list[StreamSummary] = []
    for name in (
        "openai_gpt4o_text_usage_chunk",
        "openai_gpt4o_parallel_tool_calls",
        "groq_gpt_oss_reasoning_then_error_event",
        "deepseek_reasoner_reasoning_content",
    ):
        body = (PROVIDERS / f"{name}.sse").read_bytes()
        list(tap(reads(body), on_complete=out.append, request_model="model-x"))
    list(
        tap([TEXT[: TEXT.index(b'"finish_reason":"stop"')]], on_complete=out.append, request_model="model-x")
    )
    stream = tap(reads(TEXT, 40), on_complete=out.append, request_model="model-x")
    for _ in range(20):
        next(stream)
    stream.close()
    assert [s.status for s in out] == ["done", "done", "error", "done", "truncated", "cancelled"]
    return out


def scrape(registry: CollectorRegistry) -> dict[str, Any]:
    """The registry served on 127.0.0.1, scraped over HTTP and parsed."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        text = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics").text
    finally:
        server.shutdown()
        thread.join(timeout=5)
    # prometheus-client adds a ``*_created`` gauge per series, and lists a
    # metric no stream has recorded yet with no samples; the exporter does neither.
    families = text_string_to_metric_families(text)
    return {f.name: f for f in families if f.samples and not f.name.endswith("_created")}


def normalised(family: Any) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """A family's type and samples, without ``_created`` (prometheus-client's
    own) and with ``le`` read as a number (Go's float format or Python's)."""
    samples = {}
    for sample in family.samples:
        if sample.name.endswith("_created"):
            continue
        labels = dict(sample.labels)
        if "le" in labels:
            labels["le"] = repr(float(labels["le"]))
        samples[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return family.type, samples


@pytest.mark.parametrize(
    ("side", "semconv"), [("client", "default"), ("server", "default"), ("client", "latest")]
)
def test_prometheus_recorder_gives_what_the_otel_exporter_gives(side: Any, semconv: Any) -> None:
    streams = summaries()
    ours = CollectorRegistry()
    options: dict[str, Any] = {
        "side": side,
        "semconv": semconv,
        "server_address": "api.example.com",
        "server_port": 443,
    }
    record = prometheus_recorder(ours, **options)
    theirs = CollectorRegistry()
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=theirs)
    provider = MeterProvider(metric_readers=[reader])
    otel = otel_recorder(provider.get_meter("chunkfold.gateway"), spans=False, **options)
    for summary in streams:
        record(summary)
        otel(summary)
    ours_families, their_families = scrape(ours), scrape(theirs)
    provider.shutdown()
    assert set(ours_families) == set(their_families)
    for name, family in ours_families.items():
        ours_type, ours_samples = normalised(family)
        their_type, their_samples = normalised(their_families[name])
        assert ours_type == their_type, name
        assert ours_samples.keys() == their_samples.keys(), name
        for key, value in ours_samples.items():
            assert value == pytest.approx(their_samples[key]), (name, key)
    duration = "gen_ai_client_operation_duration" if side == "client" else "gen_ai_server_request_duration"
    expected = {
        duration + "_seconds",
        "chunkfold_gateway_streams",
        "chunkfold_stream_max_gap_seconds",
    }
    assert expected <= set(ours_families)
    if semconv == "default":
        assert "gen_ai_client_token_usage" in ours_families
    else:
        assert "gen_ai_client_inference_usage_input_tokens" in ours_families
        assert ours_families["gen_ai_client_inference_usage_input_tokens"].type == "counter"
    errors = {
        s.labels["error_type"]
        for s in ours_families[duration + "_seconds"].samples
        if s.name.endswith("_count") and s.labels["error_type"]
    }
    assert errors == {"truncated", "cancelled", streams[2].error.type}  # type: ignore[union-attr]


def test_prometheus_recorder_labels_are_declared_up_front() -> None:
    registry = CollectorRegistry()
    record = prometheus_recorder(
        registry, attributes=lambda s: {"tenant": "blue"}, attribute_names=["tenant"]
    )
    list(tap(reads(TEXT), on_complete=record))
    families = scrape(registry)
    [count] = [s for s in families["chunkfold_gateway_streams"].samples if s.name.endswith("_total")]
    assert count.labels["tenant"] == "blue"
    assert count.labels["gen_ai_request_model"] == ""
    undeclared = prometheus_recorder(CollectorRegistry(), attributes=lambda s: {"tenant": "blue"})
    [summary] = [s for s in summaries()[:1]]
    with pytest.raises(ValueError, match="attribute_names"):
        undeclared(summary)


# --- the example gateway as a process: --metrics-port and --otlp ----------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """A small OTLP/HTTP receiver: keeps every request's protobuf body."""

    def __init__(self) -> None:
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.traces: list[ExportTraceServiceRequest] = []

    def app(self) -> Starlette:
        async def metrics(request: Request) -> Response:
            self.metrics.append(ExportMetricsServiceRequest.FromString(await request.body()))
            return Response(b"", media_type="application/x-protobuf")

        async def traces(request: Request) -> Response:
            self.traces.append(ExportTraceServiceRequest.FromString(await request.body()))
            return Response(b"", media_type="application/x-protobuf")

        return Starlette(
            routes=[
                Route("/v1/metrics", metrics, methods=["POST"]),
                Route("/v1/traces", traces, methods=["POST"]),
            ]
        )

    def latest_metrics(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for request in self.metrics:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        found[metric.name] = metric
        return found

    def spans(self) -> list[Any]:
        return [s for r in self.traces for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


@pytest.fixture
def gateway_process(serve: Any) -> Iterator[tuple[str, int, Receiver]]:
    receiver = Receiver()
    collector = serve(receiver.app())
    upstream = serve(mock_upstream.create_app(rate=0))
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "OTEL_METRIC_EXPORT_INTERVAL": "200", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    command = [sys.executable, str(ROOT / "examples" / "gateway.py"), "--port", str(port)]
    command += ["--upstream", upstream, "--otlp", collector, "--metrics-port", str(metrics_port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/usage").raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", metrics_port, receiver
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_example_gateway_serves_metrics_and_exports_otlp(gateway_process: tuple[str, int, Receiver]) -> None:
    base, metrics_port, receiver = gateway_process
    client = openai.OpenAI(api_key="sk-otlp-0001", base_url=f"{base}/v1")
    list(client.chat.completions.create(model="mock-chat", messages=[], stream=True, max_tokens=6))
    upstream_port = None
    for _ in range(100):  # the summary is recorded once the response is sent
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        if "gen_ai_client_token_usage" in families:
            break
        time.sleep(0.05)
    tokens = {
        s.labels["gen_ai_token_type"]: s.value
        for s in families["gen_ai_client_token_usage"].samples
        if s.name == "gen_ai_client_token_usage_sum"
    }
    assert tokens == {"input": 12, "output": 6}
    buckets = [
        float(s.labels["le"])
        for s in families["gen_ai_client_operation_duration_seconds"].samples
        if s.name.endswith("_bucket")
    ]
    assert buckets == [
        0.01,
        0.02,
        0.04,
        0.08,
        0.16,
        0.32,
        0.64,
        1.28,
        2.56,
        5.12,
        10.24,
        20.48,
        40.96,
        81.92,
        math.inf,
    ]
    [sample] = [s for s in families["chunkfold_gateway_streams"].samples if s.name.endswith("_total")]
    assert sample.labels["chunkfold_stream_status"] == "done"
    upstream_port = sample.labels["server_port"]
    assert sample.labels["server_address"] == "127.0.0.1"

    for _ in range(100):
        metrics = receiver.latest_metrics()
        if gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE in metrics and receiver.spans():
            break
        time.sleep(0.05)
    usage = metrics[gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE]
    assert usage.unit == "{token}"
    sums = {
        {a.key: a.value.string_value for a in p.attributes}["gen_ai.token.type"]: p.sum
        for p in usage.histogram.data_points
    }
    assert sums == {"input": 12, "output": 6}
    [point, *_] = usage.histogram.data_points
    assert list(point.explicit_bounds)[:3] == [1, 4, 16]
    duration = metrics[gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION]
    assert duration.unit == "s"
    attrs = {a.key: a.value for a in duration.histogram.data_points[0].attributes}
    assert attrs["gen_ai.request.model"].string_value == "mock-chat"
    assert str(attrs["server.port"].int_value) == upstream_port
    [span] = receiver.spans()
    assert span.name == "chat mock-chat"
    span_attrs = {a.key: a.value for a in span.attributes}
    assert span_attrs["gen_ai.usage.output_tokens"].int_value == 6
    assert span.end_time_unix_nano - span.start_time_unix_nano == pytest.approx(
        duration.histogram.data_points[0].sum * 1e9, abs=1000
    )
