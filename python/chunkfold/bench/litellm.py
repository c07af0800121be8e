"""LiteLLM as a baseline: the streaming path of its proxy, and its ``stream_chunk_builder``.

LiteLLM is the gateway operators run in Python. Two implementations of the
chat protocol time it on the corpus bytes, when ``litellm`` is installed
(``pip install 'chunkfold[litellm]'``; it is heavy, so no other extra pulls it in):

* ``litellm``: ``litellm.acompletion(model="openai/...", messages=...,
  stream=True)``, what its proxy calls, consumed with ``async for`` to the
  end of the stream, and the end-of-stream work awaited: LiteLLM rebuilds the
  whole response from the chunks it kept (``stream_chunk_builder``) for the
  usage it reports, and again for its logging callbacks. The result is that
  logged response (``async_complete_streaming_response``). The upstream is an
  in-process ``httpx2.MockTransport`` under the ``AsyncOpenAI`` client passed
  as ``client=``, whose response body yields the reads one by one: no socket
  is opened. So the figure includes everything LiteLLM and openai-python do
  for one request and its stream (building the request, the mock response,
  the SSE decoding, a pydantic ``ChatCompletionChunk`` and then a
  ``ModelResponseStream`` per chunk, both rebuilds, the cost lookup) and one
  ``run_until_complete`` of a private event loop; nothing is subtracted. No
  callbacks are configured, as in a proxy without loggers.
* ``litellm-builder``: ``litellm.stream_chunk_builder(chunks, messages=...)``
  alone, on the ``ModelResponseStream`` chunks the first path yielded for
  these reads (made once, outside the timed calls). Its speed-up is still
  measured against chunkfold's ``feed`` from bytes, which also frames and
  decodes, so it understates the gap.

Both also report memory per stream: tracemalloc's peak during one call, above
what was allocated before it
(:func:`~chunkfold.bench.implementation.traced_peak`; the Python heap only).
The chunks LiteLLM keeps until the stream ends are most of it.

LiteLLM stamps its own ``created`` (the time of the call) on what it
returns, so :func:`check` compares everything
:func:`chunkfold.bench.baselines.summarize` keeps but ``created``. Its
result differs from the stream on two scenarios, so these implementations
skip them (:data:`SCENARIOS`): on ``n3`` it holds back every choice's
``finish_reason`` and sends one, for choice 0, at the end (choice 2's
``length`` becomes ``stop``), and on ``logprobs`` the response it builds
has no ``logprobs``, although the chunks it yields carry them.

It runs offline: ``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set before the
import, so LiteLLM reads its bundled model cost map instead of fetching one.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from chunkfold.bench.baselines import summarize
from chunkfold.bench.corpus import MODEL, CorpusStream
from chunkfold.bench.implementation import Implementation, Reads, ResultMismatch, Run, first_difference

__all__ = ["IMPLEMENTATIONS", "MESSAGES", "SCENARIOS", "check", "import_litellm", "proxy_stream"]

#: The chat scenarios on which LiteLLM's result matches the stream (see the module docstring).
SCENARIOS = ("chat", "long", "tools", "reasoning", "cjk")
#: The request's messages: what the corpus streams answer.
MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "Write about your day."}]
_BASE_URL = "http://127.0.0.1:9/v1"
_RESULT = "async_complete_streaming_response"


def import_litellm() -> Any:
    """Imports ``litellm`` offline (``LITELLM_LOCAL_MODEL_COST_MAP=True``: no cost map download)."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return importlib.import_module("litellm")


def proxy_stream() -> Callable[[Reads], tuple[Any, list[Any]]]:
    """A function from reads to ``(the response LiteLLM logged, the chunks it yielded)``:
    ``litellm.acompletion(..., stream=True)`` over an upstream that serves the reads in process."""
    litellm = import_litellm()
    import httpx2
    import openai

    served: list[Reads] = [[]]
    headers = {"content-type": "text/event-stream"}

    async def body(reads: Reads) -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    async def upstream(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers=headers, content=body(served[0]), request=request)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(upstream))
    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=_BASE_URL, max_retries=0, http_client=http)
    loop = asyncio.new_event_loop()

    async def consume() -> tuple[Any, list[Any]]:
        response = await litellm.acompletion(
            model=f"openai/{MODEL}",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            client=client,
        )
        chunks = [chunk async for chunk in response]
        # The end of the stream schedules LiteLLM's logging as tasks: part of the cost.
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*pending)
        return response.logging_obj.model_call_details.get(_RESULT), chunks

    def run(reads: Reads) -> tuple[Any, list[Any]]:
        served[0] = reads
        return loop.run_until_complete(consume())

    return run


def _proxy() -> Run:
    """litellm.acompletion(stream=True) over a mock upstream, to the response it logs (all included)."""
    stream = proxy_stream()

    def run(reads: Reads) -> Any:
        return stream(reads)[0]

    return run


def _builder() -> Run:
    """litellm.stream_chunk_builder alone, on the ModelResponseStream chunks LiteLLM yielded."""
    litellm = import_litellm()
    stream = proxy_stream()
    made: dict[int, tuple[Reads, list[Any]]] = {}
    build = litellm.stream_chunk_builder

    def run(reads: Reads) -> Any:
        kept = made.get(id(reads))
        if kept is None or kept[0] is not reads:
            kept = made[id(reads)] = (reads, stream(reads)[1])
        return build(chunks=kept[1], messages=MESSAGES)

    return run


def check(implementation: Implementation, result: Any, stream: CorpusStream) -> None:
    """Raises :class:`ResultMismatch` unless ``result`` is the recorded completion as
    :func:`~chunkfold.bench.baselines.summarize` sees it, ``created`` aside (LiteLLM stamps its own)."""
    if result is None:
        raise ResultMismatch(f"{implementation.name} on {stream.name}: LiteLLM logged no response")
    got, want = summarize(result), summarize(stream.expected.completion())
    del got["created"], want["created"]
    if got != want:
        raise ResultMismatch(f"{implementation.name} on {stream.name}: {first_difference(got, want)}")


def _litellm(name: str, label: str, make: Callable[[], Run]) -> Implementation:
    return Implementation(name, label, "fold", True, ("litellm",), make, SCENARIOS, check=check, memory=True)


#: LiteLLM's two paths, timed on :data:`SCENARIOS` when ``litellm`` is installed.
IMPLEMENTATIONS: tuple[Implementation, ...] = (
    _litellm("litellm", "LiteLLM acompletion stream", _proxy),
    _litellm("litellm-builder", "LiteLLM stream_chunk_builder", _builder),
)
