"""Conversions between chunkfold's Structs and openai-python's pydantic types.

``openai`` is an optional dependency: it is imported when these functions are
first called, never when chunkfold is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, overload

import msgspec

from chunkfold.chat.models import ChatCompletion, ChatCompletionChunk
from chunkfold.compat.openai_responses import ResponseStreamState as ResponseStreamState
from chunkfold.compat.openai_responses import install_responses as install_responses
from chunkfold.compat.openai_responses import is_responses_installed as is_responses_installed
from chunkfold.compat.openai_responses import responses_installed as responses_installed
from chunkfold.compat.openai_responses import uninstall_responses as uninstall_responses
from chunkfold.compat.openai_state import ChatCompletionStreamState

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion as OpenAIChatCompletion
    from openai.types.chat import ChatCompletionChunk as OpenAIChatCompletionChunk

__all__ = [
    "ChatCompletionStreamState",
    "from_openai",
    "install",
    "installed",
    "is_installed",
    "to_openai",
    "uninstall",
]


def _openai_types() -> tuple[type[Any], type[Any]]:
    try:
        from openai.types.chat import ChatCompletion as Completion
        from openai.types.chat import ChatCompletionChunk as Chunk
    except ImportError as exc:  # pragma: no cover - exercised without openai
        raise ImportError("to_openai()/from_openai() need the openai package: pip install openai") from exc
    return Chunk, Completion


@overload
def to_openai(value: ChatCompletionChunk, /) -> OpenAIChatCompletionChunk: ...
@overload
def to_openai(value: ChatCompletion, /) -> OpenAIChatCompletion: ...
def to_openai(value: ChatCompletionChunk | ChatCompletion, /) -> Any:
    """Converts a chunkfold Struct to the equivalent openai-python model.

    The model is built the way openai-python builds streamed chunks (its
    ``construct_type``, without validation), so provider values such as
    ``finish_reason="eos"`` survive. Provider extension fields
    (``reasoning_content`` and the like) become pydantic extras, as
    openai-python itself keeps them.
    """
    from openai._models import construct_type

    if not isinstance(value, ChatCompletionChunk | ChatCompletion):
        raise TypeError(
            f"to_openai() takes a chunkfold ChatCompletionChunk or ChatCompletion, not {type(value).__name__}"
        )
    chunk_type, completion_type = _openai_types()
    target = chunk_type if isinstance(value, ChatCompletionChunk) else completion_type
    return construct_type(type_=target, value=msgspec.to_builtins(value))


@overload
def from_openai(value: OpenAIChatCompletionChunk, /) -> ChatCompletionChunk: ...
@overload
def from_openai(value: OpenAIChatCompletion, /) -> ChatCompletion: ...
def from_openai(value: Any, /) -> ChatCompletionChunk | ChatCompletion:
    """Converts an openai-python chunk or completion to the chunkfold Struct."""
    chunk_type, completion_type = _openai_types()
    if isinstance(value, chunk_type):
        target: type[Any] = ChatCompletionChunk
    elif isinstance(value, completion_type):
        target = ChatCompletion
    else:
        raise TypeError(
            f"from_openai() takes an openai ChatCompletionChunk or ChatCompletion, not {type(value).__name__}"
        )
    # exclude_unset: a null the provider sent stays null, an absent extension stays UNSET.
    return msgspec.convert(value.model_dump(mode="json", exclude_unset=True, warnings=False), target)  # type: ignore[no-any-return]


_lock = threading.Lock()
_original: list[Any] = []
"""openai's own state class while :func:`install` is in effect."""


def _stream_module() -> Any:
    try:
        from openai.lib.streaming.chat import _completions
    except ImportError as exc:  # pragma: no cover - exercised without openai
        raise ImportError("install() needs the openai package: pip install openai") from exc
    return _completions


def install() -> None:
    """Makes openai's own ``client.chat.completions.stream(...)`` fold with
    chunkfold's :class:`ChatCompletionStreamState`, sync and async.

    It replaces the name ``ChatCompletionStream`` and
    ``AsyncChatCompletionStream`` look up when they build their state (in
    ``openai.lib.streaming.chat._completions``), the way instrumentation
    libraries patch the SDK; streams already open keep the state they have.
    ``openai.lib.streaming.chat.ChatCompletionStreamState`` itself, for code
    that builds one by hand, stays openai's. Calling it again changes
    nothing; :func:`uninstall` puts openai's back.
    """
    module = _stream_module()
    with _lock:
        if not _original:
            _original.append(module.ChatCompletionStreamState)
            module.ChatCompletionStreamState = ChatCompletionStreamState


def uninstall() -> None:
    """Undoes :func:`install`: openai's stream helper builds openai's own
    state again. Without :func:`install` first it changes nothing."""
    module = _stream_module()
    with _lock:
        if _original:
            module.ChatCompletionStreamState = _original.pop()


def is_installed() -> bool:
    """Whether :func:`install` is in effect."""
    return bool(_original)


@contextmanager
def installed() -> Iterator[None]:
    """:func:`install` for the ``with`` block: on leaving it, openai's state
    comes back, unless chunkfold's was installed before the block began."""
    before = is_installed()
    install()
    try:
        yield
    finally:
        if not before:
            uninstall()
