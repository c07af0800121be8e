"""Telemetry: what recording one stream's summary costs, with the OpenTelemetry
SDK and with prometheus-client, and what it adds to ``tap`` over a whole stream.

Timing is off by default (a smoke test); ``--benchmark-enable`` times it::

    pytest benches/test_bench_telemetry.py --benchmark-enable --benchmark-columns=median,ops

Each bench checks afterwards that every call was recorded: the streams counter
equals the number of calls the benchmark made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chunkfold.gateway import StreamSummary, otel_recorder, prometheus_recorder, tap
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

FIXTURE = Path(__file__).parent.parent / "tests" / "data" / "fixtures" / "providers"
TEXT = (FIXTURE / "openai_gpt4o_text_usage_chunk.sse").read_bytes()
READS = [TEXT[i : i + 97] for i in range(0, len(TEXT), 97)]


class Drop(SpanExporter):
    """Spans are built and batched, then dropped: the export is not what is timed."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@pytest.fixture(scope="module")
def summary() -> StreamSummary:
    got: list[StreamSummary] = []
    list(tap(READS, on_complete=got.append, request_model="gpt-4o"))
    return got[0]


class Sink:
    """A recorder and how to read back how many streams it counted."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.providers: list[Any] = []
        if kind == "prometheus":
            self.registry = CollectorRegistry()
            self.record = prometheus_recorder(self.registry)
            return
        self.reader = InMemoryMetricReader()
        meters = MeterProvider(metric_readers=[self.reader])
        tracers = TracerProvider()
        tracers.add_span_processor(BatchSpanProcessor(Drop()))
        self.providers = [meters, tracers]
        self.record = otel_recorder(
            meters.get_meter("bench"), tracers.get_tracer("bench"), spans=kind == "otel"
        )

    def streams(self) -> float:
        if self.kind == "prometheus":
            total = 0.0
            for metric in self.registry.collect():
                for sample in metric.samples:
                    if sample.name == "chunkfold_gateway_streams_total":
                        total += sample.value
            return total
        data = self.reader.get_metrics_data()
        assert data is not None
        return sum(
            point.value
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == "chunkfold.gateway.streams"
            for point in metric.data.data_points
        )

    def close(self) -> None:
        for provider in self.providers:
            provider.shutdown()


@pytest.fixture(params=["otel", "otel-metrics", "prometheus"])
def sink(request: pytest.FixtureRequest) -> Iterator[Sink]:
    made = Sink(request.param)
    yield made
    made.close()


def counted(function: Callable[[], Any]) -> tuple[Callable[[], Any], list[int]]:
    calls = [0]

    def run() -> Any:
        calls[0] += 1
        return function()

    return run, calls


def test_bench_record_one_summary(benchmark: Any, sink: Sink, summary: StreamSummary) -> None:
    benchmark.group = "telemetry: record one stream's summary"
    benchmark.name = sink.kind
    run, calls = counted(lambda: sink.record(summary))
    benchmark(run)
    assert sink.streams() == calls[0]


@pytest.mark.parametrize("kind", ["none", "otel", "prometheus"])
def test_bench_tap_a_stream(benchmark: Any, kind: str) -> None:
    benchmark.group = "telemetry: tap a stream of 11 chunks, recorder on and off"
    benchmark.name = kind
    made = None if kind == "none" else Sink(kind)
    on_complete = None if made is None else made.record

    def stream() -> bytes:
        return b"".join(tap(READS, on_complete=on_complete, request_model="gpt-4o"))

    run, calls = counted(stream)
    assert benchmark(run) == TEXT
    if made is not None:
        assert made.streams() == calls[0]
        made.close()
