"""``chunkfold inspect``: what a captured stream holds and what is wrong with it.

A capture is the body of a streamed chat completion: a ``.sse`` file, the
output of ``curl -N`` (with ``-i``, its HTTP headers come first and are
skipped), or a body copied from a proxy log (if the log lost the blank lines
between events, each ``data:`` line is taken as one event, and that is
reported). :func:`inspect_bytes` folds it with
:class:`chunkfold.ChatCompletionAccumulator` (``strict=False``, so nothing
stops it), decodes every event on its own to say which ones are malformed,
and scans the lines for comments, which :class:`chunkfold.SSEDecoder` drops
as WHATWG says.

Each :class:`Finding` is a *problem* (the stream is not a clean, complete
OpenAI stream: a malformed event, an API error, no ``[DONE]``, no usage, a
choice that never finished, tool arguments that are not JSON, a truncated
final event, invalid UTF-8, an HTTP error status) or a *note* (normal but
worth knowing: keep-alive comments and empty events, HTTP headers skipped,
``finish_reason: "length"``, events after ``[DONE]``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from chunkfold import ChatCompletionAccumulator, SSEDecoder
from chunkfold.chat.decoder import raise_if_api_error
from chunkfold.chat.models import ChatCompletion, ChatCompletionChunk, CompletionUsage
from chunkfold.errors import EventTooLargeError, StreamAPIError

__all__ = ["Finding", "Inspection", "inspect_bytes", "to_json_value"]

_LINE: Final = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_HTTP_STATUS: Final = re.compile(rb"HTTP/[\d.]+ +(\d{3})[^\r\n]*")
_HEADERS_END: Final = re.compile(rb"\r?\n\r?\n")
_UNSEPARATED: Final = re.compile(rb"^(data:[^\r\n]*)(\r\n|\r|\n)(?=data:)", re.MULTILINE)
_EXCERPT: Final = 80
_any = msgspec.json.Decoder()
_ENDINGS: Final = {
    "done": "[DONE]",
    "finished": "every choice finished, but no [DONE]",
    "truncated": "truncated: no [DONE], and not every choice finished",
    "in_progress": "truncated: no [DONE], and not every choice finished",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """Something found in a stream: a problem, or a note when ``problem`` is False."""

    code: str
    """A stable name: ``malformed-event``, ``missing-done``, ``missing-usage``, ..."""
    message: str
    offset: int | None = None
    """The byte offset in the input the finding is about, if one."""
    problem: bool = True

    def __str__(self) -> str:
        where = "" if self.offset is None else f" (byte {self.offset})"
        return f"{self.code}{where}: {self.message}"


@dataclass(slots=True)
class Inspection:
    """What :func:`inspect_bytes` found in one stream."""

    source: str
    size: int
    completion: ChatCompletion
    status: str
    """The accumulator's ``status``: ``done``, ``finished``, ``error`` or ``truncated``."""
    ended: str
    """How the stream ended, in words."""
    usage: CompletionUsage | None
    events: int = 0
    chunks: list[ChatCompletionChunk] = field(default_factory=list)
    """Every event that decoded as a chunk, in order, up to ``[DONE]``."""
    comments: int = 0
    empty_events: int = 0
    findings: list[Finding] = field(default_factory=list)
    base: int = 0
    """Bytes of HTTP head skipped before the body; offsets in findings count them."""

    @property
    def problems(self) -> list[Finding]:
        """The findings that make the stream not clean."""
        return [f for f in self.findings if f.problem]

    @property
    def notes(self) -> list[Finding]:
        """The findings that are only worth knowing."""
        return [f for f in self.findings if not f.problem]

    def summary(self) -> str:
        """A human-readable report: counts, how it ended, usage, choices, problems, notes."""
        lines = [
            f"source:    {self.source} ({self.size:,} bytes)",
            f"events:    {self.events:,} ({len(self.chunks):,} chunks); keep-alives: "
            f"{self.comments:,} comments, {self.empty_events:,} empty events",
            f"ended:     {self.ended}",
            f"usage:     {_usage_text(self.usage)}",
        ]
        for choice in self.completion.choices:
            message = choice.message
            parts = [f"finish_reason={choice.finish_reason}"]
            for name, text in (
                ("content", message.content),
                ("refusal", message.refusal),
                ("reasoning", message.reasoning_content or message.reasoning or None),
            ):
                if text is not None:
                    parts.append(f"{len(text):,} chars of {name}")
            lines.append(f"choice {choice.index}:  " + ", ".join(parts))
            for call in message.tool_calls or []:
                valid = "valid JSON" if _json_error(call.function.arguments) is None else "NOT valid JSON"
                lines.append(
                    f"  tool call {call.id or '(no id)'} {call.function.name}: "
                    f"{len(call.function.arguments):,} chars of arguments, {valid}"
                )
        problems, notes = self.problems, self.notes
        lines.append(f"problems:  {len(problems) or 'none'}")
        lines += [f"  {p}" for p in problems]
        if notes:
            lines.append(f"notes:     {len(notes)}")
            lines += [f"  {n}" for n in notes]
        return "\n".join(lines)


def _usage_text(usage: CompletionUsage | None) -> str:
    if usage is None:
        return "none"
    text = f"prompt={usage.prompt_tokens} completion={usage.completion_tokens} total={usage.total_tokens}"
    details = usage.completion_tokens_details
    if details is not None and details.reasoning_tokens:
        text += f" (reasoning={details.reasoning_tokens})"
    return text


def _json_error(text: str) -> str | None:
    """Why ``text`` is not a JSON document, or ``None`` if it is one."""
    if not text.strip():
        return "empty"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return str(exc)
    return None


def _excerpt(data: str) -> str:
    """The first characters of ``data`` on one line."""
    short = data if len(data) <= _EXCERPT else data[:_EXCERPT] + "..."
    return short.replace("\r", "\\r").replace("\n", "\\n")


def to_json_value(obj: Any) -> Any:
    """A Struct (or a list of them) as plain JSON values, exactly as it encodes:
    OpenAI's wire format (see :mod:`chunkfold.chat.models`)."""
    return msgspec.to_builtins(obj)


def _strip_http(body: bytes, findings: list[Finding]) -> bytes:
    """Drops HTTP response heads (``curl -i``, ``100 Continue`` included) before the body."""
    while (status := _HTTP_STATUS.match(body)) is not None and (end := _HEADERS_END.search(body)):
        head = body[: end.start()].decode("latin-1")
        code = int(status.group(1))
        first = head.splitlines()[0]
        findings.append(Finding("http-headers", f"skipped the HTTP response head {first!r}", 0, False))
        if not 200 <= code < 300 and code != 100:
            findings.append(Finding("http-status", f"the response status is {code}", 0))
        content_type = re.search(r"(?im)^content-type:\s*([^\r\n]*)", head)
        if content_type and "text/event-stream" not in content_type.group(1).lower():
            findings.append(
                Finding(
                    "content-type", f"content-type is {content_type.group(1)!r}, not text/event-stream", 0
                )
            )
        body = body[end.end() :]
    return body


def _scan_lines(body: bytes, inspection: Inspection) -> None:
    """Counts comment lines and reports a final event with no blank line after it."""
    pending: bytes | None = None
    pending_at = 0
    for match in _LINE.finditer(body):
        line = match.group().rstrip(b"\r\n")
        if not line:
            pending = None
        elif line.startswith(b":") or (match.start() == 0 and line.startswith(b"\xef\xbb\xbf:")):
            inspection.comments += 1
        elif pending is None:
            pending, pending_at = line, match.start()
    if pending is None:
        return
    if pending.strip() == b"data: [DONE]" or pending.strip() == b"data:[DONE]":
        message = "the final data: [DONE] has no blank line after it (it still counts as [DONE])"
        inspection.findings.append(Finding("unterminated-done", message, inspection.base + pending_at, False))
    else:
        text = pending.decode("utf-8", "replace")
        message = f"the stream ends inside an event, which is discarded: {_excerpt(text)}"
        inspection.findings.append(Finding("truncated-event", message, inspection.base + pending_at))


def _decode_events(body: bytes, inspection: Inspection) -> None:
    """Decodes every event on its own and reports those that are not chunks."""
    decoder = SSEDecoder()
    try:
        events = decoder.feed(body)
    except EventTooLargeError as exc:  # the events around the oversized ones are in decoded
        events = list(exc.decoded)
        message = f"an event is larger than {exc.limit:,} bytes; it was skipped"
        inspection.findings.append(Finding("event-too-large", message, inspection.base + (exc.offset or 0)))
    events += decoder.finish()
    done_at: int | None = None
    after_done = 0
    for event in events:
        inspection.events += 1
        if done_at is not None:
            after_done += 1
            continue
        data = event.data
        if not data.strip():
            inspection.empty_events += 1
            continue
        offset = inspection.base + event.offset
        if data == "[DONE]":
            done_at = offset
            continue
        if event.event not in ("message", "error"):
            message = f"an event of type {event.event!r}, read as a chunk"
            inspection.findings.append(Finding("event-type", message, offset, False))
        _decode_event(event.raw, event.event, offset, inspection)
    if after_done:
        message = f"{after_done} event(s) after [DONE], ignored"
        inspection.findings.append(Finding("data-after-done", message, done_at, False))


def _decode_event(raw: bytes, event: str, offset: int, inspection: Inspection) -> None:
    findings = inspection.findings
    text = raw.decode("utf-8", "replace")
    try:  # WHATWG's rule for bytes that are not UTF-8, as the decoders and the fold
        obj = _any.decode(text)
    except msgspec.DecodeError as exc:
        if event == "error":
            findings.append(Finding("api-error", f"an error event: {_excerpt(text)}", offset))
        else:
            findings.append(Finding("malformed-event", f"not JSON ({exc}): {_excerpt(text)}", offset))
        return
    try:
        raise_if_api_error(obj, offset=offset, event=event)
    except StreamAPIError as exc:
        code = f" (code {exc.code})" if exc.code is not None else ""
        findings.append(Finding("api-error", f"{exc.message}{code}", offset))
        return
    try:
        inspection.chunks.append(msgspec.convert(obj, ChatCompletionChunk))
    except msgspec.ValidationError as exc:
        findings.append(
            Finding("malformed-event", f"not a chat.completion.chunk ({exc}): {_excerpt(text)}", offset)
        )


def _check_fold(acc: ChatCompletionAccumulator, inspection: Inspection) -> None:
    findings = inspection.findings
    completion = inspection.completion
    if inspection.events == 0:
        findings.append(Finding("no-events", "no Server-Sent Events found: is this an SSE body?"))
    if not acc.done:
        findings.append(Finding("missing-done", f"no data: [DONE]; {inspection.ended}"))
    if acc.error is not None and not any(f.code == "api-error" for f in findings):
        offset = None if acc.error.offset is None else inspection.base + acc.error.offset
        findings.append(Finding("api-error", acc.error.message, offset))
    if acc.usage is None and inspection.chunks:
        message = "no usage was sent (ask for it with stream_options: {include_usage: true})"
        findings.append(Finding("missing-usage", message))
    for choice in completion.choices:
        if choice.finish_reason is None:
            # A note: missing-done already flags a cut stream, and OpenAI's audio
            # streams end with [DONE] without ever sending a finish_reason.
            message = f"choice {choice.index} has no finish_reason"
            findings.append(Finding("unfinished-choice", message, problem=False))
        elif choice.finish_reason in ("length", "content_filter"):
            message = f"choice {choice.index} ended with finish_reason {choice.finish_reason!r}"
            findings.append(Finding("finish-reason", message, problem=False))
        for position, call in enumerate(choice.message.tool_calls or []):
            error = _json_error(call.function.arguments)
            if error is not None:
                name = call.function.name or "(no name)"
                message = (
                    f"choice {choice.index}, tool call {position} ({call.id or 'no id'}, {name}): "
                    f"arguments are not valid JSON ({error}): {_excerpt(call.function.arguments)}"
                )
                findings.append(Finding("invalid-tool-arguments", message))
    if inspection.comments or inspection.empty_events:
        message = (
            f"{inspection.comments} comment line(s) and {inspection.empty_events} empty event(s), skipped"
        )
        findings.append(Finding("keep-alive", message, problem=False))


def inspect_bytes(body: bytes, *, source: str = "-") -> Inspection:
    """Inspects one captured stream: folds it, decodes each event, and lists the findings."""
    size = len(body)
    findings: list[Finding] = []
    body = _strip_http(body, findings)
    base = size - len(body)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"invalid UTF-8 ({exc.reason}); an event carrying it is not JSON"
        findings.append(Finding("invalid-utf8", message, base + exc.start))
    repaired, joined = _UNSEPARATED.subn(rb"\1\2\2", body)
    if joined and _looks_unseparated(body):
        message = (
            f"{joined} data line(s) had no blank line after them; each was read as one event "
            "(byte offsets below count the blank lines added)"
        )
        findings.append(Finding("unseparated-events", message))
        # The last event lost its blank line too: end it, or it would be discarded.
        body = repaired + (b"\n" if repaired.endswith((b"\n", b"\r")) else b"\n\n")
    acc = ChatCompletionAccumulator(strict=False)
    acc.feed(body)
    completion = acc.finish()
    status = acc.status
    ended = f"API error: {acc.error.message}" if acc.error is not None else _ENDINGS.get(status, status)
    inspection = Inspection(source, size, completion, status, ended, acc.usage, findings=findings, base=base)
    _scan_lines(body, inspection)
    _decode_events(body, inspection)
    _check_fold(acc, inspection)
    return inspection


def _looks_unseparated(body: bytes) -> bool:
    """Whether consecutive ``data:`` lines are separate JSON payloads run together (a
    log that lost the blank lines) rather than one payload split over lines."""
    decoder = SSEDecoder()
    try:
        events = decoder.feed(body + b"\n\n") + decoder.finish()
    except EventTooLargeError as exc:
        events = list(exc.decoded)
    for event in events:
        lines = event.data.split("\n")
        if len(lines) < 2:
            continue
        try:
            json.loads(event.data)
        except json.JSONDecodeError:
            return all(line.strip() == "[DONE]" or line.lstrip().startswith("{") for line in lines)
        return False
    return False
