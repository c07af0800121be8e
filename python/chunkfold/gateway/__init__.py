"""Gateway plumbing: meter streams while forwarding their bytes untouched.

:func:`tap` wraps an upstream byte iterator, :class:`StreamMeterMiddleware`
meters an ASGI app's streamed responses; both end every stream with a
:class:`StreamSummary`, whichever protocol it spoke
(:func:`detect_protocol`).
"""

from chunkfold.gateway.meter import SNIFF_LIMIT, StreamMeter, StreamSummary, summary_line, tap
from chunkfold.gateway.middleware import StreamMeterMiddleware
from chunkfold.gateway.protocols import PROTOCOLS, Protocol, detect_protocol
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
    "summary_line",
    "tap",
]
