"""The feed path that ``ChunkDecoder`` and ``ResponseEventDecoder`` share.

Both frame SSE bytes in Rust (``_core.ChunkFramer``), which decodes every
complete event of a read with one msgspec call. When that batch fails, the
framer hands back segments, and the decoder's own ``_run`` decodes them one
by one, holding back what follows an error until the next call.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from chunkfold import _core
from chunkfold.errors import EventTooLargeError

__all__: list[str] = []

T = TypeVar("T")


class _FramedDecoder(Generic[T]):
    """Base of a decoder over ``_core.ChunkFramer``: ``feed``, the backlog
    kept after an error, and the framer's counters."""

    __slots__ = ("_backlog", "_framer", "_lock", "_strict", "skipped")

    def __init__(
        self, decode: Callable[[bytes], list[T]], *, strict: bool, max_event_size: int | None
    ) -> None:
        self._framer = _core.ChunkFramer(decode, max_event_size=max_event_size)
        self._strict = strict
        self._backlog: deque[Any] = deque()
        # Only the slow path, after an error, takes it: it keeps the backlog
        # in order when two threads feed one decoder.
        self._lock = threading.Lock()
        #: Events skipped because they did not decode (``strict=False`` only).
        self.skipped = 0

    @property
    def keepalives(self) -> int:
        """Whitespace-only ``data`` payloads skipped as keep-alives."""
        return self._framer.blanks

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[T]:
        """Decodes ``data`` and returns the events it completed."""
        try:
            result = self._framer.feed(data)
        except EventTooLargeError as exc:
            with self._lock:
                self._backlog.extend(exc.decoded)
                events = self._run(self._backlog)
                if not self._strict:
                    self.skipped += 1
                    return events
            exc.decoded = events
            raise
        if result.__class__ is list:
            if not self._backlog:
                return result
            with self._lock:
                self._backlog.append(result)
                return self._run(self._backlog)
        with self._lock:
            self._backlog.extend(result)
            return self._run(self._backlog)

    def _run(self, work: deque[Any]) -> list[T]:
        """Decodes the held-back work in order (the slow path)."""
        raise NotImplementedError  # pragma: no cover
