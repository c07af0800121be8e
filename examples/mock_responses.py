"""OpenAI Responses API streams for the mock upstream (``POST /v1/responses``).

Chosen by ``model``, like the chat streams: ``mock-chat`` text,
``mock-tools`` two function calls, ``mock-reasoning`` a reasoning summary
then text, ``mock-error`` text then an ``error`` event and
``response.failed``, ``mock-incomplete`` text cut by ``max_output_tokens``
(``response.incomplete``). Framed as OpenAI frames them: ``event:`` lines,
``sequence_number`` from 0, the whole response in the terminal event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

RESPONSE_ID = "resp_mock00000000000000000000"
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "streams", "flow"]
INPUT_TOKENS = 12


class _Stream:
    def __init__(self, model: str) -> None:
        self.model = model
        self.sequence = 0

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

    def response(self, status: str, output: list[Any], usage: dict[str, Any] | None, **extra: Any) -> Any:
        return {
            "id": RESPONSE_ID,
            "object": "response",
            "created_at": 1750000000,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "temperature": 1.0,
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "usage": usage,
            "metadata": {},
            **extra,
        }


def _usage(output: int, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": INPUT_TOKENS,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": INPUT_TOKENS + output,
    }


def _text(s: _Stream, index: int, words: int) -> Iterator[tuple[bytes, int]]:
    item_id = f"msg_mock{index}"
    item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    yield s.event("response.output_item.added", output_index=index, item=item), 0
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    yield s.event("response.content_part.added", **where, part=part), 0
    text = ""
    for i in range(words):
        delta = f" {WORDS[i % len(WORDS)]}"
        text += delta
        yield s.event("response.output_text.delta", **where, delta=delta, logprobs=[]), 1
    yield s.event("response.output_text.done", **where, text=text, logprobs=[]), 0
    part = {**part, "text": text}
    yield s.event("response.content_part.done", **where, part=part), 0
    item = {**item, "status": "completed", "content": [part]}
    yield s.event("response.output_item.done", output_index=index, item=item), 0
    return item


def frames(model: str, tokens: int) -> Iterator[tuple[bytes, int]]:
    """The stream for a request, as (frame, tokens it carries) pairs."""
    s = _Stream(model)
    yield s.event("response.created", response=s.response("in_progress", [], None)), 0
    yield s.event("response.in_progress", response=s.response("in_progress", [], None)), 0
    output: list[Any] = []
    reasoning = 0
    if model == "mock-tools":
        for index, (name, args) in enumerate(
            [("get_weather", '{"city":"Paris"}'), ("get_time", '{"zone":"CET"}')]
        ):
            item = {
                "id": f"fc_mock{index}",
                "type": "function_call",
                "status": "in_progress",
                "call_id": f"call_mock{index}",
                "name": name,
                "arguments": "",
            }
            yield s.event("response.output_item.added", output_index=index, item=item), 0
            where = {"item_id": item["id"], "output_index": index}
            for start in range(0, len(args), 4):
                yield (
                    s.event("response.function_call_arguments.delta", **where, delta=args[start : start + 4]),
                    1,
                )
            yield s.event("response.function_call_arguments.done", **where, arguments=args), 0
            item = {**item, "status": "completed", "arguments": args}
            yield s.event("response.output_item.done", output_index=index, item=item), 0
            output.append(item)
        usage = _usage(sum(-(-len(a) // 4) for a in ('{"city":"Paris"}', '{"zone":"CET"}')))
        yield s.event("response.completed", response=s.response("completed", output, usage)), 0
        return
    if model == "mock-reasoning":
        reasoning = tokens // 2
        item = {"id": "rs_mock", "type": "reasoning", "summary": []}
        yield s.event("response.output_item.added", output_index=0, item=item), 0
        where = {"item_id": "rs_mock", "output_index": 0, "summary_index": 0}
        yield (
            s.event(
                "response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""}
            ),
            0,
        )
        summary = ""
        for i in range(reasoning):
            delta = f" {WORDS[i % len(WORDS)]}"
            summary += delta
            yield s.event("response.reasoning_summary_text.delta", **where, delta=delta), 1
        yield s.event("response.reasoning_summary_text.done", **where, text=summary), 0
        part = {"type": "summary_text", "text": summary}
        yield s.event("response.reasoning_summary_part.done", **where, part=part), 0
        item = {**item, "summary": [part]}
        yield s.event("response.output_item.done", output_index=0, item=item), 0
        output.append(item)
    words = tokens - reasoning
    if model == "mock-error":
        yield from _text(s, len(output), words // 2)
        error = {"code": "server_error", "message": "mock upstream overloaded", "param": None}
        yield s.event("error", **error), 0
        failed = s.response(
            "failed", [], _usage(words // 2), error={"code": "server_error", "message": error["message"]}
        )
        yield s.event("response.failed", response=failed), 0
        return
    if model == "mock-incomplete":
        words = max(1, tokens // 2)
    message = yield from _text(s, len(output), words)
    output.append(message)
    usage = _usage(words + reasoning, reasoning)
    if model == "mock-incomplete":
        response = s.response("incomplete", output, usage, incomplete_details={"reason": "max_output_tokens"})
        yield s.event("response.incomplete", response=response), 0
    else:
        yield s.event("response.completed", response=s.response("completed", output, usage)), 0
