"""Metering for gateways: forward a stream's bytes untouched, fold them on the side.

* :func:`tap` wraps any sync or async byte iterable (an upstream response),
  yields every read unchanged and at once, and hands a :class:`StreamSummary`
  to ``on_complete`` when the stream ends, however it ends.
* :class:`StreamMeter` is what :func:`tap` and
  :class:`~chunkfold.gateway.StreamMeterMiddleware` share: it picks the
  protocol's accumulator and summarises the stream.

Folding uses the accumulators' fast path (``feed(bytes)``): one call into
Rust per read, no Python object per event.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from time import monotonic_ns
from typing import Any, Literal, TypeVar, overload

import msgspec

from chunkfold._core import SSEDecoder
from chunkfold.errors import ChunkfoldError, UnknownProtocolError
from chunkfold.gateway.protocols import PROTOCOLS, Protocol, detect_protocol, fold_for
from chunkfold.usage import TokenUsage

__all__ = ["StreamMeter", "StreamSummary", "acall", "summary_line", "tap"]

log = logging.getLogger("chunkfold.gateway")

Status = Literal["in_progress", "done", "finished", "incomplete", "error", "truncated", "cancelled"]
Callback = Callable[["StreamSummary"], "Awaitable[None] | None"]
ErrorCallback = Callable[[BaseException, "StreamSummary"], "Awaitable[None] | None"]
B = TypeVar("B", bytes, bytearray, memoryview)

#: How many bytes a stream of unknown protocol may send before its protocol
#: shows; past this it is summarised with an :class:`UnknownProtocolError`.
SNIFF_LIMIT = 1 << 20


class StreamSummary(msgspec.Struct, kw_only=True, frozen=True):
    """What a gateway needs to know about one stream once it has ended.

    Times are in seconds from the start of the stream (the first read
    requested); ``None`` where the event never happened.
    """

    protocol: Protocol | None
    """``"chat"``, ``"responses"`` or ``"anthropic"``; ``None`` if no event showed it."""
    result: Any
    """The folded result: a ``ChatCompletion``, ``Response`` or ``Message``;
    ``None`` when the protocol never showed."""
    usage: Any
    """The protocol's own usage object (``CompletionUsage``, ``ResponseUsage``,
    ``Usage``) as the provider last sent it, or ``None``."""
    token_usage: TokenUsage | None
    """The same usage in the shape every protocol shares."""
    usage_source: Literal["provider", "missing"]
    status: Status
    """The accumulator's status, or ``"cancelled"`` if the client went away."""
    error: BaseException | None
    """The API error the stream carried, or the upstream's transport error."""
    model: str | None = None
    """The model the response named."""
    request_model: str | None = None
    """The model the request asked for (the middleware reads the request body)."""
    response_id: str | None = None
    finish_reasons: tuple[str, ...] = ()
    """Chat: each choice's ``finish_reason``; Responses: the incomplete reason
    or final status; Anthropic: the ``stop_reason``."""
    started_at: int = 0
    """Wall-clock time the stream started, in ns since the epoch."""
    time_to_first_byte: float | None
    time_to_first_token: float | None
    """Up to the first event carrying content, reasoning, refusal, audio or a
    tool call: a role-only chunk or a lifecycle event does not count."""
    duration: float
    tokens_per_second: float | None
    """Output tokens (from usage, else events) over the time from first to last token."""
    max_gap: float
    """The longest wait between two reads."""
    bytes: int
    chunks: int
    """Events folded."""

    @property
    def completion(self) -> Any:
        """The folded result, under its first name (:attr:`result`)."""
        return self.result


class StreamMeter:
    """Folds one stream's reads and summarises it; what :func:`tap` and the
    middleware share. Never raises from :meth:`feed`: metering must not break
    the stream it meters.

    ``protocol`` is the stream's protocol, or ``None`` (``"auto"``) to tell it
    from the first event that decides (:func:`detect_protocol`): reads are
    kept until then, at most :data:`SNIFF_LIMIT` bytes. ``start_ns`` is when
    the stream's request started, on the ``time.monotonic_ns()`` clock
    (default: now); every time in the summary counts from it.
    """

    __slots__ = (
        "_acc",
        "_describe",
        "_fold",
        "_held",
        "_last",
        "_max_gap",
        "_protocol",
        "_request_model",
        "_sniffed",
        "_sniffer",
        "_start",
        "_started_at",
        "summary",
    )

    def __init__(
        self,
        *,
        protocol: Protocol | None = None,
        request_model: str | None = None,
        start_ns: int | None = None,
    ) -> None:
        now = time.monotonic_ns()
        self._start = self._last = now if start_ns is None else min(start_ns, now)
        self._started_at = time.time_ns() - (now - self._start)
        self._max_gap = 0
        self._request_model = request_model
        self._acc: Any = None
        self._fold: Callable[[bytes | bytearray | memoryview], object] | None = None
        self._protocol: Protocol | None = None
        self._held: bytearray | None = None
        self._sniffer: SSEDecoder | None = None
        self._sniffed = 0
        if protocol is None:
            self._held = bytearray()
            self._sniffer = SSEDecoder()
        else:
            self._start_fold(protocol)
        self.summary: StreamSummary | None = None

    def _start_fold(self, protocol: Protocol) -> None:
        self._protocol = protocol
        self._acc, self._describe = fold_for(protocol)
        self._fold = self._acc.feed

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Meters one read."""
        # Runs once per read: plain comparisons, no builtin calls.
        now = monotonic_ns()
        gap = now - self._last
        if gap > self._max_gap:
            self._max_gap = gap
        self._last = now
        fold = self._fold
        try:
            if fold is not None:
                fold(data)
            else:
                self._sniff(data)
        except Exception:  # pragma: no cover - strict=False folds everything
            log.exception("chunkfold could not meter a read")

    def _sniff(self, data: bytes | bytearray | memoryview) -> None:
        self._sniffed += len(data)
        held, sniffer = self._held, self._sniffer
        if held is None or sniffer is None:
            return
        held.extend(data)
        try:
            events = sniffer.feed(data)
        except ChunkfoldError:
            events = []
        for event in events:
            protocol = detect_protocol(first_event=event.raw)
            if protocol is not None:
                self._held = self._sniffer = None
                self._start_fold(protocol)
                self._acc.feed(bytes(held))
                return
        if len(held) > SNIFF_LIMIT:
            self._held = self._sniffer = None

    def close(self, *, cancelled: bool = False, error: BaseException | None = None) -> StreamSummary:
        """Ends the stream and returns its summary (the same one if called again)."""
        if self.summary is not None:
            return self.summary
        if self._acc is None:
            self.summary = self._undecided(cancelled, error)
            return self.summary
        acc = self._acc
        result = acc.finish()
        model, response_id, finish_reasons = self._describe(result)
        now = time.monotonic_ns()
        status: Status = "cancelled" if cancelled else "error" if error is not None else acc.status
        usage = acc.usage
        token_usage = acc.token_usage
        self.summary = StreamSummary(
            protocol=self._protocol,
            result=result,
            usage=usage,
            token_usage=token_usage,
            usage_source="provider" if usage is not None else "missing",
            status=status,
            error=error if error is not None else acc.error,
            model=model,
            request_model=self._request_model,
            response_id=response_id,
            finish_reasons=finish_reasons,
            started_at=self._started_at,
            time_to_first_byte=self._since(acc.first_byte_ns),
            time_to_first_token=self._since(acc.first_token_ns),
            duration=(now - self._start) / 1e9,
            tokens_per_second=_rate(acc, token_usage),
            max_gap=self._max_gap / 1e9,
            bytes=acc.bytes,
            chunks=acc.chunks,
        )
        return self.summary

    def _undecided(self, cancelled: bool, error: BaseException | None) -> StreamSummary:
        size = self._sniffed
        if error is None and not cancelled and size:
            error = UnknownProtocolError(f"the stream's {size} bytes never showed its protocol", offset=size)
        status: Status = "cancelled" if cancelled else "error" if error is not None else "truncated"
        return StreamSummary(
            protocol=None,
            result=None,
            usage=None,
            token_usage=None,
            usage_source="missing",
            status=status,
            error=error,
            request_model=self._request_model,
            started_at=self._started_at,
            time_to_first_byte=None,
            time_to_first_token=None,
            duration=(time.monotonic_ns() - self._start) / 1e9,
            tokens_per_second=None,
            max_gap=self._max_gap / 1e9,
            bytes=size,
            chunks=0,
        )

    def _since(self, ns: int | None) -> float | None:
        return None if ns is None else (ns - self._start) / 1e9


def _rate(acc: Any, usage: TokenUsage | None) -> float | None:
    first, last = acc.first_token_ns, acc.last_token_ns
    if first is None or last is None or last <= first:
        return None
    tokens = usage.output if usage is not None and usage.output else acc.chunks
    return float(tokens / ((last - first) / 1e9))


def _call(callback: Callable[..., Any] | None, *args: Any) -> Any:
    """Runs a callback; one that raises is logged, never propagated."""
    if callback is None:
        return None
    try:
        return callback(*args)
    except Exception:
        log.exception("chunkfold.gateway callback %r raised", callback)
        return None


async def acall(callback: Callable[..., Any] | None, *args: Any) -> None:
    result = _call(callback, *args)
    if inspect.isawaitable(result):
        try:
            await result
        except Exception:
            log.exception("chunkfold.gateway callback %r raised", callback)


@overload
def tap(
    source: AsyncIterable[B],
    /,
    *,
    on_complete: Callback | None = ...,
    on_error: ErrorCallback | None = ...,
    protocol: Protocol | Literal["auto"] = ...,
    path: str | None = ...,
    request_model: str | None = ...,
    start_ns: int | None = ...,
) -> AsyncIterator[B]: ...
@overload
def tap(
    source: Iterable[B],
    /,
    *,
    on_complete: Callback | None = ...,
    on_error: ErrorCallback | None = ...,
    protocol: Protocol | Literal["auto"] = ...,
    path: str | None = ...,
    request_model: str | None = ...,
    start_ns: int | None = ...,
) -> Iterator[B]: ...
def tap(
    source: Iterable[B] | AsyncIterable[B],
    /,
    *,
    on_complete: Callback | None = None,
    on_error: ErrorCallback | None = None,
    protocol: Protocol | Literal["auto"] = "auto",
    path: str | None = None,
    request_model: str | None = None,
    start_ns: int | None = None,
) -> Iterator[B] | AsyncIterator[B]:
    """Yields every read of ``source`` unchanged and at once, metering on the side.

    When the stream ends, ``on_complete`` receives the :class:`StreamSummary`,
    exactly once: after ``[DONE]`` and EOF, after an upstream error (which
    ``on_error`` also receives, and which is re-raised to the client), and
    when the client goes away (``close()``/``aclose()`` or cancellation:
    status ``"cancelled"``). Async callbacks are awaited in the async form. A
    callback that raises is logged and never breaks the stream.

    ``protocol`` is ``"chat"``, ``"responses"``, ``"anthropic"`` or
    ``"auto"``: the request ``path`` decides (``/v1/responses``...) or,
    failing that, the stream's first deciding event
    (:func:`~chunkfold.gateway.detect_protocol`). ``request_model`` is copied
    into the summary. ``start_ns`` is when the request was sent upstream
    (``time.monotonic_ns()``; default: when ``tap`` is called): pass it so
    that durations and time to first token include the wait for the
    response headers.
    """
    if protocol == "auto":
        chosen = detect_protocol(path=path)
    elif protocol in PROTOCOLS:
        chosen = protocol
    else:
        raise ValueError(f"protocol must be one of {(*PROTOCOLS, 'auto')}, not {protocol!r}")
    meter = StreamMeter(protocol=chosen, request_model=request_model, start_ns=start_ns)
    if isinstance(source, AsyncIterable):
        return _atap(source, meter, on_complete, on_error)
    return _tap(source, meter, on_complete, on_error)


def _tap(
    source: Iterable[B], meter: StreamMeter, on_complete: Callback | None, on_error: ErrorCallback | None
) -> Iterator[B]:
    error: BaseException | None = None
    cancelled = False
    pending = None
    feed = meter.feed
    try:
        for pending in source:
            yield pending  # to the client first: metering adds no latency
            feed(pending)
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
    source: AsyncIterable[B], meter: StreamMeter, on_complete: Callback | None, on_error: ErrorCallback | None
) -> AsyncIterator[B]:
    import asyncio

    error: BaseException | None = None
    cancelled = False
    pending = None
    feed = meter.feed
    try:
        async for pending in source:
            yield pending  # to the client first: metering adds no latency
            feed(pending)
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
            await acall(on_error, error, summary)
        await acall(on_complete, summary)


def summary_line(summary: StreamSummary, **fields: Any) -> str:
    """One log line for a stream: status, usage, timings and ``fields``."""
    usage = summary.token_usage
    record = {
        **fields,
        "protocol": summary.protocol,
        "status": summary.status,
        "model": summary.model,
        "input_tokens": usage.input if usage else None,
        "output_tokens": usage.output if usage else None,
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
