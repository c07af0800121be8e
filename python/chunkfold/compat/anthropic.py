"""A drop-in for anthropic-sdk-python's stream fold, ``accumulate_event``.

:func:`accumulate_event` takes the keywords of
``anthropic.lib.streaming._messages.accumulate_event`` and returns the same
``ParsedMessage`` snapshot, built by anthropic's own code for every event but
text, thinking and tool input deltas. anthropic re-parses a tool's whole
argument text with jiter on every ``input_json_delta``, O(n²) over a long
input; here :class:`~chunkfold.compat.anthropic_json.ArgumentBuffer` keeps
jiter's partial parse up to date in O(total), parsing each finished element
once and skipping fragments that stay inside a string. The values, and any
error, are jiter's own.

Blocks are found by their ``index`` value, never by list position, so a
stream that skips an index or sends a delta before its block's start folds
instead of raising ``IndexError``; a second ``message_start`` raises
:class:`~chunkfold.errors.StreamAPIError` instead of being merged into the
first message. :func:`install` makes anthropic's ``MessageStream`` and
``AsyncMessageStream`` use it, and ``BetaMessageStream`` and
``BetaAsyncMessageStream`` (``client.beta.messages.stream(...)``) use
:func:`beta_accumulate_event`, the same fold over anthropic's ``Beta*`` types.

``anthropic`` is an optional dependency, imported when these functions are
first called, never when chunkfold is imported.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from chunkfold.compat.anthropic_json import ArgumentBuffer
from chunkfold.errors import StreamAPIError

if TYPE_CHECKING:
    from anthropic.types.beta.parsed_beta_message import ParsedBetaMessage
    from anthropic.types.parsed_message import ParsedMessage

__all__ = [
    "accumulate_event",
    "beta_accumulate_event",
    "beta_build_events",
    "build_events",
    "install",
    "installed",
    "uninstall",
]

_STREAMING_MODULE = "anthropic.lib.streaming._messages"
_BETA_STREAMING_MODULE = "anthropic.lib.streaming._beta_messages"
# The beta header with which anthropic parses tool input in jiter's
# "trailing-strings" mode; such inputs are left to anthropic's own fold.
_FINE_GRAINED = "fine-grained-tool-streaming-2025-05-14"

_BLOCK_EVENTS = ("content_block_delta", "content_block_stop")


class _Blocks(dict[int, Any]):
    """Blocks by index, for a message whose list positions stopped matching
    its indices; ``content`` lets anthropic's code look them up by index."""

    __slots__ = ()

    @property
    def content(self) -> _Blocks:
        return self


_sparse: dict[int, _Blocks] = {}  # id(snapshot) -> its blocks, while it lives
_apis: dict[bool, SimpleNamespace] = {}  # beta -> anthropic's module and fold
_api_lock = threading.Lock()


def _load(beta: bool = False) -> SimpleNamespace:
    """anthropic's streaming module (``beta``: the one behind
    ``client.beta.messages.stream``) and its own fold, as they were before
    :func:`install`."""
    api = _apis.get(beta)
    if api is None:
        with _api_lock:
            api = _apis.get(beta)
            if api is None:
                api = _apis[beta] = _namespace(beta=beta)
    return api


def _namespace(*, beta: bool) -> SimpleNamespace:
    try:
        import importlib

        import jiter  # noqa: F401
        from anthropic._models import construct_type, construct_type_unchecked
        from pydantic import BaseModel

        if beta:
            from anthropic.types.beta import BetaRawMessageStreamEvent as event_type
            from anthropic.types.beta.parsed_beta_message import ParsedBetaContentBlock as block_type
        else:
            from anthropic.types import RawMessageStreamEvent as event_type
            from anthropic.types.parsed_message import ParsedContentBlock as block_type
    except ImportError as exc:  # pragma: no cover - exercised without anthropic
        raise ImportError("chunkfold.compat.anthropic needs anthropic: pip install anthropic") from exc
    module: ModuleType = importlib.import_module(_BETA_STREAMING_MODULE if beta else _STREAMING_MODULE)
    return SimpleNamespace(
        beta=beta,
        module=module,
        accumulate_event=module.accumulate_event,
        build_events=module.build_events,
        tracks_input=module.TRACKS_TOOL_INPUT,
        construct_type=construct_type,
        construct_type_unchecked=construct_type_unchecked,
        event_type=event_type,
        block_type=block_type,
        base_model=BaseModel,
    )


def accumulate_event(
    *,
    event: Any,
    current_snapshot: ParsedMessage[Any] | None,
    json_bufs: dict[int, bytes],
    output_format: Any = None,
) -> ParsedMessage[Any]:
    """Folds one stream event into anthropic's ``ParsedMessage`` snapshot.

    The keywords and result of anthropic's ``accumulate_event``: pass the
    same ``json_bufs`` dict for the whole stream (it holds each tool's
    argument bytes, as a ``bytearray``); ``output_format`` as anthropic's
    (omitted or ``None``: no structured output). Raises what anthropic
    raises, including its ``ValueError`` for tool input that is not JSON,
    and :class:`StreamAPIError` for a second ``message_start``.
    """
    api = _apis.get(False) or _load()
    extra: dict[str, Any] = {} if output_format is None else {"output_format": output_format}
    return _accumulate(api, event, current_snapshot, json_bufs, extra, fast_input=True)  # type: ignore[no-any-return]


def beta_accumulate_event(
    *,
    event: Any,
    current_snapshot: ParsedBetaMessage[Any] | None,
    json_bufs: dict[int, bytes],
    request_headers: Any,
    output_format: Any = None,
) -> ParsedBetaMessage[Any]:
    """:func:`accumulate_event` for the beta stream: the keywords and result
    of ``anthropic.lib.streaming._beta_messages.accumulate_event``, with
    anthropic's ``Beta*`` types (``ParsedBetaMessage``, ``BetaToolUseBlock``, ...).

    ``request_headers`` are the request's, as anthropic passes them: with the
    ``fine-grained-tool-streaming-2025-05-14`` beta, anthropic parses tool
    input in jiter's ``"trailing-strings"`` mode, and such input is folded by
    anthropic's own code (blocks still found by index).
    """
    api = _apis.get(True) or _load(beta=True)
    extra: dict[str, Any] = {"request_headers": request_headers}
    if output_format is not None:
        extra["output_format"] = output_format
    beta = request_headers.get("anthropic-beta", "") if request_headers else ""
    fast_input = _FINE_GRAINED not in beta
    return _accumulate(api, event, current_snapshot, json_bufs, extra, fast_input=fast_input)  # type: ignore[no-any-return]


def _accumulate(
    api: SimpleNamespace,
    event: Any,
    current_snapshot: Any,
    json_bufs: dict[int, bytes],
    extra: dict[str, Any],
    *,
    fast_input: bool,
) -> Any:
    """The fold of :func:`accumulate_event` over ``api``'s types; ``extra``
    are the keywords anthropic's own ``accumulate_event`` takes besides the
    event, snapshot and buffers."""
    if not isinstance(event, api.base_model):
        event = api.construct_type_unchecked(type_=api.event_type, value=event)
        if not isinstance(event, api.base_model):
            raise TypeError(
                f"Unexpected event runtime type, after deserialising twice - {event} - {type(event)}"
            )
    if current_snapshot is None:
        return api.accumulate_event(event=event, current_snapshot=None, json_bufs=json_bufs, **extra)
    kind = event.type
    blocks = _sparse.get(id(current_snapshot)) if _sparse else None
    if kind == "content_block_delta":
        index, delta = event.index, event.delta
        if blocks is None:
            content = current_snapshot.content
            block = content[index] if 0 <= index < len(content) else None
        else:
            block = blocks.get(index)
        delta_type = delta.type
        if block is None:
            block = _implied_block(api, delta_type)
            if block is None:
                return current_snapshot
            blocks = _place(current_snapshot, blocks, index, block)
        # The two deltas that make up most streams, as anthropic folds them.
        if delta_type == "text_delta":
            if block.type == "text":
                _append(block, "text", delta.text)
            return current_snapshot
        if delta_type == "thinking_delta":
            if block.type == "thinking":
                _append(block, "thinking", delta.thinking)
            return current_snapshot
        if delta_type == "input_json_delta" and fast_input:
            if isinstance(block, api.tracks_input):
                _add_arguments(api, block, index, delta.partial_json, json_bufs)
            return current_snapshot
    elif kind == "message_start":
        message = "a second message_start: the stream's first message is kept and nothing after it is folded"
        raise StreamAPIError(
            message,
            type="protocol_error",
            raw={"type": "error", "error": {"type": "protocol_error", "message": message}},
        )
    elif kind == "content_block_start":
        if blocks is None and event.index == len(current_snapshot.content):
            return api.accumulate_event(
                event=event, current_snapshot=current_snapshot, json_bufs=json_bufs, **extra
            )
        block = api.construct_type(type_=api.block_type, value=event.content_block.to_dict())
        _place(current_snapshot, blocks, event.index, block)
        if api.beta and getattr(event.content_block, "type", None) == "fallback":
            # As anthropic's beta fold: the fallback block names the model that served.
            current_snapshot.model = event.content_block.to.model
        return current_snapshot
    elif kind == "content_block_stop" and _block(current_snapshot, blocks, event.index) is None:
        return current_snapshot
    view: Any = current_snapshot if blocks is None or kind not in _BLOCK_EVENTS else blocks
    api.accumulate_event(event=event, current_snapshot=view, json_bufs=json_bufs, **extra)
    return current_snapshot


_plain_models: dict[type, bool] = {}


def _append(block: Any, name: str, text: str) -> None:
    """``block.<name> += text``, as anthropic does it, without pydantic's
    ``__setattr__`` where that is a plain store (no validation, not frozen)."""
    cls = block.__class__
    plain = _plain_models.get(cls)
    if plain is None:
        from pydantic import BaseModel

        config = cls.model_config
        plain = cls.__setattr__ is BaseModel.__setattr__ and not (
            config.get("validate_assignment") or config.get("frozen")
        )
        _plain_models[cls] = plain
    values = block.__dict__
    current = values.get(name)
    if plain and current.__class__ is str and name in block.__pydantic_fields_set__:
        values[name] = current + text
    else:
        setattr(block, name, getattr(block, name) + text)


def _block(snapshot: Any, blocks: _Blocks | None, index: int) -> Any:
    if blocks is not None:
        return blocks.get(index)
    return snapshot.content[index] if 0 <= index < len(snapshot.content) else None


def _place(snapshot: Any, blocks: _Blocks | None, index: int, block: Any) -> _Blocks | None:
    """Puts ``block`` at ``index``: appended while positions match indices,
    else in index order, replacing a block already there."""
    content = snapshot.content
    if blocks is None:
        if index == len(content):
            content.append(block)
            return None
        blocks = _Blocks(enumerate(content))
        key = id(snapshot)
        _sparse[key] = blocks
        weakref.finalize(snapshot, _sparse.pop, key, None)
    blocks[index] = block
    content[:] = [blocks[i] for i in sorted(blocks)]
    return blocks


def _implied_block(api: SimpleNamespace, delta_type: str) -> Any:
    """The block a delta implies when its ``content_block_start`` never came."""
    if delta_type in ("text_delta", "citations_delta"):
        value: dict[str, Any] = {"type": "text", "text": "", "citations": None}
    elif delta_type in ("thinking_delta", "signature_delta"):
        value = {"type": "thinking", "thinking": "", "signature": ""}
    elif delta_type == "input_json_delta":
        value = {"type": "tool_use", "id": "", "name": "", "input": {}}
    else:
        return None
    return api.construct_type(type_=api.block_type, value=value)


def _add_arguments(
    api: SimpleNamespace, block: Any, index: int, fragment: str, json_bufs: dict[int, Any]
) -> None:
    data = bytes(fragment, "utf-8")  # raises on a lone surrogate, as anthropic does
    buffer = json_bufs.get(index)
    if not isinstance(buffer, ArgumentBuffer):
        # The first fragment, or a buffer anthropic's own fold left.
        buffer = ArgumentBuffer(buffer or b"")
        json_bufs[index] = buffer
    changed = buffer.add(data)
    if not buffer or not changed:
        return
    try:
        block.input = buffer.parse()
    except ValueError as e:
        # As anthropic: the buffer keeps what it had before this fragment.
        del buffer[len(buffer) - len(data) :]
        raise ValueError(
            "Unable to parse tool parameter JSON from model. Please retry your request or adjust your "
            f"prompt. Error: {e}. JSON: {(bytes(buffer) + data).decode('utf-8')}"
        ) from e


def build_events(*, event: Any, message_snapshot: ParsedMessage[Any]) -> list[Any]:
    """anthropic's ``build_events``, with blocks found by ``index``.

    A delta or stop for a block the message does not have yields the raw
    event alone (anthropic raises ``IndexError``).
    """
    return _build_events(_load(), event, message_snapshot)


def beta_build_events(*, event: Any, message_snapshot: ParsedBetaMessage[Any]) -> list[Any]:
    """:func:`build_events` for the beta stream, with anthropic's ``Beta*`` types."""
    return _build_events(_load(beta=True), event, message_snapshot)


def _build_events(api: SimpleNamespace, event: Any, message_snapshot: Any) -> list[Any]:
    if event.type in ("content_block_delta", "content_block_stop"):
        blocks = _sparse.get(id(message_snapshot))
        view: Any = message_snapshot if blocks is None else blocks
        if _block(message_snapshot, blocks, event.index) is None:
            return [event]
        return api.build_events(event=event, message_snapshot=view)  # type: ignore[no-any-return]
    return api.build_events(event=event, message_snapshot=message_snapshot)  # type: ignore[no-any-return]


def install() -> None:
    """Makes anthropic's ``MessageStream`` and ``AsyncMessageStream`` fold
    with :func:`accumulate_event` and :func:`build_events`, and its
    ``BetaMessageStream`` and ``BetaAsyncMessageStream`` with
    :func:`beta_accumulate_event` and :func:`beta_build_events`.

    Patches the names anthropic's streaming modules look up, for every
    stream created afterwards and for streams already open. Calling it again
    changes nothing; :func:`uninstall` restores anthropic's own.
    """
    api, beta = _load(), _load(beta=True)
    with _api_lock:
        api.module.accumulate_event = accumulate_event
        api.module.build_events = build_events
        beta.module.accumulate_event = beta_accumulate_event
        beta.module.build_events = beta_build_events


def uninstall() -> None:
    """Restores anthropic's own ``accumulate_event`` and ``build_events``
    (beta stream included). Calling it when not installed changes nothing."""
    pairs = (
        (_load(), accumulate_event, build_events),
        (_load(beta=True), beta_accumulate_event, beta_build_events),
    )
    with _api_lock:
        for api, accumulate, build in pairs:
            if api.module.accumulate_event is accumulate:
                api.module.accumulate_event = api.accumulate_event
            if api.module.build_events is build:
                api.module.build_events = api.build_events


@contextmanager
def installed() -> Iterator[None]:
    """:func:`install` for the ``with`` block; restores what was there before
    (installed or not) on the way out."""
    api = _load()
    before = api.module.accumulate_event is accumulate_event
    install()
    try:
        yield
    finally:
        if not before:
            uninstall()
