"""Asking the upstream for usage, and taking the answer out again.

OpenAI-style upstreams send usage only when the request asks
(``stream_options.include_usage``). :func:`ensure_include_usage` makes every
streaming request ask, and :func:`drop_usage_chunk` takes the extra usage
chunk out of what a client that did not ask receives.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import msgspec

__all__ = ["adrop_usage_chunk", "drop_usage_chunk", "ensure_include_usage"]


def ensure_include_usage(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Makes a streaming request ask for usage.

    Returns the body to send upstream (a copy, with
    ``stream_options.include_usage = true`` when ``stream`` is true) and
    whether the client had asked for usage itself. When it had not, pass the
    upstream bytes through :func:`drop_usage_chunk` so the client receives
    what it asked for; only then do bytes change.
    """
    if not isinstance(body, dict):
        raise TypeError(f"ensure_include_usage() takes the request body as a dict, not {type(body).__name__}")
    options = body.get("stream_options")
    if options is None:
        options = {}
    elif not isinstance(options, dict):
        return body, False  # not ours to fix: upstream answers it as it would without us
    asked = bool(options.get("include_usage"))
    if not body.get("stream") or asked:
        return body, asked
    return {**body, "stream_options": {**options, "include_usage": True}}, asked


class _UsageOnly(msgspec.Struct):
    choices: list[Any] | None = None
    usage: Any = None


_usage_only = msgspec.json.Decoder(_UsageOnly)


def _is_usage_only(event: bytes) -> bool:
    data = [line[5:].removeprefix(b" ") for line in event.splitlines() if line.startswith(b"data:")]
    if len(data) != 1 or b"usage" not in data[0]:
        return False
    try:
        chunk = _usage_only.decode(data[0])
    except msgspec.MsgspecError:
        return False
    return not chunk.choices and chunk.usage is not None


# A blank line: two line ends, where CRLF counts as one (atomic groups keep
# "\r\n" from being read as "\r" then "\n").
_BLANK_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")


def _split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete raw events in ``buffer`` (each with its blank line), and the rest."""
    events = []
    start = 0
    for blank in _BLANK_LINE.finditer(buffer):
        events.append(buffer[start : blank.end()])
        start = blank.end()
    return events, buffer[start:]


def drop_usage_chunk(source: Iterable[bytes]) -> Iterator[bytes]:
    """Forwards a stream without its usage-only chunk (``choices: []`` with usage).

    For clients that did not ask for usage (see :func:`ensure_include_usage`).
    Complete events are forwarded as soon as they end; everything else is
    byte for byte.
    """
    carry = b""
    for data in source:
        events, carry = _split_events(carry + _as_bytes(data))
        kept = b"".join(e for e in events if not _is_usage_only(e))
        if kept:
            yield kept
    if carry:
        yield carry


async def adrop_usage_chunk(source: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Async :func:`drop_usage_chunk`."""
    carry = b""
    async for data in source:
        events, carry = _split_events(carry + _as_bytes(data))
        kept = b"".join(e for e in events if not _is_usage_only(e))
        if kept:
            yield kept
    if carry:
        yield carry


def _as_bytes(data: Any) -> bytes:
    """A read as ``bytes``; anything but a bytes-like object is a TypeError
    (``bytes(-1)`` would be a ValueError, ``bytes(3)`` three NULs)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"stream reads must be bytes-like, not {type(data).__name__}")
    return bytes(data)
