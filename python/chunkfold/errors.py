"""Exceptions raised by chunkfold.

Every error is a :class:`ChunkfoldError`. Errors about bad input also derive
from :class:`ValueError`, and name the stream byte ``offset`` where the
problem was found. Whatever a call decoded before (and, for framing errors,
after) the failure is attached as ``decoded``, so that nothing is lost.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChunkDecodeError",
    "ChunkfoldError",
    "ConcurrentUseError",
    "DecoderFinishedError",
    "EventTooLargeError",
    "StreamAPIError",
    "UnknownProtocolError",
]


class ChunkfoldError(Exception):
    """Base class of every chunkfold error.

    Attributes:
        offset: stream byte offset the error concerns, or ``None``.
        decoded: what the failing call produced besides the error (events or
            chunks), in stream order; empty when nothing was.
    """

    offset: int | None
    decoded: list[Any]

    def __init__(self, message: str, *, offset: int | None = None, decoded: list[Any] | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.decoded = list(decoded) if decoded is not None else []


class EventTooLargeError(ChunkfoldError, ValueError):
    """An event exceeded ``max_event_size``.

    The event was dropped and its memory released; the decoder resumed at the
    next event boundary, and the events around it are in ``decoded``.
    """

    limit: int

    def __init__(self, message: str, *, limit: int, offset: int, decoded: list[Any] | None = None) -> None:
        super().__init__(message, offset=offset, decoded=decoded)
        self.limit = limit


class DecoderFinishedError(ChunkfoldError, RuntimeError):
    """``feed()`` or ``finish()`` was called after ``finish()``."""


class ConcurrentUseError(ChunkfoldError, RuntimeError):
    """One decoder was fed from two threads at the same time.

    The call that raised changed nothing; the decoder's state is intact.
    """


class ChunkDecodeError(ChunkfoldError, ValueError):
    """An event's data is not a valid ``chat.completion.chunk``.

    Attributes:
        excerpt: the start of the offending payload, at most 200 bytes.

    msgspec's own error is the ``__cause__``.
    """

    excerpt: bytes

    def __init__(
        self, message: str, *, offset: int, excerpt: bytes, decoded: list[Any] | None = None
    ) -> None:
        super().__init__(message, offset=offset, decoded=decoded)
        self.excerpt = excerpt


class StreamAPIError(ChunkfoldError):
    """The provider reported an error inside the stream.

    Raised for ``data: {"error": {...}}``, ``event: error``, vLLM's
    ``{"object": "error", ...}`` and chunks that carry a top-level ``error``
    next to choices and usage (OpenRouter).

    Attributes:
        message, type, code, param: the parsed error fields (``None`` when absent).
        raw: the whole decoded payload (a dict, or the text if it was not JSON).
        chunk: the payload decoded as a ``ChatCompletionChunk`` when it also
            carried chunk fields (OpenRouter's error chunk with usage), else ``None``.
    """

    message: str
    type: str | None
    code: str | int | None
    param: str | None
    raw: Any
    chunk: Any

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        raw: Any = None,
        chunk: Any = None,
        offset: int | None = None,
        decoded: list[Any] | None = None,
    ) -> None:
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"API error in stream{where}: {message}", offset=offset, decoded=decoded)
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.raw = raw
        self.chunk = chunk


class UnknownProtocolError(ChunkfoldError, ValueError):
    """A stream ended (or grew past the sniffing limit) before any of its
    events showed which protocol it speaks; see
    :func:`chunkfold.gateway.detect_protocol`."""
