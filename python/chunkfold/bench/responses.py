"""Responses API scenarios and baselines for ``chunkfold bench``.

Scenarios (:data:`SCENARIOS`, OpenAI-shaped streams with ``obfuscation``
padding as the API sends, built by :func:`stream`): a text answer, a tool call
whose arguments stream in 1,000 fragments, and a reasoning summary followed by
text. Each records the response its ``response.completed`` event carries,
which :func:`check` compares every implementation's result with.

Implementations (:data:`IMPLEMENTATIONS`), each from reads to the final response:

* ``feed``: :meth:`chunkfold.ResponseAccumulator.feed`, then ``finish()``;
* ``msgspec``: the best pure Python: ``bytes.split(b"\\n\\n")`` framing, msgspec
  Structs of the events a fold reads (one tagged union, decoded in one call per
  event) and :class:`StructFold`, a minimal fold (text and argument deltas
  appended per item and part, items replaced on ``done``, the terminal
  response taken whole);
* ``openai``: openai-python's ``Stream`` of ``ResponseStreamEvent`` (its
  ``SSEDecoder`` and pydantic events) over an ``httpx2.Response``, folded by
  ``ResponseStreamState``: what ``client.responses.stream(...)`` does.
"""

from __future__ import annotations

import functools
import json
import random
import string
from typing import Any

import msgspec

import chunkfold
from chunkfold.bench.implementation import Implementation, Reads, Run, feed_all, plain
from chunkfold.bench.streams import BenchScenario, checker, scenarios

__all__ = ["IMPLEMENTATIONS", "SCENARIOS", "StructFold", "check", "split_payloads", "stream", "summarize"]

_BASE_URL = "http://127.0.0.1:9/v1"
_RESPONSE = {"id": "resp_0360bd45725b0a010068f966a4c4a881959717ba17b93477ef", "object": "response"}
_MESSAGE_ID = "msg_0360bd45725b0a010068f966a601b081958e95c4085b086532"


def stream(kind: str, events: int, *, seed: int = 0) -> tuple[bytes, dict[str, Any]]:
    """An OpenAI-shaped Responses stream and the response its ``response.completed``
    carries: ``kind`` is ``"text"``, ``"tools"`` or ``"reasoning"``; ``events`` is the
    number of delta events."""
    rng = random.Random(seed)
    out: list[bytes] = []
    sequence = 0

    def emit(payload: dict[str, Any]) -> None:
        nonlocal sequence
        payload = {"type": payload["type"], "sequence_number": sequence, **payload}
        sequence += 1
        out.append(
            b"event: %s\ndata: %s\n\n"
            % (
                payload["type"].encode(),
                json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
            )
        )

    def pad() -> str:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(2, 15)))

    base = {**_RESPONSE, "created_at": 1761175204, "status": "in_progress", "model": "gpt-5", "output": []}
    emit({"type": "response.created", "response": {**base, "usage": None}})
    emit({"type": "response.in_progress", "response": {**base, "usage": None}})
    items: list[dict[str, Any]] = []
    if kind == "reasoning":
        reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
        emit({"type": "response.output_item.added", "output_index": 0, "item": reasoning})
        emit({"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0,
              "summary_index": 0, "part": {"type": "summary_text", "text": ""}})  # fmt: skip
        text = []
        for _ in range(events // 2):
            delta = rng.choice([" the", " user", " asks", " so", " I"])
            text.append(delta)
            emit({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
                  "summary_index": 0, "delta": delta, "obfuscation": pad()})  # fmt: skip
        summary = [{"type": "summary_text", "text": "".join(text)}]
        items.append({**reasoning, "summary": summary})
        emit({"type": "response.output_item.done", "output_index": 0, "item": items[-1]})
    index = len(items)
    if kind == "tools":
        call = {"id": "fc_1", "type": "function_call", "status": "in_progress", "arguments": "",
                "call_id": "call_1", "name": "get_weather"}  # fmt: skip
        emit({"type": "response.output_item.added", "output_index": index, "item": call})
        args = []
        for i in range(events):
            delta = (
                '{"city":"' if i == 0 else ('"}' if i == events - 1 else rng.choice(["Pa", "ris", " ", "é"]))
            )
            args.append(delta)
            emit({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": index,
                  "delta": delta, "obfuscation": pad()})  # fmt: skip
        items.append({**call, "status": "completed", "arguments": "".join(args)})
    else:
        message = {
            "id": _MESSAGE_ID,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        emit({"type": "response.output_item.added", "output_index": index, "item": message})
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        emit({"type": "response.content_part.added", "item_id": _MESSAGE_ID, "output_index": index,
              "content_index": 0, "part": empty})  # fmt: skip
        text = []
        for _ in range(events - events // 2 if kind == "reasoning" else events):
            delta = rng.choice([" word", " the", "420", " +", "中", "!"])
            text.append(delta)
            emit({"type": "response.output_text.delta", "item_id": _MESSAGE_ID, "output_index": index,
                  "content_index": 0, "delta": delta, "logprobs": [], "obfuscation": pad()})  # fmt: skip
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(text)}
        items.append({**message, "status": "completed", "content": [part]})
    emit({"type": "response.output_item.done", "output_index": index, "item": items[-1]})
    usage = {"input_tokens": 30, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": events,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 30 + events}  # fmt: skip
    final = {**base, "status": "completed", "output": items, "usage": usage}
    emit({"type": "response.completed", "response": final})
    return b"".join(out), final


def split_payloads(reads: Reads) -> list[bytes]:
    """``bytes.split(b"\\n\\n")`` with carry-over, the ``data: `` line of each event:
    the fastest pure-Python framer, right only for streams framed as OpenAI frames them."""
    out: list[bytes] = []
    carry = b""
    for read in reads:
        parts = (carry + read if carry else read).split(b"\n\n")
        carry = parts.pop()
        for part in parts:
            at = part.find(b"data: ")
            if at >= 0:
                out.append(part[at + 6 :])
    return out


class _Delta(msgspec.Struct, tag_field="type", gc=False):
    output_index: int = 0
    content_index: int = 0
    summary_index: int = 0
    delta: str = ""


class _Text(_Delta, tag="response.output_text.delta"): ...


class _Summary(_Delta, tag="response.reasoning_summary_text.delta"): ...


class _Arguments(_Delta, tag="response.function_call_arguments.delta"): ...


class _Item(msgspec.Struct, tag_field="type", gc=False):
    output_index: int = 0
    item: dict[str, Any] = {}


class _Added(_Item, tag="response.output_item.added"): ...


class _Done(_Item, tag="response.output_item.done"): ...


class _Completed(msgspec.Struct, tag="response.completed", tag_field="type", gc=False):
    response: msgspec.Raw = msgspec.Raw(b"null")


class _Other(msgspec.Struct, gc=False):
    type: str = ""


_Event = _Text | _Summary | _Arguments | _Added | _Done | _Completed
_event = msgspec.json.Decoder(_Event)
_other = msgspec.json.Decoder(_Other)
_response = msgspec.json.Decoder(dict[str, Any])


class StructFold:
    """A minimal Responses fold over the Structs: enough for text, tools and reasoning."""

    __slots__ = ("items", "parts", "terminal")

    def __init__(self) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        self.parts: dict[tuple[int, str, int], list[str]] = {}
        self.terminal: dict[str, Any] | None = None

    def add(self, payload: bytes) -> None:
        """Folds one event's JSON."""
        try:
            event = _event.decode(payload)
        except msgspec.ValidationError:
            _other.decode(payload)  # lifecycle and progress events: read, nothing to fold
            return
        if isinstance(event, _Delta):
            field = (
                "text"
                if isinstance(event, _Text)
                else "summary"
                if isinstance(event, _Summary)
                else "arguments"
            )
            sub = event.summary_index if field == "summary" else event.content_index
            self.parts.setdefault((event.output_index, field, sub), []).append(event.delta)
        elif isinstance(event, _Completed):
            self.terminal = _response.decode(event.response)
        else:
            self.items[event.output_index] = event.item
            if isinstance(event, _Done):
                for key in [k for k in self.parts if k[0] == event.output_index]:
                    del self.parts[key]

    def finish(self) -> dict[str, Any]:
        """The final response: the terminal one if it has output, else the folded items."""
        if self.terminal is not None and self.terminal.get("output"):
            return self.terminal
        output = []
        for index in sorted(self.items):
            item = dict(self.items[index])
            for (at, field, sub), pieces in sorted(self.parts.items()):
                if at != index:
                    continue
                if field == "arguments":
                    item["arguments"] = "".join(pieces)
                else:
                    key, kind = ("content", "output_text") if field == "text" else ("summary", "summary_text")
                    parts = item[key] = list(item.get(key) or [])
                    parts[sub:] = [{"type": kind, "text": "".join(pieces)}]
            output.append(item)
        return {**(self.terminal or {}), "output": output}


def _feed() -> Run:
    """chunkfold.ResponseAccumulator.feed: bytes to the final Response."""

    return functools.partial(feed_all, chunkfold.ResponseAccumulator)


def _msgspec() -> Run:
    """bytes.split framing + msgspec Structs of the folded events + a minimal fold: the best pure Python."""

    def run(reads: Reads) -> dict[str, Any]:
        fold = StructFold()
        add = fold.add
        for payload in split_payloads(reads):
            add(payload)
        return fold.finish()

    return run


def _openai() -> Run:
    """openai-python's Stream of pydantic events + ResponseStreamState (its ResponseStream path)."""
    import httpx2
    import openai
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    client = openai.OpenAI(api_key="sk-bench", base_url=_BASE_URL, max_retries=0)
    request = httpx2.Request("POST", f"{_BASE_URL}/responses")
    headers = {"content-type": "text/event-stream"}

    def run(reads: Reads) -> Any:
        response = httpx2.Response(200, headers=headers, content=iter(reads), request=request)
        events: Any = openai.Stream(cast_to=ResponseStreamEvent, response=response, client=client)  # type: ignore[arg-type]
        state: Any = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
        for event in events:
            state.handle_event(event)
        return state._completed_response

    return run


#: Every implementation, chunkfold's first; ``feed`` is what the baselines are compared with.
IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation("feed", "chunkfold ResponseAccumulator", "fold", False, (), _feed),
    Implementation("openai", "openai Stream + ResponseStreamState", "fold", True, ("openai",), _openai),
    Implementation("msgspec", "split + msgspec Structs", "fold", True, (), _msgspec),
)


#: The Responses scenarios, by name.
SCENARIOS: dict[str, BenchScenario] = scenarios(
    stream,
    ("responses-text", "text", 500, "Responses text answer, 500 output_text deltas"),
    ("responses-tools", "tools", 1000, "Responses function call, arguments in 1000 fragments"),
    ("responses-reasoning", "reasoning", 500, "Responses reasoning summary, then text, 500 deltas"),
)


# --- checking results -------------------------------------------------------------------


def _item(item: dict[str, Any]) -> dict[str, Any]:
    parts = item.get("content") or item.get("summary") or ()
    return {
        "type": item.get("type"),
        "id": item.get("id"),
        "name": item.get("name"),
        "call_id": item.get("call_id"),
        "arguments": item.get("arguments"),
        "texts": [p.get("text") for p in parts],
    }


def summarize(response: Any) -> dict[str, Any]:
    """A final response of any implementation (chunkfold or openai models, or a dict)
    reduced to what every one must agree on: id, model, status, items and usage."""
    data = plain(response) or {}
    usage = data.get("usage") or {}
    return {
        "id": data.get("id"),
        "model": data.get("model"),
        "status": data.get("status"),
        "output": [_item(item) for item in data.get("output") or ()],
        "usage": [
            usage.get("input_tokens"),
            (usage.get("input_tokens_details") or {}).get("cached_tokens"),
            usage.get("output_tokens"),
            (usage.get("output_tokens_details") or {}).get("reasoning_tokens"),
            usage.get("total_tokens"),
        ],
    }


#: Raises :class:`~chunkfold.bench.implementation.ResultMismatch` unless a result is what the
#: stream recorded, as :func:`summarize` sees it.
check = checker(summarize)
