"""Responses API folding: chunkfold's ``feed`` and the two baselines of
:mod:`chunkfold.bench.responses`, per scenario, at 64 KiB reads.

Before any timing, every implementation's final response is checked against the
stream's own ``response.completed`` (item types, text, arguments and usage), so
the baselines are timed doing the same work. ``us/item`` in ``extra_info`` is µs
per event::

    pytest benches/test_bench_responses.py --benchmark-enable --benchmark-columns=median

``python benches/responses_perf.py`` prints the same comparison as a table.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from chunkfold.bench.responses import IMPLEMENTATIONS, stream

SCENARIOS = {"text": 2000, "tools": 200, "tools-long": 16000, "reasoning": 2000}
READ = 65536


@cache
def reads(scenario: str) -> list[bytes]:
    body = stream(scenario.removesuffix("-long"), SCENARIOS[scenario])
    return [body[i : i + READ] for i in range(0, len(body), READ)]


def view(response: Any) -> list[tuple[Any, ...]]:
    """Item types, texts and arguments, whatever the implementation's result type."""
    data = response if isinstance(response, dict) else json.loads(_dump(response))
    out = []
    for item in data["output"]:
        texts = [p.get("text") for p in item.get("content") or item.get("summary") or []]
        out.append((item["type"], item.get("arguments"), tuple(texts)))
    return [*out, ("usage", data["usage"]["total_tokens"])]


def _dump(response: Any) -> str:
    if hasattr(response, "model_dump_json"):
        return str(response.model_dump_json())
    from chunkfold.responses.models import encode

    return encode(response).decode()


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(("name", "factory"), [(n, f) for n, _, f in IMPLEMENTATIONS])
def test_responses_fold(benchmark: Any, scenario: str, name: str, factory: Any) -> None:
    if name == "openai" and scenario == "tools-long":
        pytest.skip("openai-python takes seconds here; responses_perf.py times it once")
    run = factory()
    data = reads(scenario)
    body = b"".join(data)
    completed = json.loads(body[body.rindex(b"data: ") + 6 :])["response"]
    assert view(run(data)) == view(completed)
    events = body.count(b"\n\n")
    benchmark.group = f"responses-{scenario}-64k"
    benchmark.extra_info["us/item"] = None
    result = benchmark(run, data)
    assert result is not None
    if benchmark.stats:
        benchmark.extra_info["us/item"] = benchmark.stats.stats.median / events * 1e6
