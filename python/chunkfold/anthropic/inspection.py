"""``chunkfold inspect`` for Anthropic Messages streams: the folded message of a
captured stream, and what is wrong with the stream.

``chunkfold inspect`` picks it with
:func:`chunkfold.gateway.protocols.sniff_protocol`; :func:`inspect_message_bytes`
folds with :class:`chunkfold.MessageAccumulator` and lists the findings in
the shape :mod:`chunkfold.inspection` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chunkfold import MessageAccumulator
from chunkfold.anthropic.models import Message, ToolUseBlock, Usage
from chunkfold.inspection import Finding
from chunkfold.usage import TokenUsage

__all__ = ["MessageInspection", "inspect_message_bytes"]

_EVENT_TYPES = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop"}
    | {"message_delta", "message_stop"}
)
_ENDINGS = {
    "done": "message_stop",
    "incomplete": "cut short by the model (max_tokens or the context window)",
    "finished": "a stop reason, but no message_stop",
    "truncated": "truncated: no stop reason and no message_stop",
}


@dataclass(slots=True)
class MessageInspection:
    """What :func:`inspect_message_bytes` found in one Anthropic stream."""

    source: str
    size: int
    message: Message
    status: str
    ended: str
    usage: Usage | None
    token_usage: TokenUsage | None
    events: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """The findings that make the stream not clean."""
        return [f for f in self.findings if f.problem]

    @property
    def notes(self) -> list[Finding]:
        """The findings that are only worth knowing."""
        return [f for f in self.findings if not f.problem]

    def summary(self) -> str:
        """A human-readable report: counts, how it ended, usage, blocks, problems, notes."""
        usage = self.token_usage
        lines = [
            f"source:    {self.source} ({self.size:,} bytes), Anthropic Messages",
            f"events:    {self.events:,}",
            f"ended:     {self.ended}",
            f"model:     {self.message.model or '(none)'}, stop_reason={self.message.stop_reason}",
            "usage:     "
            + (
                "none reported"
                if usage is None
                else f"input {usage.input} (cached {usage.cached_input}), output {usage.output}"
            ),
        ]
        for i, block in enumerate(self.message.content):
            text = getattr(block, "text", None) or getattr(block, "thinking", None)
            detail = f"{len(text):,} chars" if isinstance(text, str) else ""
            if isinstance(block, ToolUseBlock):
                detail = f"{block.name}, input {'NOT valid JSON' if block.input is None else 'valid JSON'}"
            lines.append(f"block {i}:   {block.type} {detail}".rstrip())
        problems, notes = self.problems, self.notes
        lines.append(f"problems:  {len(problems) or 'none'}")
        lines += [f"  {p}" for p in problems]
        if notes:
            lines.append(f"notes:     {len(notes)}")
            lines += [f"  {n}" for n in notes]
        return "\n".join(lines)


def inspect_message_bytes(body: bytes, *, source: str = "-") -> MessageInspection:
    """Inspects one captured Anthropic stream: folds it and lists the findings."""
    acc = MessageAccumulator(strict=False)
    acc.feed(body)
    message = acc.finish()
    status = acc.status
    findings: list[Finding] = []
    error = acc.error
    if error is not None:
        findings.append(Finding("api-error", f"{error.type}: {error.message}", error.offset))
    if status in ("finished", "truncated"):
        findings.append(Finding("missing-message-stop", _ENDINGS[status]))
    counted = (
        (acc.skipped, "malformed-event", "event(s) whose data is not JSON were skipped", True),
        (acc.invalid_inputs, "invalid-tool-input", "tool input(s) are not a JSON object", True),
        (acc.mismatched_deltas, "mismatched-delta", "delta(s) of the wrong kind for their block", True),
        (acc.renamed, "renamed-event", "event(s) whose event: line disagrees with their type", False),
        (acc.unknown_deltas, "unknown-delta", "delta(s) of an unknown type", False),
    )
    for count, code, text, problem in counted:
        if count:
            findings.append(Finding(code, f"{count} {text}", problem=problem))
    if acc.usage is None:
        findings.append(Finding("missing-usage", "no usage was reported"))
    ended = f"API error: {error.message}" if error is not None else _ENDINGS.get(status, status)
    return MessageInspection(
        source, len(body), message, status, ended, acc.usage, acc.token_usage, acc.chunks, findings
    )
