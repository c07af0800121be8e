"""The skeleton the Responses and Anthropic accumulators share.

Each protocol's accumulator wraps one Rust fold. Feeding, the strict /
lenient error handling, the locked conversion of the fold's raw events into
typed ones, the first API error and the timings work the same for all of
them; a protocol supplies only its hooks (:meth:`_Fold._convert`,
:meth:`_Fold._feed_partial`, :meth:`_Fold._api_error`), static methods so
that :class:`_Events` can call them without holding the accumulator.
"""

from __future__ import annotations

import threading
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import msgspec

from chunkfold.errors import ChunkDecodeError, EventTooLargeError, StreamAPIError

__all__: list[str] = []

EventT = TypeVar("EventT")


#: Every accumulator's ``feed``: its ``_front``'s, which is the Rust method
#: itself with events off (a C getter, so a read costs no Python frame).
front_feed = property(
    attrgetter("_front.feed"),
    doc="""``feed(data, /)``: folds raw stream bytes, split anywhere, and returns
    this read's events (``[]`` with events off).

    Everything decodable in ``data`` is folded first. Then, if ``strict``,
    the malformed payload or oversized event earliest in the stream among
    those in ``data`` is raised, its ``decoded`` holding this read's events.""",
)


#: What msgspec raises for a result it cannot decode (nesting deeper than it
#: recurses is a ``RecursionError``).
UNDECODABLE = (msgspec.MsgspecError, RecursionError)


def undecodable_result(raw: bytes, offset: int, cause: BaseException) -> ChunkDecodeError:
    """The error ``snapshot()`` and ``finish()`` raise when the folded result does
    not decode: a value the fold keeps as the provider sent it (a Responses
    output item, chat logprob tokens) is JSON msgspec refuses, such as a lone
    surrogate escape or a number beyond a float's range. ``offset`` is the
    stream position (bytes fed); msgspec's error is the ``__cause__``."""
    error = ChunkDecodeError(
        f"the folded result does not decode (stream position {offset}): a value kept as the "
        f"provider sent it is JSON msgspec refuses: {cause}",
        offset=offset,
        excerpt=raw[:200],
    )
    error.__cause__ = cause
    return error


class _CoreFold(Protocol):
    """What the skeleton needs of a Rust fold."""

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[Any]: ...
    def add(self, payload: bytes, /) -> None: ...
    def error(self) -> tuple[bytes, bool, int] | None: ...
    def take_events(self) -> list[Any]: ...
    @property
    def timings(self) -> tuple[int | None, int | None, int | None]: ...


class _Fold(Generic[EventT]):
    """Base of a protocol accumulator: ``feed``, ``add_json``, ``error`` and
    the timings over a Rust fold, with typed events on request.

    The Rust fold takes ``strict`` itself, so that with events and partial
    JSON off ``feed`` is the Rust method (same errors, an empty list) and a
    read costs no Python frame; with either on, ``feed`` is :class:`_Events`'.
    """

    __slots__ = ("_core", "_error", "_events", "_front", "_lock", "_partial", "_strict")

    _core: _CoreFold

    def __init__(self, core: _CoreFold, *, strict: bool, events: bool, partial_json: bool) -> None:
        self._core = core
        self._strict = strict
        self._error: StreamAPIError | None = None
        self._partial: dict[int, Any] | None = {} if partial_json else None
        self._events = (
            _Events(core, type(self), events=events, partial=self._partial)
            if events or partial_json
            else None
        )
        # With events on, it keeps the events' Python half in order when two
        # threads feed one accumulator; the fold itself is locked in Rust.
        self._lock = None if self._events is None else self._events.lock
        # What ``feed`` calls: the Rust method itself with events off.
        self._front: Any = core if self._events is None else self._events

    if TYPE_CHECKING:

        def feed(self, data: bytes | bytearray | memoryview, /) -> list[EventT]:
            """Folds raw stream bytes, split anywhere."""

    else:
        feed = front_feed

    def add_json(self, payload: bytes, /) -> list[EventT]:
        """Folds one event given as its JSON payload (the data of one SSE event)."""
        self._core.add(payload)
        return [] if self._events is None else self._events.take()

    @property
    def error(self) -> StreamAPIError | None:
        """The first API error in the stream, or ``None`` if there was none."""
        if self._events is not None:
            return self._events.api_error()
        if self._error is None:
            self._error = _first_error(self._core, type(self))
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

    @staticmethod
    def _feed_partial(partial: dict[int, Any], raw: list[Any]) -> None:
        """Feeds the raw events' argument text to the partial JSON parsers."""

    @staticmethod
    def _convert(raw: list[Any]) -> list[EventT]:
        """The typed events for the fold's raw ones."""
        raise NotImplementedError  # pragma: no cover

    @staticmethod
    def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
        """The ``StreamAPIError`` for what the fold reported as the first error."""
        raise NotImplementedError  # pragma: no cover


class _Events(Generic[EventT]):
    """``feed`` with events or partial JSON on: the Rust fold's raw events
    made into typed ones by the protocol's hooks. It holds no reference to
    its accumulator (no cycle), and keeps the accumulator's API error."""

    __slots__ = ("core", "error", "events", "kind", "lock", "partial")

    def __init__(
        self,
        core: _CoreFold,
        kind: type[_Fold[EventT]],
        *,
        events: bool,
        partial: dict[int, Any] | None,
    ) -> None:
        self.core = core
        self.kind = kind
        self.events = events
        self.partial = partial
        self.error: StreamAPIError | None = None
        self.lock = threading.Lock()

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[EventT]:
        try:
            self.core.feed(data)
        except (ChunkDecodeError, EventTooLargeError) as exc:
            # Raised with strict=True only: the Rust fold counts them otherwise.
            exc.decoded = self.take()
            raise
        return self.take()

    def api_error(self) -> StreamAPIError | None:
        if self.error is None:
            self.error = _first_error(self.core, self.kind)
        return self.error

    def take(self) -> list[EventT]:
        with self.lock:
            raw = self.core.take_events()
            if self.partial is not None:
                self.kind._feed_partial(self.partial, raw)
            if not self.events:
                return []
            events = self.kind._convert(raw)
            new_error = self.api_error() if self.error is None else None
            if new_error is not None:
                # Imported here: chunkfold.events imports chunkfold.chat, which
                # is not importable from inside chunkfold.events' own import.
                from chunkfold.events import ErrorReceived

                events.append(cast("EventT", ErrorReceived(error=new_error)))
            return events


def _first_error(core: _CoreFold, kind: type[_Fold[Any]]) -> StreamAPIError | None:
    found = core.error()
    return None if found is None else kind._api_error(*found)
