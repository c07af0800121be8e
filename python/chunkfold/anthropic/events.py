"""Typed events of :class:`~chunkfold.MessageAccumulator`, opt-in with ``events=True``.

Block-level events carry the block's ``index`` (its key in the message's
content, not a list position). :class:`~chunkfold.events.ErrorReceived` is
shared with the other protocols.
"""

from __future__ import annotations

import msgspec

from chunkfold.anthropic.models import MessageDeltaUsage

# chunkfold.events imports chunkfold.chat, which imports chunkfold.events back:
# importing chat first resolves the cycle in the order chat expects.
from chunkfold.chat import ChatCompletion as _ChatCompletion  # noqa: F401
from chunkfold.events import ErrorReceived

__all__ = [
    "BlockStopped",
    "InputJSONReceived",
    "MessageStreamEvent",
    "StopReasonReceived",
    "TextReceived",
    "ThinkingReceived",
    "UsageUpdated",
]


class _Event(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Shared Struct options."""


class TextReceived(_Event, tag="text", frozen=True):
    """Text appended to the text block at ``index``."""

    index: int
    delta: str


class ThinkingReceived(_Event, tag="thinking", frozen=True):
    """Text appended to the thinking block at ``index``."""

    index: int
    delta: str


class InputJSONReceived(_Event, tag="input_json", frozen=True):
    """Argument text appended to the tool block at ``index`` (tool ``name``)."""

    index: int
    name: str
    delta: str


class BlockStopped(_Event, tag="block_stop", frozen=True):
    """The block at ``index`` is complete (a tool's input is parsed now)."""

    index: int


class StopReasonReceived(_Event, tag="stop_reason", frozen=True):
    """The message's stop reason arrived or changed."""

    stop_reason: str


class UsageUpdated(_Event, tag="usage", frozen=True):
    """A ``message_delta`` carried usage; ``usage`` is every counter so far."""

    usage: MessageDeltaUsage


MessageStreamEvent = (
    TextReceived
    | ThinkingReceived
    | InputJSONReceived
    | BlockStopped
    | StopReasonReceived
    | UsageUpdated
    | ErrorReceived
)
