"""Type stubs for chunkfold's compiled core."""

from collections.abc import Callable
from typing import Any, final

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "Accumulator",
    "ChunkFramer",
    "SSEDecoder",
    "Segment",
    "ServerSentEvent",
    "__version__",
    "register_chat_models",
]
__version__: str
DEFAULT_MAX_EVENT_SIZE: int

@final
class ServerSentEvent:
    """One dispatched Server-Sent Event; a read-only buffer over its data bytes."""

    def __new__(
        cls, data: str = "", *, event: str | None = None, id: str | None = None, retry: int | None = None
    ) -> ServerSentEvent: ...
    @property
    def event(self) -> str:
        """The event type; ``"message"`` unless an ``event`` field set it."""
    @property
    def data(self) -> str:
        """The data as text, invalid UTF-8 replaced by U+FFFD."""
    @property
    def raw(self) -> bytes:
        """The data bytes. ``memoryview(event)`` gives them without a copy."""
    @property
    def id(self) -> str | None:
        """The last event ID in effect at dispatch, or ``None`` if none was set."""
    @property
    def retry(self) -> int | None:
        """The reconnection time in effect, in milliseconds."""
    @property
    def offset(self) -> int:
        """Stream byte offset of the event's first line."""
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

@final
class SSEDecoder:
    """Incremental WHATWG Server-Sent Events decoder.

    Threads may share a decoder: a call that overlaps another raises
    ``ConcurrentUseError`` and changes nothing.
    """

    def __new__(cls, *, max_event_size: int | None = None) -> SSEDecoder: ...
    def feed(self, data: bytes | bytearray | memoryview, /) -> list[ServerSentEvent]:
        """Decodes ``data`` and returns the events it completed."""
    def finish(self) -> list[ServerSentEvent]:
        """Ends the stream; an incomplete final event is discarded."""
    @property
    def last_event_id(self) -> str | None:
        """The last event ID buffer; ``None`` until an ``id`` field is seen."""
    @property
    def retry(self) -> int | None:
        """The reconnection time set by the last valid ``retry`` field."""
    @property
    def max_event_size(self) -> int:
        """The configured event size limit in bytes."""
    @property
    def position(self) -> int:
        """Bytes fed so far."""

@final
class Segment:
    """Internal: a batch of chunk payloads (``kind == 0``) or one possible error."""

    @property
    def kind(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def offset(self) -> int: ...
    @property
    def event(self) -> str: ...
    def items(self) -> list[tuple[int, bytes]]: ...

@final
class ChunkFramer:
    """Internal: the Rust half of ``chunkfold.ChunkDecoder``."""

    def __new__(
        cls, decode: Callable[[bytes], list[Any]], *, max_event_size: int | None = None
    ) -> ChunkFramer: ...
    def feed(self, data: bytes | bytearray | memoryview, /) -> list[Any] | tuple[Segment, ...]: ...
    def finish(self) -> None: ...
    @property
    def done(self) -> bool: ...
    @property
    def blanks(self) -> int: ...
    @property
    def position(self) -> int: ...

@final
class Accumulator:
    """Internal: the Rust half of ``chunkfold.ChatCompletionAccumulator``."""

    def __new__(
        cls, *, max_event_size: int | None = None, events: bool = False, strict: bool = True
    ) -> Accumulator: ...
    def feed(self, data: bytes | bytearray | memoryview, /) -> list[Any]: ...
    def add(self, payload: bytes, /) -> None: ...
    def add_chunk(self, chunk: Any, /) -> list[Any]: ...
    def finish(self) -> None: ...
    def snapshot_json(self) -> bytes: ...
    def usage_json(self) -> bytes | None: ...
    def error(self) -> tuple[bytes, bool, int] | None: ...
    def take_events(self) -> list[tuple[str, int, int | None, str | None, str | None]]: ...
    @property
    def status(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def chunks(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def timings(self) -> tuple[int | None, int | None, int | None]: ...

def register_chat_models(
    chunk: type,
    choice: type,
    delta: type,
    astuple: Callable[[Any], tuple[Any, ...]],
    unset: Any,
    encode: Callable[[Any], bytes],
    /,
) -> bool: ...
