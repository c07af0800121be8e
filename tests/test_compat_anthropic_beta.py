"""chunkfold.compat.anthropic's beta fold against anthropic-sdk-python's own,
inside its own BetaMessageStream / BetaAsyncMessageStream
(``client.beta.messages.stream(...)``) fed by a mock transport."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")
httpx2 = pytest.importorskip("httpx2")

from anthropic.lib.streaming import _beta_messages, _messages  # noqa: E402
from anthropic.types.beta import BetaTextBlock, BetaToolUseBlock  # noqa: E402
from anthropic.types.beta.parsed_beta_message import ParsedBetaMessage  # noqa: E402
from chunkfold.compat import anthropic as compat  # noqa: E402
from test_compat_anthropic import (  # noqa: E402
    ARGS,
    SAMPLES,
    _deltas,
    _handler,
    _record,
    _split,
    _spy_on_arguments,
    _sse,
    _start,
    _text_events,
)

FIXTURES = sorted((Path(__file__).parent / "data" / "fixtures" / "anthropic").glob("*.sse"))
ORIGINAL_ACCUMULATE = _beta_messages.accumulate_event
ORIGINAL_BUILD = _beta_messages.build_events
FINE_GRAINED = {"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"}


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    compat.uninstall()
    assert _beta_messages.accumulate_event is ORIGINAL_ACCUMULATE


def _client(body: bytes, *, is_async: bool) -> Any:
    transport = httpx2.MockTransport(_handler(body, is_async=is_async))
    if is_async:
        return anthropic.AsyncAnthropic(
            api_key="test",
            base_url="http://127.0.0.1:9",
            http_client=httpx2.AsyncClient(transport=transport),
            max_retries=0,
        )
    return anthropic.Anthropic(
        api_key="test",
        base_url="http://127.0.0.1:9",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


def run_sync(body: bytes, **extra: Any) -> dict[str, Any]:
    """Every event (with its snapshot) the beta stream yields, the final
    message (and its type), or the exception."""
    seen: list[Any] = []
    try:
        with _client(body, is_async=False).beta.messages.stream(**ARGS, **extra) as stream:
            for event in stream:
                seen.append(_record(stream, event))
            final = stream.get_final_message()
            return {
                "events": seen,
                "final": final.model_dump(warnings=False),
                "types": [type(final).__name__, *(type(b).__name__ for b in final.content)],
                "bufs": {k: bytes(v) for k, v in stream._BetaMessageStream__json_bufs.items()},
            }
    except Exception as exc:
        return {"events": seen, "error": (type(exc).__name__, str(exc))}


def run_async(body: bytes, **extra: Any) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        seen: list[Any] = []
        try:
            async with _client(body, is_async=True).beta.messages.stream(**ARGS, **extra) as stream:
                async for event in stream:
                    seen.append(_record(stream, event))
                final = await stream.get_final_message()
                return {
                    "events": seen,
                    "final": final.model_dump(warnings=False),
                    "types": [type(final).__name__, *(type(b).__name__ for b in final.content)],
                    "bufs": {k: bytes(v) for k, v in stream._BetaAsyncMessageStream__json_bufs.items()},
                }
        except Exception as exc:
            return {"events": seen, "error": (type(exc).__name__, str(exc))}

    return asyncio.run(main())


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_fixture_streams_match_anthropics_beta_stream(
    path: Path, runner: Callable[..., dict[str, Any]]
) -> None:
    body = path.read_bytes()
    theirs = runner(body)
    with compat.installed():
        assert _beta_messages.accumulate_event is compat.beta_accumulate_event
        assert _beta_messages.build_events is compat.beta_build_events
        ours = runner(body)
    assert _beta_messages.accumulate_event is ORIGINAL_ACCUMULATE
    assert _beta_messages.build_events is ORIGINAL_BUILD
    assert len(ours["events"]) == len(theirs["events"])
    for mine, expected in zip(ours["events"], theirs["events"], strict=True):
        assert mine == expected
    assert ours == theirs
    assert theirs["events"], "the fixture yields events"


def test_the_beta_stream_gives_anthropics_beta_types() -> None:
    body = (FIXTURES[0].parent / "vercel-tool-use-json-haiku45.sse").read_bytes()
    with compat.installed():
        result = run_sync(body)
    assert result["types"][0] == "ParsedBetaMessage"
    assert "BetaToolUseBlock" in result["types"]
    assert result["bufs"]


def test_the_patched_beta_stream_uses_chunkfold(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_on_arguments(monkeypatch)
    body = (FIXTURES[0].parent / "vercel-tool-use-json-haiku45.sse").read_bytes()
    theirs = run_sync(body)
    assert not calls
    with compat.installed():
        ours = run_sync(body)
        assert calls
        # With the fine-grained tool streaming beta, anthropic parses in jiter's
        # "trailing-strings" mode: its own code folds the input, by index.
        calls.clear()
        fine = run_sync(body, betas=["fine-grained-tool-streaming-2025-05-14"])
        assert not calls
    assert ours == theirs
    assert fine == run_sync(body, betas=["fine-grained-tool-streaming-2025-05-14"])


def fold(accumulate: Callable[..., Any], events: list[dict[str, Any]], headers: Any = None) -> list[Any]:
    """The snapshot after each event, or the error that stopped the fold."""
    snapshot, bufs, out = None, {}, []  # type: ignore[var-annotated]
    for event in events:
        try:
            snapshot = accumulate(
                event=event,
                current_snapshot=snapshot,
                json_bufs=bufs,
                request_headers=httpx2.Headers(headers),
            )
        except Exception as exc:
            out.append((type(exc).__name__, str(exc)))
            return out
        out.append((type(snapshot).__name__, repr(snapshot.model_dump(warnings=False))))
    out.append({k: bytes(v) for k, v in bufs.items()})
    return out


@pytest.mark.parametrize("headers", [None, FINE_GRAINED], ids=["plain", "fine-grained"])
@pytest.mark.parametrize("text", SAMPLES)
def test_tool_input_matches_anthropics_beta_fold_at_every_split(text: str, headers: Any) -> None:
    rng = random.Random(text)
    for _ in range(10):
        events = _start() + _deltas(_split(text, rng))
        assert fold(compat.beta_accumulate_event, events, headers) == fold(
            ORIGINAL_ACCUMULATE, events, headers
        )


def test_blocks_fold_by_index_on_the_beta_stream() -> None:
    body = _sse(_text_events())
    assert run_sync(body)["error"][0] == "IndexError"
    with compat.installed():
        result = run_sync(body)
        assert run_async(body) == result
    assert [b["text"] if b["type"] == "text" else b["thinking"] for b in result["final"]["content"]] == [
        "Hi",
        "hm",
        " there",
    ]
    assert result["types"] == [
        "ParsedBetaMessage",
        "ParsedBetaTextBlock",
        "BetaThinkingBlock",
        "ParsedBetaTextBlock",
    ]


def test_a_fallback_block_out_of_order_names_the_model_as_anthropic_does() -> None:
    fallback = {"type": "fallback", "to": {"model": "claude-next"}}
    events = [*_start(0)[:1], {"type": "content_block_start", "index": 0, "content_block": fallback}]
    assert fold(compat.beta_accumulate_event, events) == fold(ORIGINAL_ACCUMULATE, events)
    # At a skipped index anthropic cannot place the block; chunkfold places it and relabels alike.
    events[1] = {**events[1], "index": 2}
    snapshot = None
    for event in events:
        snapshot = compat.beta_accumulate_event(
            event=event, current_snapshot=snapshot, json_bufs={}, request_headers=httpx2.Headers()
        )
    assert isinstance(snapshot, ParsedBetaMessage)
    assert snapshot.model == "claude-next"


def test_install_covers_both_streams_and_uninstall_restores_both() -> None:
    compat.install()
    compat.install()
    assert _messages.accumulate_event is compat.accumulate_event
    assert _beta_messages.accumulate_event is compat.beta_accumulate_event
    assert _beta_messages.build_events is compat.beta_build_events
    compat.uninstall()
    compat.uninstall()
    assert _beta_messages.accumulate_event is ORIGINAL_ACCUMULATE
    assert _beta_messages.build_events is ORIGINAL_BUILD
    assert _messages.accumulate_event is not compat.accumulate_event
    with compat.installed():
        assert _beta_messages.accumulate_event is compat.beta_accumulate_event
    assert _beta_messages.accumulate_event is ORIGINAL_ACCUMULATE


def test_beta_types_come_out_of_a_direct_fold() -> None:
    events = [*_start(), *_deltas(['{"a": ', '[1, "x"]}']), {"type": "content_block_stop", "index": 0}]
    text = {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": "ok"}}
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in [*events, text]:
        snapshot = compat.beta_accumulate_event(
            event=event, current_snapshot=snapshot, json_bufs=bufs, request_headers=None
        )
    assert isinstance(snapshot, ParsedBetaMessage)
    tool, block = snapshot.content
    assert isinstance(tool, BetaToolUseBlock)
    assert tool.input == {"a": [1, "x"]}
    assert isinstance(block, BetaTextBlock)
    assert json.loads(bytes(bufs[0])) == {"a": [1, "x"]}
