"""LiteLLM as a ``chunkfold bench`` baseline (chunkfold.bench.litellm).

LiteLLM is heavy and not a test extra: the tests that run it are skipped when it
is missing (``pip install -e '.[litellm]'`` runs them); the one about a missing
LiteLLM runs always.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold.bench import corpus, litellm, protocols
from chunkfold.bench import runner as bench
from chunkfold.bench.corpus import StreamBuilder
from chunkfold.bench.implementation import Implementation, ResultMismatch, feed_all

BY_NAME = {impl.name: impl for impl in litellm.IMPLEMENTATIONS}


def installed() -> bool:
    """Whether LiteLLM imports (offline, as the bench imports it)."""
    try:
        litellm.import_litellm()
    except ImportError:
        return False
    return True


needs_litellm = pytest.mark.skipif(
    not installed(), reason="litellm is not installed (pip install -e '.[litellm]')"
)


@cache
def load(name: str) -> Callable[[list[bytes]], Any]:
    return BY_NAME[name].load()


def short_tools_stream() -> corpus.CorpusStream:
    """Text, then two tool calls whose arguments come in fragments, and usage: 13 chunks."""
    out = StreamBuilder(seed=3)
    out.role()
    for token in ("Let", " me", " look", "."):
        out.content(token)
    out.tool_call(call=0, id="call_weather0", name="get_weather")
    for fragment in ('{"city":', ' "Paris', ' \\u00e9t\\u00e9"', "}"):
        out.tool_arguments(fragment, call=0)
    out.tool_call(call=1, id="call_time1", name="get_time")
    out.tool_arguments('{"tz": "CET"}', call=1)
    out.stop("tool_calls")
    out.usage(31, 17)
    out.done()
    return out.stream("short-tools")


def folded(result: Any) -> dict[str, Any]:
    """Content, tool calls and usage of a completion, chunkfold's or LiteLLM's, as builtins."""
    data = result.model_dump() if hasattr(result, "model_dump") else msgspec.to_builtins(result)
    (choice,) = data["choices"]
    message = choice["message"]
    usage = data["usage"]
    return {
        "content": message["content"],
        "tool_calls": [
            (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"] or ()
        ],
        "finish_reason": choice["finish_reason"],
        "usage": (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]),
    }


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if anything opens a connection or resolves a name."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"LiteLLM must not use the network: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@needs_litellm
@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("name", list(BY_NAME))
@pytest.mark.parametrize("pattern", ["event", "random"])
def test_folds_as_chunkfold_does(name: str, pattern: str) -> None:
    stream = short_tools_stream()
    reads = corpus.reads(stream.body, pattern)
    ours = folded(feed_all(chunkfold.ChatCompletionAccumulator, reads))
    theirs = folded(load(name)(reads))
    assert ours == {
        "content": "Let me look.",
        "tool_calls": [
            ("call_weather0", "get_weather", '{"city": "Paris \\u00e9t\\u00e9"}'),
            ("call_time1", "get_time", '{"tz": "CET"}'),
        ],
        "finish_reason": "tool_calls",
        "usage": (31, 17, 48),
    }
    assert theirs == ours
    litellm.check(BY_NAME[name], load(name)(reads), stream)


@needs_litellm
def test_the_builder_gives_the_same_result_every_call() -> None:
    stream = corpus.SCENARIOS["tools"].stream()
    reads = corpus.reads(stream.body, "64k")
    first, second = load("litellm-builder")(reads), load("litellm-builder")(reads)
    assert folded(first) == folded(second)
    litellm.check(BY_NAME["litellm-builder"], second, stream)


@needs_litellm
def test_check_catches_a_lost_fragment() -> None:
    stream = short_tools_stream()
    events = corpus.reads(stream.body, "event")
    assert b'"arguments":"{\\"city\\":"' in events[6]
    cut = events[:6] + events[7:]
    for impl in litellm.IMPLEMENTATIONS:
        with pytest.raises(ResultMismatch, match=r"tool_calls"):
            litellm.check(impl, impl.load()(cut), stream)


@needs_litellm
def test_it_skips_exactly_the_scenarios_it_gets_wrong() -> None:
    """``n3`` and ``logprobs`` are left out because LiteLLM's result differs there, and only there."""
    impl = BY_NAME["litellm"]
    wrong = set()
    for scenario in ("n3", "logprobs", "chat", "reasoning", "cjk"):
        stream = corpus.SCENARIOS[scenario].stream()
        try:
            litellm.check(impl, load("litellm")(corpus.reads(stream.body, "64k")), stream)
        except ResultMismatch:
            wrong.add(scenario)
    assert wrong == {"n3", "logprobs"}
    assert set(litellm.SCENARIOS) == set(corpus.SCENARIOS) - wrong


@needs_litellm
def test_the_bench_times_it_with_memory() -> None:
    settings = bench.Settings(
        scenarios=("chat", "n3"),
        patterns=("64k",),
        implementations=("msgspec", *BY_NAME),
        repeat=1,
        warmup=1,
        min_time=0,
    )
    report = bench.run(settings)
    assert report.failures == []
    assert report.skipped == {}
    for name in BY_NAME:
        m = report.get("chat", "64k", name)
        assert m is not None
        assert m.baseline
        assert m.peak_bytes is not None
        assert report.get("n3", "64k", name) is None
    proxy, builder = (report.get("chat", "64k", name) for name in BY_NAME)
    assert proxy is not None
    assert builder is not None
    assert proxy.peak_bytes is not None
    assert builder.peak_bytes is not None
    # It keeps every chunk until the stream ends: well over 1 KB each (the stream is 330 B a chunk).
    assert proxy.peak_bytes > 1000 * proxy.chunks
    assert builder.peak_bytes < proxy.peak_bytes
    table = bench.format_table(report)
    chat, n3 = table.splitlines()[2:4]
    assert chat.count(" MB") == 2
    assert n3.split()[-2:] == ["-", "-"]
    assert "memory per stream" in bench.describe(report)


def test_missing_litellm_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)
    settings = bench.Settings(
        scenarios=("tools",), patterns=("64k",), implementations=("msgspec", *BY_NAME), repeat=1, min_time=0
    )
    report = bench.run(settings)
    assert set(report.skipped) == set(BY_NAME)
    assert "pip install litellm" in report.skipped["litellm"]
    assert {m.implementation for m in report.measurements} == {"feed", "msgspec"}
    assert "skipped litellm:" in bench.describe(report)
    assert "litellm" not in bench.format_table(report)


def test_the_chat_protocol_lists_it_after_the_other_baselines() -> None:
    chat = protocols.PROTOCOLS[0]
    assert chat.implementations[-2:] == litellm.IMPLEMENTATIONS
    for impl in litellm.IMPLEMENTATIONS:
        assert isinstance(impl, Implementation)
        assert (impl.kind, impl.baseline, impl.memory, impl.packages) == ("fold", True, True, ("litellm",))
        assert impl.scenarios == litellm.SCENARIOS
        assert impl.check is litellm.check


@needs_litellm
@pytest.mark.usefixtures("no_network")
def test_the_breakdown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m chunkfold.bench.litellm tools``: every part of LiteLLM's figure, and its memory."""
    measure = litellm.measure
    monkeypatch.setattr(litellm, "measure", lambda scenario: measure(scenario, repeat=1, min_time=0))
    monkeypatch.setattr(sys, "argv", ["chunkfold.bench.litellm", "tools"])
    litellm.main()
    out = capsys.readouterr().out
    assert out.startswith("tools, one read per event, 211 chunks")
    cases = (
        "chunkfold feed",
        "litellm acompletion stream",
        "openai-python alone",
        "stream_chunk_builder once",
    )
    for case in cases:
        assert f"{case}: " in out
    assert "litellm ÷ chunkfold feed" in out
    assert "MB peak" in out
    assert "MB held by its chunks" in out
    assert "litellm 1." in out


@needs_litellm
def test_openai_alone_under_litellm_yields_every_chunk() -> None:
    upstream = litellm.Upstream()
    try:
        stream = short_tools_stream()
        chunks = upstream.openai_chunks(corpus.reads(stream.body, "random"))
    finally:
        upstream.close()
    assert len(chunks) == stream.chunks
    assert chunks[-1].usage.total_tokens == 48
