"""``StreamMeterMiddleware``: meter an ASGI app's event streams without changing a byte."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from chunkfold.gateway.meter import StreamMeter, StreamSummary, acall
from chunkfold.gateway.protocols import detect_protocol

__all__ = ["StreamMeterMiddleware"]

_MAX_REQUEST_BODY = 1 << 20


class _RequestModel(msgspec.Struct, gc=False):
    model: Any = None


_request_model_decoder = msgspec.json.Decoder(_RequestModel)


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StreamMeterMiddleware:
    """Pure ASGI middleware that meters the ``text/event-stream`` responses
    of LLM routes without changing a byte.

    The route decides the protocol (:func:`detect_protocol`): Chat
    Completions, Responses or Anthropic Messages. Other responses, and other
    routes, pass through untouched. The request body's ``model`` becomes the
    summary's ``request_model`` (bodies over 1 MiB are not read for it).
    ``on_complete`` receives a :class:`StreamSummary` and the ASGI ``scope``
    (for the path, headers and client). The summary's times count from the
    request's arrival, so they include the wait for the response to start.

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
        paths: tuple[str, ...] = ("/chat/completions", "/responses", "/messages"),
    ) -> None:
        self.app = app
        self.on_complete = on_complete
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or not path.endswith(self.paths):
            await self.app(scope, receive, send)
            return
        start_ns = time.monotonic_ns()
        meter: StreamMeter | None = None
        body = bytearray()

        async def reading_receive() -> dict[str, Any]:
            message = await receive()
            if message.get("type") == "http.request" and len(body) <= _MAX_REQUEST_BODY:
                body.extend(message.get("body", b""))
            return message

        async def metering_send(message: dict[str, Any]) -> None:
            nonlocal meter
            if message["type"] == "http.response.start" and _is_event_stream(message):
                meter = StreamMeter(
                    protocol=detect_protocol(path=path), request_model=_request_model(body), start_ns=start_ns
                )
            elif message["type"] == "http.response.body" and meter is not None:
                meter.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    await self._complete(meter, scope)
                    return
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, reading_receive, metering_send)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if meter is not None and meter.summary is None:
                cancelled = error is None or isinstance(error, (asyncio.CancelledError, OSError))
                meter.close(cancelled=cancelled, error=None if cancelled else error)
                await self._complete(meter, scope)

    async def _complete(self, meter: StreamMeter, scope: dict[str, Any]) -> None:
        await acall(self.on_complete, meter.close(), scope)


def _request_model(body: bytearray) -> str | None:
    if not body or len(body) > _MAX_REQUEST_BODY:
        return None
    try:
        model = _request_model_decoder.decode(body).model
    except (msgspec.MsgspecError, RecursionError):
        return None
    return model if isinstance(model, str) else None


def _is_event_stream(message: dict[str, Any]) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).split(b";")[0].strip().lower() == b"text/event-stream"
    return False
