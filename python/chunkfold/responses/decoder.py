"""From raw stream bytes to typed Responses events: ``ResponseEventDecoder``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import msgspec

from chunkfold import _core
from chunkfold._framed import _FramedDecoder
from chunkfold.errors import ChunkDecodeError
from chunkfold.responses.models import ResponseStreamEvent, decode_event

__all__ = ["ResponseEventDecoder", "iter_events"]

_EXCERPT = 200
# msgspec reports nesting deeper than it will decode as RecursionError.
_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError)
_batch_decoder = msgspec.json.Decoder(list[ResponseStreamEvent])

# One event still to decode: its stream offset and payload.
_Item = tuple[int, bytes]
# Work held back after an error: segments and items to decode, and events
# the framer already decoded.
_Work = _core.Segment | _Item | list[ResponseStreamEvent]


class ResponseEventDecoder(_FramedDecoder[ResponseStreamEvent]):
    """Incremental decoder from SSE bytes to typed Responses stream events.

    The same surface as :class:`~chunkfold.ChunkDecoder`: framing happens in
    Rust, and every complete event of a ``feed`` is decoded by msgspec in one
    call. Comments, blank keep-alives and a trailing ``data: [DONE]`` are
    skipped. Every event is returned as its Struct from
    :mod:`chunkfold.responses.models`: an ``error`` event is a
    :class:`~chunkfold.responses.models.ResponseErrorEvent` like any other
    (this protocol types it), and a ``type`` no Struct knows gives an
    :class:`~chunkfold.responses.models.UnknownEvent`, never an error.

    When a payload is not a JSON object with a string ``type`` (or a known
    event has a field of the wrong type), ``feed`` raises
    :class:`ChunkDecodeError` naming its byte offset, with the events before
    it in ``decoded``; those after it in the same read come out of the next
    ``feed()`` or ``finish()``. ``strict=False`` skips and counts it instead.
    Oversized events raise :class:`EventTooLargeError` the same way.

    Threads may share a decoder: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.
    """

    __slots__ = ()

    _backlog: deque[_Work]

    def __init__(self, *, strict: bool = True, max_event_size: int | None = None) -> None:
        super().__init__(_batch_decoder.decode, strict=strict, max_event_size=max_event_size)

    @property
    def done(self) -> bool:
        """Whether a ``data: [DONE]`` was seen (some proxies end with one)."""
        return self._framer.done

    def finish(self) -> list[ResponseStreamEvent]:
        """Ends the stream and returns any events still held back after an error."""
        self._framer.finish()
        with self._lock:
            return self._run(self._backlog)

    def _run(self, work: deque[_Work]) -> list[ResponseStreamEvent]:
        out: list[ResponseStreamEvent] = []
        while work:
            item = work.popleft()
            if isinstance(item, list):
                out.extend(item)
                continue
            if isinstance(item, _core.Segment):
                if item.kind == 0:
                    try:
                        out.extend(_batch_decoder.decode(item.payload))
                    except _DECODE_ERRORS:
                        work.extendleft(reversed(item.items()))
                    continue
                item = (item.offset, item.payload)
            offset, payload = item
            try:
                out.append(decode_event(payload))
            except _DECODE_ERRORS as exc:
                if not self._strict:
                    self.skipped += 1
                    continue
                self._backlog = work
                raise ChunkDecodeError(
                    f"undecodable event at byte offset {offset}: {exc}",
                    offset=offset,
                    excerpt=payload[:_EXCERPT],
                    decoded=out,
                ) from exc
        return out


def iter_events(
    source: Iterable[bytes | bytearray | memoryview], /, *, strict: bool = True
) -> Iterator[ResponseStreamEvent]:
    """Yields the events of a byte stream, such as httpx's ``response.iter_bytes()``."""
    decoder = ResponseEventDecoder(strict=strict)
    for data in source:
        yield from decoder.feed(data)
    yield from decoder.finish()
