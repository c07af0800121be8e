"""chunkfold: fast, spec-exact parsing of OpenAI-style chat completion streams.

* :class:`SSEDecoder` frames Server-Sent Events exactly as WHATWG specifies.
* :class:`ChunkDecoder` turns stream bytes into typed
  :class:`~chunkfold.chat.models.ChatCompletionChunk` Structs.
* :class:`ChatCompletionAccumulator` folds a stream into the final
  :class:`~chunkfold.chat.models.ChatCompletion`, in Rust.
* :class:`ResponseEventDecoder` and :class:`ResponseAccumulator` do the same
  for OpenAI Responses API streams (:mod:`chunkfold.responses`).
* :class:`MessageAccumulator` and :class:`MessageEventDecoder` do the same for
  Anthropic Messages streams (:mod:`chunkfold.anthropic`).
"""

from chunkfold._core import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder, __version__
from chunkfold.anthropic import MessageAccumulator, MessageEventDecoder
from chunkfold.chat import (
    DONE_FRAME,
    ChatCompletion,
    ChatCompletionAccumulator,
    ChatCompletionChunk,
    ChunkDecoder,
    aiter_chunks,
    encode_sse,
    iter_chunks,
)
from chunkfold.compat.openai import from_openai, to_openai
from chunkfold.errors import (
    ChunkDecodeError,
    ChunkfoldError,
    ConcurrentUseError,
    DecoderFinishedError,
    EventTooLargeError,
    StreamAPIError,
    UnknownProtocolError,
)
from chunkfold.responses import ResponseAccumulator, ResponseEventDecoder
from chunkfold.usage import TokenUsage

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DONE_FRAME",
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChunkDecodeError",
    "ChunkDecoder",
    "ChunkfoldError",
    "ConcurrentUseError",
    "DecoderFinishedError",
    "EventTooLargeError",
    "MessageAccumulator",
    "MessageEventDecoder",
    "ResponseAccumulator",
    "ResponseEventDecoder",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamAPIError",
    "TokenUsage",
    "UnknownProtocolError",
    "__version__",
    "aiter_chunks",
    "encode_sse",
    "from_openai",
    "iter_chunks",
    "to_openai",
]
