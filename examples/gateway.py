"""A metering LLM proxy built on chunkfold.gateway.

    python examples/gateway.py --port 8000 --upstream http://127.0.0.1:8001

It forwards ``POST /v1/chat/completions``, ``POST /v1/responses`` (OpenAI)
and ``POST /v1/messages`` (Anthropic) to the upstream with
``httpx.AsyncClient``, passes the stream's bytes to the client untouched
(``chunkfold.gateway.tap``, which tells the protocol from the path), meters
usage per API key, and logs one JSON line per stream. On the chat route
usage is always requested upstream; when the client did not ask for it, the
usage chunk is taken out again (the other two protocols always send usage).
``GET /v1/usage`` shows the totals per key.

Telemetry (``pip install chunkfold[otel]`` / ``chunkfold[prometheus]``):
``--otlp http://127.0.0.1:4318`` sends each stream's GenAI metrics and span
over OTLP/HTTP (with ``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``); ``--metrics-port 9464`` serves
the same metrics for Prometheus on ``/metrics``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from chunkfold.gateway import (
    StreamSummary,
    adrop_usage_chunk,
    ensure_include_usage,
    fan_out,
    otel_recorder,
    prometheus_recorder,
    summary_line,
    tap,
)
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

log = logging.getLogger("chunkfold.example.gateway")
FORWARDED = (
    "authorization",
    "content-type",
    "openai-organization",
    "openai-project",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "x-mock-rate",
)


def _key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    token = auth.removeprefix("Bearer ").strip() or request.headers.get("x-api-key", "").strip()
    return token[-6:] if token else "anonymous"


async def forward(request: Request) -> Response:
    app = request.app
    path = request.url.path
    body: dict[str, Any] = await request.json()
    is_chat = path.endswith("/chat/completions")
    upstream_body, client_asked_usage = ensure_include_usage(body) if is_chat else (body, True)
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
    headers["accept-encoding"] = "identity"  # forward the bytes exactly as produced
    upstream_request = app.state.client.build_request(
        "POST", path, params=request.query_params, json=upstream_body, headers=headers
    )
    start_ns = time.monotonic_ns()  # the stream's times include the wait for headers
    upstream = await app.state.client.send(upstream_request, stream=True)
    if not body.get("stream") or not upstream.headers.get("content-type", "").startswith("text/event-stream"):
        content = await upstream.aread()
        await upstream.aclose()
        return Response(
            content, status_code=upstream.status_code, media_type=upstream.headers.get("content-type")
        )
    key = _key(request)

    def record(summary: StreamSummary) -> None:
        totals = app.state.usage[key]
        totals["streams"] += 1
        usage = summary.token_usage
        if usage is not None:
            totals["input_tokens"] += usage.input or 0
            totals["output_tokens"] += usage.output or 0
        totals[summary.status] += 1
        app.state.summaries.append(summary)
        log.info(summary_line(summary, key=key))

    on_complete = record if app.state.recorder is None else fan_out(record, app.state.recorder)
    raw: AsyncIterator[bytes] = upstream.aiter_raw()
    model = body.get("model")
    forwarded = tap(
        raw,
        on_complete=on_complete,
        path=path,
        request_model=model if isinstance(model, str) else None,
        start_ns=start_ns,
    )
    if not client_asked_usage:
        forwarded = adrop_usage_chunk(forwarded)
    return StreamingResponse(
        forwarded,
        status_code=upstream.status_code,
        media_type="text/event-stream",
        background=BackgroundTask(upstream.aclose),
    )


async def usage(request: Request) -> JSONResponse:
    return JSONResponse({key: dict(totals) for key, totals in request.app.state.usage.items()})


def create_app(upstream: str, *, recorder: Callable[[StreamSummary], Any] | None = None) -> Starlette:
    """The proxy as an ASGI app forwarding to ``upstream``; ``recorder`` also
    receives every stream's summary (an ``otel_recorder``, a
    ``prometheus_recorder``, or several through ``fan_out``)."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", forward, methods=["POST"]),
            Route("/v1/responses", forward, methods=["POST"]),
            Route("/v1/messages", forward, methods=["POST"]),
            Route("/v1/usage", usage, methods=["GET"]),
        ]
    )
    app.state.client = httpx.AsyncClient(
        base_url=upstream,
        timeout=httpx.Timeout(60.0, connect=5.0, pool=None),
        # One upstream connection per concurrent stream: httpx's default
        # pool of 100 would queue streams (and time out) under load. Idle
        # connections are dropped after 2 s, before uvicorn's 5 s keep-alive
        # timeout closes them from its side: reusing one it is closing fails
        # the request with a ReadError.
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=256, keepalive_expiry=2.0),
    )
    app.state.recorder = recorder
    app.state.usage = defaultdict(lambda: defaultdict(int))
    # The latest summaries, for inspection and tests; bounded, so that a
    # long-running proxy does not keep every stream it ever served.
    app.state.summaries = deque(maxlen=1000)
    return app


def telemetry(upstream: str, otlp: str | None, metrics_port: int | None, host: str) -> list[Any]:
    """The recorders ``--otlp`` and ``--metrics-port`` ask for, with the
    OpenTelemetry SDK and the Prometheus endpoint set up for them."""
    recorders: list[Any] = []
    address = httpx.URL(upstream)
    port = address.port or (443 if address.scheme == "https" else 80)
    server = {"server_address": address.host, "server_port": port}
    if otlp:
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        base = otlp.rstrip("/")
        resource = Resource.create({"service.name": "chunkfold-gateway"})
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics"))
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        trace.set_tracer_provider(tracer_provider)
        recorders.append(otel_recorder(**server))
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=host)
        recorders.append(prometheus_recorder(**server))
    return recorders


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--upstream", default="http://127.0.0.1:8001")
    parser.add_argument("--otlp", metavar="URL", help="OTLP/HTTP collector, e.g. http://127.0.0.1:4318")
    parser.add_argument(
        "--metrics-port", metavar="N", type=int, help="serve Prometheus /metrics on this port"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    recorders = telemetry(args.upstream, args.otlp, args.metrics_port, args.host)
    recorder = fan_out(*recorders) if recorders else None
    app = create_app(args.upstream, recorder=recorder)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
