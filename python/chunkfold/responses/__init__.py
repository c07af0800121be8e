"""OpenAI Responses API streams (``POST /v1/responses`` with ``stream: true``).

* :mod:`chunkfold.responses.models`: msgspec Structs named as in openai-python's
  ``openai.types.responses``.
* :class:`ResponseEventDecoder`: stream bytes to typed events.
* :class:`ResponseAccumulator`: the Rust fold into the final :class:`Response`.
"""

from chunkfold.responses.accumulate import ResponseAccumulator
from chunkfold.responses.decoder import ResponseEventDecoder, iter_events
from chunkfold.responses.models import Response, ResponseStreamEvent, ResponseUsage

__all__ = [
    "Response",
    "ResponseAccumulator",
    "ResponseEventDecoder",
    "ResponseStreamEvent",
    "ResponseUsage",
    "iter_events",
]
