"""``chunkfold.compat.anthropic.accumulate_event`` against anthropic-sdk-python's.

Groups ``compat-anthropic-{scenario}``: ``text`` (2,000 text deltas), ``tool-3k``
(a 3 KB tool input in ~200 fragments) and ``tool-256k`` (a 256 KB tool input,
a file's contents as one JSON string, in ~16,000 fragments: anthropic re-parses
the whole input with jiter on every fragment, O(n²)) and ``tool-rows``
(28 KB of JSON structure: rows of numbers, short strings and booleans, in
~1,800 fragments). Both folds get the same
pydantic events, as ``MessageStream`` hands them over; ``us/item`` in
``extra_info`` is µs per event. After timing, both snapshots must be equal.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")

from anthropic._models import construct_type_unchecked  # noqa: E402
from anthropic.lib.streaming import _messages  # noqa: E402
from anthropic.types import RawMessageStreamEvent  # noqa: E402
from chunkfold.compat import anthropic as compat  # noqa: E402

SCENARIOS = ("text", "tool-3k", "tool-256k", "tool-rows")
IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "chunkfold": compat.accumulate_event,
    "anthropic": _messages.accumulate_event,
}


def _source(size: int) -> str:
    """Python-like source text of about ``size`` characters, quotes, backslashes and all."""
    rng = random.Random(size)
    lines = []
    while sum(map(len, lines)) < size:
        name = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 10)))
        lines.append(f'    {name} = "{name}\\t" + str({rng.randint(0, 10**6)})  # {name!r}\n')
    return "".join(lines)[:size]


def _fragments(text: str) -> list[str]:
    rng = random.Random(len(text))
    out, at = [], 0
    while at < len(text):
        step = rng.randint(4, 28)
        out.append(text[at : at + step])
        at += step
    return out


@cache
def events(scenario: str) -> list[Any]:
    """The scenario's events as anthropic's pydantic models."""
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    raw: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    if scenario == "text":
        raw.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        words = _source(12_000).split(" ")
        raw += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w + " "}}
            for w in words[:2000]
        ]
    else:
        if scenario == "tool-rows":
            rows = [[i, i * 0.25, f"r{i}", i % 3 == 0] for i in range(1000)]
            arguments = json.dumps({"path": "src/app.py", "rows": rows})
        else:
            size = 3 * 1024 if scenario == "tool-3k" else 256 * 1024
            arguments = json.dumps({"path": "src/app.py", "content": _source(size)})
        block = {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}
        raw.append({"type": "content_block_start", "index": 0, "content_block": block})
        raw += [
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": f},
            }
            for f in _fragments(arguments)
        ]
    raw += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 900}},
        {"type": "message_stop"},
    ]
    return [construct_type_unchecked(type_=RawMessageStreamEvent, value=e) for e in raw]  # type: ignore[arg-type]


def fold(accumulate: Callable[..., Any], stream: list[Any]) -> Any:
    snapshot, bufs = None, {}  # type: ignore[var-annotated]
    for event in stream:
        snapshot = accumulate(event=event, current_snapshot=snapshot, json_bufs=bufs)
    return snapshot


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_accumulate_event(benchmark: Any, scenario: str, name: str) -> None:
    stream = events(scenario)
    benchmark.group = f"compat-anthropic-{scenario}"
    benchmark.extra_info["items"] = len(stream)
    rounds = 1 if scenario in ("tool-256k", "tool-rows") and name == "anthropic" else 5
    result = benchmark.pedantic(fold, args=(IMPLEMENTATIONS[name], stream), rounds=rounds, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["us/item"] = round(stats.stats.mean / len(stream) * 1e6, 3)
    other = "anthropic" if name == "chunkfold" else "chunkfold"
    assert result.model_dump(warnings=False) == fold(IMPLEMENTATIONS[other], stream).model_dump(
        warnings=False
    )
    if scenario != "text":
        assert result.content[0].input["path"] == "src/app.py"
