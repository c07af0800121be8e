"""``chunkfold inspect`` for Responses API streams: the folded ``Response`` of a
captured stream and what is wrong with it.

:func:`inspect_response_bytes` folds the body with
:class:`~chunkfold.ResponseAccumulator` (``strict=False``, so nothing stops it),
decodes every event on its own with :class:`~chunkfold.ResponseEventDecoder`'s
models to say which are malformed, and lists :class:`~chunkfold.inspection.Finding`\\ s:
problems (a malformed event, an API error, no terminal event, an incomplete
response, no usage, function arguments that are not JSON) and notes
(keep-alives, unknown event types, repeated or skipped sequence numbers,
``item_id`` disagreements).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from chunkfold import SSEDecoder
from chunkfold.errors import EventTooLargeError
from chunkfold.inspection import Finding, _excerpt, _json_error
from chunkfold.responses.accumulate import ResponseAccumulator
from chunkfold.responses.models import (
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseStreamEvent,
    ResponseUsage,
    UnknownEvent,
    decode_event,
)

__all__ = ["ResponseInspection", "inspect_response_bytes"]

_ENDINGS = {
    "done": "response.completed",
    "incomplete": "response.incomplete",
    "truncated": "truncated: no response.completed, .incomplete or .failed",
    "in_progress": "truncated: no response.completed, .incomplete or .failed",
}
_any = msgspec.json.Decoder()


@dataclass(slots=True)
class ResponseInspection:
    """What :func:`inspect_response_bytes` found in one Responses stream."""

    source: str
    size: int
    response: Response
    status: str
    """The accumulator's ``status``: ``done``, ``incomplete``, ``error`` or ``truncated``."""
    ended: str
    usage: ResponseUsage | None
    events: list[ResponseStreamEvent] = field(default_factory=list)
    """Every event that decoded, in order."""
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
        """A human-readable report: counts, how it ended, usage, items, problems, notes."""
        usage, usage_text = self.usage, "none"
        if usage is not None:
            cached = usage.input_tokens_details.cached_tokens
            reasoning = usage.output_tokens_details.reasoning_tokens
            usage_text = (
                f"{usage.input_tokens:,} input ({cached:,} cached), "
                f"{usage.output_tokens:,} output ({reasoning:,} reasoning), {usage.total_tokens:,} total"
            )
        lines = [
            f"source:    {self.source} ({self.size:,} bytes; OpenAI Responses API stream)",
            f"events:    {len(self.events):,}",
            f"ended:     {self.ended}",
            f"usage:     {usage_text}",
        ]
        for index, item in enumerate(self.response.output):
            detail = ""
            if isinstance(item, ResponseOutputMessage):
                chars = sum(len(getattr(p, "text", "") or getattr(p, "refusal", "")) for p in item.content)
                detail = f": {chars:,} chars of text"
            elif isinstance(item, ResponseFunctionToolCall):
                valid = "valid JSON" if _json_error(item.arguments) is None else "NOT valid JSON"
                detail = f" {item.name}: {len(item.arguments):,} chars of arguments, {valid}"
            elif isinstance(item, ResponseReasoningItem):
                detail = f": {sum(len(s.text) for s in item.summary):,} chars of summary"
            lines.append(f"item {index}:    {item.type}{detail}")
        problems, notes = self.problems, self.notes
        lines.append(f"problems:  {len(problems) or 'none'}")
        lines += [f"  {p}" for p in problems]
        if notes:
            lines.append(f"notes:     {len(notes)}")
            lines += [f"  {n}" for n in notes]
        return "\n".join(lines)


def inspect_response_bytes(body: bytes, *, source: str = "-") -> ResponseInspection:
    """Inspects one captured Responses stream: folds it, decodes each event, lists findings."""
    acc = ResponseAccumulator(strict=False)
    acc.feed(body)
    response = acc.finish()
    error = acc.error
    ended = f"API error: {error.message}" if error is not None else _ENDINGS.get(acc.status, acc.status)
    if acc.status == "incomplete":
        ended += f" ({', '.join(acc.finish_reasons)})"
    inspection = ResponseInspection(source, len(body), response, acc.status, ended, acc.usage)
    findings = inspection.findings
    decoder = SSEDecoder()
    try:
        raw_events = decoder.feed(body) + decoder.finish()
    except EventTooLargeError as exc:
        raw_events = list(exc.decoded)
        findings.append(Finding("event-too-large", str(exc), exc.offset))
    unknown: set[str] = set()
    for event in raw_events:
        data = event.raw.strip()
        if not data or data == b"[DONE]":
            continue
        try:
            decoded = decode_event(event.raw)
        except (msgspec.MsgspecError, RecursionError) as exc:
            text = event.raw.decode("utf-8", "replace")
            findings.append(
                Finding("malformed-event", f"not an event ({exc}): {_excerpt(text)}", event.offset)
            )
            continue
        inspection.events.append(decoded)
        if isinstance(decoded, UnknownEvent) and decoded.type != "ping":
            unknown.add(decoded.type)
    if error is not None:
        findings.append(Finding("api-error", error.message, error.offset))
    if acc.status in ("truncated", "in_progress"):
        findings.append(Finding("missing-terminal", f"the stream ended {ended}"))
    if acc.status == "incomplete":
        findings.append(
            Finding("incomplete", f"the response is incomplete ({', '.join(acc.finish_reasons)})")
        )
    if acc.usage is None and acc.status != "error":
        findings.append(Finding("missing-usage", "no usage was sent"))
    for index, item in enumerate(response.output):
        if isinstance(item, ResponseFunctionToolCall) and (problem := _json_error(item.arguments)):
            message = f"item {index} ({item.name}): arguments are not valid JSON ({problem})"
            findings.append(Finding("invalid-tool-arguments", message))
    notes = [
        ("keep-alive", acc.ignored - len(unknown), "keepalive or ping event(s), skipped"),
        ("duplicate-events", acc.duplicates, "event(s) repeated a sequence number, skipped"),
        ("sequence-gaps", acc.sequence_gaps, "jump(s) in sequence_number"),
        ("item-id-mismatch", acc.item_id_mismatches, "event(s) whose item_id disagreed with their item"),
    ]
    for code, count, what in notes:
        if count > 0:
            findings.append(Finding(code, f"{count} {what}", problem=False))
    if unknown:
        findings.append(
            Finding("unknown-events", f"event types no model knows: {sorted(unknown)}", problem=False)
        )
    return inspection
