"""The skeleton the Responses and Anthropic accumulators share.

Each protocol's accumulator wraps one Rust fold. Feeding, the strict /
lenient error handling, the locked conversion of the fold's raw events into
typed ones, the first API error and the timings work the same for all of
them; a protocol supplies only its hooks (:meth:`_Fold._convert`,
:meth:`_Fold._feed_partial`, :meth:`_Fold._api_error`).
"""

from __future__ import annotations

import threading
from typing import Any, Generic, Protocol, TypeVar, cast

from chunkfold.errors import ChunkDecodeError, EventTooLargeError, StreamAPIError

__all__: list[str] = []

EventT = TypeVar("EventT")


class _CoreFold(Protocol):
    """What the skeleton needs of a Rust fold."""

    def feed(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def add(self, payload: bytes, /) -> None: ...
    def error(self) -> tuple[bytes, bool, int] | None: ...
    def take_events(self) -> list[Any]: ...
    @property
    def timings(self) -> tuple[int | None, int | None, int | None]: ...


class _Fold(Generic[EventT]):
    """Base of a protocol accumulator: ``feed``, ``add_json``, ``error`` and
    the timings over a Rust fold, with typed events on request."""

    __slots__ = ("_core", "_error", "_events", "_lock", "_strict")

    _core: _CoreFold

    def __init__(self, core: _CoreFold, *, strict: bool, events: bool, partial_json: bool) -> None:
        self._core = core
        self._strict = strict
        self._events = events
        self._error: StreamAPIError | None = None
        # With events on, it keeps the events' Python half in order when two
        # threads feed one accumulator; the fold itself is locked in Rust.
        self._lock = threading.Lock() if events or partial_json else None

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[EventT]:
        """Folds raw stream bytes, split anywhere.

        Everything decodable in ``data`` is folded first. Then, if ``strict``,
        the malformed payload or oversized event earliest in the stream among
        those in ``data`` is raised, its ``decoded`` holding this read's events.
        """
        try:
            self._core.feed(data)
        except (ChunkDecodeError, EventTooLargeError) as exc:
            if self._strict:
                exc.decoded = self._take_events()
                raise
        return self._take_events()

    def add_json(self, payload: bytes, /) -> list[EventT]:
        """Folds one event given as its JSON payload (the data of one SSE event)."""
        self._core.add(payload)
        return self._take_events()

    @property
    def error(self) -> StreamAPIError | None:
        """The first API error in the stream, or ``None`` if there was none."""
        if self._error is None:
            found = self._core.error()
            if found is not None:
                self._error = self._api_error(*found)
        return self._error

    @property
    def first_byte_ns(self) -> int | None:
        """When the first byte was fed, on the ``time.monotonic_ns()`` clock."""
        return self._core.timings[0]

    @property
    def first_token_ns(self) -> int | None:
        """When the first content delta (text, refusal, reasoning, thinking or
        tool arguments; never a lifecycle event or a ``ping``) arrived, on
        the ``time.monotonic_ns()`` clock."""
        return self._core.timings[1]

    @property
    def last_token_ns(self) -> int | None:
        """When the last such delta arrived, on the ``time.monotonic_ns()`` clock."""
        return self._core.timings[2]

    def _take_events(self) -> list[EventT]:
        if self._lock is None:
            return []
        with self._lock:
            raw = self._core.take_events()
            self._feed_partial(raw)
            if not self._events:
                return []
            events = self._convert(raw)
            error_is_new = self._error is None
            if error_is_new and self.error is not None:
                # Imported here: chunkfold.events imports chunkfold.chat, which
                # is not importable from inside chunkfold.events' own import.
                from chunkfold.events import ErrorReceived

                events.append(cast("EventT", ErrorReceived(error=self.error)))
            return events

    def _feed_partial(self, raw: list[Any]) -> None:
        """Feeds the raw events' argument text to the partial JSON parsers, if on."""

    def _convert(self, raw: list[Any]) -> list[EventT]:
        """The typed events for the fold's raw ones."""
        raise NotImplementedError  # pragma: no cover

    @staticmethod
    def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
        """The ``StreamAPIError`` for what the fold reported as the first error."""
        raise NotImplementedError  # pragma: no cover
