"""Gateway plumbing: meter streams while forwarding their bytes untouched.

:func:`tap` wraps an upstream byte iterator, :class:`StreamMeterMiddleware`
meters an ASGI app's streamed responses; both end every stream with a
:class:`StreamSummary`.
"""

from chunkfold.gateway.meter import (
    StreamMeter,
    StreamMeterMiddleware,
    StreamSummary,
    adrop_usage_chunk,
    drop_usage_chunk,
    ensure_include_usage,
    summary_line,
    tap,
)

__all__ = [
    "StreamMeter",
    "StreamMeterMiddleware",
    "StreamSummary",
    "adrop_usage_chunk",
    "drop_usage_chunk",
    "ensure_include_usage",
    "summary_line",
    "tap",
]
