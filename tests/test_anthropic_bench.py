"""The Anthropic bench scenarios and baselines fold to the same message."""

from __future__ import annotations

import json

import msgspec
import pytest
from chunkfold.bench import anthropic as bench


@pytest.mark.parametrize("name", [n for n in bench.SCENARIOS if not n.endswith("16000")])
def test_every_implementation_folds_the_same_message(name: str) -> None:
    body = bench.scenario(name)
    reads = bench.reads(body, 4096)
    ours = msgspec.to_builtins(bench.IMPLEMENTATIONS["feed"]()(reads))
    plain = bench.IMPLEMENTATIONS["msgspec"]()(reads)
    sdk = bench.IMPLEMENTATIONS["anthropic"]()(reads).to_dict(mode="json")
    for theirs in (plain, sdk):
        assert [b.get("text", b.get("thinking", b.get("input"))) for b in theirs["content"]] == [
            b.get("text", b.get("thinking", b.get("input"))) for b in ours["content"]
        ]
        assert theirs["stop_reason"] == ours["stop_reason"]
    assert ours["usage"]["output_tokens"] == sdk["usage"]["output_tokens"]
    assert bench.events_in(body) == body.count(b"\n\n")
    assert json.loads(body.split(b"data: ", 1)[1].split(b"\n", 1)[0])["type"] == "message_start"


def test_measure_reports_microseconds_per_event() -> None:
    body = bench.scenario("anthropic-text-2000")
    assert 0 < bench.measure(bench.IMPLEMENTATIONS["feed"](), body, rounds=1) < 1000
