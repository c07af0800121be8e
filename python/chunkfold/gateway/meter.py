"""Metering for gateways: forward a stream's bytes untouched, fold them on the side.

* :func:`tap` wraps any sync or async byte iterable (an upstream response),
  yields every read unchanged and at once, and hands a :class:`StreamSummary`
  to ``on_complete`` when the stream ends, however it ends.
* :class:`StreamMeterMiddleware` does the same for any ASGI app's
  ``text/event-stream`` responses.
* :func:`ensure_include_usage` makes the upstream send usage even when the
  client did not ask, and :func:`drop_usage_chunk` takes that extra chunk out
  of what the client receives again.

Folding uses :class:`~chunkfold.ChatCompletionAccumulator`'s fast path: one
call into Rust per read, no Python object per chunk.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar, overload

import msgspec

from chunkfold.chat.accumulate import ChatCompletionAccumulator
from chunkfold.chat.models import ChatCompletion, CompletionUsage

__all__ = [
    "StreamMeter",
    "StreamMeterMiddleware",
    "StreamSummary",
    "summary_line",
    "adrop_usage_chunk",
    "drop_usage_chunk",
    "ensure_include_usage",
    "tap",
]

log = logging.getLogger("chunkfold.gateway")

Status = Literal["in_progress", "done", "finished", "error", "truncated", "cancelled"]
Callback = Callable[["StreamSummary"], "Awaitable[None] | None"]
ErrorCallback = Callable[[BaseException, "StreamSummary"], "Awaitable[None] | None"]
B = TypeVar("B", bytes, bytearray, memoryview)


class StreamSummary(msgspec.Struct, kw_only=True, frozen=True):
    """What a gateway needs to know about one stream once it has ended.

    Times are in seconds from the start of the stream (the first read
    requested); ``None`` where the event never happened.
    """

    completion: ChatCompletion
    usage: CompletionUsage | None
    usage_source: Literal["provider", "missing"]
    status: Status
    """The accumulator's status, or ``"cancelled"`` if the client went away."""
    error: BaseException | None
    """The API error the stream carried, or the upstream's transport error."""
    time_to_first_byte: float | None
    time_to_first_token: float | None
    duration: float
    tokens_per_second: float | None
    """Completion tokens (from usage, else chunks) over the time from first to last token."""
    max_gap: float
    """The longest wait between two reads."""
    bytes: int
    chunks: int


class StreamMeter:
    """Folds one stream's reads and summarises it; what :func:`tap` and the
    middleware share. Never raises from :meth:`feed`: metering must not break
    the stream it meters."""

    __slots__ = ("_acc", "_last", "_max_gap", "_start", "summary")

    def __init__(self) -> None:
        self._acc = ChatCompletionAccumulator(strict=False)
        self._start = self._last = time.monotonic_ns()
        self._max_gap = 0
        self.summary: StreamSummary | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Meters one read."""
        now = time.monotonic_ns()
        self._max_gap = max(self._max_gap, now - self._last)
        self._last = now
        try:
            self._acc.feed(data)
        except Exception:  # pragma: no cover - strict=False folds everything
            log.exception("chunkfold could not meter a read")

    def close(self, *, cancelled: bool = False, error: BaseException | None = None) -> StreamSummary:
        """Ends the stream and returns its summary (the same one if called again)."""
        if self.summary is not None:
            return self.summary
        acc = self._acc
        completion = acc.finish()
        now = time.monotonic_ns()
        status: Status = "cancelled" if cancelled else "error" if error is not None else acc.status  # type: ignore[assignment]
        usage = acc.usage
        self.summary = StreamSummary(
            completion=completion,
            usage=usage,
            usage_source="provider" if usage is not None else "missing",
            status=status,
            error=error if error is not None else acc.error,
            time_to_first_byte=self._since(acc.first_byte_ns),
            time_to_first_token=self._since(acc.first_token_ns),
            duration=(now - self._start) / 1e9,
            tokens_per_second=_rate(acc, usage),
            max_gap=self._max_gap / 1e9,
            bytes=acc.bytes,
            chunks=acc.chunks,
        )
        return self.summary

    def _since(self, ns: int | None) -> float | None:
        return None if ns is None else (ns - self._start) / 1e9


def _rate(acc: ChatCompletionAccumulator, usage: CompletionUsage | None) -> float | None:
    first, last = acc.first_token_ns, acc.last_token_ns
    if first is None or last is None or last <= first:
        return None
    tokens = usage.completion_tokens if usage is not None and usage.completion_tokens else acc.chunks
    return tokens / ((last - first) / 1e9)


def _call(callback: Callable[..., Any] | None, *args: Any) -> Any:
    """Runs a callback; one that raises is logged, never propagated."""
    if callback is None:
        return None
    try:
        return callback(*args)
    except Exception:
        log.exception("chunkfold.gateway callback %r raised", callback)
        return None


async def _acall(callback: Callable[..., Any] | None, *args: Any) -> None:
    result = _call(callback, *args)
    if inspect.isawaitable(result):
        try:
            await result
        except Exception:
            log.exception("chunkfold.gateway callback %r raised", callback)


@overload
def tap(
    source: AsyncIterable[B], /, *, on_complete: Callback | None = ..., on_error: ErrorCallback | None = ...
) -> AsyncIterator[B]: ...
@overload
def tap(
    source: Iterable[B], /, *, on_complete: Callback | None = ..., on_error: ErrorCallback | None = ...
) -> Iterator[B]: ...
def tap(
    source: Iterable[B] | AsyncIterable[B],
    /,
    *,
    on_complete: Callback | None = None,
    on_error: ErrorCallback | None = None,
) -> Iterator[B] | AsyncIterator[B]:
    """Yields every read of ``source`` unchanged and at once, metering on the side.

    When the stream ends, ``on_complete`` receives the :class:`StreamSummary`,
    exactly once: after ``[DONE]`` and EOF, after an upstream error (which
    ``on_error`` also receives, and which is re-raised to the client), and
    when the client goes away (``close()``/``aclose()`` or cancellation:
    status ``"cancelled"``). Async callbacks are awaited in the async form. A
    callback that raises is logged and never breaks the stream.
    """
    if isinstance(source, AsyncIterable):
        return _atap(source, on_complete, on_error)
    return _tap(source, on_complete, on_error)


def _tap(source: Iterable[B], on_complete: Callback | None, on_error: ErrorCallback | None) -> Iterator[B]:
    meter = StreamMeter()
    error: BaseException | None = None
    cancelled = False
    pending = None
    try:
        for pending in source:
            yield pending  # to the client first: metering adds no latency
            meter.feed(pending)
            pending = None
    except GeneratorExit:
        cancelled = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        if pending is not None:  # the client left right after this read
            meter.feed(pending)
        summary = meter.close(cancelled=cancelled, error=error)
        if error is not None:
            _call(on_error, error, summary)
        _call(on_complete, summary)


async def _atap(
    source: AsyncIterable[B], on_complete: Callback | None, on_error: ErrorCallback | None
) -> AsyncIterator[B]:
    import asyncio

    meter = StreamMeter()
    error: BaseException | None = None
    cancelled = False
    pending = None
    try:
        async for pending in source:
            yield pending  # to the client first: metering adds no latency
            meter.feed(pending)
            pending = None
    except (GeneratorExit, asyncio.CancelledError):
        cancelled = True
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        if pending is not None:  # the client left right after this read
            meter.feed(pending)
        summary = meter.close(cancelled=cancelled, error=error)
        if error is not None:
            await _acall(on_error, error, summary)
        await _acall(on_complete, summary)


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
        events, carry = _split_events(carry + bytes(data))
        kept = b"".join(e for e in events if not _is_usage_only(e))
        if kept:
            yield kept
    if carry:
        yield carry


async def adrop_usage_chunk(source: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Async :func:`drop_usage_chunk`."""
    carry = b""
    async for data in source:
        events, carry = _split_events(carry + bytes(data))
        kept = b"".join(e for e in events if not _is_usage_only(e))
        if kept:
            yield kept
    if carry:
        yield carry


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StreamMeterMiddleware:
    """Pure ASGI middleware that meters ``text/event-stream`` responses of
    chat completion routes without changing a byte.

    Other responses, and other routes, pass through untouched. ``on_complete``
    receives a :class:`StreamSummary` and the ASGI ``scope`` (for the path,
    headers and client).

    Args:
        app: the ASGI app (Starlette, FastAPI, any).
        on_complete: called once per metered stream, even if the client went away.
        paths: the route suffixes to meter.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        on_complete: Callable[[StreamSummary, dict[str, Any]], Any],
        paths: tuple[str, ...] = ("/chat/completions",),
    ) -> None:
        self.app = app
        self.on_complete = on_complete
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").endswith(self.paths):
            await self.app(scope, receive, send)
            return
        meter: StreamMeter | None = None

        async def metering_send(message: dict[str, Any]) -> None:
            nonlocal meter
            if message["type"] == "http.response.start" and _is_event_stream(message):
                meter = StreamMeter()
            elif message["type"] == "http.response.body" and meter is not None:
                meter.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    await self._complete(meter, scope)
                    return
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, metering_send)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if meter is not None and meter.summary is None:
                import asyncio

                cancelled = error is None or isinstance(error, (asyncio.CancelledError, OSError))
                meter.close(cancelled=cancelled, error=None if cancelled else error)
                await self._complete(meter, scope)

    async def _complete(self, meter: StreamMeter, scope: dict[str, Any]) -> None:
        await _acall(self.on_complete, meter.close(), scope)


def _is_event_stream(message: dict[str, Any]) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).split(b";")[0].strip().lower() == b"text/event-stream"
    return False


def summary_line(summary: StreamSummary, **fields: Any) -> str:
    """One log line for a stream: status, usage, timings and ``fields``."""
    usage = summary.usage
    record = {
        **fields,
        "status": summary.status,
        "model": summary.completion.model,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "usage_source": summary.usage_source,
        "ttfb_ms": None if summary.time_to_first_byte is None else round(summary.time_to_first_byte * 1e3, 1),
        "ttft_ms": None
        if summary.time_to_first_token is None
        else round(summary.time_to_first_token * 1e3, 1),
        "duration_ms": round(summary.duration * 1e3, 1),
        "chunks": summary.chunks,
        "bytes": summary.bytes,
    }
    return json.dumps(record, separators=(",", ":"))
