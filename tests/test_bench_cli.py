"""``chunkfold bench``, its runner (chunkfold.bench) and what it times (chunkfold.bench.baselines)."""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from chunkfold.bench import anthropic, corpus, litellm, protocols, responses
from chunkfold.bench import runner as bench
from chunkfold.bench.baselines import IMPLEMENTATIONS, Implementation, ResultMismatch, check, summarize
from chunkfold.chat.models import ChatCompletion
from chunkfold.cli import main

FAST = [
    "bench",
    "--scenario",
    "chat",
    "--patterns",
    "64k",
    "--repeat",
    "1",
    "--min-time",
    "0",
    "--no-progress",
]
BASELINES = ["openai", "httpx-sse", "msgspec", "orjson"]
#: LiteLLM's paths, timed by default only where it is installed (it is not a test extra).
LITELLM = [i.name for i in litellm.IMPLEMENTATIONS] if importlib.util.find_spec("litellm") else []
#: What a default run reports as skipped: LiteLLM's paths where it is missing.
SKIPPED = set() if LITELLM else {i.name for i in litellm.IMPLEMENTATIONS}


def by_name(name: str) -> Implementation:
    return next(i for i in IMPLEMENTATIONS if i.name == name)


def run_with_json(args: list[str], tmp: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    """Runs the whole command line with JSON output: (exit status, stdout, JSON)."""
    out = tmp.mktemp("bench") / "bench.json"
    capture = io.StringIO()
    real = sys.stdout
    sys.stdout = capture
    try:
        status = main([*args, "--json", str(out)])
    finally:
        sys.stdout = real
    return status, capture.getvalue(), json.loads(out.read_text())


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    """One fast run of the chat scenario."""
    return run_with_json(FAST, tmp_path_factory)


def test_the_table(fast_run: tuple[int, str, dict[str, Any]]) -> None:
    status, out, _ = fast_run
    assert status == 0
    header, rule, row, mean = out.splitlines()[:4]
    assert header.split() == [
        "stream",
        "chunks",
        "MB/s",
        "accumulate",
        "SSEDecoder",
        "ChunkDecoder",
        *BASELINES,
        *LITELLM,
    ]
    assert set(rule) == {"-", " "}
    assert row.startswith("chat, 64k")
    assert " 503 " in row
    assert row.count("\u00d7)") == 4 + len(LITELLM)  # a speed-up in every baseline cell
    assert row.count(" MB") == len(LITELLM)  # and LiteLLM's memory per stream
    assert mean.startswith("geometric mean")
    assert mean.count("\u00d7") == 4 + len(LITELLM)
    assert "median of 1 samples" in out
    assert "openai-python's Stream" in out  # the legend
    assert {line.split(":")[0] for line in out.splitlines() if line.startswith("skipped")} == {
        f"skipped {name}" for name in SKIPPED
    }


def test_the_json(fast_run: tuple[int, str, dict[str, Any]]) -> None:
    _, _, report = fast_run
    assert report["reference"] == "feed"
    assert report["settings"]["scenarios"] == ["chat"]
    assert report["settings"]["patterns"] == ["64k"]
    assert report["machine"]["cpus"] >= 1
    assert report["machine"]["python"].startswith("CPython")
    assert report["machine"]["command"].startswith("chunkfold bench --scenario chat")
    assert report["machine"]["chunkfold_build"] in ("release", "debug")
    results = {r["implementation"]: r for r in report["results"]}
    assert set(results) == {i.name for i in IMPLEMENTATIONS} | set(LITELLM)
    feed = results["feed"]
    assert (feed["chunks"], feed["bytes"]) == (503, 165_714)
    assert feed["reads"] == 3
    assert len(feed["samples_ns"]) == 1
    assert feed["us_per_chunk"] == pytest.approx(feed["median_ns"] / 1e3 / 503, rel=1e-3)
    speedups = {s["baseline"]: s["speedup"] for s in report["speedups"]}
    assert set(speedups) == set(BASELINES) | set(LITELLM)
    assert speedups["openai"] == pytest.approx(results["openai"]["median_ns"] / feed["median_ns"], rel=1e-2)
    assert set(report["skipped"]) == SKIPPED
    assert report["failures"] == []


def test_markdown_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAST, "--impl", "msgspec", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| stream | chunks | MB/s | accumulate | msgspec |"
    assert lines[1] == "|---|---|---|---|---|"
    assert lines[2].startswith("| chat, 64k | 503 | ")
    assert lines[3].startswith("| geometric mean |")


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_chart(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    chart = tmp_path / f"bench{suffix}"
    assert main([*FAST, "--impl", "msgspec,orjson", "--chart", str(chart)]) == 0
    assert f"wrote {chart}" in capsys.readouterr().out
    data = chart.read_bytes()
    if suffix == ".svg":
        assert data.startswith(b"<?xml")
        assert b"<svg" in data
        assert b"chat" in data
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 10_000


def test_chart_without_matplotlib_fails_before_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("the bench ran"))
    assert main([*FAST, "--chart", str(tmp_path / "c.svg")]) == 2
    assert "--chart needs matplotlib: pip install matplotlib" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chart", "c.pdf"], "writes .png or .svg files"),
        (["--scenario", "nope"], "unknown scenario 'nope'; choose from chat, long, tools"),
        (["--patterns", "2k"], "unknown read pattern '2k'"),
        (["--impl", "rapidjson"], "unknown implementation 'rapidjson'"),
        (["--repeat", "0"], "--repeat and --warmup must be at least 1"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*FAST, *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_baselines_are_skipped_with_a_note(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "orjson", None)
    monkeypatch.setitem(sys.modules, "httpx_sse", None)
    assert main([*FAST, "--impl", "orjson,httpx-sse,msgspec"]) == 0
    out = capsys.readouterr().out
    assert "skipped httpx-sse: httpx-sse needs httpx-sse (pip install httpx-sse)" in out
    assert "skipped orjson: orjson needs orjson (pip install orjson)" in out
    assert out.splitlines()[0].split() == ["stream", "chunks", "MB/s", "accumulate", "msgspec"]


def test_a_wrong_result_is_reported_and_not_timed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong() -> Any:
        return lambda reads: ChatCompletion(id="nope")

    broken = dataclasses.replace(by_name("msgspec"), make=wrong)
    chat = dataclasses.replace(
        protocols.PROTOCOLS[0],
        implementations=tuple(broken if i.name == "msgspec" else i for i in IMPLEMENTATIONS),
    )
    monkeypatch.setattr(protocols, "PROTOCOLS", (chat, *protocols.PROTOCOLS[1:]))
    assert main([*FAST, "--impl", "msgspec"]) == 1
    captured = capsys.readouterr()
    reported = "wrong result, not timed: 64k reads: msgspec on chat: .choices: got [], expected [{'index': 0"
    assert reported in captured.err
    assert captured.out.splitlines()[0].split() == ["stream", "chunks", "MB/s", "accumulate"]


def test_quick_settings() -> None:
    quick = bench.Settings.quick()
    assert quick.scenarios == (*corpus.SCENARIOS, *responses.SCENARIOS, *anthropic.SCENARIOS)
    assert quick.scenarios[-6:] == (
        "responses-text",
        "responses-tools",
        "responses-reasoning",
        "anthropic-text",
        "anthropic-tool",
        "anthropic-thinking",
    )
    assert quick.patterns == ("event", "64k")
    assert (quick.repeat, quick.warmup) == (3, 1)
    full = bench.Settings()
    assert full.patterns == corpus.READ_PATTERNS
    assert full.implementations == (
        *(i.name for i in IMPLEMENTATIONS),
        *(i.name for i in litellm.IMPLEMENTATIONS),
        "anthropic",
    )


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_tty_only() -> None:
    tty = FakeTTY()
    progress = bench.Progress(2, stream=tty)
    progress.update("chat/64k feed")
    progress.advance()
    progress.update("chat/64k openai")
    progress.advance()
    progress.close()
    text = tty.getvalue()
    assert "\r[" in text
    assert "0/2" in text
    assert "1/2" in text
    assert "chat/64k openai" in text
    assert text.endswith("\r")
    plain = io.StringIO()
    quiet = bench.Progress(2, stream=plain)
    quiet.update("x")
    quiet.close()
    assert plain.getvalue() == ""
    off = FakeTTY()
    bench.Progress(2, stream=off, enabled=False).update("x")
    assert off.getvalue() == ""


def test_report_figures_and_table() -> None:
    def m(impl: str, ns: float) -> bench.Measurement:
        base = by_name(impl)
        return bench.Measurement(
            "chat", "1k", impl, base.label, base.kind, base.baseline, 1000, 1, 10, 5, (ns, ns * 3, ns / 2)
        )

    report = bench.Report(
        settings=bench.Settings(scenarios=("chat",), patterns=("1k",)), machine=bench.machine()
    )
    report.measurements += [m("feed", 2000.0), m("openai", 400_000.0), m("msgspec", 30_000.0)]
    feed = report.get("chat", "1k", "feed")
    assert feed is not None
    assert (feed.median_ns, feed.us_per_chunk, feed.mb_per_s) == (2000.0, 0.2, 500.0)
    assert report.speedup("chat", "1k", "openai") == 200.0
    assert report.speedup("chat", "1k", "orjson") is None
    assert report.baselines() == ["openai", "msgspec"]
    lines = bench.format_table(report).splitlines()
    assert lines[2].split() == ["chat,", "1k", "10", "500", "0.2", "40", "(200\u00d7)", "3", "(15\u00d7)"]
    assert lines[3].split() == ["geometric", "mean", "200\u00d7", "15\u00d7"]


def test_every_scenario_and_implementation_agree_with_the_corpus() -> None:
    """The checks ``bench`` and ``benches/`` rely on pass for every implementation on every scenario."""
    for name in corpus.SCENARIOS:
        stream = corpus.SCENARIOS[name].stream()
        reads = corpus.reads(stream.body, "random")
        for impl in IMPLEMENTATIONS:
            if impl.name == "openai" and name == "long":
                continue  # about a second; benches/test_bench_scenarios.py covers it
            check(impl, impl.load()(reads), stream)


def test_check_catches_a_lost_fragment() -> None:
    stream = corpus.SCENARIOS["tools"].stream()
    events = corpus.reads(stream.body, "event")
    assert b'"arguments":"' in events[50]
    cut = events[:50] + events[51:]
    for name in ("feed", "msgspec", "orjson", "openai"):
        impl = by_name(name)
        with pytest.raises(ResultMismatch, match=r"tool_calls"):
            check(impl, impl.load()(cut), stream)
    with pytest.raises(ResultMismatch, match="items, expected"):
        check(by_name("sse"), by_name("sse").load()(cut), stream)
    with pytest.raises(ResultMismatch, match="items, expected"):
        check(by_name("chunks"), by_name("chunks").load()(cut), stream)


def test_summarize_reads_every_result_type_alike() -> None:
    stream = corpus.SCENARIOS["logprobs"].stream()
    reads = corpus.reads(stream.body, "16k")
    summaries = [summarize(i.load()(reads)) for i in IMPLEMENTATIONS if i.kind == "fold"]
    assert all(s == summaries[0] for s in summaries)
    (choice,) = summaries[0]["choices"]
    assert len(choice["logprobs"]) == 300
    assert choice["role"] == "assistant"
    assert summaries[0]["usage"]["completion_tokens"] == 300
    expected = msgspec.to_builtins(stream.expected.completion())
    assert summarize(expected)["choices"][0]["content"] == choice["content"]


def test_samples_run_in_rounds_with_the_collector_off_unless_asked() -> None:
    seen: list[tuple[str, bool]] = []

    def probe(name: str) -> Any:
        return lambda reads: seen.append((name, gc.isenabled()))

    timed = [(by_name("feed"), probe("a"), 2), (by_name("msgspec"), probe("b"), 1)]
    samples = bench._rounds(timed, [], bench.Settings(repeat=2))
    assert [len(s) for s in samples] == [2, 2]
    assert seen == [("a", False), ("a", False), ("b", False)] * 2
    seen.clear()
    bench._rounds(timed[1:], [], bench.Settings(repeat=1, gc=True))
    assert seen == [("b", True)]
    assert gc.isenabled()


PROTOCOL_RUN = [*FAST[:2], "responses-text,anthropic-tool", *FAST[3:]]


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    """One fast run of a Responses and an Anthropic scenario."""
    return run_with_json(PROTOCOL_RUN, tmp_path_factory)


def test_protocol_rows_in_the_table(protocol_run: tuple[int, str, dict[str, Any]]) -> None:
    status, out, _ = protocol_run
    assert status == 0
    header, _, text, text_mean, tool, tool_mean = out.splitlines()[:6]
    assert header.split() == ["stream", "chunks", "MB/s", "accumulate", "openai", "msgspec", "anthropic"]
    assert text.startswith("responses-text, 64k")
    assert " 506 " in text
    assert text.count("\u00d7)") == 2  # openai and msgspec; no anthropic cell
    assert text.rstrip().endswith("-")
    assert text_mean.startswith("geometric mean, responses")
    assert text_mean.count("\u00d7") == 2
    assert tool.startswith("anthropic-tool, 64k")
    assert " 1,027 " in tool
    assert tool.count("\u00d7)") == 2  # msgspec and anthropic; no openai cell
    assert tool_mean.startswith("geometric mean, anthropic")
    assert tool_mean.split()[3] == "-"  # no openai baseline for Anthropic
    assert tool_mean.count("\u00d7") == 2
    assert "accumulate (responses): chunkfold.ResponseAccumulator.feed" in out
    assert "anthropic (anthropic): anthropic-sdk-python's MessageStream" in out


def test_protocol_speedups_are_against_their_own_feed(protocol_run: tuple[int, str, dict[str, Any]]) -> None:
    _, _, report = protocol_run
    assert report["failures"] == []
    assert report["skipped"] == {}
    results = {(r["scenario"], r["implementation"]): r for r in report["results"]}
    assert set(results) == {
        ("responses-text", "feed"),
        ("responses-text", "openai"),
        ("responses-text", "msgspec"),
        ("anthropic-tool", "feed"),
        ("anthropic-tool", "msgspec"),
        ("anthropic-tool", "anthropic"),
    }
    assert {r["protocol"] for r in report["results"]} == {"responses", "anthropic"}
    assert results["anthropic-tool", "feed"]["chunks"] == 1027
    for s in report["speedups"]:
        ours = results[s["scenario"], "feed"]["median_ns"]
        theirs = results[s["scenario"], s["baseline"]]["median_ns"]
        assert s["speedup"] == pytest.approx(theirs / ours, rel=1e-2)


@pytest.mark.parametrize("protocol", protocols.PROTOCOLS[1:], ids=lambda p: p.name)
def test_protocol_scenarios_agree_with_what_they_recorded(protocol: protocols.Protocol) -> None:
    for scenario in protocol.scenarios.values():
        stream = scenario.stream(seed=3)
        assert stream.chunks == stream.body.count(b"\n\n")
        for pattern in ("event", "random"):
            reads = corpus.reads(stream.body, pattern, seed=3)
            for impl in protocol.implementations:
                protocol.check(impl, impl.load()(reads), stream)


@pytest.mark.parametrize(
    ("scenario", "needle", "where"),
    [
        ("responses-text", b"response.completed", "on responses-text: ."),
        ("anthropic-tool", b"input_json_delta", ".content[1].input"),
        ("anthropic-thinking", b"thinking_delta", ".content[0].thinking"),
    ],
)
def test_protocol_check_catches_a_lost_event(scenario: str, needle: bytes, where: str) -> None:
    protocol = protocols.by_scenario(scenario)
    stream = protocol.scenarios[scenario].stream()
    events = corpus.reads(stream.body, "event")
    at = next(i for i, e in enumerate(events) if needle in e and i > len(events) // 3)
    # A Responses delta is repeated whole by its *.done event: lose the terminal event there.
    cut = events[:at] + events[at + 1 :]
    for impl in protocol.implementations:
        with pytest.raises(ResultMismatch, match=re.escape(where)):
            protocol.check(impl, impl.load()(cut), stream)
