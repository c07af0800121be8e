"""Typed events of the accumulators (:class:`~chunkfold.ChatCompletionAccumulator`,
:class:`~chunkfold.ResponseAccumulator`), opt-in with ``events=True``.

They serve UIs that render as text arrives and guardrails that inspect it;
with events off, the fold pays nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from chunkfold.chat.models import CompletionUsage
from chunkfold.errors import StreamAPIError

if TYPE_CHECKING:
    # Not imported at run time: chunkfold.responses imports this module.
    from chunkfold.responses.models import ResponseUsage

__all__ = [
    "ArgumentsDelta",
    "ChoiceFinished",
    "ContentDelta",
    "ErrorReceived",
    "LogprobsDelta",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputRefusalDelta",
    "OutputTextDelta",
    "ReasoningDelta",
    "ReasoningTextDelta",
    "RefusalDelta",
    "ResponseUsageReceived",
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

    ``index`` is the call's ``index`` as the provider sent it (OpenAI's meaning:
    its position in ``message.tool_calls``, which the final list is sorted by);
    for calls sent without an index (Gemini, Mistral), its position of first
    appearance.
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


# --- Responses API: item-level events ----------------------------------------


class OutputItemAdded(_Event, tag="item_added", frozen=True):
    """An output item was announced at ``output_index``."""

    output_index: int
    item_type: str
    item_id: str


class OutputItemDone(_Event, tag="item_done", frozen=True):
    """An output item finished; the folded item is now the one the stream sent."""

    output_index: int
    item_type: str
    item_id: str


class OutputTextDelta(_Event, tag="output_text", frozen=True):
    """Text added to the ``output_text`` part ``content_index`` of a message item."""

    output_index: int
    content_index: int
    delta: str


class OutputRefusalDelta(_Event, tag="output_refusal", frozen=True):
    """Text added to the ``refusal`` part ``content_index`` of a message item."""

    output_index: int
    content_index: int
    delta: str


class ReasoningTextDelta(_Event, tag="reasoning_text", frozen=True):
    """Text added to a reasoning item: to its summary part ``index`` when
    ``summary``, else to its reasoning text part ``index``."""

    output_index: int
    index: int
    summary: bool
    delta: str


class ArgumentsDelta(_Event, tag="arguments", frozen=True):
    """Text added to an item's streamed string: a function or MCP call's
    ``arguments``, a custom tool call's ``input``, a code interpreter call's
    ``code`` or an apply-patch call's ``operation.diff``. ``name`` is the
    item's ``name`` when it has one."""

    output_index: int
    name: str
    delta: str


class ResponseUsageReceived(_Event, tag="response_usage", frozen=True):
    """A response object carried usage (normally the terminal one)."""

    usage: ResponseUsage


StreamEvent = (
    ContentDelta
    | RefusalDelta
    | ReasoningDelta
    | ToolArgumentsDelta
    | ChoiceFinished
    | LogprobsDelta
    | UsageReceived
    | ErrorReceived
    | OutputItemAdded
    | OutputItemDone
    | OutputTextDelta
    | OutputRefusalDelta
    | ReasoningTextDelta
    | ArgumentsDelta
    | ResponseUsageReceived
)
