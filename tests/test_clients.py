"""iter_chunks/aiter_chunks with real HTTP clients against uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import chunkfold
import httpx
import openai
import pytest
from chunkfold.chat.models import ChatCompletionChunk
from conftest import FIXTURES
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

BODY = (FIXTURES / "providers" / "openai_gpt4o_parallel_tool_calls.sse").read_bytes()


async def completions(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(BODY), 97):  # reads that cut events apart
            yield BODY[i : i + 97]
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type="text/event-stream")


APP = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.fixture(scope="module")
def base_url(serve: Any) -> str:
    return str(serve(APP))


def expected() -> list[ChatCompletionChunk]:
    decoder = chunkfold.ChunkDecoder()
    return decoder.feed(BODY) + decoder.finish()


def test_httpx_iter_bytes(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client, client.stream("POST", "/v1/chat/completions") as response:
        assert list(chunkfold.iter_chunks(response.iter_bytes())) == expected()


def test_httpx_aiter_bytes(base_url: str) -> None:
    async def run() -> list[ChatCompletionChunk]:
        async with (
            httpx.AsyncClient(base_url=base_url) as client,
            client.stream("POST", "/v1/chat/completions") as response,
        ):
            return [c async for c in chunkfold.aiter_chunks(response.aiter_bytes())]

    assert asyncio.run(run()) == expected()


def test_aiohttp_iter_any(base_url: str) -> None:
    async def run() -> list[ChatCompletionChunk]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{base_url}/v1/chat/completions") as response,
        ):
            return [c async for c in chunkfold.aiter_chunks(response.content.iter_any())]

    assert asyncio.run(run()) == expected()


def test_openai_with_streaming_response_raw_bytes(base_url: str) -> None:
    client = openai.OpenAI(api_key="test", base_url=f"{base_url}/v1")
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        ours = list(chunkfold.iter_chunks(response.iter_bytes()))
    assert ours == expected()
    sdk = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert [chunkfold.to_openai(c) for c in ours] == list(sdk)
