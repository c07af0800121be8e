"""From raw stream bytes to typed chunks: ``ChunkDecoder`` and its helpers."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import msgspec

from chunkfold import _core
from chunkfold._framed import _FramedDecoder
from chunkfold.chat.models import ChatCompletionChunk
from chunkfold.errors import ChunkDecodeError, DecoderFinishedError, StreamAPIError

__all__ = ["DONE_FRAME", "ChunkDecoder", "aiter_chunks", "encode_sse", "iter_chunks"]

#: The frame that ends an OpenAI-style stream.
DONE_FRAME = b"data: [DONE]\n\n"

_EXCERPT = 200
# msgspec reports nesting deeper than it will decode as RecursionError.
_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError)
_batch_decoder = msgspec.json.Decoder(list[ChatCompletionChunk])
_chunk_decoder = msgspec.json.Decoder(ChatCompletionChunk)
_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()

# One event still to decode: stream offset, payload, whether it may be an
# API error, and its event type.
_Item = tuple[int, bytes, bool, str]
# Work held back after an error: segments and items to decode, and chunks
# the framer already decoded.
_Work = _core.Segment | _Item | list[ChatCompletionChunk]


class ChunkDecoder(_FramedDecoder[ChatCompletionChunk]):
    """Incremental decoder from SSE bytes to :class:`ChatCompletionChunk` Structs.

    Framing happens in Rust; every complete chunk of a ``feed`` is decoded by
    msgspec in one call, without a ``str`` round trip. Comments and
    keep-alives are skipped, and decoding stops at ``[DONE]``.

    When a call raises (:class:`StreamAPIError`, :class:`ChunkDecodeError`,
    :class:`EventTooLargeError`), the chunks decoded before the failure are in
    the exception's ``decoded`` list, and any after it in the same input come
    out of the next ``feed()`` or ``finish()``. Nothing is lost.

    Threads may share a decoder: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.

    Args:
        strict: if False, payloads that fail to decode (and oversized events)
            are skipped and counted in ``skipped`` instead of raising.
        max_event_size: the largest event accepted, in bytes.
    """

    __slots__ = ()

    _backlog: deque[_Work]

    def __init__(self, *, strict: bool = True, max_event_size: int | None = None) -> None:
        super().__init__(_batch_decoder.decode, strict=strict, max_event_size=max_event_size)

    @property
    def done(self) -> bool:
        """Whether ``[DONE]`` was seen."""
        return self._framer.done

    def finish(self) -> list[ChatCompletionChunk]:
        """Ends the stream and returns any chunks still held back after an error.

        A final ``data: [DONE]`` with no blank line after it still sets ``done``.
        If it raises, the chunks after the failure come out of the next
        ``finish()``.
        """
        try:
            self._framer.finish()
        except DecoderFinishedError:
            if not self._backlog:
                raise
        with self._lock:
            return self._run(self._backlog)

    def _run(self, work: deque[_Work]) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        while work:
            item = work.popleft()
            if isinstance(item, list):
                out.extend(item)
                continue
            if isinstance(item, _core.Segment):
                if item.kind == 0:
                    try:
                        out.extend(_batch_decoder.decode(item.payload))
                    except (*_DECODE_ERRORS, UnicodeDecodeError):
                        work.extendleft(reversed([(o, p, False, "") for o, p in item.items()]))
                    continue
                item = (item.offset, item.payload, True, item.event)
            try:
                out.append(self._decode_one(*item))
            except StreamAPIError as exc:
                self._backlog = work
                exc.decoded = out
                raise
            except (*_DECODE_ERRORS, UnicodeDecodeError) as exc:
                if not self._strict:
                    self.skipped += 1
                    continue
                self._backlog = work
                offset, payload = item[0], item[1]
                raise ChunkDecodeError(
                    f"undecodable chunk at byte offset {offset}: {exc}",
                    offset=offset,
                    excerpt=payload[:_EXCERPT],
                    decoded=out,
                ) from exc
        return out

    @staticmethod
    def _decode_one(offset: int, payload: bytes, maybe_error: bool, event: str) -> ChatCompletionChunk:
        try:
            return ChunkDecoder._decode_payload(offset, payload, maybe_error, event)
        except (*_DECODE_ERRORS, UnicodeDecodeError):
            # Bytes that are not UTF-8: WHATWG's rule, as SSEDecoder and the
            # accumulator apply it, one U+FFFD per invalid sequence (Python's
            # "replace" substitutes the same maximal subparts). Only this slow
            # path pays for it: msgspec validates the fast path's strings.
            fixed = payload.decode("utf-8", "replace").encode()
            if fixed == payload:
                raise
            return ChunkDecoder._decode_payload(offset, fixed, maybe_error, event)

    @staticmethod
    def _decode_payload(offset: int, payload: bytes, maybe_error: bool, event: str) -> ChatCompletionChunk:
        if not maybe_error:
            return _chunk_decoder.decode(payload)
        try:
            obj = _any_decoder.decode(payload)
        except (msgspec.DecodeError, RecursionError):
            if event != "error":
                raise
            obj = payload.decode("utf-8", "replace")
        raise_if_api_error(obj, offset=offset, event=event)
        return msgspec.convert(obj, ChatCompletionChunk)


def raise_if_api_error(obj: Any, *, offset: int | None = None, event: str = "message") -> None:
    """Raises :class:`StreamAPIError` if a decoded payload is an API error.

    Recognises ``{"error": {...}}`` (also with a string), vLLM's
    ``{"object": "error", "message": ...}`` and anything sent as ``event: error``.
    """
    if isinstance(obj, dict):
        err = obj.get("error")
        if err is None and obj.get("object") != "error" and event != "error":
            return
        fields: Any = err if isinstance(err, dict) else obj
        message = fields.get("message")
        if message is None:
            message = err if isinstance(err, str) else str(err if err is not None else obj)
        chunk = None
        if "choices" in obj:
            try:
                chunk = msgspec.convert(obj, ChatCompletionChunk)
            except msgspec.ValidationError:
                chunk = None
        raise StreamAPIError(
            str(message),
            type=fields.get("type"),
            code=fields.get("code"),
            param=fields.get("param"),
            raw=obj,
            chunk=chunk,
            offset=offset,
        )
    if event == "error":
        raise StreamAPIError(str(obj), raw=obj, offset=offset)


def iter_chunks(
    source: Iterable[bytes | bytearray | memoryview], /, *, strict: bool = True
) -> Iterator[ChatCompletionChunk]:
    """Yields the chunks of a byte stream, such as httpx's ``response.iter_bytes()``.

    Stops reading at ``[DONE]``.
    """
    decoder = ChunkDecoder(strict=strict)
    for data in source:
        yield from decoder.feed(data)
        if decoder.done:
            break
    yield from decoder.finish()


async def aiter_chunks(
    source: AsyncIterable[bytes | bytearray | memoryview], /, *, strict: bool = True
) -> AsyncIterator[ChatCompletionChunk]:
    """Async :func:`iter_chunks`, for ``response.aiter_bytes()`` or aiohttp's
    ``response.content.iter_any()``."""
    decoder = ChunkDecoder(strict=strict)
    async for data in source:
        for chunk in decoder.feed(data):
            yield chunk
        if decoder.done:
            break
    for chunk in decoder.finish():
        yield chunk


def encode_sse(chunk: ChatCompletionChunk, /) -> bytes:
    """Encodes a chunk as one SSE frame, ``data: {...}\\n\\n``.

    ``ChunkDecoder().feed(encode_sse(c)) == [c]``. End a stream with
    :data:`DONE_FRAME`.
    """
    return b"data: " + _encoder.encode(chunk) + b"\n\n"
