"""Anthropic Messages streams (``POST /v1/messages`` with ``stream: true``).

* :mod:`chunkfold.anthropic.models`: msgspec Structs mirroring ``anthropic.types``.
* :class:`MessageEventDecoder`: stream bytes to typed events.
* :class:`MessageAccumulator`: the Rust fold into the final ``Message``.
"""

from chunkfold.anthropic.accumulate import MessageAccumulator, encode_event, token_usage
from chunkfold.anthropic.decoder import MessageEventDecoder, aiter_message_events, iter_message_events
from chunkfold.anthropic.models import Message, RawMessageStreamEvent, Usage, decode_event, decode_message

__all__ = [
    "Message",
    "MessageAccumulator",
    "MessageEventDecoder",
    "RawMessageStreamEvent",
    "Usage",
    "aiter_message_events",
    "decode_event",
    "decode_message",
    "encode_event",
    "iter_message_events",
    "token_usage",
]
