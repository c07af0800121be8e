"""A mock LLM upstream that streams realistic chat completions, Responses
and Anthropic Messages.

    python examples/mock_upstream.py --port 8001 --rate 50

``POST /v1/responses`` and ``POST /v1/messages`` stream the same scenarios
in those protocols (see ``mock_responses.py`` and ``mock_anthropic.py``;
streaming only). ``POST /v1/chat/completions`` streams one of these, chosen
by ``model``:

* ``mock-chat`` (any other name too): ``max_tokens`` content tokens (default 64);
* ``mock-tools``: two parallel tool calls, arguments in small fragments;
* ``mock-reasoning``: ``reasoning_content`` tokens, then content;
* ``mock-error``: some content, then an ``event: error`` mid-stream.

With ``n`` > 1 (``mock-chat`` only), ``n`` choices stream side by side, one
chunk per choice and token, as OpenAI interleaves them.

Chunks are framed as OpenAI frames them (same id, created, model and
fingerprint on every chunk, a first chunk with the role, ``[DONE]``), with the
usage chunk when ``stream_options.include_usage`` is set. ``--rate`` (or the
``x-mock-rate`` request header) sets tokens per second; 0 sends as fast as
possible. Without ``stream`` the folded ``ChatCompletion`` is returned as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import chunkfold
import mock_anthropic
import mock_responses
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "streams",
    "of",
    "tokens",
    "flow",
    "through",
    "every",
    "gateway",
]


def _chunk(model: str, choices: list[dict[str, Any]], **extra: Any) -> bytes:
    payload = {
        "id": "chatcmpl-mock0000000000000000000000",
        "object": "chat.completion.chunk",
        "created": 1750000000,
        "model": model,
        "system_fingerprint": "fp_mock",
        "choices": choices,
        **extra,
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _delta(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]


def frames(model: str, tokens: int, include_usage: bool) -> Iterator[tuple[bytes, int]]:
    """The stream for a request, as (frame, tokens it carries) pairs."""
    yield _chunk(model, _delta({"role": "assistant", "content": ""})), 0
    sent = 0
    finish = "stop"
    if model == "mock-reasoning":
        for i in range(tokens // 2):
            yield _chunk(model, _delta({"reasoning_content": f" {WORDS[i % len(WORDS)]}"})), 1
            sent += 1
    if model == "mock-tools":
        finish = "tool_calls"
        calls = [
            ("call_mock_weather", "get_weather", '{"city": "Paris", "units": "c"}'),
            ("call_mock_time", "get_time", '{"zone": "Europe/Paris"}'),
        ]
        for index, (call_id, name, _) in enumerate(calls):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            yield _chunk(model, _delta({"tool_calls": [head]})), 0
        for start in range(0, max(len(args) for *_, args in calls), 4):
            for index, (*_, args) in enumerate(calls):
                if start < len(args):
                    piece = {"index": index, "function": {"arguments": args[start : start + 4]}}
                    yield _chunk(model, _delta({"tool_calls": [piece]})), 1
                    sent += 1
    else:
        for i in range(tokens - sent):
            yield _chunk(model, _delta({"content": f" {WORDS[i % len(WORDS)]}"})), 1
            sent += 1
            if model == "mock-error" and i == tokens // 2:
                error = {
                    "error": {"message": "mock upstream overloaded", "type": "server_error", "code": "503"}
                }
                yield b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n", 0
                return
    yield _chunk(model, _delta({}, finish)), 0
    if include_usage:
        usage = {"prompt_tokens": 12, "completion_tokens": sent, "total_tokens": 12 + sent}
        yield _chunk(model, [], usage=usage), 0
    yield b"data: [DONE]\n\n", 0


def choices_frames(model: str, tokens: int, include_usage: bool, n: int) -> Iterator[tuple[bytes, int]]:
    """The stream of ``n`` choices of ``tokens`` content tokens each."""

    def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]

    for index in range(n):
        yield _chunk(model, choice(index, {"role": "assistant", "content": ""})), 0
    for i in range(tokens):
        for index in range(n):
            yield _chunk(model, choice(index, {"content": f" {WORDS[(i + index) % len(WORDS)]}"})), 1
    for index in range(n):
        yield _chunk(model, choice(index, {}, "stop")), 0
    if include_usage:
        usage = {"prompt_tokens": 12, "completion_tokens": tokens * n, "total_tokens": 12 + tokens * n}
        yield _chunk(model, [], usage=usage), 0
    yield b"data: [DONE]\n\n", 0


async def _paced(stream: Iterator[tuple[bytes, int]], rate: float) -> AsyncIterator[bytes]:
    for frame, carried in stream:
        if rate > 0 and carried:
            await asyncio.sleep(carried / rate)
        yield frame


async def completions(request: Request) -> Response:
    body = await request.json()
    model = str(body.get("model") or "mock-chat")
    tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 64)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    rate = float(request.headers.get("x-mock-rate", request.app.state.rate))
    n = int(body.get("n") or 1)
    if not body.get("stream"):
        acc = chunkfold.ChatCompletionAccumulator()
        for frame, _ in frames(model, tokens, True):
            acc.feed(frame)
        return Response(msgspec.json.encode(acc.finish()), media_type="application/json")
    chosen = (
        frames(model, tokens, include_usage) if n == 1 else choices_frames(model, tokens, include_usage, n)
    )
    stream = _paced(chosen, rate)
    return StreamingResponse(stream, media_type="text/event-stream")


async def _protocol_stream(request: Request, frames_for: Any) -> Response:
    body = await request.json()
    if not body.get("stream"):
        return JSONResponse({"error": {"message": "the mock streams only"}}, status_code=400)
    model = str(body.get("model") or "mock-chat")
    tokens = int(body.get("max_output_tokens") or body.get("max_tokens") or 64)
    rate = float(request.headers.get("x-mock-rate", request.app.state.rate))
    return StreamingResponse(_paced(frames_for(model, tokens), rate), media_type="text/event-stream")


async def responses(request: Request) -> Response:
    return await _protocol_stream(request, mock_responses.frames)


async def messages(request: Request) -> Response:
    return await _protocol_stream(request, mock_anthropic.frames)


async def models(request: Request) -> JSONResponse:
    names = ["mock-chat", "mock-tools", "mock-reasoning", "mock-error"]
    return JSONResponse({"object": "list", "data": [{"id": n, "object": "model"} for n in names]})


def create_app(rate: float = 0.0) -> Starlette:
    """The mock upstream as an ASGI app; ``rate`` is tokens per second (0: unpaced)."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )
    app.state.rate = rate
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--rate", type=float, default=50.0, help="tokens per second (0: unpaced)")
    args = parser.parse_args()
    uvicorn.run(create_app(args.rate), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
