"""``ResponseAccumulator``: fold a Responses API stream into the final ``Response``."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import msgspec

from chunkfold import _core
from chunkfold._fold import UNDECODABLE, _Fold, undecodable_result
from chunkfold.errors import StreamAPIError
from chunkfold.events import (
    ArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    OutputRefusalDelta,
    OutputTextDelta,
    ReasoningTextDelta,
    ResponseUsageReceived,
    StreamEvent,
)
from chunkfold.partial_json import PartialJSON, PartialJSONError
from chunkfold.responses.models import (
    Response,
    ResponseError,
    ResponseStreamEvent,
    ResponseUsage,
    decode_response,
    encode,
)
from chunkfold.usage import TokenUsage

__all__ = ["ResponseAccumulator"]

_usage_decoder = msgspec.json.Decoder(ResponseUsage)
_any_decoder = msgspec.json.Decoder()


class ResponseAccumulator(_Fold[StreamEvent]):
    """Folds one OpenAI Responses API stream into its final :class:`Response`.

    ``feed(bytes)`` is the fast path: SSE framing, a lazy JSON read of each
    event and the merge rules (the README's table) all run in Rust, with no
    Python object per event; the cost per event does not grow with the
    stream. ``add(event)`` folds an already decoded event the same way.

    ``finish()`` returns the ``Response`` however the stream ended: after a
    cut-off, incomplete or failed stream it holds everything that arrived,
    and ``status`` says how it ended: ``"done"`` (``response.completed``),
    ``"incomplete"`` (``response.incomplete``; the reason is in
    ``finish_reasons``), ``"error"`` (an ``error`` event or
    ``response.failed``), ``"truncated"`` (the stream ended before a terminal
    event) or ``"in_progress"``.

    API errors in the stream do not raise: they set ``status`` and are kept
    in ``error``. A payload that is not JSON raises :class:`ChunkDecodeError`
    naming its byte offset, after everything else in that read was folded
    (``strict=False`` skips and counts it instead).

    Threads may share an accumulator: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.

    Args:
        strict: raise on malformed payloads and oversized events.
        events: make ``feed``/``add`` return typed events (:mod:`chunkfold.events`).
        partial_json: keep an incremental parse of every function, MCP and
            tool search call's arguments, read with :meth:`tool_arguments`.
        keep_audio: keep ``response.audio.delta`` data (by default it is
            only counted, in ``audio_bytes``).
        max_event_size: the largest SSE event accepted, in bytes (default
            ``chunkfold.DEFAULT_MAX_EVENT_SIZE``, 16 MiB).
    """

    __slots__ = ()

    _core: _core.ResponseFold
    _partial: dict[int, _Arguments] | None

    def __init__(
        self,
        *,
        strict: bool = True,
        events: bool = False,
        partial_json: bool = False,
        keep_audio: bool = False,
        max_event_size: int | None = None,
    ) -> None:
        core = _core.ResponseFold(
            max_event_size=max_event_size, events=events or partial_json, keep_audio=keep_audio, strict=strict
        )
        super().__init__(core, strict=strict, events=events, partial_json=partial_json)

    def add(self, event: ResponseStreamEvent, /) -> list[StreamEvent]:
        """Folds one decoded event, exactly as ``feed`` would fold its bytes."""
        return self.add_json(encode(event))

    def snapshot(self) -> Response:
        """The response as folded so far."""
        raw = self._core.snapshot_json()
        try:
            response = decode_response(raw)
        except UNDECODABLE as exc:
            raise undecodable_result(raw, self.bytes, exc) from exc
        error = self.error
        if error is not None and not isinstance(response.error, ResponseError):
            response.error = ResponseError(code=str(error.code or error.type or ""), message=error.message)
        return response

    def finish(self) -> Response:
        """Ends the stream and returns the final response (usable after a
        cut-off stream too; ``status`` tells how it ended)."""
        self._core.finish()
        return self.snapshot()

    @staticmethod
    def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
        """An ``error`` event (flat or nested shape, with every field it had),
        else the ``error`` of a ``response.failed``."""
        return _api_error(payload, is_event, offset)

    @property
    def usage(self) -> ResponseUsage | None:
        """The usage of the last response object that carried one, or ``None``."""
        raw = self._core.usage_json()
        return None if raw is None else _usage_decoder.decode(raw)

    def usage_json(self) -> bytes | None:
        """That usage exactly as the provider sent it, with any counters
        beyond the typed ones (xAI's ``cost_in_usd_ticks``, ``num_sources_used``)."""
        return self._core.usage_json()

    @property
    def token_usage(self) -> TokenUsage | None:
        """The usage in the shape every protocol shares, or ``None``.

        ``input`` is ``input_tokens`` (cached tokens included), ``cached_input``
        ``input_tokens_details.cached_tokens``, ``cache_creation_input``
        ``input_tokens_details.cache_write_tokens``, ``reasoning``
        ``output_tokens_details.reasoning_tokens``; a counter the provider did
        not send stays ``None``.
        """
        raw = self._core.usage_json()
        return None if raw is None else _token_usage(_raw_usage_decoder.decode(raw))

    @property
    def status(self) -> str:
        """``"in_progress"``, ``"done"``, ``"incomplete"``, ``"error"`` or ``"truncated"``."""
        return self._core.status

    @property
    def finish_reasons(self) -> list[str]:
        """``[status]`` of the terminal event (``"completed"``, ``"failed"``) or,
        for ``response.incomplete``, its reason (``"max_output_tokens"``);
        empty before a terminal event."""
        reason = self._core.finish_reason
        return [] if reason is None else [reason]

    @property
    def model(self) -> str | None:
        """The response's model as the stream gave it."""
        return self._core.meta[1] or None

    @property
    def response_id(self) -> str | None:
        """The response's id as the stream gave it."""
        return self._core.meta[0] or None

    @property
    def done(self) -> bool:
        """Whether a terminal event (``response.completed``, ``.incomplete``, ``.failed``) was seen."""
        return self._core.done

    @property
    def chunks(self) -> int:
        """Events folded (duplicates and events after the terminal one are not)."""
        return self._core.chunks

    @property
    def bytes(self) -> int:
        """Bytes fed."""
        return self._core.bytes

    @property
    def skipped(self) -> int:
        """Malformed payloads skipped with ``strict=False`` (0 when strict)."""
        return 0 if self._strict else self._core.skipped

    @property
    def duplicates(self) -> int:
        """Events skipped because their ``sequence_number`` was at or below
        the last seen (a resumed stream's repeats)."""
        return self._core.counts[0]

    @property
    def sequence_gaps(self) -> int:
        """Forward jumps of more than one in ``sequence_number``."""
        return self._core.counts[1]

    @property
    def item_id_mismatches(self) -> int:
        """Events whose ``item_id`` disagreed with the item at their ``output_index``."""
        return self._core.counts[2]

    @property
    def id_changes(self) -> int:
        """Response objects whose ``id`` differed from the first one's."""
        return self._core.counts[3]

    @property
    def ignored(self) -> int:
        """``keepalive``, ``ping`` and unknown events, which change nothing."""
        return self._core.counts[4]

    @property
    def audio_transcript(self) -> str | None:
        """The response's audio transcript (audio transcript events carry no item)."""
        return self._core.audio[0]

    @property
    def audio(self) -> str | None:
        """The base64 audio data (``keep_audio=True`` only)."""
        return self._core.audio[1]

    @property
    def audio_bytes(self) -> int:
        """Length of the base64 audio data received, kept or not."""
        return self._core.audio[2]

    def tool_arguments(self) -> dict[int, Any]:
        """The current parse of each call's arguments by ``output_index``, while
        they stream (``partial_json=True`` only).

        Incomplete strings show as far as they arrived; arguments that turn
        out not to be JSON keep their last good view. A ``*.done`` value that
        differs from the deltas replaces the parse. The values are the
        parser's own, updated in place: copy them to keep a moment's view.
        """
        if self._partial is None:
            raise ValueError("tool_arguments() needs ResponseAccumulator(partial_json=True)")
        assert self._lock is not None
        with self._lock:
            return {index: args.parser.value for index, args in sorted(self._partial.items())}

    @staticmethod
    def _convert(raw: list[tuple[str, int, int, str | None, str]]) -> list[StreamEvent]:
        return [event for event in map(_event, raw) if event is not None]

    @staticmethod
    def _feed_partial(
        partial: dict[int, _Arguments], raw: list[tuple[str, int, int, str | None, str]]
    ) -> None:
        for kind, output_index, _, _, text in raw:
            if kind == "arguments" and text:
                partial.setdefault(output_index, _Arguments()).feed(text)
            elif kind == "arguments_done":
                args = partial.get(output_index)
                if args is None or "".join(args.pieces) != text:
                    partial[output_index] = args = _Arguments()
                    args.feed(text)


class _Arguments:
    """One call's arguments: their incremental parse, and the text so far."""

    __slots__ = ("parser", "pieces")

    def __init__(self) -> None:
        self.parser = PartialJSON()
        self.pieces: list[str] = []

    def feed(self, text: str) -> None:
        self.pieces.append(text)
        with suppress(PartialJSONError):  # not JSON after all: the last good view stays
            self.parser.feed(text)


def _event(raw: tuple[str, int, int, str | None, str]) -> StreamEvent | None:
    kind, output_index, index, name, text = raw
    if kind == "output_text":
        return OutputTextDelta(output_index=output_index, content_index=index, delta=text)
    if kind == "refusal":
        return OutputRefusalDelta(output_index=output_index, content_index=index, delta=text)
    if kind in ("reasoning_text", "summary_text"):
        summary = kind == "summary_text"
        return ReasoningTextDelta(output_index=output_index, index=index, summary=summary, delta=text)
    if kind == "arguments":
        return ArgumentsDelta(output_index=output_index, name=name or "", delta=text)
    if kind == "item_added":
        return OutputItemAdded(output_index=output_index, item_type=name or "", item_id=text)
    if kind == "item_done":
        return OutputItemDone(output_index=output_index, item_type=name or "", item_id=text)
    if kind == "usage":
        return ResponseUsageReceived(usage=_usage_decoder.decode(text))
    return None  # arguments_done: for partial_json only


class _RawInputDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class _RawOutputDetails(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = None


class _RawUsage(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: _RawInputDetails | None = None
    output_tokens_details: _RawOutputDetails | None = None


_raw_usage_decoder = msgspec.json.Decoder(_RawUsage)


def _token_usage(raw: _RawUsage) -> TokenUsage:
    inputs = raw.input_tokens_details or _RawInputDetails()
    outputs = raw.output_tokens_details or _RawOutputDetails()
    return TokenUsage(
        input=raw.input_tokens,
        cached_input=inputs.cached_tokens,
        cache_creation_input=inputs.cache_write_tokens,
        output=raw.output_tokens,
        reasoning=outputs.reasoning_tokens,
        total=raw.total_tokens,
    )


def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
    """The ``StreamAPIError`` for an ``error`` event (flat ``{code, message,
    param}`` or nested ``{error: {type, code, message, param}}``), a
    ``response.failed`` event, or an ``event: error`` that is not JSON."""
    try:
        obj: Any = _any_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError):
        text = payload.decode("utf-8", "replace")
        return StreamAPIError(text, raw=text, offset=offset)
    fields: Any = obj if isinstance(obj, dict) else {}
    if fields.get("type") == "response.failed":
        response = fields.get("response")
        fields = response.get("error") if isinstance(response, dict) else None
        fields = fields if isinstance(fields, dict) else {"message": "response.failed"}
    elif isinstance(fields.get("error"), dict):
        fields = fields["error"]
    message = fields.get("message")
    code = fields.get("code")
    kind = fields.get("type")
    param = fields.get("param")
    return StreamAPIError(
        str(message if message is not None else obj),
        type=kind if isinstance(kind, str) and kind != "error" else None,
        code=code if isinstance(code, (str, int)) else None,
        param=param if isinstance(param, str) else None,
        raw=obj,
        offset=offset,
    )
