"""A plain-Python reference fold of chat completion chunks: the executable spec.

Written directly from the merge rules in notes/accumulator-contract.md (rule numbers
are cited inline), for differential tests of ``chunkfold.ChatCompletionAccumulator``.
It works on the decoded JSON payloads (``dict``), in JSON key order, and is meant to be
obviously correct rather than fast.

``reference_fold(payloads)`` returns the completion in the form ``normalize()`` gives
a ``chunkfold.chat.models.ChatCompletion``: plain dicts and lists with EVERY field of every
Struct present (``None`` when absent). Not ``msgspec.to_builtins``: the models are
``omit_defaults`` and msgspec decides "is the default" for strings by identity, so
``role="assistant"`` is dropped or kept depending on whether the string was interned.
Leaf objects (usage, annotations, logprob tokens) are typed by chunkfold's own models,
exactly as the decoder types them; the fold rules themselves are all here.

Where the contract is silent, this reads it as follows:

* an API error payload is folded like any other chunk (rule 11: "their choices and
  usage are folded too"), and so are chunks after it;
* ``annotations`` and ``citations`` stay None until one arrives (as ``tool_calls``);
* a choice entry creates its choice even when it carries nothing else;
* Mistral ``thinking`` parts contribute only nested ``{"type": "text"}`` parts.

Also here: SSE encoding of generated streams, fixture loading, and openai-python's
``ChatCompletionStreamState`` with a comparable per-choice view, for the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from chunkfold.chat import models

__all__ = [
    "Stream",
    "choice_view",
    "encode_stream",
    "fixture_events",
    "is_api_error",
    "normalize",
    "reference_fold",
    "reference_status",
    "sdk_snapshot",
    "stream_payloads",
]

_TEXT_FIELDS = ("refusal", "reasoning_content", "reasoning")


def normalize(value: Any) -> Any:
    """The comparable form of a folded completion (or any model value): every Struct
    becomes a dict of all its fields but the UNSET ones (absent extensions), recursively."""
    if isinstance(value, msgspec.Struct):
        fields = ((name, getattr(value, name)) for name in value.__struct_fields__)
        return {name: normalize(v) for name, v in fields if v is not msgspec.UNSET}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


def is_api_error(payload: Any, event: str = "message") -> bool:
    """Rule 11: ``{"error": ...}`` (non-null), ``"object": "error"`` or ``event: error``."""
    if event == "error":
        return True
    return isinstance(payload, dict) and (
        payload.get("error") is not None or payload.get("object") == "error"
    )


def _append(obj: dict[str, Any], key: str, text: str) -> None:
    """Rule 2: text concatenates; a None field becomes a string on the first non-null value."""
    obj[key] = text if obj[key] is None else obj[key] + text


def _merge_name(obj: dict[str, Any], fragment: str | None) -> None:
    """Rule 2: a name fragment that is empty or equal to the name so far changes nothing."""
    if fragment and fragment != obj["name"]:
        obj["name"] += fragment


def _typed(value: Any, type_: Any) -> Any:
    """A leaf value as chunkfold's models type it (unknown fields dropped)."""
    return normalize(msgspec.convert(value, type_))


def _new_choice(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "message": {
            "role": None,
            "content": None,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": [],  # creation order; keyed by "_key"
            "reasoning_content": None,
            "reasoning": None,
        },
        "finish_reason": None,
        "logprobs": None,
    }


def _tool_call_for(calls: list[dict[str, Any]], fragment: dict[str, Any]) -> dict[str, Any]:
    """Rule 3: which tool call a fragment belongs to (created if new)."""
    if "index" in fragment:
        key: tuple[str, int] = ("index", fragment["index"])
        for call in calls:
            if call["_key"] == key:
                return call
    else:
        fid = fragment.get("id")
        if fid:
            for call in calls:
                if call["id"] == fid:
                    return call
            key = ("auto", len(calls))
        elif calls:
            return calls[-1]
        else:
            key = ("auto", 0)
    call = {"_key": key, "id": "", "type": None, "function": {"name": "", "arguments": ""}}
    calls.append(call)
    return call


def _fold_tool_call(message: dict[str, Any], fragment: dict[str, Any]) -> None:
    call = _tool_call_for(message["tool_calls"], fragment)
    for key, value in fragment.items():
        if value is None:  # rule 4
            continue
        if key == "id" and value and not call["id"]:
            call["id"] = value
        elif key == "type" and value and not call["type"]:
            call["type"] = value
        elif key == "function":
            _merge_name(call["function"], value.get("name"))
            if value.get("arguments") is not None:
                call["function"]["arguments"] += value["arguments"]


def _fold_content(message: dict[str, Any], content: str | list[dict[str, Any]]) -> None:
    if isinstance(content, str):
        _append(message, "content", content)
        return
    for part in content:  # rule 2, Mistral list content
        if part.get("type") == "text" and part.get("text") is not None:
            _append(message, "content", part["text"])
        elif part.get("type") == "thinking" and isinstance(part.get("thinking"), list):
            for sub in part["thinking"]:
                if sub.get("type") == "text" and sub.get("text") is not None:
                    _append(message, "reasoning_content", sub["text"])


def _fold_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    for key, value in delta.items():
        if value is None:  # rule 4: null never erases
            continue
        if key == "role":
            if value and message["role"] is None:
                message["role"] = value
        elif key == "content":
            _fold_content(message, value)
        elif key in _TEXT_FIELDS:
            _append(message, key, value)
        elif key == "tool_calls":
            for fragment in value:
                _fold_tool_call(message, fragment)
        elif key == "function_call":
            if message["function_call"] is None:
                message["function_call"] = {"name": "", "arguments": ""}
            _merge_name(message["function_call"], value.get("name"))
            if value.get("arguments") is not None:
                message["function_call"]["arguments"] += value["arguments"]
        elif key == "audio":
            audio = message["audio"]
            if audio is None:
                # rule 2: a field the stream never sent stays None
                audio = message["audio"] = {"id": None, "data": None, "expires_at": None, "transcript": None}
            if value.get("id") is not None and not audio["id"]:
                audio["id"] = value["id"]
            for text_key in ("data", "transcript"):
                if value.get(text_key) is not None:
                    _append(audio, text_key, value[text_key])
            if value.get("expires_at") is not None:
                audio["expires_at"] = value["expires_at"]
        elif key == "annotations":  # rule 10
            for annotation in value:
                typed = _typed(annotation, models.Annotation)
                if message["annotations"] is None:
                    message["annotations"] = []
                if typed not in message["annotations"]:
                    message["annotations"].append(typed)


def _fold_choice(state: dict[str, Any], raw: dict[str, Any]) -> None:
    index = raw.get("index", 0)  # rule 1
    choices = state["choices"]
    if index not in choices:
        choices[index] = _new_choice(index)
    choice = choices[index]
    for key, value in raw.items():
        if value is None:  # rule 4
            continue
        if key == "delta":
            _fold_delta(choice["message"], value)
        elif key == "finish_reason":
            if value:  # rule 8: "" counts as null
                choice["finish_reason"] = value
        elif key == "logprobs":  # rule 7
            if choice["logprobs"] is None:
                choice["logprobs"] = {"content": None, "refusal": None}
            for part in ("content", "refusal"):
                if value.get(part) is not None:
                    tokens = [_typed(t, models.ChatCompletionTokenLogprob) for t in value[part]]
                    choice["logprobs"][part] = (choice["logprobs"][part] or []) + tokens
        elif key == "usage":  # rule 5
            state["usage"] = value


def _fold_state(payloads: Sequence[Any], events: Sequence[str] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "id": "",
        "model": "",
        "created": 0,
        "service_tier": None,
        "system_fingerprint": None,
        "usage": None,
        "citations": None,
        "choices": {},
        "error": False,
    }
    for n, payload in enumerate(payloads):
        # rule 11: an error payload is folded like any chunk (its choices and usage too)
        state["error"] = state["error"] or is_api_error(payload, events[n] if events else "message")
        if not isinstance(payload, dict):
            continue
        for key, value in payload.items():
            if value is None:  # rule 4
                continue
            if key in ("id", "model"):  # rule 6
                if value and not state[key]:
                    state[key] = value
            elif key == "created":
                if value and not state["created"]:
                    state["created"] = value
            elif key in ("system_fingerprint", "service_tier"):
                if value:
                    state[key] = value
            elif key == "usage":  # rule 5
                state["usage"] = value
            elif key == "x_groq":
                if value.get("usage") is not None:
                    state["usage"] = value["usage"]
            elif key == "choices":  # rule 9: [] / null / missing are normal
                for raw_choice in value:
                    _fold_choice(state, raw_choice)
            elif key == "citations":  # rule 10 (None until a citation arrives, like annotations)
                for url in value:
                    if state["citations"] is None:
                        state["citations"] = []
                    if url not in state["citations"]:
                        state["citations"].append(url)
    return state


def _finish_message(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    out["role"] = message["role"] or "assistant"  # rule 2: default "assistant"
    # rule 3: by index value (OpenAI's position in tool_calls); calls without an
    # index keep their order of first appearance, after the indexed ones.
    ordered = sorted(message["tool_calls"], key=lambda c: (c["_key"][0] != "index", c["_key"][1]))
    calls = [
        {"id": c["id"], "type": c["type"] or "function", "function": dict(c["function"])} for c in ordered
    ]
    out["tool_calls"] = calls or None  # rule 3: None when there were none
    for key in ("reasoning_content", "reasoning"):
        if out[key] is None:  # provider extensions stay absent (UNSET) until sent
            del out[key]
    return out


def reference_fold(payloads: Sequence[Any], events: Sequence[str] | None = None) -> dict[str, Any]:
    """Folds decoded chunk payloads (those before ``[DONE]``) into a completion dict.

    ``events`` optionally gives each payload's SSE event type (for ``event: error``).
    """
    state = _fold_state(payloads, events)
    full: dict[str, Any] = {
        "id": state["id"],
        "choices": [
            {**choice, "message": _finish_message(choice["message"])}
            for _, choice in sorted(state["choices"].items())  # rule 1: sorted by index
        ],
        "created": state["created"],
        "model": state["model"],
        "object": "chat.completion",
        "service_tier": state["service_tier"],
        "system_fingerprint": state["system_fingerprint"],
        "usage": state["usage"],
    }
    if state["citations"] is not None:  # an extension: absent (UNSET) until sent
        full["citations"] = state["citations"]
    # Type the dict with chunkfold's models, then normalize. A field the model lacks
    # (say ``citations``) is kept when set, so that it cannot silently pass.
    known = set(models.ChatCompletion.__struct_fields__)
    out: dict[str, Any] = normalize(
        msgspec.convert({k: v for k, v in full.items() if k in known}, models.ChatCompletion)
    )
    out.update({k: v for k, v in full.items() if k not in known and v is not None})
    return out


def reference_status(
    payloads: Sequence[Any], events: Sequence[str] | None = None, *, done: bool, finished: bool
) -> str:
    """Rule 12: the accumulator's ``status`` after these payloads."""
    state = _fold_state(payloads, events)
    if state["error"]:
        return "error"
    if done:
        return "done"
    if not finished:
        return "in_progress"
    choices = state["choices"].values()
    return "finished" if choices and all(c["finish_reason"] for c in choices) else "truncated"


# --- streams as bytes ------------------------------------------------------------

Stream = list[tuple[str, Any]]
"""SSE items as ``(kind, value)``: kind "message" or "error" (an SSE event type) with a
JSON payload; "done" (``data: [DONE]``); "comment" with text; "garbage" with raw text
sent as ``data:`` (not valid JSON)."""


def encode_stream(
    stream: Iterable[tuple[str, Any]],
    *,
    ensure_ascii: bool = True,
    dumps: Callable[[Any], str] | None = None,
    space: bool = True,
) -> tuple[bytes, list[int]]:
    """The SSE body (``data: <json>\n\n`` frames, compact ``json.dumps`` unless ``dumps``
    is given; ``event: error`` first for errors) and the byte offset where each item ends.

    A raw newline in the JSON text (whitespace between tokens, from ``dumps``) continues
    the payload on another ``data:`` line, which SSE joins with "\n". ``space=False``
    writes ``data:<json>``.
    """
    prefix = "data: " if space else "data:"
    out = bytearray()
    ends: list[int] = []
    for kind, value in stream:
        if kind == "done":
            out += b"data: [DONE]\n\n"
        elif kind == "comment":
            out += f": {value}\n\n".encode()
        elif kind == "garbage":
            out += f"data: {value}\n\n".encode()
        else:
            if kind != "message":
                out += f"event: {kind}\n".encode()
            if dumps is None:
                text = json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii)
            else:
                text = dumps(value)
            out += "".join(f"{prefix}{line}\n" for line in text.split("\n")).encode() + b"\n"
        ends.append(len(out))
    return bytes(out), ends


def stream_payloads(stream: Iterable[tuple[str, Any]]) -> tuple[list[Any], list[str]]:
    """The payloads an accumulator folds (JSON events before ``[DONE]``) and their event types."""
    payloads: list[Any] = []
    events: list[str] = []
    for kind, value in stream:
        if kind == "done":
            break
        if kind in ("message", "error"):
            payloads.append(value)
            events.append(kind)
    return payloads, events


def fixture_events(path: Path) -> tuple[list[Any], list[str], bool]:
    """A recorded stream's payloads up to ``[DONE]``, their event types, and whether
    ``[DONE]`` was seen. Frames with chunkfold.SSEDecoder; blank keep-alives skipped.
    A final ``data: [DONE]`` without the blank line after it counts (as in
    chunkfold.ChunkDecoder), though SSE discards the unterminated event."""
    from chunkfold import SSEDecoder

    decoder = SSEDecoder()
    body = path.read_bytes()
    events = [*decoder.feed(body), *decoder.finish()]
    payloads: list[Any] = []
    types: list[str] = []
    for event in events:
        data = event.data
        if not data.strip():
            continue
        if data.strip() == "[DONE]":
            return payloads, types, True
        try:
            payloads.append(json.loads(data))
        except json.JSONDecodeError:
            payloads.append(data)
        types.append(event.event)
    return payloads, types, body.rstrip().endswith(b"\ndata: [DONE]")


# --- openai-python's accumulator, for comparison ------------------------------------


def sdk_snapshot(payloads: Iterable[dict[str, Any]]) -> Any:
    """Folds payloads with openai-python's ``ChatCompletionStreamState``.

    The SDK iterates ``chunk.choices`` unconditionally, so a payload without a
    ``choices`` key (openai-dotnet's audio recordings) is given ``choices: []``.
    """
    from openai._models import construct_type
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state: Any = ChatCompletionStreamState()
    for payload in payloads:
        value = {**payload, "choices": payload.get("choices") or []}
        state.handle_chunk(construct_type(type_=ChatCompletionChunk, value=value))
    return state.current_completion_snapshot


def _token_view(token: Any) -> tuple[Any, ...]:
    get = token.get if isinstance(token, dict) else lambda k: getattr(token, k, None)
    tops = [
        (t["token"], t["logprob"], t.get("bytes")) if isinstance(t, dict) else (t.token, t.logprob, t.bytes)
        for t in get("top_logprobs") or []
    ]
    return (get("token"), get("logprob"), get("bytes"), tops)


def choice_view(choice: Any) -> dict[str, Any]:
    """The fields both accumulators agree on, from a normalized choice dict or an SDK choice."""
    if isinstance(choice, dict):
        message, logprobs = choice["message"], choice["logprobs"]
        calls = [
            (c["id"], c["type"], c["function"]["name"], c["function"]["arguments"])
            for c in message["tool_calls"] or []
        ]
        fields = {k: message[k] for k in ("content", "refusal")}
        lp = None if logprobs is None else {k: logprobs[k] for k in ("content", "refusal")}
        index, finish = choice["index"], choice["finish_reason"]
    else:
        message, logprobs = choice.message, choice.logprobs
        calls = [(c.id, c.type, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        fields = {"content": message.content, "refusal": message.refusal}
        lp = None if logprobs is None else {"content": logprobs.content, "refusal": logprobs.refusal}
        index, finish = choice.index, choice.finish_reason
    if lp is not None:
        lp = {k: None if v is None else [_token_view(t) for t in v] for k, v in lp.items()}
    return {"index": index, **fields, "tool_calls": calls, "finish_reason": finish, "logprobs": lp}
