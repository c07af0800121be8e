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

``python -m chunkfold.bench.litellm [scenario]`` (:func:`main`) breaks the
figure down on one stream: the whole path, its fixed cost per request (a
four-chunk stream), openai-python alone underneath it, and
``stream_chunk_builder`` once, in wall and CPU time, with the memory.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Coroutine
from importlib.metadata import version
from typing import Any, TypeVar

import chunkfold
from chunkfold.bench.baselines import summarize
from chunkfold.bench.corpus import MODEL, CorpusStream, StreamBuilder, reads
from chunkfold.bench.corpus import SCENARIOS as SCENARIOS_BY_NAME
from chunkfold.bench.implementation import (
    Implementation,
    Reads,
    ResultMismatch,
    Run,
    feed_all,
    first_difference,
    traced_peak,
)

__all__ = [
    "IMPLEMENTATIONS",
    "MESSAGES",
    "SCENARIOS",
    "Upstream",
    "check",
    "import_litellm",
    "main",
    "measure",
    "proxy_stream",
]

#: The chat scenarios on which LiteLLM's result matches the stream (see the module docstring).
SCENARIOS = ("chat", "long", "tools", "reasoning", "cjk")
#: The request's messages: what the corpus streams answer.
MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "Write about your day."}]
_BASE_URL = "http://127.0.0.1:9/v1"
_SSE = {"content-type": "text/event-stream"}
_T = TypeVar("_T")
_RESULT = "async_complete_streaming_response"


def import_litellm() -> Any:
    """Imports ``litellm`` offline (``LITELLM_LOCAL_MODEL_COST_MAP=True``: no cost map download)."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return importlib.import_module("litellm")


class Upstream:
    """An ``AsyncOpenAI`` client whose requests an in-process ``httpx2.MockTransport``
    answers with a stream of given reads, one body part per read, and a private
    event loop to run it in: no socket is opened."""

    def __init__(self) -> None:
        import httpx2
        import openai

        self._reads: Reads = []
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(self._respond))
        self.client = openai.AsyncOpenAI(
            api_key="sk-bench", base_url=_BASE_URL, max_retries=0, http_client=http
        )
        """What LiteLLM is given as ``client=``."""
        self._loop = asyncio.new_event_loop()

    async def _body(self, reads: Reads) -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    async def _respond(self, request: Any) -> Any:
        import httpx2

        return httpx2.Response(200, headers=_SSE, content=self._body(self._reads), request=request)

    def serve(self, reads: Reads, consume: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Runs ``consume()`` to its end, every request it sends answered with ``reads``."""
        self._reads = reads
        return self._loop.run_until_complete(consume())

    def openai_chunks(self, reads: Reads) -> list[Any]:
        """openai-python alone, as LiteLLM calls it: ``chat.completions.create(stream=True)``,
        its pydantic chunks collected."""

        async def consume() -> list[Any]:
            messages: Any = MESSAGES  # the SDK's TypedDicts; these are plain dicts
            stream = await self.client.chat.completions.create(
                model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
            )
            return [chunk async for chunk in stream]

        return self.serve(reads, consume)

    def close(self) -> None:
        """Finalizes the async generators left open and closes the event loop."""
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()


def proxy_stream(upstream: Upstream | None = None) -> Callable[[Reads], tuple[Any, list[Any]]]:
    """A function from reads to ``(the response LiteLLM logged, the chunks it yielded)``:
    ``litellm.acompletion(..., stream=True)`` over ``upstream`` (a new :class:`Upstream` if
    ``None``) serving the reads."""
    litellm = import_litellm()
    upstream = upstream or Upstream()

    async def consume() -> tuple[Any, list[Any]]:
        response = await litellm.acompletion(
            model=f"openai/{MODEL}",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            client=upstream.client,
        )
        chunks = [chunk async for chunk in response]
        # The end of the stream schedules LiteLLM's logging as tasks: part of the cost.
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*pending)
        return response.logging_obj.model_call_details.get(_RESULT), chunks

    def run(reads: Reads) -> tuple[Any, list[Any]]:
        return upstream.serve(reads, consume)

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
    # The chunks of the last reads only: about 7 KB a chunk, too much to keep for every stream.
    made: list[tuple[Reads, list[Any]]] = []
    build = litellm.stream_chunk_builder

    def run(reads: Reads) -> Any:
        if not made or made[0][0] is not reads:
            made[:] = [(reads, stream(reads)[1])]
        return build(chunks=made[0][1], messages=MESSAGES)

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


# --- the breakdown: python -m chunkfold.bench.litellm [scenario] ---------------------------


def _tiny() -> Reads:
    """A four-chunk answer (role, one token, stop, usage), one read per event: a request's fixed cost."""
    out = StreamBuilder(seed=0)
    out.role()
    out.content("Hi")
    out.stop()
    out.usage(12, 1)
    out.done()
    return reads(out.body(), "event")


def measure(scenario: str = "chat", repeat: int = 7, min_time: float = 0.05) -> dict[str, Any]:
    """What LiteLLM's figure is made of, on ``scenario`` read one event at a time: medians
    of ``repeat`` samples taken in rounds (every case in turn, garbage collector off).

    Returns, for each case, ms per call of wall time (``ms``) and of the process's CPU
    time, every thread's (``cpu_ms``: LiteLLM hands work to threads, whose waits a loaded
    machine lengthens), the chunks of the stream, tracemalloc's peak of one call of the
    whole path (``peak_bytes``) and what the chunks it yields hold (``retained_bytes``)."""
    litellm = import_litellm()
    stream = SCENARIOS_BY_NAME[scenario].stream()
    events, tiny = reads(stream.body, "event"), _tiny()
    upstreams = Upstream(), Upstream()
    proxy, upstream = proxy_stream(upstreams[0]), upstreams[1]
    chunks = proxy(events)[1]
    check(IMPLEMENTATIONS[0], proxy(events)[0], stream)
    cases: dict[str, Callable[[], object]] = {
        "chunkfold feed": lambda: feed_all(chunkfold.ChatCompletionAccumulator, events),
        "litellm acompletion stream": lambda: proxy(events),
        "litellm, 4-chunk stream": lambda: proxy(tiny),
        "openai-python alone": lambda: upstream.openai_chunks(events),
        "openai-python, 4-chunk stream": lambda: upstream.openai_chunks(tiny),
        "stream_chunk_builder once": lambda: litellm.stream_chunk_builder(chunks=chunks, messages=MESSAGES),
    }
    numbers = {}
    for name, fn in cases.items():
        start = time.perf_counter()
        fn()
        numbers[name] = max(1, int(min_time / max(time.perf_counter() - start, 1e-9)))
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in cases.items():
                start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
                for _ in range(numbers[name]):
                    fn()
                cpu[name].append((time.process_time_ns() - start_cpu) / numbers[name] / 1e6)
                wall[name].append((time.perf_counter_ns() - start) / numbers[name] / 1e6)
    finally:
        gc.enable()
    peak, retained = traced_peak(proxy, events), _retained(proxy, events)
    for each in upstreams:
        each.close()
    return {
        "ms": {name: statistics.median(values) for name, values in wall.items()},
        "cpu_ms": {name: statistics.median(values) for name, values in cpu.items()},
        "chunks": stream.chunks,
        "peak_bytes": peak,
        "retained_bytes": retained,
    }


def _retained(proxy: Callable[[Reads], tuple[Any, list[Any]]], events: Reads) -> int:
    """What the chunks LiteLLM yielded hold once the stream has ended (traced bytes): the
    list it keeps of them until then (``CustomStreamWrapper.chunks``) holds the same objects."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        chunks = proxy(events)[1]  # the logged response is dropped, the chunks kept
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        del chunks
        return held
    finally:
        tracemalloc.stop()


def main() -> None:
    """Prints :func:`measure` for the scenario named on the command line (``chat`` if none)."""
    scenario = sys.argv[1] if len(sys.argv) > 1 else "chat"
    m = measure(scenario)
    ms, cpu_ms, chunks = m["ms"], m["cpu_ms"], m["chunks"]
    print(f"{scenario}, one read per event, {chunks} chunks: wall time (CPU time, all threads)")
    print(f"{'':>30}  {'ms per stream':>22}  {'µs per chunk':>22}")
    for name, value in ms.items():
        per_cpu = cpu_ms[name] * 1e3 / chunks
        per = "" if "4-chunk" in name else f"{value * 1e3 / chunks:10.1f} ({per_cpu:8.1f})"
        print(f"{name:>30}: {value:9.2f} ({cpu_ms[name]:9.2f})  {per}")
    total, fixed, feed = ms["litellm acompletion stream"], ms["litellm, 4-chunk stream"], ms["chunkfold feed"]
    print(f"{'litellm ÷ chunkfold feed':>30}: {total / feed:,.0f}x")
    print(f"{'litellm less its 4-chunk cost':>30}: {(total - fixed) * 1e3 / (chunks - 4):10.1f} µs per chunk")
    for label, size in (("peak", m["peak_bytes"]), ("held by its chunks", m["retained_bytes"])):
        per_chunk = f"{size / chunks / 1e3:.1f} KB per chunk"
        print(f"{'litellm memory per stream':>30}: {size / 1e6:9.2f} MB {label}, {per_chunk}")
    print(f"Python {sys.version.split()[0]}, litellm {version('litellm')}, openai {version('openai')}")


if __name__ == "__main__":
    main()
