"""A plain-Python reference fold of Responses API stream events: the executable spec.

Written from the merge rules in the README's Responses table (rule numbers cited
inline), for differential tests of ``chunkfold.ResponseAccumulator``. It works on
decoded JSON (``dict``) and is meant to be obviously correct, not fast.

``reference_fold(events)`` takes ``(sse_event_type, data_bytes)`` pairs and returns a
:class:`Folded`: the ``Response`` as a JSON dict (what ``ResponseAccumulator``'s
snapshot JSON parses to), the status, the counters and the first error's payload.

Where the rules leave the representation open, this reads them as follows:

* the result starts from the terminal response (else the latest lifecycle response)
  and writes the folded fields over it; unannounced items and parts get the fields
  their events imply (``type``, ``role``, ``status: in_progress``, empty text);
* a delta's first append starts from the text its announced part already had;
* an event that names no item (no ``output_index`` and no ``item_id``) is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Folded", "reference_fold", "sse_events"]

I64 = (-(2**63), 2**63 - 1)
LIFECYCLE = {"response.created", "response.queued", "response.in_progress"}
TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
PROGRESS = {
    f"response.{call}.{step}"
    for call, steps in {
        "code_interpreter_call": ("in_progress", "interpreting", "completed"),
        "compaction": ("compacting",),
        "file_search_call": ("in_progress", "searching", "completed"),
        "web_search_call": ("in_progress", "searching", "completed"),
        "image_generation_call": ("in_progress", "generating", "partial_image", "completed"),
        "mcp_call": ("in_progress", "completed", "failed"),
        "mcp_list_tools": ("in_progress", "completed", "failed"),
    }.items()
    for step in steps
}
# delta type -> (list name, index key, part kind); done type -> (list, index key, kind, value key)
PART_DELTAS = {
    "response.output_text.delta": ("parts", "content_index", "output_text"),
    "response.refusal.delta": ("parts", "content_index", "refusal"),
    "response.reasoning_text.delta": ("parts", "content_index", "reasoning_text"),
    "response.reasoning_summary_text.delta": ("summary", "summary_index", "summary_text"),
}
PART_DONES = {
    "response.output_text.done": ("parts", "content_index", "output_text", "text"),
    "response.refusal.done": ("parts", "content_index", "refusal", "refusal"),
    "response.reasoning_text.done": ("parts", "content_index", "reasoning_text", "text"),
    "response.reasoning_summary_text.done": ("summary", "summary_index", "summary_text", "text"),
}
# call type prefix -> the item field its string builds
CALL_TEXT = {
    "response.function_call_arguments": "arguments",
    "response.mcp_call_arguments": "arguments",
    "response.custom_tool_call_input": "input",
    "response.code_interpreter_call_code": "code",
    "response.apply_patch_call_operation_diff": "diff",
}
ITEM_EVENTS = (
    {"response.output_item.added", "response.output_item.done"}
    | {"response.content_part.added", "response.content_part.done"}
    | {"response.reasoning_summary_part.added", "response.reasoning_summary_part.done"}
    | set(PART_DELTAS)
    | set(PART_DONES)
    | {"response.output_text.annotation.added"}
    | {f"{prefix}.{end}" for prefix in CALL_TEXT for end in ("delta", "done")}
    | {f"response.shell_call_command.{end}" for end in ("added", "delta", "done")}
    | {f"response.shell_call_output_content.{end}" for end in ("delta", "done")}
    | {"response.audio.delta", "response.audio.done"}
    | {"response.audio.transcript.delta", "response.audio.transcript.done"}
    | PROGRESS
)
PART_KINDS = ("output_text", "refusal", "reasoning_text", "summary_text")


def implied_kind(kind: str) -> str:
    """The item type an event implies ("" when it does not say)."""
    if kind.startswith(("response.output_text.", "response.refusal.", "response.content_part.")):
        return "message"
    if kind.startswith(("response.reasoning_text.", "response.reasoning_summary_")):
        return "reasoning"
    prefix = kind.rpartition(".")[0]
    return {
        "response.function_call_arguments": "function_call",
        "response.mcp_call_arguments": "mcp_call",
        "response.custom_tool_call_input": "custom_tool_call",
        "response.code_interpreter_call_code": "code_interpreter_call",
        "response.apply_patch_call_operation_diff": "apply_patch_call",
        "response.shell_call_command": "shell_call",
        "response.shell_call_output_content": "shell_call_output",
    }.get(prefix, "")


def sse_events(body: bytes) -> list[tuple[str, bytes]]:
    """``(event type, data)`` of every dispatched event, by chunkfold's WHATWG decoder
    (itself tested against the WHATWG conformance suite)."""
    from chunkfold import SSEDecoder

    decoder = SSEDecoder()
    return [(e.event, e.raw) for e in decoder.feed(body) + decoder.finish()]


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and I64[0] <= value <= I64[1]:
        return value
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class Part:
    kind: str
    base: dict[str, Any] | None = None
    text: str | None = None
    annotations: dict[int, Any] = field(default_factory=dict)

    def text_key(self) -> str:
        return "refusal" if self.kind == "refusal" else "text"

    def to_json(self) -> dict[str, Any]:
        out = dict(self.base or {})
        out.setdefault("type", self.kind)
        if self.text is not None:
            out[self.text_key()] = self.text
        else:
            out.setdefault(self.text_key(), "")
        if self.kind == "output_text":
            if not self.annotations:
                out.setdefault("annotations", [])
            else:
                announced = (self.base or {}).get("annotations")
                merged = dict(enumerate(announced)) if isinstance(announced, list) else {}
                merged.update(self.annotations)
                out["annotations"] = [merged[k] for k in sorted(merged)]
        return out


@dataclass
class Item:
    id: str = ""
    kind: str = ""
    base: dict[str, Any] | None = None
    parts: dict[int, Part] = field(default_factory=dict)
    summary: dict[int, Part] = field(default_factory=dict)
    text: tuple[str, str] | None = None
    commands: dict[int, str] = field(default_factory=dict)
    outputs: dict[int, dict[str, str]] = field(default_factory=dict)
    outputs_done: list[Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = dict(self.base or {})
        if self.id:
            out.setdefault("id", self.id)
        if self.kind:
            out.setdefault("type", self.kind)
        if self.base is None:
            out.setdefault("type", "message")
            if self.kind in ("message", ""):
                out.setdefault("role", "assistant")
                out.setdefault("content", [])
            elif self.kind == "reasoning":
                out.setdefault("summary", [])
            out.setdefault("status", "in_progress")
        if self.parts:
            out["content"] = [self.parts[k].to_json() for k in sorted(self.parts)]
        if self.summary:
            out["summary"] = [self.summary[k].to_json() for k in sorted(self.summary)]
        if self.text is not None:
            name, value = self.text
            if name == "diff":
                operation = (self.base or {}).get("operation")
                out["operation"] = {**(operation if isinstance(operation, dict) else {}), "diff": value}
            else:
                out[name] = value
        if self.commands:
            action = (self.base or {}).get("action")
            commands = [self.commands[k] for k in sorted(self.commands)]
            out["action"] = {**(action if isinstance(action, dict) else {}), "commands": commands}
        if self.outputs_done is not None:
            out["output"] = self.outputs_done
        elif self.outputs:
            out["output"] = [self.outputs[k] for k in sorted(self.outputs)]
        return out


@dataclass
class Folded:
    response: dict[str, Any]
    status: str
    finish_reason: str | None
    error: bytes | None
    usage: Any
    chunks: int = 0
    skipped: int = 0
    duplicates: int = 0
    gaps: int = 0
    mismatches: int = 0
    id_changes: int = 0
    ignored: int = 0
    transcript: str | None = None
    audio_bytes: int = 0
    tokens: int = 0


class _Fold:
    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created_at: Any = None
        self.announced = False
        self.lifecycle: dict[str, Any] | None = None
        self.terminal: tuple[str, dict[str, Any]] | None = None
        self.usage: Any = None
        self.items: dict[int, Item] = {}
        self.error: bytes | None = None
        self.last_sequence: int | None = None
        self.out = Folded({}, "in_progress", None, None, None)

    # Rule 6: the first lifecycle event sets id, model, created_at; without one, the
    # terminal response's non-empty values. A changed id is counted.
    def meta(self, response: dict[str, Any], lifecycle: bool) -> None:
        rid = _str(response.get("id")) or ""
        if self.id and rid and rid != self.id:
            self.out.id_changes += 1
        if self.announced:
            return
        if rid:
            self.id = rid
        if _str(response.get("model")):
            self.model = response["model"]
        created = response.get("created_at")
        if isinstance(created, int | float) and not isinstance(created, bool):
            self.created_at = created
        self.announced = lifecycle

    # Rule 7: the whole usage object of the last response that carried one.
    def take_usage(self, response: dict[str, Any]) -> None:
        if isinstance(response.get("usage"), dict):
            self.usage = response["usage"]

    # Rule 1: by output_index; else by item_id (a new item after the last one when unknown).
    def item(self, event: dict[str, Any]) -> Item | None:
        index = _int(event.get("output_index"))
        item_id = _str(event.get("item_id")) or ""
        if index is None:
            if not item_id:
                return None
            found = [k for k in sorted(self.items) if self.items[k].id == item_id]
            index = found[0] if found else (min(max(self.items) + 1, I64[1]) if self.items else 0)
        item = self.items.setdefault(index, Item())
        if item_id:
            if not item.id:
                item.id = item_id
            elif item.id != item_id:
                self.out.mismatches += 1
        return item

    def fold_item_event(self, kind: str, event: dict[str, Any]) -> bool:
        delta = event.get("delta")
        if kind == "response.audio.transcript.delta":
            text = _str(delta) or ""
            self.out.transcript = (self.out.transcript or "") + text
            return bool(text)
        if kind == "response.audio.delta":
            self.out.audio_bytes += len((_str(delta) or "").encode())
            return False
        if kind in ("response.audio.done", "response.audio.transcript.done"):
            return False
        item = self.item(event)
        if item is None:
            self.out.ignored += 1
            return False
        if not item.kind:  # an item never announced: the kind its first event implies
            item.kind = implied_kind(kind)
        content = _int(event.get("content_index"))
        summary = _int(event.get("summary_index"))
        index_of = {"content_index": content or 0, "summary_index": summary or 0}
        if kind in ("response.output_item.added", "response.output_item.done"):
            new = event.get("item")
            if isinstance(new, dict):
                # Rule 4: the item replaces everything folded into it.
                item.__init__(  # type: ignore[misc]
                    id=new["id"] if isinstance(new.get("id"), str) else item.id,
                    kind=new["type"] if isinstance(new.get("type"), str) else item.kind,
                    base=new,
                )
            return False
        if kind.startswith(("response.content_part.", "response.reasoning_summary_part.")):
            part = event.get("part")
            if isinstance(part, dict):
                is_summary = kind.startswith("response.reasoning_summary_part.")
                parts = item.summary if is_summary else item.parts
                i = index_of["summary_index" if is_summary else "content_index"]
                ptype = part.get("type")
                default = "summary_text" if is_summary else "output_text"
                new_kind = ptype if ptype in PART_KINDS else default
                existing = parts.setdefault(i, Part(new_kind))
                existing.kind, existing.base, existing.text, existing.annotations = new_kind, part, None, {}
            return False
        if kind in PART_DELTAS:
            where, key, pkind = PART_DELTAS[kind]
            text = _str(delta) or ""
            part = getattr(item, where).setdefault(index_of[key], Part(pkind))
            if part.text is None:  # rule 3: append to the announced part's text
                announced = (part.base or {}).get(part.text_key())
                part.text = announced if isinstance(announced, str) else ""
            part.text += text
            return bool(text)
        if kind in PART_DONES:
            where, key, pkind, value_key = PART_DONES[kind]
            value = _str(event.get(value_key))
            if value is not None:  # rule 4
                getattr(item, where).setdefault(index_of[key], Part(pkind)).text = value
            return False
        if kind == "response.output_text.annotation.added":
            part = item.parts.setdefault(index_of["content_index"], Part("output_text"))
            annotation = event.get("annotation")
            if isinstance(annotation, dict):
                at = _int(event.get("annotation_index"))
                if at is None:
                    at = min(max(part.annotations) + 1, I64[1]) if part.annotations else 0
                part.annotations[at] = annotation
            return False
        prefix, _, end = kind.rpartition(".")
        if prefix in CALL_TEXT:
            name = CALL_TEXT[prefix]
            if end == "delta":
                text = _str(delta) or ""
                item.text = (name, text) if item.text is None else (item.text[0], item.text[1] + text)
                return bool(text)
            value = _str(event.get(name))
            if value is not None:
                item.text = (name, value)
            return False
        command_index = _int(event.get("command_index")) or 0
        if kind in ("response.shell_call_command.added", "response.shell_call_command.done"):
            item.commands[command_index] = _str(event.get("command")) or ""
            return False
        if kind == "response.shell_call_command.delta":
            text = _str(delta) or ""
            item.commands[command_index] = item.commands.get(command_index, "") + text
            return bool(text)
        if kind == "response.shell_call_output_content.delta":
            out = item.outputs.setdefault(command_index, {"stdout": "", "stderr": ""})
            token = False
            if isinstance(delta, dict):
                for stream in ("stdout", "stderr"):
                    text = _str(delta.get(stream))
                    if text is not None:
                        out[stream] += text
                        token = token or bool(text)
            return token
        if kind == "response.shell_call_output_content.done":
            if isinstance(event.get("output"), list):
                item.outputs = {}
                item.outputs_done = event["output"]
            return False
        return False  # progress events: the item lookup above was all

    def event(self, sse_type: str, data: bytes) -> None:
        is_error_event = sse_type == "error"
        stripped = data.strip(b" \t\n\x0c\r")
        # Rule 11: nothing after the terminal event; a trailing [DONE] is accepted.
        if self.terminal is not None or (not is_error_event and stripped in (b"", b"[DONE]")):
            return
        try:
            event = json.loads(data)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            if is_error_event:
                self.error = self.error or data
                self.out.chunks += 1
            else:
                self.out.skipped += 1
            return
        # Rule 10: a sequence number at or below the last is a duplicate; gaps counted.
        sequence = _int(event.get("sequence_number"))
        if sequence is not None:
            if self.last_sequence is not None and sequence <= self.last_sequence:
                self.out.duplicates += 1
                return
            if self.last_sequence is not None and sequence > self.last_sequence + 1:
                self.out.gaps += 1
            self.last_sequence = sequence
        self.out.chunks += 1
        kind = _str(event.get("type")) or ""
        response = event.get("response")
        if kind in LIFECYCLE:
            if isinstance(response, dict):
                self.meta(response, lifecycle=True)
                self.take_usage(response)
                self.lifecycle = response
        elif kind in TERMINAL:
            response = response if isinstance(response, dict) else {}
            self.meta(response, lifecycle=False)
            self.take_usage(response)
            self.terminal = (TERMINAL[kind], response)
            if kind == "response.failed":
                self.error = self.error or data
        elif kind == "error" or is_error_event:
            self.error = self.error or data  # rule 8: the first error is kept
        elif kind in ITEM_EVENTS:
            if self.fold_item_event(kind, event):
                self.out.tokens += 1
        else:
            self.out.ignored += 1  # rule 9

    def result(self, finished: bool) -> Folded:
        out = self.out
        base = self.terminal[1] if self.terminal else (self.lifecycle or {})
        response = dict(base)
        response.setdefault("object", "response")
        if self.id:
            response["id"] = self.id
        if self.model:
            response["model"] = self.model
        if self.created_at is not None:
            response["created_at"] = self.created_at
        error = self.error is not None
        terminal = self.terminal[0] if self.terminal else None
        if terminal in ("completed", "incomplete") and not error:
            response["status"] = terminal
        elif terminal is not None or error:
            response["status"] = "failed"
        else:
            response.setdefault("status", "in_progress")
        # Rule 5: a terminal response's non-empty output replaces the folded items.
        terminal_output = (
            self.terminal is not None and isinstance(base.get("output"), list) and base["output"]
        )
        if not terminal_output:
            response["output"] = [self.items[k].to_json() for k in sorted(self.items)]
        if self.usage is not None:
            response["usage"] = self.usage
        out.response = response
        out.usage = self.usage
        out.error = self.error
        if error or terminal == "failed":
            out.status = "error"
        elif terminal == "completed":
            out.status = "done"
        elif terminal == "incomplete":
            out.status = "incomplete"
        else:
            out.status = "truncated" if finished else "in_progress"
        if terminal == "incomplete":
            details = base.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, dict) else None
            out.finish_reason = reason if isinstance(reason, str) else "incomplete"
        else:
            out.finish_reason = terminal
        return out


def reference_fold(events: list[tuple[str, bytes]], *, finished: bool = True) -> Folded:
    """Folds ``(sse event type, data)`` pairs; see the module docs."""
    fold = _Fold()
    for sse_type, data in events:
        fold.event(sse_type, data)
    return fold.result(finished)
