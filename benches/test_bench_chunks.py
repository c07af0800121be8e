"""Chunk decoding: stream bytes to typed chunks, per read pattern.

Groups ``chunks-{pattern}``, on the 500-token chat stream. Every result is
checked after timing: the chunk count, the concatenated content and the usage
against the stdlib ``json`` reference, and the chunkfold Structs field for field
against msgspec's decoding of each payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from chunkfold.bench import baselines
from chunkfold.chat.models import ChatCompletionChunk
from openai.types.chat import ChatCompletionChunk as OpenAIChunk

Reads = list[bytes]
_struct_decoder = msgspec.json.Decoder(ChatCompletionChunk)


def content(chunks: list[Any]) -> str:
    """Concatenated ``choices[0].delta.content`` of Struct or pydantic chunks."""
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def check(result: list[Any], chat: Any) -> None:
    """The checks every typed implementation must pass."""
    assert len(result) == len(chat.chunks)
    assert content(result) == chat.content
    assert [c.id for c in result] == [c["id"] for c in chat.chunks]
    usage = result[-1].usage
    assert usage is not None
    assert usage.completion_tokens == chat.chunks[-1]["usage"]["completion_tokens"]
    assert usage.total_tokens == chat.chunks[-1]["usage"]["total_tokens"]


def split_msgspec(framer: Callable[[Reads], list[bytes]]) -> Callable[[Reads], list[ChatCompletionChunk]]:
    """The best pure Python: ``bytes.split`` framing, then msgspec per event."""
    decode = msgspec.json.Decoder(ChatCompletionChunk).decode

    def run(reads: Reads) -> list[ChatCompletionChunk]:
        return [decode(p) for p in framer(reads)]

    return run


def split_orjson(framer: Callable[[Reads], list[bytes]]) -> Callable[[Reads], list[Any]]:
    """``bytes.split`` framing, then ``orjson.loads`` to dicts."""
    loads = orjson.loads

    def run(reads: Reads) -> list[Any]:
        return [loads(p) for p in framer(reads)]

    return run


def test_chunkfold(run: Any, chat: Any) -> None:
    decoder = baselines.BY_NAME["chunks"].load()
    result = run(f"chunks-{chat.pattern}", decoder, chat, len(chat.chunks))
    check(result, chat)
    assert result == [_struct_decoder.decode(p) for p in chat.payloads[:-1]]


def test_split_msgspec(run: Any, chat: Any, framer: Callable[[Reads], list[bytes]]) -> None:
    result = run(f"chunks-{chat.pattern}", split_msgspec(framer), chat, len(chat.chunks))
    check(result, chat)


def test_openai_stream(run: Any, chat: Any) -> None:
    stream = baselines.openai_stream()
    result = run(f"chunks-{chat.pattern}", lambda reads: list(stream(reads)), chat, len(chat.chunks))
    assert all(isinstance(c, OpenAIChunk) for c in result)
    check(result, chat)


def test_split_orjson(run: Any, chat: Any, framer: Callable[[Reads], list[bytes]]) -> None:
    result = run(f"chunks-{chat.pattern}", split_orjson(framer), chat, len(chat.chunks))
    assert result == chat.chunks
