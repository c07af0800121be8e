"""OpenAI Chat Completions streams: ``chat.completion.chunk`` events.

* :mod:`chunkfold.chat.models`: msgspec Structs mirroring ``openai.types.chat``.
* :class:`ChunkDecoder`: stream bytes to typed chunks.
* :class:`ChatCompletionAccumulator`: the Rust fold into the final completion.
"""

from chunkfold.chat.accumulate import ChatCompletionAccumulator
from chunkfold.chat.decoder import DONE_FRAME, ChunkDecoder, aiter_chunks, encode_sse, iter_chunks
from chunkfold.chat.models import ChatCompletion, ChatCompletionChunk

__all__ = [
    "DONE_FRAME",
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChunkDecoder",
    "aiter_chunks",
    "encode_sse",
    "iter_chunks",
]
