"""Gateway telemetry: each stream's :class:`~chunkfold.gateway.StreamSummary`
into OpenTelemetry or Prometheus, named as the GenAI semantic conventions say.

* :func:`otel_recorder` records metrics and one span per stream with the
  OpenTelemetry **API** only: it does nothing until the application configures
  an SDK, and then the data goes wherever the application sends it.
* :func:`prometheus_recorder` records the same metrics with
  ``prometheus-client``, under the names OpenTelemetry's Prometheus exporter
  gives them, so that dashboards survive a switch between the two.
* :func:`fan_out` sends one summary to several callbacks.

Every recorder is an ``on_complete`` callback for :func:`~chunkfold.gateway.tap`
(``side="client"``: the gateway calling an upstream) or
:class:`~chunkfold.gateway.StreamMeterMiddleware` (``side="server"``: the
gateway serving its clients). It runs once per stream, at its end, from the
numbers the Rust core already holds: nothing is done per chunk.

Time to first token is the time to the first chunk carrying output (content,
reasoning, refusal, audio, or a tool call's name or arguments), never a chunk
that only names the role. Nothing optional is imported until a recorder is made.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from chunkfold.errors import StreamAPIError
from chunkfold.gateway.meter import StreamSummary

__all__ = ["fan_out", "otel_recorder", "prometheus_recorder", "stream_error_type"]

log = logging.getLogger("chunkfold.gateway")

Side = Literal["client", "server"]
Semconv = Literal["default", "latest"]
AttributeValue = str | bool | int | float
#: ``attributes(summary)``: the caller's own low-cardinality attributes.
AttributesHook = Callable[[StreamSummary], Mapping[str, AttributeValue]]
#: What a recorder is: called with the summary (and, from the middleware, the scope).
Recorder = Callable[..., None]

# Bucket advice of the GenAI semantic conventions (ExplicitBucketBoundaries).
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ... 67108864
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
TOKEN_TYPE = "gen_ai.token.type"
TOKEN_MODALITY = "gen_ai.token.modality"
STATUS = "chunkfold.stream.status"
USAGE_SOURCE = "chunkfold.stream.usage_source"
#: The environment variable, and the value in it, that turn ``semconv="latest"`` on.
OPT_IN_ENV, OPT_IN_LATEST = "OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental"

_PROVIDERS = {"chat": "openai", "responses": "openai", "anthropic": "anthropic"}
_ERROR_STATUSES = frozenset({"error", "truncated", "cancelled"})


class Instrument(NamedTuple):
    """One metric a recorder writes."""

    name: str
    kind: Literal["histogram", "counter"]
    unit: str
    description: str
    buckets: tuple[float, ...] | None
    labels: tuple[str, ...]
    """Attributes beyond the common ones (operation, provider, models, server)."""


def _histogram(
    name: str, unit: str, description: str, buckets: tuple[float, ...], *labels: str
) -> Instrument:
    return Instrument(name, "histogram", unit, description, buckets, labels)


def _counter(name: str, description: str, *labels: str) -> Instrument:
    return Instrument(name, "counter", "{token}", description, None, labels)


def instruments(side: Side, semconv: Semconv) -> dict[str, Instrument]:
    """The instruments of a recorder, by role: ``duration``, ``ttft``,
    ``tpot`` (server), ``tokens`` (default) or ``usage.*``/``operation.*``
    (latest), ``streams`` and ``max_gap``."""
    table: dict[str, Instrument] = {}
    if side == "client":
        table["duration"] = _histogram(
            "gen_ai.client.operation.duration", "s", "GenAI operation duration.", DURATION_BUCKETS, ERROR_TYPE
        )
        table["ttft"] = _histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            "s",
            "Time to receive the first chunk carrying output (not a role-only chunk).",
            DURATION_BUCKETS,
        )
    else:
        table["duration"] = _histogram(
            "gen_ai.server.request.duration",
            "s",
            "Generative AI server request duration such as time-to-last byte or last output token.",
            DURATION_BUCKETS,
            ERROR_TYPE,
        )
        table["ttft"] = _histogram(
            "gen_ai.server.time_to_first_token",
            "s",
            "Time to generate first token for successful responses.",
            TTFT_BUCKETS,
        )
        table["tpot"] = _histogram(
            "gen_ai.server.time_per_output_token",
            "s",
            "Time per output token generated after the first token for successful responses.",
            TPOT_BUCKETS,
        )
    if semconv == "latest":
        usage = "gen_ai.client.inference.usage"
        table["usage.input"] = _counter(
            f"{usage}.input_tokens", "Input tokens, cached included.", TOKEN_MODALITY
        )
        table["usage.output"] = _counter(
            f"{usage}.output_tokens", "Output tokens, reasoning included.", TOKEN_MODALITY
        )
        table["usage.cache_read"] = _counter(
            f"{usage}.cache_read.input_tokens", "Input tokens read from the provider's cache.", TOKEN_MODALITY
        )
        table["usage.cache_write"] = _counter(
            f"{usage}.cache_write.input_tokens",
            "Input tokens written to the provider's cache.",
            TOKEN_MODALITY,
        )
        table["usage.reasoning"] = _counter(
            f"{usage}.reasoning.output_tokens", "Output tokens spent on reasoning.", TOKEN_MODALITY
        )
        operation = "gen_ai.client.inference.operation"
        table["operation.input"] = _histogram(
            f"{operation}.input_tokens", "{token}", "Input tokens per inference operation.", TOKEN_BUCKETS
        )
        table["operation.output"] = _histogram(
            f"{operation}.output_tokens", "{token}", "Output tokens per inference operation.", TOKEN_BUCKETS
        )
    else:
        table["tokens"] = _histogram(
            "gen_ai.client.token.usage",
            "{token}",
            "Number of input and output tokens used.",
            TOKEN_BUCKETS,
            TOKEN_TYPE,
        )
    table["streams"] = Instrument(
        "chunkfold.gateway.streams",
        "counter",
        "{stream}",
        "Streams metered, by how they ended and whether the provider reported usage.",
        None,
        (STATUS, USAGE_SOURCE),
    )
    table["max_gap"] = _histogram(
        "chunkfold.stream.max_gap", "s", "The longest wait between two reads of a stream.", TTFT_BUCKETS
    )
    return table


def stream_error_type(summary: StreamSummary) -> str | None:
    """The ``error.type`` of a stream, or ``None`` if it did not fail.

    ``"cancelled"`` (the client went away), ``"truncated"`` (the stream was
    cut), the API error's ``type`` or else ``code``, the qualified class of
    any other exception (``"httpx.ReadError"``), else ``"_OTHER"``.
    """
    if summary.status in ("cancelled", "truncated"):
        return summary.status
    error = summary.error
    if summary.status != "error" and error is None:
        return None
    if isinstance(error, StreamAPIError):
        kind = error.type or error.code
        if kind is not None and str(kind):
            return str(kind)
    elif error is not None:
        cls = type(error)
        return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return "_OTHER"


def _semconv(semconv: str) -> Semconv:
    if semconv == "latest":
        return "latest"
    if semconv != "default":
        raise ValueError(f"semconv must be 'default' or 'latest', not {semconv!r}")
    opt_in = os.environ.get(OPT_IN_ENV, "")
    return "latest" if OPT_IN_LATEST in (part.strip() for part in opt_in.split(",")) else "default"


class Plan:
    """What a recorder records for one stream: the attributes and values
    of each instrument. Shared by the OpenTelemetry and Prometheus recorders."""

    def __init__(
        self,
        *,
        side: str,
        provider_name: str | None,
        server_address: str | None,
        server_port: int | None,
        semconv: str,
        attributes: AttributesHook | None,
    ) -> None:
        if side not in ("client", "server"):
            raise ValueError(f"side must be 'client' or 'server', not {side!r}")
        self.side: Side = "client" if side == "client" else "server"
        self.semconv = _semconv(semconv)
        self.provider_name = provider_name
        self.server: dict[str, AttributeValue] = {}
        if server_address is not None:
            self.server[SERVER_ADDRESS] = server_address
            if server_port is not None:
                self.server[SERVER_PORT] = server_port
        self.attributes = attributes
        self.instruments = instruments(self.side, self.semconv)

    def common(self, summary: StreamSummary) -> dict[str, AttributeValue]:
        """The attributes every metric of this stream carries."""
        provider = self.provider_name or _PROVIDERS.get(summary.protocol or "", "unknown")
        common: dict[str, AttributeValue] = {OPERATION: "chat", PROVIDER: provider}
        if summary.request_model:
            common[REQUEST_MODEL] = summary.request_model
        if summary.model:
            common[RESPONSE_MODEL] = summary.model
        common.update(self.server)
        if self.attributes is not None:
            common.update(self.attributes(summary))
        return common

    def measurements(
        self, summary: StreamSummary, common: dict[str, AttributeValue], error: str | None
    ) -> list[tuple[str, float, Mapping[str, AttributeValue]]]:
        """``(role, value, attributes)`` of every value to record for the stream."""
        out: list[tuple[str, float, Mapping[str, AttributeValue]]] = []
        out.append(("duration", summary.duration, common if error is None else {**common, ERROR_TYPE: error}))
        ttft = summary.time_to_first_token
        server = self.side == "server"
        # The server metrics are defined "for successful responses" only.
        if ttft is not None and (not server or error is None):
            out.append(("ttft", ttft, common))
        usage = summary.token_usage
        output = usage.output if usage is not None else None
        if server and error is None and ttft is not None and output is not None and output > 1:
            out.append(("tpot", max(summary.duration - ttft, 0.0) / (output - 1), common))
        if usage is not None:
            if self.semconv == "latest":
                # Usage is not broken down by modality: the conventions say "unknown".
                counted = {**common, TOKEN_MODALITY: "unknown"}
                for role, value in (
                    ("usage.input", usage.input),
                    ("usage.output", usage.output),
                    ("usage.cache_read", usage.cached_input),
                    ("usage.cache_write", usage.cache_creation_input),
                    ("usage.reasoning", usage.reasoning),
                ):
                    if value is not None:
                        out.append((role, value, counted))
                if usage.input is not None:
                    out.append(("operation.input", usage.input, common))
                if usage.output is not None:
                    out.append(("operation.output", usage.output, common))
            else:
                if usage.input is not None:
                    out.append(("tokens", usage.input, {**common, TOKEN_TYPE: "input"}))
                if usage.output is not None:
                    out.append(("tokens", usage.output, {**common, TOKEN_TYPE: "output"}))
        out.append(("streams", 1, {**common, STATUS: summary.status, USAGE_SOURCE: summary.usage_source}))
        out.append(("max_gap", summary.max_gap, common))
        return out


def otel_recorder(
    meter: Any = None,
    tracer: Any = None,
    *,
    side: Side = "client",
    provider_name: str | None = None,
    server_address: str | None = None,
    server_port: int | None = None,
    spans: bool = True,
    semconv: Semconv = "default",
    attributes: AttributesHook | None = None,
) -> Recorder:
    """An ``on_complete`` callback that records each stream with OpenTelemetry.

    Uses only ``opentelemetry-api`` (``pip install chunkfold[otel]``): until
    the application configures an SDK it records nothing, and chunkfold never
    configures providers or exporters itself.

    Args:
        meter, tracer: default: the global providers' ``"chunkfold.gateway"``.
        side: ``"client"`` (:func:`~chunkfold.gateway.tap`: the gateway calling
            an upstream) records ``gen_ai.client.operation.duration``,
            ``gen_ai.client.operation.time_to_first_chunk`` and token usage;
            ``"server"`` (the middleware) records
            ``gen_ai.server.request.duration``, ``gen_ai.server.time_to_first_token``,
            ``gen_ai.server.time_per_output_token`` and token usage. Both add
            ``chunkfold.gateway.streams`` (by status and usage source) and
            ``chunkfold.stream.max_gap``.
        provider_name: ``gen_ai.provider.name``; default ``openai`` for Chat
            Completions and Responses, ``anthropic`` for Anthropic Messages.
        server_address, server_port: the upstream, as ``server.*`` attributes.
        spans: also one span per stream, created at its end with its true
            start time, as a child of the current span.
        semconv: ``"latest"`` (or ``gen_ai_latest_experimental`` in
            ``OTEL_SEMCONV_STABILITY_OPT_IN``) records tokens with the newer
            ``gen_ai.client.inference.*`` counters and histograms instead of
            ``gen_ai.client.token.usage``.
        attributes: ``attributes(summary)`` adds the caller's own
            low-cardinality attributes to every metric and span. Never put
            ids, keys or content on metrics.

    Token usage is recorded only when the provider reported it. Failed streams
    carry ``error.type`` (:func:`stream_error_type`) on the duration and the span,
    whose status is then ERROR.
    """
    plan = Plan(
        side=side,
        provider_name=provider_name,
        server_address=server_address,
        server_port=server_port,
        semconv=semconv,
        attributes=attributes,
    )
    from opentelemetry import metrics, trace

    from chunkfold import __version__

    if meter is None:
        meter = metrics.get_meter("chunkfold.gateway", __version__)
    sinks: dict[str, Callable[[float, Mapping[str, AttributeValue]], None]] = {}
    for role, spec in plan.instruments.items():
        if spec.kind == "counter":
            sinks[role] = meter.create_counter(spec.name, unit=spec.unit, description=spec.description).add
        else:
            sinks[role] = meter.create_histogram(
                spec.name,
                unit=spec.unit,
                description=spec.description,
                explicit_bucket_boundaries_advisory=list(spec.buckets or ()),
            ).record
    span: Callable[[StreamSummary, dict[str, AttributeValue], str | None], None] | None = None
    if spans:
        span = _span_writer(tracer or trace.get_tracer("chunkfold.gateway", __version__), plan.side)

    def record(summary: StreamSummary, scope: Any = None, /) -> None:
        common = plan.common(summary)
        error = stream_error_type(summary)
        for role, value, attrs in plan.measurements(summary, common, error):
            sinks[role](value, attrs)
        if span is not None:
            span(summary, common, error)

    return record


def _span_writer(
    tracer: Any, side: Side
) -> Callable[[StreamSummary, dict[str, AttributeValue], str | None], None]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    kind = SpanKind.CLIENT if side == "client" else SpanKind.INTERNAL

    def write(summary: StreamSummary, common: dict[str, AttributeValue], error: str | None) -> None:
        attrs: dict[str, Any] = dict(common)
        if summary.response_id:
            attrs["gen_ai.response.id"] = summary.response_id
        if summary.finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = list(summary.finish_reasons)
        usage = summary.token_usage
        if usage is not None:
            for key, value in (
                ("gen_ai.usage.input_tokens", usage.input),
                ("gen_ai.usage.output_tokens", usage.output),
                ("gen_ai.usage.cache_read.input_tokens", usage.cached_input),
                ("gen_ai.usage.cache_creation.input_tokens", usage.cache_creation_input),
                ("gen_ai.usage.reasoning.output_tokens", usage.reasoning),
            ):
                if value is not None:
                    attrs[key] = value
        if error is not None:
            attrs[ERROR_TYPE] = error
        duration_ns = round(summary.duration * 1e9)
        start = summary.started_at or time.time_ns() - duration_ns
        model = summary.request_model or summary.model
        span = tracer.start_span(
            f"chat {model}" if model else "chat", kind=kind, attributes=attrs, start_time=start
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=start + duration_ns)

    return write


def prometheus_name(spec: Instrument) -> tuple[str, str]:
    """``(name, unit)`` as OpenTelemetry's Prometheus exporter writes
    ``spec``: dots become ``_``, ``s`` becomes ``seconds``, ``{...}`` units
    are dropped (the client library appends the unit and ``_total``)."""
    name = "".join(c if c.isascii() and (c.isalnum() or c == ":") else "_" for c in spec.name)
    unit = {"s": "seconds"}.get(spec.unit, "" if spec.unit.startswith("{") else spec.unit)
    return name, unit


def _label(key: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in key)


def _label_value(value: AttributeValue | None) -> str:
    # As the OpenTelemetry exporter writes attribute values.
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def prometheus_recorder(
    registry: Any = None,
    *,
    side: Side = "client",
    provider_name: str | None = None,
    server_address: str | None = None,
    server_port: int | None = None,
    semconv: Semconv = "default",
    attributes: AttributesHook | None = None,
    attribute_names: Sequence[str] = (),
) -> Recorder:
    """An ``on_complete`` callback that records each stream with ``prometheus-client``
    (``pip install chunkfold[prometheus]``), in ``registry`` (default: the
    global one).

    The metrics, labels and buckets are those of :func:`otel_recorder`, named
    as OpenTelemetry's Prometheus exporter names them
    (``gen_ai_client_operation_duration_seconds``, ``gen_ai_client_token_usage``,
    ``chunkfold_gateway_streams_total``...), so that a dashboard works with
    either. Prometheus fixes a metric's labels up front: ``attribute_names``
    lists the keys ``attributes(summary)`` may return; an attribute a stream
    lacks is an empty label. Make one recorder per registry and side: a
    second would register the same metric names again.
    """
    plan = Plan(
        side=side,
        provider_name=provider_name,
        server_address=server_address,
        server_port=server_port,
        semconv=semconv,
        attributes=attributes,
    )
    from prometheus_client import REGISTRY, Counter, Histogram

    if registry is None:
        registry = REGISTRY
    common = (OPERATION, PROVIDER, REQUEST_MODEL, RESPONSE_MODEL, *plan.server, *attribute_names)
    sinks: dict[str, tuple[Any, tuple[str, ...], bool]] = {}
    for role, spec in plan.instruments.items():
        keys = (*common, *spec.labels)
        name, unit = prometheus_name(spec)
        labels = [_label(key) for key in keys]
        if spec.kind == "counter":
            metric: Any = Counter(name, spec.description, labels, unit=unit, registry=registry)
        else:
            buckets = (*(spec.buckets or ()), float("inf"))
            metric = Histogram(name, spec.description, labels, unit=unit, registry=registry, buckets=buckets)
        sinks[role] = (metric, keys, spec.kind == "counter")
    known = frozenset(common)

    def record(summary: StreamSummary, scope: Any = None, /) -> None:
        values = plan.common(summary)
        extra = values.keys() - known
        if extra:
            raise ValueError(f"attributes {sorted(extra)} are not in attribute_names")
        error = stream_error_type(summary)
        for role, value, attrs in plan.measurements(summary, values, error):
            metric, keys, counter = sinks[role]
            child = metric.labels(*[_label_value(attrs.get(key)) for key in keys])
            if counter:
                child.inc(value)
            else:
                child.observe(value)

    return record


def fan_out(*callbacks: Callable[..., Awaitable[None] | None]) -> Callable[..., Awaitable[None] | None]:
    """One ``on_complete`` callback that hands the summary (and whatever else
    it is called with) to each of ``callbacks`` in turn.

    A callback that raises is logged and the others still run. If any
    returns an awaitable, the result is an awaitable that awaits them all
    (:func:`~chunkfold.gateway.tap`'s async form and the middleware await it).
    """
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"fan_out takes callables, not {type(callback).__name__}")

    def call(*args: Any) -> Awaitable[None] | None:
        pending: list[Awaitable[Any]] = []
        for callback in callbacks:
            try:
                result = callback(*args)
            except Exception:
                log.exception("chunkfold.gateway callback %r raised", callback)
                continue
            if inspect.isawaitable(result):
                pending.append(result)
        return _await_all(pending) if pending else None

    return call


async def _await_all(pending: list[Awaitable[Any]]) -> None:
    for awaitable in pending:
        try:
            await awaitable
        except Exception:
            log.exception("chunkfold.gateway callback raised")
