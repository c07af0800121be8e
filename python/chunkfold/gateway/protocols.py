"""Which protocol a stream speaks, and the accumulator that folds it.

A gateway carries three streaming protocols: OpenAI Chat Completions
(``"chat"``), OpenAI Responses (``"responses"``) and Anthropic Messages
(``"anthropic"``). :func:`detect_protocol` tells them apart from the request
path or, failing that, from the first event that decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

__all__ = ["PROTOCOLS", "Protocol", "detect_protocol", "fold_for", "sniff_protocol"]

Protocol = Literal["chat", "responses", "anthropic"]
#: Every protocol chunkfold folds.
PROTOCOLS: tuple[Protocol, ...] = ("chat", "responses", "anthropic")

_PATHS: tuple[tuple[str, Protocol], ...] = (
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/messages", "anthropic"),
)
# Anthropic's event types; "ping" and "error" are left out: proxies of any
# protocol send pings, and every protocol has an error shape.
_ANTHROPIC_TYPES = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    }
)


class _Head(msgspec.Struct, gc=False):
    type: Any = None
    object: Any = None
    choices: Any = msgspec.UNSET


_head_decoder = msgspec.json.Decoder(_Head)


def detect_protocol(
    *, path: str | None = None, first_event: bytes | str | Mapping[str, Any] | None = None
) -> Protocol | None:
    """The protocol of a stream, or ``None`` if neither argument decides.

    ``path`` is the request path (``/v1/chat/completions``, ``/v1/responses``,
    ``/v1/messages``; a query string is ignored); it decides first.
    ``first_event`` is an event's data (JSON text, or already decoded):
    ``response.*`` types are Responses, Anthropic's message and content-block
    types are Anthropic, and ``chat.completion.chunk`` or a ``choices`` field
    is Chat Completions. Pings, errors, ``[DONE]``, keep-alives and anything
    that is not a JSON object decide nothing.
    """
    if path is not None:
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, not {type(path).__name__}")
        route = path.split("?", 1)[0].rstrip("/")
        for suffix, protocol in _PATHS:
            if route.endswith(suffix):
                return protocol
    if first_event is None:
        return None
    if isinstance(first_event, Mapping):
        event = first_event
        head = _Head(event.get("type"), event.get("object"), event.get("choices", msgspec.UNSET))
    elif isinstance(first_event, (bytes, str)):
        try:
            head = _head_decoder.decode(first_event)
        except (msgspec.MsgspecError, RecursionError):
            return None
    else:
        raise TypeError(f"first_event must be bytes, str or a mapping, not {type(first_event).__name__}")
    return _decide(head)


def sniff_protocol(body: bytes | bytearray | memoryview, /) -> Protocol | None:
    """The protocol of a captured stream: :func:`detect_protocol` on each of
    its events in turn (the first 1 MiB), until one decides."""
    from chunkfold._core import SSEDecoder
    from chunkfold.errors import ChunkfoldError

    decoder = SSEDecoder()
    try:
        events = decoder.feed(bytes(body[: 1 << 20]) + b"\n\n")
    except ChunkfoldError as exc:
        events = list(exc.decoded or [])
    for event in events:
        protocol = detect_protocol(first_event=event.raw)
        if protocol is not None:
            return protocol
    return None


def _decide(head: _Head) -> Protocol | None:
    kind = head.type
    if isinstance(kind, str):
        if kind.startswith("response."):
            return "responses"
        if kind in _ANTHROPIC_TYPES:
            return "anthropic"
    if head.object == "chat.completion.chunk" or head.choices is not msgspec.UNSET:
        return "chat"
    return None


#: What the gateway reads off a folded result: model, id and finish reasons.
Describe = Callable[[Any], tuple[str | None, str | None, tuple[str, ...]]]


def fold_for(protocol: Protocol) -> tuple[Any, Describe]:
    """A lenient (``strict=False``) accumulator for ``protocol``, and how to
    describe its result. Protocols are imported only when first used.

    Raises ``ValueError`` for a name not in :data:`PROTOCOLS`."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    if protocol == "chat":
        from chunkfold.chat.accumulate import ChatCompletionAccumulator

        return ChatCompletionAccumulator(strict=False), _describe_chat
    if protocol == "responses":
        from chunkfold.responses import ResponseAccumulator

        return ResponseAccumulator(strict=False), _describe_response
    from chunkfold.anthropic import MessageAccumulator

    return MessageAccumulator(strict=False), _describe_message


def _describe_chat(result: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    reasons = tuple(c.finish_reason for c in result.choices if c.finish_reason)
    return result.model or None, result.id or None, reasons


def _describe_response(result: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    details = result.incomplete_details
    reason = getattr(details, "reason", None)
    status = result.status if isinstance(result.status, str) else None
    reasons = (reason,) if isinstance(reason, str) else (status,) if status else ()
    return result.model or None, result.id or None, reasons


def _describe_message(result: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    reason = result.stop_reason
    return result.model or None, result.id or None, (reason,) if isinstance(reason, str) else ()
