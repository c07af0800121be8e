"""``ResponseStreamState``: openai-python's Responses stream state, folded by chunkfold.

A drop-in for ``openai.lib.streaming.responses.ResponseStreamState``: the same
constructor, ``handle_event()`` returning the same events, and the final
response as openai's ``ParsedResponse``; the fold underneath is
:class:`chunkfold.responses.ResponseAccumulator`. :func:`install_responses`
makes openai's own ``client.responses.stream(...)`` use it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import msgspec

from chunkfold.responses.accumulate import ResponseAccumulator

__all__ = [
    "ResponseStreamState",
    "install_responses",
    "is_responses_installed",
    "responses_installed",
    "uninstall_responses",
]

TextFormatT = TypeVar("TextFormatT")

_LIFECYCLE = frozenset(
    ("response.created", "response.queued", "response.in_progress", "response.failed", "response.incomplete")
)
_any = msgspec.json.Decoder()


def _dump(model: Any) -> Any:
    """A nested openai model as it came off the wire (fields it was given, extras too)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)


_encoder = msgspec.json.Encoder(enc_hook=_dump)


def _payload(event: Any) -> bytes:
    """The JSON of one openai event as the stream sent it: the fields it was built
    from (openai fills the missing ones with ``None``) and its extras. About a
    third of pydantic's ``model_dump_json`` for a delta event."""
    values = getattr(event, "__dict__", None)
    if values is None:
        return _encoder.encode(event)
    given = event.__pydantic_fields_set__
    extra = event.__pydantic_extra__ or {}
    # ``given`` is a subset of the fields and extras: equal in size, it is all of them.
    if len(given) != len(values) + len(extra):
        values = {name: values[name] for name in given if name in values}
    if extra:
        values = {**values, **extra}
    return _encoder.encode(values)


_fields: dict[type[Any], tuple[str, ...]] = {}


def _build(cls: type[Any], values: dict[str, Any]) -> Any:
    """openai's ``build(cls, **values)``, for a model whose every field is given
    with a value already of its type (strings, ints, the event's own ``logprobs``
    list): the same object (``__dict__`` in field order, every field set, no
    extras) without ``construct_type``'s walk of each field's annotation, which
    is most of the cost of a delta event. Anything else goes to ``build``."""
    names = _fields.get(cls)
    if names is None:
        from openai._compat import PYDANTIC_V1

        names = _fields[cls] = () if PYDANTIC_V1 else tuple(cls.model_fields)
    if len(names) != len(values) or not all(name in values for name in names):
        from openai._models import build

        return build(cls, **values)
    model = object.__new__(cls)
    object.__setattr__(model, "__dict__", {name: values[name] for name in names})
    object.__setattr__(model, "__pydantic_private__", None)
    object.__setattr__(model, "__pydantic_extra__", {})
    object.__setattr__(model, "__pydantic_fields_set__", set(names))
    return model


class ResponseStreamState(Generic[TextFormatT]):
    """Drop-in for ``openai.lib.streaming.responses.ResponseStreamState``.

    Switch with one import: ``from chunkfold.compat.openai import
    ResponseStreamState``, or :func:`install_responses` for openai's own
    ``client.responses.stream(...)``. ``handle_event()`` takes openai's
    events and returns the events openai's state returns: the same objects
    for most, ``response.output_text.delta`` and
    ``response.function_call_arguments.delta`` with their ``snapshot``,
    ``response.output_text.done`` with ``parsed`` and ``response.completed``
    with the ``ParsedResponse``; ``text_format`` / ``input_tools`` parsing is
    openai's own. The folding is chunkfold's (the README's merge rules).

    Deliberate differences (README, "Where we differ"): nothing in the stream
    raises ``RuntimeError`` (a stream that does not begin with
    ``response.created``, content for an item never announced, changed ids
    or indices are folded, per the merge rules); ``_completed_response``, which
    openai's ``get_final_response()`` reads, holds the partial response of a
    stream that ended without ``response.completed`` instead of ``None``; and
    :attr:`current_snapshot` is chunkfold's fold, which follows every delta
    kind, ``.done`` value and lifecycle event.
    """

    def __init__(self, *, input_tools: Any, text_format: Any) -> None:
        from openai import omit
        from openai._utils import is_given
        from openai.lib.streaming.responses import _events

        self._delta_events = (_events.ResponseTextDeltaEvent, _events.ResponseFunctionCallArgumentsDeltaEvent)
        self._acc = ResponseAccumulator(strict=False)
        self._input_tools: list[Any] = (
            list(input_tools) if input_tools is not None and is_given(input_tools) else []
        )
        self._text_format: Any = text_format if text_format is not None else omit
        self._rich_text_format: Any = text_format if inspect.isclass(text_format) else omit
        self._completed: Any = None
        # The text and arguments so far by (output_index, content_index) /
        # output_index, for the delta events' ``snapshot`` (openai's interface
        # asks for the whole string on every delta), and each message's phase.
        self._texts: dict[tuple[int, int], str] = {}
        self._arguments: dict[int, str] = {}
        self._phases: dict[int, Any] = {}
        self._snapshot: tuple[int, Any] | None = None
        self._seen = False

    def handle_event(self, event: Any) -> list[Any]:
        """Folds one openai ``ResponseStreamEvent``; returns openai's events for it.

        Raises what openai's does while parsing: the ``text_format`` model's
        validation error on ``response.output_text.done`` and
        ``response.completed``, and a strict tool's ``json.loads`` error.
        """

        kind = event.type
        self._acc.add_json(_payload(event))
        self._seen = True
        if kind == "response.output_text.delta":
            key = (event.output_index, event.content_index)
            text = self._texts[key] = self._texts.get(key, "") + event.delta
            logprobs = event.logprobs
            return [
                _build(
                    self._delta_events[0],
                    {
                        "content_index": event.content_index,
                        "delta": event.delta,
                        "item_id": event.item_id,
                        "logprobs": list(logprobs) if isinstance(logprobs, list) else logprobs,
                        "output_index": event.output_index,
                        "sequence_number": event.sequence_number,
                        "type": kind,
                        "snapshot": text,
                    },
                )
            ]
        if kind == "response.function_call_arguments.delta":
            arguments = self._arguments[event.output_index] = (
                self._arguments.get(event.output_index, "") + event.delta
            )
            return [
                _build(
                    self._delta_events[1],
                    {
                        "delta": event.delta,
                        "item_id": event.item_id,
                        "output_index": event.output_index,
                        "sequence_number": event.sequence_number,
                        "type": kind,
                        "snapshot": arguments,
                    },
                )
            ]
        if kind == "response.output_text.done":
            return [self._text_done(event)]
        if kind == "response.completed":
            return [self._completed_event(event)]
        if kind == "response.output_item.added" or kind == "response.output_item.done":
            return self._item_event(event)
        if kind == "response.content_part.added":
            part: Any = getattr(event, "part", None)
            if getattr(part, "type", None) == "output_text":
                self._texts[(event.output_index, event.content_index)] = part.text
        elif kind in _LIFECYCLE and getattr(event.response, "output", None) is None:
            from openai._compat import model_copy

            # openai's: a lifecycle response without ``output`` gets the items
            # so far when it ends the stream, ``[]`` otherwise.
            event = model_copy(event, deep=True)
            terminal = kind == "response.failed" or kind == "response.incomplete"
            event.response.output = list(self._folded().output) if terminal else []
        return [event]

    def _item_event(self, event: Any) -> list[Any]:
        from openai._compat import PYDANTIC_V1
        from openai._models import construct_type_unchecked
        from openai.types.responses import ResponseOutputItemAddedEvent, ResponseOutputItemDoneEvent

        # openai rebuilds both (its events are constructed, not validated).
        added = event.type == "response.output_item.added"
        item = getattr(event, "item", None) if added else event.item
        event = construct_type_unchecked(
            type_=ResponseOutputItemAddedEvent if added else ResponseOutputItemDoneEvent,
            value={
                **vars(event),
                **({} if PYDANTIC_V1 else (getattr(event, "__pydantic_extra__", None) or {})),
                "item": item,
                "output_index": event.output_index,
            },
        )
        if not added:
            return [event]
        if item is None:
            return []  # openai: an empty added event (a gap in the indices) fires nothing
        if item.type == "message":
            self._phases[event.output_index] = getattr(item, "phase", None)
        elif item.type == "function_call":
            self._arguments[event.output_index] = getattr(item, "arguments", None) or ""
        return [event]

    def _text_done(self, event: Any) -> Any:
        from openai._models import build
        from openai.lib._parsing._responses import parse_text
        from openai.lib.streaming.responses._events import ResponseTextDoneEvent

        phase = self._phases.get(event.output_index)
        return build(
            ResponseTextDoneEvent,
            content_index=event.content_index,
            item_id=event.item_id,
            output_index=event.output_index,
            sequence_number=event.sequence_number,
            logprobs=event.logprobs,
            type="response.output_text.done",
            text=event.text,
            parsed=parse_text(event.text, text_format=self._text_format, phase=phase),
        )

    def _completed_event(self, event: Any) -> Any:
        from openai._models import build
        from openai.lib.streaming.responses._events import ResponseCompletedEvent

        self._complete()
        return build(
            ResponseCompletedEvent,
            sequence_number=event.sequence_number,
            type="response.completed",
            response=self._completed,
        )

    def _complete(self) -> None:
        """openai's final response, parsed when ``response.completed`` arrives
        (its parse errors raise from there, as openai's do)."""
        from openai.lib._parsing._responses import parse_response

        self._completed = parse_response(
            text_format=self._text_format, response=self._folded(), input_tools=self._input_tools
        )

    def _folded(self) -> Any:
        """The fold so far as openai's ``Response`` (the provider's JSON, typed by openai)."""
        from openai._models import construct_type
        from openai.types.responses import Response

        return construct_type(type_=Response, value=_any.decode(self._acc._core.snapshot_json()))

    @property
    def current_snapshot(self) -> Any:
        """The response folded so far, as openai's ``ParsedResponseSnapshot``
        (``None`` before the first event). openai keeps its own in the private
        ``__current_snapshot``; that name reads this too."""
        if not self._seen:
            return None
        chunks = self._acc.chunks
        if self._snapshot is None or self._snapshot[0] != chunks:
            from openai._models import construct_type
            from openai.lib.streaming.responses._types import ParsedResponseSnapshot

            value = _any.decode(self._acc._core.snapshot_json())
            self._snapshot = (chunks, construct_type(type_=ParsedResponseSnapshot, value=value))
        return self._snapshot[1]

    # openai's ResponseStreamState keeps its snapshot as ``self.__current_snapshot``.
    __current_snapshot = current_snapshot

    def accumulate_event(self, event: Any) -> Any:
        """Folds one event without building openai's events; returns the snapshot."""
        self._acc.add_json(_payload(event))
        self._seen = True
        if event.type == "response.completed":
            self._complete()
        return self.current_snapshot

    @property
    def _completed_response(self) -> Any:
        """What openai's ``get_final_response()`` returns: the ``ParsedResponse``
        of ``response.completed``; after a stream that ended without one
        (incomplete, failed, cut off), the partial response as folded, its
        ``status`` telling how it ended, unparsed (its text is usually cut
        JSON); ``None`` before any event."""
        if self._completed is not None or not self._seen:
            return self._completed
        from openai import omit
        from openai.lib._parsing._responses import parse_response

        return parse_response(text_format=omit, response=self._folded(), input_tools=omit)

    @property
    def accumulator(self) -> ResponseAccumulator:
        """The chunkfold fold underneath (``status``, ``error``, ``token_usage``, timings)."""
        return self._acc


_lock = threading.Lock()
_original: list[Any] = []
"""openai's own state class while :func:`install_responses` is in effect."""


def _stream_module() -> Any:
    try:
        from openai.lib.streaming.responses import _responses
    except ImportError as exc:  # pragma: no cover - exercised without openai
        raise ImportError("install_responses() needs the openai package: pip install openai") from exc
    return _responses


def install_responses() -> None:
    """Makes openai's own ``client.responses.stream(...)`` fold with chunkfold's
    :class:`ResponseStreamState`, sync and async.

    It replaces the name ``ResponseStream`` and ``AsyncResponseStream`` look
    up when they build their state (in
    ``openai.lib.streaming.responses._responses``), as the chat ``install()``
    does; streams already open keep theirs. Calling it again changes nothing;
    :func:`uninstall_responses` puts openai's back.
    """
    module = _stream_module()
    with _lock:
        if not _original:
            _original.append(module.ResponseStreamState)
            module.ResponseStreamState = ResponseStreamState


def uninstall_responses() -> None:
    """Undoes :func:`install_responses`; without it first, changes nothing."""
    module = _stream_module()
    with _lock:
        if _original:
            module.ResponseStreamState = _original.pop()


def is_responses_installed() -> bool:
    """Whether :func:`install_responses` is in effect."""
    return bool(_original)


@contextmanager
def responses_installed() -> Iterator[None]:
    """:func:`install_responses` for the ``with`` block: on leaving it, openai's
    state comes back, unless chunkfold's was installed before the block began."""
    before = is_responses_installed()
    install_responses()
    try:
        yield
    finally:
        if not before:
            uninstall_responses()
