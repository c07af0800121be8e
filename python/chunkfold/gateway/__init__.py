"""Gateway plumbing: meter streams while forwarding their bytes untouched.

:func:`tap` wraps an upstream byte iterator, :class:`StreamMeterMiddleware`
meters an ASGI app's streamed responses; both end every stream with a
:class:`StreamSummary`, whichever protocol it spoke
(:func:`detect_protocol`). :func:`otel_recorder` and
:func:`prometheus_recorder` send every summary to OpenTelemetry or
Prometheus (:mod:`chunkfold.gateway.telemetry`).
"""

from chunkfold.gateway.meter import SNIFF_LIMIT, StreamMeter, StreamSummary, summary_line, tap
from chunkfold.gateway.middleware import StreamMeterMiddleware
from chunkfold.gateway.protocols import PROTOCOLS, Protocol, detect_protocol, sniff_protocol
from chunkfold.gateway.telemetry import fan_out, otel_recorder, prometheus_recorder
from chunkfold.gateway.usage_chunk import adrop_usage_chunk, drop_usage_chunk, ensure_include_usage

__all__ = [
    "PROTOCOLS",
    "SNIFF_LIMIT",
    "Protocol",
    "StreamMeter",
    "StreamMeterMiddleware",
    "StreamSummary",
    "adrop_usage_chunk",
    "detect_protocol",
    "drop_usage_chunk",
    "ensure_include_usage",
    "fan_out",
    "otel_recorder",
    "prometheus_recorder",
    "sniff_protocol",
    "summary_line",
    "tap",
]
