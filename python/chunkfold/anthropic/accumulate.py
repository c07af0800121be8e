"""``MessageAccumulator``: fold an Anthropic stream into the final ``Message``."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import msgspec

from chunkfold import _core
from chunkfold._fold import UNDECODABLE, _Fold, undecodable_result
from chunkfold.anthropic.decoder import _api_error
from chunkfold.anthropic.events import (
    BlockStopped,
    InputJSONReceived,
    MessageStreamEvent,
    StopReasonReceived,
    TextReceived,
    ThinkingReceived,
    UsageUpdated,
)
from chunkfold.anthropic.models import (
    Message,
    MessageDeltaUsage,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
    UnknownBlock,
    UnknownDelta,
    UnknownEvent,
    Usage,
    decode_message,
    decode_usage,
)
from chunkfold.errors import StreamAPIError
from chunkfold.partial_json import PartialJSON, PartialJSONError
from chunkfold.usage import TokenUsage

__all__ = ["MessageAccumulator", "token_usage"]

_encoder = msgspec.json.Encoder()


class MessageAccumulator(_Fold[MessageStreamEvent]):
    """Folds one Anthropic Messages stream into its final :class:`Message`.

    ``feed(bytes)`` is the fast path: framing, JSON reading and folding all
    happen in Rust, with no Python object per event; the per-event cost grows
    neither with the stream nor with a tool's input, whose
    ``input_json_delta`` fragments are appended to one buffer and parsed once
    at ``content_block_stop``. ``add(event)`` folds an already decoded event
    with the same rules. The merge rules are the README's table.

    An ``error`` event never raises: it sets ``status`` to ``"error"`` and is
    kept in ``error``, with everything folded before it. A payload that is
    not JSON raises :class:`ChunkDecodeError` after everything else in that
    input was folded (``strict=False`` skips and counts it instead); the fold
    state is never lost, and ``snapshot()`` and ``finish()`` keep working.

    Threads may share an accumulator: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.

    Args:
        strict: raise on malformed payloads and oversized events.
        events: make ``feed``/``add`` return typed events
            (:mod:`chunkfold.anthropic.events`).
        partial_json: keep an incremental parse of every tool block's input,
            read with :meth:`tool_input`; O(total length) over the stream.
        max_event_size: the largest SSE event accepted, in bytes (default
            ``chunkfold.DEFAULT_MAX_EVENT_SIZE``, 16 MiB).
    """

    __slots__ = ()

    _core: _core.MessageAccumulator
    _partial: dict[int, PartialJSON] | None

    def __init__(
        self,
        *,
        strict: bool = True,
        events: bool = False,
        partial_json: bool = False,
        max_event_size: int | None = None,
    ) -> None:
        core = _core.MessageAccumulator(
            max_event_size=max_event_size, events=events or partial_json, strict=strict
        )
        super().__init__(core, strict=strict, events=events, partial_json=partial_json)

    def add(self, event: RawMessageStreamEvent, /) -> list[MessageStreamEvent]:
        """Folds one decoded event, exactly as ``feed`` would fold its bytes."""
        return self.add_json(encode_event(event))

    def snapshot(self) -> Message:
        """The message as folded so far. A tool input still streaming is the
        start's (``{}``), with the text so far in ``input_json``."""
        raw = self._core.snapshot_json()
        try:
            return decode_message(raw, lenient=True)
        except UNDECODABLE as exc:  # pragma: no cover - the fold checks what it copies (validate.rs)
            raise undecodable_result(raw, self.bytes, exc) from exc

    def finish(self) -> Message:
        """Ends the stream and returns the final message.

        Open tool inputs are parsed now. The message is complete and usable
        after a cut-off stream too; ``status`` tells how the stream ended.
        """
        self._core.finish()
        return self.snapshot()

    @staticmethod
    def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
        """An ``error`` event, or the protocol error of a second ``message_start``."""
        return _api_error(payload, offset, "error" if is_event else "message")

    @property
    def usage(self) -> Usage | None:
        """The usage so far (each counter the last non-null value sent), or
        ``None`` if none arrived."""
        raw = self._core.usage_json()
        return None if raw is None else decode_usage(raw)

    @property
    def token_usage(self) -> TokenUsage | None:
        """The usage in the shape every protocol shares, or ``None``.

        ``input`` adds the cache reads and writes back to Anthropic's
        ``input_tokens``; a counter never reported stays ``None``.
        """
        usage = self.usage
        return None if usage is None else token_usage(usage)

    def usage_json(self) -> bytes | None:
        """The usage so far as one JSON object: every counter and object the
        provider sent (``iterations``, ``service_tier``, ...), and Bedrock's
        ``amazon-bedrock-invocationMetrics`` if it came."""
        return self._core.usage_json()

    @property
    def status(self) -> str:
        """``"in_progress"``, ``"done"`` (``message_stop`` seen),
        ``"incomplete"`` (stop reason ``max_tokens`` or
        ``model_context_window_exceeded``), ``"finished"`` (another stop
        reason, no ``message_stop``), ``"error"`` or ``"truncated"``."""
        return self._core.status

    @property
    def model(self) -> str | None:
        """The model ``message_start`` gave."""
        return self._core.model

    @property
    def response_id(self) -> str | None:
        """The message id ``message_start`` gave."""
        return self._core.response_id

    @property
    def stop_reason(self) -> str | None:
        """The last non-null stop reason."""
        return self._core.stop_reason

    @property
    def finish_reasons(self) -> list[str]:
        """``[stop_reason]``, or ``[]`` before one arrived."""
        reason = self._core.stop_reason
        return [] if reason is None else [reason]

    @property
    def done(self) -> bool:
        """Whether ``message_stop`` was seen."""
        return self._core.done

    @property
    def chunks(self) -> int:
        """Event payloads folded."""
        return self._core.counts[0]

    @property
    def skipped(self) -> int:
        """Malformed payloads skipped with ``strict=False`` (in strict mode each
        one raises instead, and this stays 0)."""
        return 0 if self._strict else self._core.counts[1]

    @property
    def ignored(self) -> int:
        """Events that changed nothing: ``ping``, unknown types, events
        without the fields they need, events after a protocol error."""
        return self._core.counts[2]

    @property
    def renamed(self) -> int:
        """Events whose ``event:`` line disagreed with their JSON ``type``
        (the ``type`` wins)."""
        return self._core.counts[3]

    @property
    def mismatched_deltas(self) -> int:
        """Deltas of the wrong kind for their block (kept, and counted here)."""
        return self._core.counts[4]

    @property
    def invalid_inputs(self) -> int:
        """Tool inputs whose argument text is not a JSON object."""
        return self._core.counts[5]

    @property
    def unknown_deltas(self) -> int:
        """Deltas of an unknown type (nothing changed)."""
        return self._core.counts[6]

    @property
    def bytes(self) -> int:
        """Bytes fed."""
        return self._core.counts[7]

    def tool_input(self, index: int) -> Any:
        """The current parse of the tool block ``index``'s input while it
        streams (``partial_json=True`` only); ``None`` before any text.

        Incomplete strings show as far as they arrived; incomplete numbers
        and dangling keys are left out. Text that turns out not to be JSON
        keeps its last good view. The value is the parser's own, updated in
        place: copy it to keep a moment's view, and do not modify it.
        """
        if self._partial is None:
            raise ValueError("tool_input() needs MessageAccumulator(partial_json=True)")
        assert self._lock is not None
        with self._lock:
            parser = self._partial.get(index)
            return None if parser is None else parser.value

    @staticmethod
    def _convert(raw: list[tuple[str, int, str | None, str | None]]) -> list[MessageStreamEvent]:
        return [_event(*item) for item in raw]

    @staticmethod
    def _feed_partial(
        partial: dict[int, PartialJSON], raw: list[tuple[str, int, str | None, str | None]]
    ) -> None:
        for kind, index, _, text in raw:
            if kind == "input_json" and text:
                parser = partial.setdefault(index, PartialJSON())
                with suppress(PartialJSONError):  # not JSON: the last good view stays
                    parser.feed(text)


def _event(kind: str, index: int, name: str | None, text: str | None) -> MessageStreamEvent:
    if kind == "text":
        return TextReceived(index=index, delta=text or "")
    if kind == "thinking":
        return ThinkingReceived(index=index, delta=text or "")
    if kind == "input_json":
        return InputJSONReceived(index=index, name=name or "", delta=text or "")
    if kind == "block_stop":
        return BlockStopped(index=index)
    if kind == "stop_reason":
        return StopReasonReceived(stop_reason=text or "")
    if kind == "usage":
        usage = decode_usage((text or "{}").encode())
        fields = {f: getattr(usage, f) for f in usage.__struct_fields__}
        if fields["input_tokens"] is None:
            fields["input_tokens"] = msgspec.UNSET
        return UsageUpdated(usage=MessageDeltaUsage(**fields))
    raise ValueError(f"unknown event kind {kind!r}")  # pragma: no cover


def _unknown_raw(value: UnknownBlock | UnknownDelta) -> Any:
    return msgspec.json.decode(value.raw)


def encode_event(event: RawMessageStreamEvent, /) -> bytes:
    """Encodes an event as its JSON payload, unknown types as they came."""
    if isinstance(event, UnknownEvent):
        return bytes(event.raw)
    if isinstance(event, RawContentBlockDeltaEvent) and isinstance(event.delta, UnknownDelta):
        return _encoder.encode(
            {"type": "content_block_delta", "index": event.index, "delta": _unknown_raw(event.delta)}
        )
    if isinstance(event, RawContentBlockStartEvent) and isinstance(event.content_block, UnknownBlock):
        block = _unknown_raw(event.content_block)
        return _encoder.encode({"type": "content_block_start", "index": event.index, "content_block": block})
    if isinstance(event, RawMessageStartEvent) and any(
        isinstance(b, UnknownBlock) for b in event.message.content
    ):
        message = msgspec.to_builtins(event.message)
        message["content"] = [
            _unknown_raw(b) if isinstance(b, UnknownBlock) else msgspec.to_builtins(b)
            for b in event.message.content
        ]
        return _encoder.encode({"type": "message_start", "message": message})
    return _encoder.encode(event)


def token_usage(usage: Usage | MessageDeltaUsage, /) -> TokenUsage:
    """Anthropic usage in the shared :class:`TokenUsage` shape.

    ``input`` = ``input_tokens`` + ``cache_read_input_tokens`` +
    ``cache_creation_input_tokens`` (Anthropic's ``input_tokens`` leaves the
    cache out); ``total`` = ``input`` + ``output``. Bedrock's invocation
    metrics are used only when no Anthropic counter arrived.
    """
    fresh = _count(usage.input_tokens)
    read = _count(usage.cache_read_input_tokens)
    written = _count(usage.cache_creation_input_tokens)
    output = _count(usage.output_tokens)
    details = usage.output_tokens_details
    reasoning = details.thinking_tokens if details and not isinstance(details, msgspec.UnsetType) else None
    reasoning = _count(reasoning)
    metrics = usage.bedrock_metrics
    if fresh is read is written is output is None and isinstance(metrics, dict):
        fresh = _count(metrics.get("inputTokenCount"))
        read = _count(metrics.get("cacheReadInputTokenCount"))
        written = _count(metrics.get("cacheWriteInputTokenCount"))
        output = _count(metrics.get("outputTokenCount"))
    parts = [n for n in (fresh, read, written) if n is not None]
    total_input = sum(parts) if parts else None
    totals = [n for n in (total_input, output) if n is not None]
    return TokenUsage(
        input=total_input,
        cached_input=read,
        cache_creation_input=written,
        output=output,
        reasoning=reasoning,
        total=sum(totals) if totals else None,
    )


def _count(value: object) -> int | None:
    """An integer counter, or ``None`` (not reported, or not an integer)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
