"""Typed events of :class:`~chunkfold.ChatCompletionAccumulator`, opt-in with ``events=True``.

They serve UIs that render as text arrives and guardrails that inspect it;
with events off, the fold pays nothing for them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from chunkfold.chat.models import CompletionUsage
from chunkfold.errors import StreamAPIError

__all__ = [
    "ChoiceFinished",
    "ContentDelta",
    "ErrorReceived",
    "LogprobsDelta",
    "ReasoningDelta",
    "RefusalDelta",
    "StreamEvent",
    "ToolArgumentsDelta",
    "UsageReceived",
]


class _Event(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Shared Struct options."""


class ContentDelta(_Event, tag="content", frozen=True):
    """Text added to a choice's ``content``."""

    choice: int
    delta: str


class RefusalDelta(_Event, tag="refusal", frozen=True):
    """Text added to a choice's ``refusal``."""

    choice: int
    delta: str


class ReasoningDelta(_Event, tag="reasoning", frozen=True):
    """Text added to a choice's ``reasoning_content`` or ``reasoning``."""

    choice: int
    delta: str


class ToolArgumentsDelta(_Event, tag="tool_arguments", frozen=True):
    """Text added to a tool call's ``function.arguments``.

    ``index`` is the call's position in ``message.tool_calls``.
    """

    choice: int
    index: int
    name: str
    delta: str


class ChoiceFinished(_Event, tag="finished", frozen=True):
    """A choice received its finish reason."""

    choice: int
    finish_reason: str


class LogprobsDelta(_Event, tag="logprobs", frozen=True):
    """Log probability tokens added to a choice's ``logprobs.content`` (or
    ``logprobs.refusal`` when ``refusal``), as JSON objects."""

    choice: int
    refusal: bool
    tokens: list[dict[str, Any]]


class UsageReceived(_Event, tag="usage", frozen=True):
    """Usage arrived (it may arrive again: the last value is the truth)."""

    usage: CompletionUsage


class ErrorReceived(_Event, tag="error", frozen=True, gc=True):
    """The provider sent an API error; the stream's status is now ``"error"``."""

    error: StreamAPIError


StreamEvent = (
    ContentDelta
    | RefusalDelta
    | ReasoningDelta
    | ToolArgumentsDelta
    | ChoiceFinished
    | LogprobsDelta
    | UsageReceived
    | ErrorReceived
)
