"""``ChatCompletionAccumulator``: fold a stream into the final ``ChatCompletion``."""

from __future__ import annotations

import re
import threading
from contextlib import suppress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from chunkfold import _core
from chunkfold._fold import UNDECODABLE, front_feed, undecodable_result
from chunkfold.chat.decoder import raise_if_api_error
from chunkfold.chat.models import ChatCompletion, ChatCompletionChunk, Choice, ChoiceDelta, CompletionUsage
from chunkfold.errors import ChunkDecodeError, EventTooLargeError, StreamAPIError
from chunkfold.events import (
    ChoiceFinished,
    ContentDelta,
    ErrorReceived,
    LogprobsDelta,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    ToolArgumentsDelta,
    UsageReceived,
)
from chunkfold.partial_json import PartialJSON, PartialJSONError
from chunkfold.usage import TokenUsage

__all__ = ["ChatCompletionAccumulator"]

_completion_decoder = msgspec.json.Decoder(ChatCompletion)
_usage_decoder = msgspec.json.Decoder(CompletionUsage)
_any_decoder = msgspec.json.Decoder()
_tokens_decoder = msgspec.json.Decoder(list[dict[str, Any]])
_encoder = msgspec.json.Encoder()
# add(chunk) reads the fields of chunks of the common shape straight from
# these Structs, and encodes the others for the JSON reader.
_core.register_chat_models(
    ChatCompletionChunk, Choice, ChoiceDelta, msgspec.structs.astuple, msgspec.UNSET, _encoder.encode
)


class ChatCompletionAccumulator:
    """Folds one chat completion stream into its final :class:`ChatCompletion`.

    ``feed(bytes)`` is the fast path: framing, JSON reading and folding all
    happen in Rust, with no Python object per chunk; the per-chunk cost does
    not grow with the stream. ``add(chunk)`` folds an already decoded chunk
    with the same rules. The merge rules are the README's table.

    API errors in the stream do not raise: they set ``status`` to ``"error"``
    and are kept in ``error``, and whatever the error chunk carried (usage
    included) is folded. A payload that is not JSON raises
    :class:`ChunkDecodeError` after everything else in that input was folded
    (``strict=False`` skips and counts it instead); the fold state is never
    lost, and ``snapshot()`` and ``finish()`` keep working.

    Threads may share an accumulator: a call that overlaps another raises
    :class:`ConcurrentUseError` and changes nothing.

    Args:
        strict: raise on malformed payloads and oversized events.
        events: make ``feed``/``add`` return typed events
            (:mod:`chunkfold.events`).
        partial_json: keep an incremental parse of every tool call's
            arguments, read with :meth:`tool_arguments`; it costs O(total
            length) over the stream, never a re-parse per delta.
        max_event_size: the largest SSE event accepted, in bytes (default
            ``chunkfold.DEFAULT_MAX_EVENT_SIZE``, 16 MiB).
    """

    __slots__ = ("_core", "_error", "_events", "_front", "_strict")

    def __init__(
        self,
        *,
        strict: bool = True,
        events: bool = False,
        partial_json: bool = False,
        max_event_size: int | None = None,
    ) -> None:
        self._core = _core.Accumulator(
            max_event_size=max_event_size, events=events or partial_json, strict=strict
        )
        self._strict = strict
        self._error: StreamAPIError | None = None
        self._events = _Events(self._core, strict, events, partial_json) if events or partial_json else None
        # What ``feed`` and ``add`` call: with events off, the Rust methods
        # themselves (same arguments, same errors, an empty list), so that a
        # read costs no Python frame; with events on, ``_Events``.
        self._front: Any = self._core if self._events is None else self._events

    if TYPE_CHECKING:

        def feed(self, data: bytes | bytearray | memoryview, /) -> list[StreamEvent]:
            """Folds raw stream bytes, split anywhere."""

        def add(self, chunk: ChatCompletionChunk, /) -> list[StreamEvent]:
            """Folds one decoded chunk, exactly as ``feed`` would fold its bytes."""

    else:
        feed = front_feed
        add = property(
            attrgetter("_front.add_chunk"),
            doc="""``add(chunk, /)``: folds one decoded chunk, exactly as ``feed`` would
            fold its bytes, and returns its events (``[]`` with events off).""",
        )

    def add_json(self, payload: bytes, /) -> list[StreamEvent]:
        """Folds one chunk given as its JSON payload (the data of one event)."""
        self._core.add(payload)
        return [] if self._events is None else self._events.take()

    def snapshot(self) -> ChatCompletion:
        """The completion as folded so far.

        Parts the fold keeps as the provider sent them (``usage``, annotations,
        logprob tokens) that do not fit their type (``"prompt_tokens": "x"``)
        are left out, as unknown fields are: ``usage`` becomes ``None``, a bad
        annotation or token is dropped.
        """
        raw = self._core.snapshot_json()
        try:
            completion = _lenient(raw, _completion_decoder, ChatCompletion)
        except UNDECODABLE as exc:
            raise undecodable_result(raw, self.bytes, exc) from exc
        if completion is None:  # pragma: no cover - the fold writes its own fields typed
            raise ChunkDecodeError("the folded completion does not decode", offset=0, excerpt=raw[:200])
        return completion

    def finish(self) -> ChatCompletion:
        """Ends the stream and returns the final completion.

        It is complete and usable after a truncated stream too; ``status``
        tells how the stream ended.
        """
        self._core.finish()
        return self.snapshot()

    @property
    def usage(self) -> CompletionUsage | None:
        """The last usage the provider sent, or ``None``."""
        raw = self._core.usage_json()
        return None if raw is None else _lenient(raw, _usage_decoder, CompletionUsage)

    @property
    def token_usage(self) -> TokenUsage | None:
        """The last usage in the shape every protocol shares, or ``None``.

        ``prompt_tokens`` already includes cached tokens; a counter the
        provider did not send stays ``None``.
        """
        raw = self._core.usage_json()
        return None if raw is None else _token_usage(_raw_usage_decoder.decode(raw))

    def usage_json(self) -> bytes | None:
        """The last usage object exactly as the provider sent it, with any
        counters beyond the typed ones (DeepSeek's cache hits, OpenRouter's
        cost, Groq's timings)."""
        return self._core.usage_json()

    @property
    def status(self) -> str:
        """``"in_progress"``, ``"done"`` (``[DONE]`` seen), ``"finished"`` (every
        choice finished, no ``[DONE]``), ``"error"`` or ``"truncated"``."""
        return self._core.status

    @property
    def error(self) -> StreamAPIError | None:
        """The first API error the stream carried, or ``None``."""
        if self._events is not None:
            return self._events.api_error()
        if self._error is None:
            self._error = _first_error(self._core)
        return self._error

    @property
    def done(self) -> bool:
        """Whether ``[DONE]`` was seen."""
        return self._core.done

    @property
    def chunks(self) -> int:
        """Chunk payloads folded."""
        return self._core.chunks

    @property
    def bytes(self) -> int:
        """Bytes fed."""
        return self._core.bytes

    @property
    def skipped(self) -> int:
        """Malformed payloads skipped with ``strict=False`` (in strict mode each
        one raises instead, and this stays 0)."""
        return 0 if self._strict else self._core.skipped

    @property
    def first_byte_ns(self) -> int | None:
        """When the first byte was fed, on the ``time.monotonic_ns()`` clock."""
        return self._core.timings[0]

    @property
    def first_token_ns(self) -> int | None:
        """When the first token arrived, on the ``time.monotonic_ns()`` clock:
        the first chunk carrying content, refusal, reasoning, audio, or a tool
        call's name or arguments (a role-only chunk does not count)."""
        return self._core.timings[1]

    @property
    def last_token_ns(self) -> int | None:
        """When the last text token arrived, on the ``time.monotonic_ns()`` clock."""
        return self._core.timings[2]

    def tool_arguments(self, choice: int = 0) -> list[Any]:
        """The current parse of each tool call's arguments in a choice, by
        position, while they stream (``partial_json=True`` only).

        Incomplete strings show as far as they arrived; incomplete numbers
        and dangling keys are left out. Arguments that turn out not to be
        JSON keep their last good view. The dicts and lists returned are the
        parser's own, updated in place as deltas arrive (that is what keeps
        reading them O(1)): copy them to keep a moment's view, and do not
        modify them.
        """
        partial = None if self._events is None else self._events.partial
        if partial is None or self._events is None:
            raise ValueError("tool_arguments() needs ChatCompletionAccumulator(partial_json=True)")
        with self._events.lock:
            calls = sorted((i, parser) for (c, i), parser in partial.items() if c == choice)
            return [parser.value for _, parser in calls]


class _Events:
    """``feed`` and ``add`` with events or partial JSON on: the Rust fold's raw
    events made into :mod:`chunkfold.events` objects. It holds no reference to
    its accumulator (no cycle), and keeps the accumulator's API error."""

    __slots__ = ("core", "error", "events", "lock", "partial", "strict")

    def __init__(self, core: _core.Accumulator, strict: bool, events: bool, partial_json: bool) -> None:
        self.core = core
        self.strict = strict
        self.events = events
        self.partial: dict[tuple[int, int], PartialJSON] | None = {} if partial_json else None
        self.error: StreamAPIError | None = None
        # It keeps the events' Python half in order when two threads feed one
        # accumulator; the fold itself is locked in Rust.
        self.lock = threading.Lock()

    def feed(self, data: bytes | bytearray | memoryview, /) -> list[StreamEvent]:
        try:
            self.core.feed(data)
        except (ChunkDecodeError, EventTooLargeError) as exc:
            if self.strict:
                exc.decoded = self.take()
                raise
        return self.take()

    def add_chunk(self, chunk: ChatCompletionChunk, /) -> list[StreamEvent]:
        self.core.add_chunk(chunk)
        return self.take()

    def api_error(self) -> StreamAPIError | None:
        if self.error is None:
            self.error = _first_error(self.core)
        return self.error

    def take(self) -> list[StreamEvent]:
        with self.lock:
            events = [e for raw in self.core.take_events() if (e := _event(*raw)) is not None]
            if self.partial is not None:
                self._feed_partial(events)
            if not self.events:
                return []
            new_error = self.api_error() if self.error is None else None
            if new_error is not None:
                events.append(ErrorReceived(error=new_error))
            return events

    def _feed_partial(self, events: list[StreamEvent]) -> None:
        assert self.partial is not None
        for event in events:
            if isinstance(event, ToolArgumentsDelta) and event.delta:
                parser = self.partial.setdefault((event.choice, event.index), PartialJSON())
                with suppress(PartialJSONError):  # not JSON after all: the last good view stays
                    parser.feed(event.delta)


def _first_error(core: _core.Accumulator) -> StreamAPIError | None:
    found = core.error()
    return None if found is None else _api_error(*found)


def _event(
    kind: str, choice: int, tool: int | None, name: str | None, text: str | None
) -> StreamEvent | None:
    if kind == "content":
        return ContentDelta(choice=choice, delta=text or "")
    if kind == "refusal":
        return RefusalDelta(choice=choice, delta=text or "")
    if kind == "reasoning":
        return ReasoningDelta(choice=choice, delta=text or "")
    if kind == "tool_arguments":
        return ToolArgumentsDelta(choice=choice, index=tool or 0, name=name or "", delta=text or "")
    if kind == "finished":
        return ChoiceFinished(choice=choice, finish_reason=text or "")
    if kind == "usage":
        usage = _lenient((text or "{}").encode(), _usage_decoder, CompletionUsage)
        return None if usage is None else UsageReceived(usage=usage)  # a usage that is not one
    if kind in ("logprobs", "logprobs_refusal"):
        tokens = _tokens_decoder.decode(text or "[]")
        return LogprobsDelta(choice=choice, refusal=kind == "logprobs_refusal", tokens=tokens)
    raise ValueError(f"unknown event kind {kind!r}")  # pragma: no cover


class _RawDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


class _RawUsage(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: _RawDetails | None = None
    completion_tokens_details: _RawDetails | None = None


_raw_usage_decoder = msgspec.json.Decoder(_RawUsage)


def _token_usage(raw: _RawUsage) -> TokenUsage:
    prompt = raw.prompt_tokens_details or _RawDetails()
    completion = raw.completion_tokens_details or _RawDetails()
    return TokenUsage(
        input=raw.prompt_tokens,
        cached_input=prompt.cached_tokens,
        cache_creation_input=prompt.cache_write_tokens,
        output=raw.completion_tokens,
        reasoning=completion.reasoning_tokens,
        total=raw.total_tokens,
    )


def _api_error(payload: bytes, is_event: bool, offset: int) -> StreamAPIError:
    try:
        obj: Any = _any_decoder.decode(payload)
    except msgspec.DecodeError:
        obj = payload.decode("utf-8", "replace")
    try:
        raise_if_api_error(obj, offset=offset, event="error" if is_event else "message")
    except StreamAPIError as exc:
        return exc
    return StreamAPIError(str(obj), raw=obj, offset=offset)  # pragma: no cover


_T = TypeVar("_T")
_ERROR_PATH = re.compile(r"at `\$([^`]*)`$")
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _lenient(raw: bytes, decoder: msgspec.json.Decoder[_T], type_: type[_T]) -> _T | None:
    """``decoder.decode(raw)``; where a value the provider sent does not fit its
    type, the innermost list item or ``usage`` holding it is left out and the
    rest converted again. ``None`` when the whole value does not fit."""
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        error = exc
    except msgspec.DecodeError:
        # Logprob tokens are kept as sent: WHATWG's rule for bytes that are
        # not UTF-8 (U+FFFD per invalid sequence) is applied here, when needed.
        raw = raw.decode("utf-8", "replace").encode()
        try:
            return decoder.decode(raw)
        except msgspec.ValidationError as exc:
            error = exc
    obj: Any = _any_decoder.decode(raw)
    while True:
        match = _ERROR_PATH.search(str(error))
        steps = [] if match is None else _PATH_STEP.findall(match.group(1))
        if not _drop(obj, steps):
            return None
        try:
            return msgspec.convert(obj, type_)
        except msgspec.ValidationError as exc:
            error = exc


def _drop(obj: Any, steps: list[tuple[str, str]]) -> bool:
    """Removes the innermost list item or ``usage`` on ``steps``; False if none."""
    target: tuple[Any, Any] | None = None
    node = obj
    for key, index in steps:
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                break
            target = (node, int(index))
            node = node[int(index)]
        else:
            if not isinstance(node, dict) or key not in node:
                break
            if key == "usage":
                target = (node, key)
            node = node[key]
    if target is None:
        return False
    container, at = target
    if isinstance(container, list):
        del container[at]
    else:
        container[at] = None
    return True
