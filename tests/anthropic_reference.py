"""A plain-Python reference fold of Anthropic Messages events: the executable spec.

Written from the merge rules in the README's Anthropic table (rule numbers cited
inline), for differential tests of ``chunkfold.MessageAccumulator``. It works on the
decoded JSON payloads (``json.loads``), and is meant to be obviously correct rather
than fast; it shares no code with the Rust fold.

``reference_fold(events)`` takes ``(event name, payload bytes)`` pairs and returns a
:class:`Reference`: the message as a plain dict, in the form the accumulator's
snapshot JSON decodes to with ``json.loads``, plus its status and counters.

Where the rules leave a detail open, this reads it as the fold does:

* a value of the wrong type counts as absent (an ``index`` that is not an integer
  makes a block event change nothing; a ``text_delta`` without a string ``text``
  still creates its block);
* ``message_start`` keeps every message field but ``content`` and ``usage`` as sent,
  ``null`` included; ``message_delta.delta`` overwrites with each non-null value,
  except the message's identity (``id``, ``model``, ``type``, ``role``) and content;
* a block that deltas created takes the type, ``id`` and ``name`` of a
  ``content_block_start`` that arrives later, and keeps what the deltas folded.

Also here: fixture framing (with the fold's unterminated-``message_stop`` rule) and
SSE encoding of generated events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chunkfold import SSEDecoder

__all__ = ["Reference", "encode_events", "fixture_events", "reference_fold"]

_TOOL_TYPES = ("tool_use", "server_tool_use", "mcp_tool_use")
_BLOCK_OF_DELTA = {
    "text_delta": "text",
    "citations_delta": "text",
    "thinking_delta": "thinking",
    "signature_delta": "thinking",
    "input_json_delta": "tool",
    "compaction_delta": "compaction",
}
_IMPLICIT = {
    "text": {"type": "text", "text": ""},
    "thinking": {"type": "thinking", "thinking": "", "signature": ""},
    "tool": {"type": "tool_use", "id": "", "name": "", "input": {}},
    "compaction": {"type": "compaction", "content": None},
}
_WHITESPACE = " \t\n\r\x0c"
_I64 = range(-(2**63), 2**63)


def _int(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value in _I64
    return value if ok else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class _Block:
    start: dict[str, Any] | None
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)  # text, thinking, ...: folded values
    citations: list[Any] | None = None
    json: str | None = None
    input: str = "start"  # "start", "parsed" or "invalid"
    dirty: bool = False

    def start_value(self, key: str) -> Any:
        return (self.start or {}).get(key)

    def settle(self) -> bool:
        """Parses the argument text once (rule 4); whether it was invalid."""
        if not self.dirty or self.json is None:
            return False
        self.dirty = False
        if not self.json.strip(_WHITESPACE):
            self.input = "start"
            return False
        try:
            value = json.loads(self.json)
        except ValueError:
            value = None
        self.input = "parsed" if isinstance(value, dict) else "invalid"
        return self.input == "invalid"

    def render(self) -> dict[str, Any]:
        out = dict(self.start) if self.start is not None else dict(_IMPLICIT[self.kind])
        out.update(self.fields)
        if self.citations is not None:
            out["citations"] = list(self.citations)
        if self.input == "parsed":
            out["input"] = json.loads(self.json or "{}")
        elif self.input == "invalid":
            out["input"] = None
        if self.input != "parsed" and self.json is not None and self.json.strip(_WHITESPACE):
            out["input_json"] = self.json
        return out


def _kind_of_start(start: dict[str, Any]) -> str:
    kind = _str(start.get("type"))
    if kind in ("text", "thinking", "compaction"):
        return kind
    if kind in _TOOL_TYPES or "input" in start:
        return "tool"
    return "other"


@dataclass
class Reference:
    """The reference fold's result."""

    message: dict[str, Any]
    status: str
    error: Any
    usage: dict[str, Any] | None
    chunks: int = 0
    skipped: int = 0
    ignored: int = 0
    renamed: int = 0
    mismatched: int = 0
    invalid_inputs: int = 0
    unknown_deltas: int = 0


@dataclass
class _State:
    started: bool = False
    halted: bool = False
    done: bool = False
    error: Any = None
    id: str | None = None
    model: str | None = None
    stop_reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    blocks: dict[int, _Block] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    bedrock: Any = None
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def block_start(self, index: int, start: dict[str, Any]) -> None:
        block = self.blocks.get(index)
        if block is None:
            self.blocks[index] = _Block(start=start, kind=_kind_of_start(start))
        else:  # rule 2: deltas got there first; what they folded stays
            block.start, block.kind = start, _kind_of_start(start)

    def block_delta(self, index: int, delta: dict[str, Any]) -> None:
        kind = _str(delta.get("type"))
        implied = _BLOCK_OF_DELTA.get(kind or "")
        if implied is None:
            self.count("unknown_deltas")
            return
        block = self.blocks.setdefault(index, _Block(start=None, kind=implied))
        if block.kind != implied:
            self.count("mismatched")  # rule 2: kept, and counted
        if kind in ("text_delta", "thinking_delta", "compaction_delta"):  # rule 3: append
            key = {"text_delta": "text", "thinking_delta": "thinking"}.get(kind, "content")
            if key not in block.fields:
                block.fields[key] = _str(block.start_value(key)) or ""
            block.fields[key] += _str(delta.get(key)) or ""
        elif kind == "signature_delta":  # rule 3: set
            if isinstance(delta.get("signature"), str):
                block.fields["signature"] = delta["signature"]
        elif kind == "citations_delta":  # rule 3: append in order
            if block.citations is None:
                start = block.start_value("citations")
                block.citations = list(start) if isinstance(start, list) else []
            if delta.get("citation") is not None:
                block.citations.append(delta["citation"])
        else:  # rule 4: input_json_delta appends to the buffer
            text = _str(delta.get("partial_json")) or ""
            block.json = (block.json or "") + text
            block.dirty = block.dirty or bool(text)
            if text and block.input == "parsed":  # text after the parse: streaming again
                block.input = "start"

    def block_stop(self, index: int) -> None:
        block = self.blocks.get(index)
        if block is not None and block.settle():
            self.count("invalid_inputs")

    def message_start(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        for key, value in message.items():
            if key == "id":
                self.id = _str(value)
            elif key == "model":
                self.model = _str(value)
            elif key == "usage":
                self.merge_usage(value)
            elif key == "content":
                if isinstance(value, list):  # rule 6: list position as index
                    for position, block in enumerate(value):
                        if isinstance(block, dict):
                            self.block_start(position, block)
            else:
                if key == "stop_reason":
                    self.stop_reason = _str(value)
                self.fields[key] = value

    def message_delta(self, payload: dict[str, Any]) -> None:
        delta = payload.get("delta")
        if isinstance(delta, dict):
            for key, value in delta.items():
                if value is None or key in ("id", "model", "content", "usage", "type", "role"):
                    continue
                if key == "stop_reason" and isinstance(value, str):  # rule 8
                    self.stop_reason = value
                self.fields[key] = value
        if "usage" in payload:
            self.merge_usage(payload["usage"])

    def merge_usage(self, usage: Any) -> None:
        """Rule 7: each non-null counter overwrites; nothing is added."""
        if isinstance(usage, dict):
            for key, value in usage.items():
                if value is not None:
                    self.usage[key] = value

    def event(self, name: str, payload: bytes) -> None:
        if self.halted:  # rule 6: nothing after a second message_start
            self.count("ignored")
            return
        try:
            obj = json.loads(payload)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            if name == "error":  # rule 10: an error event that is not JSON
                self.error = self.error or payload
                self.count("chunks")
            else:
                self.count("skipped")
            return
        kind = obj.get("type")
        type_name = kind if isinstance(kind, str) else ""
        if name and name != type_name:  # rule 9: counted; the type routes
            self.count("renamed")
        self.count("chunks")
        if "amazon-bedrock-invocationMetrics" in obj:  # rule 12
            self.bedrock = obj["amazon-bedrock-invocationMetrics"]
        index = _int(obj.get("index"))
        if kind == "message_start":
            if self.started:
                self.halted = True
                self.error = self.error or {"type": "error", "error": {"type": "protocol_error"}}
            else:
                self.started = True
                self.message_start(obj.get("message"))
        elif kind == "content_block_start":
            block = obj.get("content_block")
            if index is None or not isinstance(block, dict):
                self.count("ignored")
            else:
                self.block_start(index, block)
        elif kind == "content_block_delta":
            delta = obj.get("delta")
            if index is None or not isinstance(delta, dict):
                self.count("ignored")
            else:
                self.block_delta(index, delta)
        elif kind == "content_block_stop":
            if index is None:
                self.count("ignored")
            else:
                self.block_stop(index)
        elif kind == "message_delta":
            self.message_delta(obj)
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":  # rule 10
            self.error = self.error or obj
        else:  # rule 11 (ping) and rule 12 (unknown types)
            self.count("ignored")

    def render(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.id or "",
            "type": self.fields.get("type", "message"),
            "role": self.fields.get("role", "assistant"),
            "model": self.model or "",
            "content": [self.blocks[i].render() for i in sorted(self.blocks)],  # rule 1
            "stop_reason": self.fields.get("stop_reason"),
            "stop_sequence": self.fields.get("stop_sequence"),
        }
        for key, value in self.fields.items():
            message.setdefault(key, value)
        message["usage"] = dict(self.usage)
        return message

    def status(self, finished: bool) -> str:
        cut_short = self.stop_reason in ("max_tokens", "model_context_window_exceeded")
        if self.error is not None:
            return "error"
        if (self.done or finished) and cut_short:
            return "incomplete"
        if self.done:
            return "done"
        if not finished:
            return "in_progress"
        return "finished" if self.stop_reason is not None else "truncated"


def reference_fold(
    events: Iterable[tuple[str, bytes]], *, finished: bool = True, tail: bytes | None = None
) -> Reference:
    """Folds ``(event name, payload)`` pairs (name ``""`` for no ``event:`` line).

    ``tail`` is the data of an unterminated final event: it is folded only if it is a
    ``message_stop`` (rule: ``message_stop`` counts as an unterminated final event).
    """
    state = _State()
    for name, payload in events:
        state.event(name, payload)
    if tail is not None:
        try:
            obj = json.loads(tail)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("type") == "message_stop":
            state.event("", tail)
    if finished:
        for index in sorted(state.blocks):
            state.block_stop(index)
    usage: dict[str, Any] | None = dict(state.usage)
    if state.bedrock is not None:
        assert usage is not None
        usage["amazon-bedrock-invocationMetrics"] = state.bedrock
    if not state.usage and state.bedrock is None:
        usage = None
    counts = state.counts
    return Reference(
        message=state.render(),
        status=state.status(finished),
        error=state.error,
        usage=usage,
        chunks=counts.get("chunks", 0),
        skipped=counts.get("skipped", 0),
        ignored=counts.get("ignored", 0),
        renamed=counts.get("renamed", 0),
        mismatched=counts.get("mismatched", 0),
        invalid_inputs=counts.get("invalid_inputs", 0),
        unknown_deltas=counts.get("unknown_deltas", 0),
    )


def _frame(data: bytes) -> list[tuple[str, bytes]]:
    decoder = SSEDecoder()
    events = decoder.feed(data) + decoder.finish()
    return [(e.event if e.event != "message" else "", e.raw) for e in events]


def fixture_events(data: bytes) -> tuple[list[tuple[str, bytes]], bytes | None]:
    """A stream's events, framed by chunkfold's (separately tested) SSE decoder, and
    the data of its unterminated final event, if any."""
    events = _frame(data)
    closed = _frame(data + b"\n\n")
    tail = closed[-1][1] if len(closed) > len(events) else None
    return events, tail


def encode_events(events: Sequence[tuple[str, Any]]) -> bytes:
    """SSE bytes for ``(event name, payload)`` pairs; a payload that is not ``bytes``
    is JSON-encoded; a name of ``""`` writes no ``event:`` line."""
    out = []
    for name, payload in events:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = f"event: {name}\n".encode() if name else b""
        out.append(head + b"data: " + data + b"\n\n")
    return b"".join(out)


FIXTURES = Path(__file__).parent / "data" / "fixtures" / "anthropic"
