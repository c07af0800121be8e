"""The limits: msgspec's own decode of the same bytes, already framed.

Where msgspec builds chunkfold's objects, no framing or folding around it can
beat msgspec decoding the same JSON handed over in one piece. These two rows
of ``chunkfold bench`` measure that floor, so that the figures of the paths
bound by msgspec stand next to it:

* ``msgspec-array``: the stream's chunk payloads framed beforehand as one JSON
  array, decoded into ``list[ChatCompletionChunk]`` (the floor of
  ``ChunkDecoder``);
* ``msgspec-logprobs``: the stream's ``logprobs.content`` token entries framed
  beforehand as one JSON array, decoded into chunkfold's own
  ``ChatCompletionTokenLogprob`` Structs (the floor of ``feed`` + ``finish()``
  on the logprobs stream, which builds those Structs once in ``finish()``).

The framing is done once per stream, outside the timed calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

import chunkfold
from chunkfold.chat.models import ChatCompletionChunk, ChatCompletionTokenLogprob

__all__ = ["array_msgspec", "logprobs_msgspec", "payloads", "token_array"]

Reads = list[bytes]


def payloads(reads: Reads) -> list[bytes]:
    """The stream's chunk payloads, ``[DONE]`` left out, framed by chunkfold."""
    decoder = chunkfold.SSEDecoder()
    events = [event for read in reads for event in decoder.feed(read)]
    events.extend(decoder.finish())
    return [data for data in (bytes(memoryview(e)) for e in events) if data.strip() != b"[DONE]"]


def token_array(reads: Reads) -> bytes:
    """Every ``logprobs.content`` token entry of the stream, in order, as one JSON array."""
    encode = msgspec.json.encode
    entries: list[bytes] = []
    for payload in payloads(reads):
        chunk: Any = msgspec.json.decode(payload)
        for choice in chunk.get("choices") or ():
            logprobs = choice.get("logprobs") or {}
            entries.extend(encode(token) for token in logprobs.get("content") or ())
    return b"[" + b",".join(entries) + b"]"


def _framed_once(frame: Callable[[Reads], bytes], decode: Callable[[bytes], Any]) -> Callable[[Reads], Any]:
    framed: dict[int, tuple[Reads, bytes]] = {}

    def run(reads: Reads) -> Any:
        kept = framed.get(id(reads))
        if kept is None or kept[0] is not reads:
            kept = framed[id(reads)] = (reads, frame(reads))
        return decode(kept[1])

    return run


def array_msgspec() -> Callable[[Reads], Any]:
    """msgspec decoding the stream's payloads, framed beforehand as one JSON array: ChunkDecoder's limit."""
    decode = msgspec.json.Decoder(list[ChatCompletionChunk]).decode
    return _framed_once(lambda reads: b"[" + b",".join(payloads(reads)) + b"]", decode)


def logprobs_msgspec() -> Callable[[Reads], Any]:
    """msgspec decoding the stream's logprob tokens, framed beforehand as one array: the fold's limit."""
    decode = msgspec.json.Decoder(list[ChatCompletionTokenLogprob]).decode
    return _framed_once(token_array, decode)
