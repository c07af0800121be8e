"""chunkfold.gateway: tap, the middleware and the request helpers, against real servers."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from chunkfold.gateway import (
    StreamMeterMiddleware,
    StreamSummary,
    drop_usage_chunk,
    ensure_include_usage,
    tap,
)
from chunkfold.usage import TokenUsage
from conftest import FIXTURES
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import gateway as example_gateway
import mock_upstream

TEXT = (FIXTURES / "providers" / "openai_gpt4o_text_usage_chunk.sse").read_bytes()
TOOLS = (FIXTURES / "providers" / "openai_gpt4o_parallel_tool_calls.sse").read_bytes()


def wait_for(probe: Any, timeout: float = 10.0) -> Any:
    """What ``probe()`` returns once it is not ``None``: a summary lands just
    after the stream's last byte, which a client may have read already."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return found


def reads(body: bytes, size: int = 97) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


async def areads(body: bytes, size: int = 97) -> AsyncIterator[bytes]:
    for piece in reads(body, size):
        await asyncio.sleep(0)
        yield piece


# --- tap -------------------------------------------------------------------


def test_tap_forwards_every_read_unchanged_and_summarises() -> None:
    summaries: list[StreamSummary] = []
    pieces = reads(TEXT)
    assert list(tap(pieces, on_complete=summaries.append)) == pieces
    [summary] = summaries
    assert summary.status == "done"
    assert summary.completion.choices[0].message.content == "The capital of Mexico is Mexico City."
    assert summary.usage is not None
    assert summary.usage.total_tokens == 22
    assert summary.usage_source == "provider"
    assert (summary.bytes, summary.chunks) == (len(TEXT), 11)
    assert summary.time_to_first_byte is not None
    assert summary.time_to_first_token is not None
    assert 0 <= summary.time_to_first_byte <= summary.time_to_first_token <= summary.duration
    assert summary.max_gap >= 0


def test_tap_reads_past_the_finish_reason_to_get_usage() -> None:
    summaries: list[StreamSummary] = []
    list(tap(reads(TOOLS, 5), on_complete=summaries.append))
    assert summaries[0].usage is not None
    assert summaries[0].usage.total_tokens == 404
    assert [c.function.name for c in summaries[0].completion.choices[0].message.tool_calls or []] == [
        "get_country",
        "get_product_name",
    ]


def test_missing_usage_and_truncation_are_reported() -> None:
    body = TEXT[: TEXT.index(b'"finish_reason":"stop"')]
    summaries: list[StreamSummary] = []
    list(tap([body], on_complete=summaries.append))
    assert summaries[0].status == "truncated"
    assert summaries[0].usage_source == "missing"
    assert summaries[0].completion.choices[0].message.content


def test_a_raising_callback_is_logged_and_never_breaks_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    def boom(summary: StreamSummary) -> None:
        raise RuntimeError("metering backend down")

    with caplog.at_level(logging.ERROR, logger="chunkfold.gateway"):
        assert b"".join(tap(reads(TEXT), on_complete=boom)) == TEXT
    assert "metering backend down" in caplog.text


def test_client_closing_the_stream_is_cancelled_with_partial_content() -> None:
    summaries: list[StreamSummary] = []
    stream = tap(reads(TEXT, 40), on_complete=summaries.append)
    for _ in range(25):
        next(stream)
    stream.close()
    [summary] = summaries
    assert summary.status == "cancelled"
    assert summary.completion.choices[0].message.content
    assert summary.completion.choices[0].message.content != "The capital of Mexico is Mexico City."


def test_upstream_error_is_summarised_and_re_raised() -> None:
    def upstream() -> Iterator[bytes]:
        yield TEXT[:600]
        raise httpx.ReadError("upstream reset")

    summaries: list[StreamSummary] = []
    errors: list[BaseException] = []
    with pytest.raises(httpx.ReadError):
        list(tap(upstream(), on_complete=summaries.append, on_error=lambda e, s: errors.append(e)))
    assert summaries[0].status == "error"
    assert isinstance(summaries[0].error, httpx.ReadError)
    assert errors == [summaries[0].error]


def test_async_tap_awaits_async_callbacks_and_counts_aclose_as_cancelled() -> None:
    summaries: list[StreamSummary] = []

    async def record(summary: StreamSummary) -> None:
        await asyncio.sleep(0)
        summaries.append(summary)

    async def run() -> None:
        assert [p async for p in tap(areads(TEXT), on_complete=record)] == reads(TEXT)
        stream = tap(areads(TEXT), on_complete=record)
        await stream.__anext__()
        await stream.aclose()  # type: ignore[attr-defined]

    asyncio.run(run())
    assert [s.status for s in summaries] == ["done", "cancelled"]


def test_async_tap_counts_task_cancellation_as_cancelled() -> None:
    summaries: list[StreamSummary] = []

    async def slow() -> AsyncIterator[bytes]:
        yield TEXT[:500]
        await asyncio.sleep(60)
        yield TEXT[500:]

    async def consume() -> None:
        async for _ in tap(slow(), on_complete=summaries.append):
            pass

    async def run() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert summaries[0].status == "cancelled"


# --- request helpers ---------------------------------------------------------


def test_ensure_include_usage() -> None:
    body = {"model": "m", "stream": True, "messages": []}
    sent, asked = ensure_include_usage(body)
    assert sent["stream_options"] == {"include_usage": True}
    assert not asked
    assert "stream_options" not in body  # the caller's body is not modified
    kept, asked = ensure_include_usage({**body, "stream_options": {"include_usage": True}})
    assert asked
    assert kept["stream_options"] == {"include_usage": True}
    plain, asked = ensure_include_usage({"model": "m", "messages": []})
    assert "stream_options" not in plain
    assert not asked


def test_ensure_include_usage_with_null_or_invalid_stream_options() -> None:
    body = {"model": "m", "stream": True, "stream_options": None}
    sent, asked = ensure_include_usage(body)
    assert (sent["stream_options"], asked) == ({"include_usage": True}, False)
    invalid = {**body, "stream_options": "yes"}
    assert ensure_include_usage(invalid) == (invalid, False)  # upstream answers it, unchanged
    with pytest.raises(TypeError, match="dict, not bytes"):
        ensure_include_usage(b"{}")  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, 13, 4096])
def test_drop_usage_chunk_removes_only_the_usage_chunk(size: int) -> None:
    dropped = b"".join(drop_usage_chunk(reads(TEXT, size)))
    start = TEXT.rindex(b"data: ", 0, TEXT.index(b'"choices":[],"usage"'))
    end = TEXT.index(b"\n\n", start) + 2
    assert dropped == TEXT[:start] + TEXT[end:]


# --- middleware, against uvicorn ---------------------------------------------


async def sse_route(request: Request) -> StreamingResponse:
    await request.body()  # as a proxy does: the middleware reads the request model from it
    return StreamingResponse(areads(TEXT), media_type="text/event-stream; charset=utf-8")


async def json_route(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def metered_app(summaries: list[tuple[StreamSummary, dict[str, Any]]]) -> Any:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", sse_route, methods=["POST"]),
            Route("/v1/embeddings", sse_route, methods=["POST"]),
            Route("/v1/chat/completions/json", json_route, methods=["POST"]),
        ]
    )
    return StreamMeterMiddleware(app, on_complete=lambda s, scope: summaries.append((s, scope)))


def test_middleware_meters_event_streams_without_changing_a_byte(serve: Any) -> None:
    summaries: list[tuple[StreamSummary, dict[str, Any]]] = []
    base = serve(metered_app(summaries))
    with httpx.Client(base_url=base) as client:
        assert client.post("/v1/chat/completions", json={"model": "gpt-4o", "stream": True}).content == TEXT
        assert client.post("/v1/embeddings").content == TEXT  # not a chat route: not metered
        assert client.post("/v1/chat/completions/json").json() == {"ok": True}
    [(summary, scope)] = summaries
    assert scope["path"] == "/v1/chat/completions"
    assert summary.status == "done"
    assert summary.protocol == "chat"
    assert summary.request_model == "gpt-4o"
    assert summary.model == summary.result.model != ""
    assert summary.usage is not None
    assert summary.usage.total_tokens == 22
    assert summary.token_usage == TokenUsage(input=14, cached_input=0, output=8, reasoning=0, total=22)


# --- the example proxy and mock upstream, end to end --------------------------


@pytest.fixture(scope="module")
def proxy(serve: Any) -> tuple[str, str, Any]:
    upstream = serve(mock_upstream.create_app(rate=0))
    app = example_gateway.create_app(upstream)
    return upstream, serve(app), app


def test_openai_client_gets_exactly_what_a_direct_connection_gives(proxy: tuple[str, str, Any]) -> None:
    upstream, gateway, _ = proxy
    for model in ("mock-chat", "mock-tools", "mock-reasoning"):
        request = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        direct = openai.OpenAI(api_key="sk-direct", base_url=f"{upstream}/v1")
        via = openai.OpenAI(api_key="sk-proxied", base_url=f"{gateway}/v1")
        expected = [c.model_dump() for c in direct.chat.completions.create(**request)]
        assert [c.model_dump() for c in via.chat.completions.create(**request)] == expected
        with_usage = {**request, "stream_options": {"include_usage": True}}
        expected = [c.model_dump() for c in direct.chat.completions.create(**with_usage)]
        assert [c.model_dump() for c in via.chat.completions.create(**with_usage)] == expected


def test_usage_is_metered_per_key_even_when_the_client_did_not_ask(proxy: tuple[str, str, Any]) -> None:
    _, gateway, _app = proxy
    client = openai.OpenAI(api_key="sk-meter-me-0001", base_url=f"{gateway}/v1")
    list(client.chat.completions.create(model="mock-chat", messages=[], stream=True, max_tokens=10))
    totals = wait_for(lambda: httpx.get(f"{gateway}/v1/usage").json().get("e-0001"))
    assert totals["output_tokens"] == 10
    assert totals["done"] == 1


def test_client_disconnect_yields_a_cancelled_summary(serve: Any) -> None:
    upstream = serve(mock_upstream.create_app(rate=200))
    app = example_gateway.create_app(upstream)
    gateway = serve(app)
    body = {"model": "mock-chat", "messages": [], "stream": True, "max_tokens": 400}
    with httpx.stream("POST", f"{gateway}/v1/chat/completions", json=body) as response:
        received = b""
        for piece in response.iter_raw():
            received += piece
            if received.count(b"\n\n") > 10:
                break
    for _ in range(100):
        if app.state.summaries:
            break
        time.sleep(0.05)
    [summary] = app.state.summaries
    assert summary.status == "cancelled"
    content = summary.completion.choices[0].message.content
    assert content
    assert 0 < summary.chunks < 400


def test_upstream_error_mid_stream_is_forwarded_and_summarised(proxy: tuple[str, str, Any]) -> None:
    _, gateway, app = proxy
    client = openai.OpenAI(api_key="sk-errors-0002", base_url=f"{gateway}/v1")
    before = len(app.state.summaries)
    with pytest.raises(openai.APIError, match="overloaded"):
        list(client.chat.completions.create(model="mock-error", messages=[], stream=True, max_tokens=20))
    summary = wait_for(lambda: app.state.summaries[before] if len(app.state.summaries) > before else None)
    assert summary.status == "error"
    assert summary.error is not None
    assert "overloaded" in str(summary.error)
    assert summary.completion.choices[0].message.content


def test_middleware_summarises_a_client_that_goes_away(serve: Any) -> None:
    summaries: list[tuple[StreamSummary, dict[str, Any]]] = []

    async def slow(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for piece in reads(TEXT, 40):
                await asyncio.sleep(0.02)
                yield piece

        return StreamingResponse(body(), media_type="text/event-stream")

    app = StreamMeterMiddleware(
        Starlette(routes=[Route("/v1/chat/completions", slow, methods=["POST"])]),
        on_complete=lambda s, scope: summaries.append((s, scope)),
    )
    base = serve(app)
    with httpx.stream("POST", f"{base}/v1/chat/completions") as response:
        for _ in response.iter_raw():
            break
    for _ in range(100):
        if summaries:
            break
        time.sleep(0.05)
    [(summary, _)] = summaries
    assert summary.status == "cancelled"
    assert 0 < summary.bytes < len(TEXT)
