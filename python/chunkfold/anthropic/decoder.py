"""From raw Anthropic stream bytes to typed events: ``MessageEventDecoder``."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import msgspec

from chunkfold import _core
from chunkfold.anthropic.models import ErrorEvent, RawMessageStopEvent, RawMessageStreamEvent, decode_event
from chunkfold.errors import ChunkDecodeError, EventTooLargeError, StreamAPIError

__all__ = ["MessageEventDecoder", "aiter_message_events", "iter_message_events"]

_EXCERPT = 200
# msgspec reports nesting deeper than it will decode as RecursionError.
_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError)
_any_decoder = msgspec.json.Decoder()

# One event still to decode: stream offset, payload, event name.
_Item = tuple[int, bytes, str]


class MessageEventDecoder:
    """Incremental decoder from SSE bytes to Anthropic stream events
    (:data:`~chunkfold.anthropic.models.RawMessageStreamEvent`).

    Framing happens in Rust; each event is routed by its JSON ``type``, so
    events without an ``event:`` line (a data-only proxy) decode the same.
    Unknown event, block and delta types come back as ``Unknown*`` Structs,
    never as an error. Blank payloads (keep-alives) are skipped.

    An ``error`` event (by its JSON ``type``, or an ``event: error`` whose
    data is not JSON) raises :class:`StreamAPIError`. When a call raises
    (:class:`StreamAPIError`, :class:`ChunkDecodeError`,
    :class:`EventTooLargeError`), the events decoded before the failure are
    in the exception's ``decoded`` list, and any after it in the same input
    come out of the next ``feed()`` or ``finish()``. Nothing is lost.

    Threads may share a decoder: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.

    Args:
        strict: if False, payloads that fail to decode (and oversized events)
            are skipped and counted in ``skipped`` instead of raising.
        max_event_size: the largest event accepted, in bytes.
    """

    __slots__ = ("_backlog", "_done", "_lock", "_sse", "_strict", "skipped")

    def __init__(self, *, strict: bool = True, max_event_size: int | None = None) -> None:
        self._sse = _core.SSEDecoder(max_event_size=max_event_size)
        self._strict = strict
        self._backlog: deque[_Item] = deque()
        self._lock = threading.Lock()
        self._done = False
        #: Events skipped because they did not decode (``strict=False`` only).
        self.skipped = 0

    @property
    def done(self) -> bool:
        """Whether ``message_stop`` was seen."""
        return self._done

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[RawMessageStreamEvent]:
        """Decodes ``data`` and returns the events it completed."""
        try:
            events = self._sse.feed(data)
        except EventTooLargeError as exc:
            with self._lock:
                self._extend(exc.decoded)
                out = self._run()
                if not self._strict:
                    self.skipped += 1
                    return out
            exc.decoded = out
            raise
        with self._lock:
            self._extend(events)
            return self._run()

    def finish(self) -> list[RawMessageStreamEvent]:
        """Ends the stream and returns any events still held back after an
        error. An incomplete final event is discarded, as WHATWG specifies,
        unless it is a ``message_stop`` (some servers end the body without
        the blank line after it): like ``MessageAccumulator``, that counts."""
        # Closing the pending event dispatches it; only a message_stop is kept.
        tail = [e for e in self._sse.feed(b"\n\n") if _is_stop(e.raw)]
        events = self._sse.finish()
        with self._lock:
            self._extend(tail + events)
            return self._run()

    def _extend(self, events: list[Any]) -> None:
        self._backlog.extend((e.offset, e.raw, e.event) for e in events)

    def _run(self) -> list[RawMessageStreamEvent]:
        out: list[RawMessageStreamEvent] = []
        work = self._backlog
        while work:
            offset, payload, name = work.popleft()
            if not payload.strip():
                continue
            try:
                event = decode_event(payload)
            except _DECODE_ERRORS as exc:
                if name == "error":
                    exc_api = _api_error(payload, offset, name)
                    exc_api.decoded = out
                    raise exc_api from exc
                if not self._strict:
                    self.skipped += 1
                    continue
                raise ChunkDecodeError(
                    f"undecodable event at byte offset {offset}: {exc}",
                    offset=offset,
                    excerpt=payload[:_EXCERPT],
                    decoded=out,
                ) from exc
            if event.__class__ is ErrorEvent:
                error = _api_error(payload, offset, name)
                error.decoded = out
                raise error
            if event.__class__ is RawMessageStopEvent:
                self._done = True
            out.append(event)
        return out


def _is_stop(payload: bytes) -> bool:
    try:
        return isinstance(decode_event(payload), RawMessageStopEvent)
    except _DECODE_ERRORS:
        return False


def _api_error(payload: bytes, offset: int, name: str) -> StreamAPIError:
    """The :class:`StreamAPIError` of an error event's payload."""
    try:
        obj: Any = _any_decoder.decode(payload)
    except _DECODE_ERRORS:
        obj = payload.decode("utf-8", "replace")
    fields = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(fields, dict):
        return StreamAPIError(str(obj), raw=obj, offset=offset)
    message = fields.get("message")
    kind = fields.get("type")
    return StreamAPIError(
        str(message if message is not None else fields),
        type=kind if isinstance(kind, str) else None,
        raw=obj,
        offset=offset,
    )


def iter_message_events(
    source: Iterable[bytes | bytearray | memoryview], /, *, strict: bool = True
) -> Iterator[RawMessageStreamEvent]:
    """Yields the events of a byte stream, such as httpx's ``response.iter_bytes()``."""
    decoder = MessageEventDecoder(strict=strict)
    for data in source:
        yield from decoder.feed(data)
    yield from decoder.finish()


async def aiter_message_events(
    source: AsyncIterable[bytes | bytearray | memoryview], /, *, strict: bool = True
) -> AsyncIterator[RawMessageStreamEvent]:
    """Async :func:`iter_message_events`, for ``response.aiter_bytes()``."""
    decoder = MessageEventDecoder(strict=strict)
    async for data in source:
        for event in decoder.feed(data):
            yield event
    for event in decoder.finish():
        yield event
