"""openai-python's Responses stream helper with openai's state and with chunkfold's.

Groups, per recorded stream (``text``: 825 events, nearly all text deltas;
``reasoning``: 1424, summary and text deltas; ``code``: 341, code interpreter and
text deltas):

* ``compat-responses-state-{stream}``: ``ResponseStreamState.handle_event`` over the
  stream's events, already built by openai's ``Stream`` (what the state costs per
  event inside ``ResponseStream``);
* ``compat-responses-stream-{stream}``: the whole ``client.responses.stream(...)``
  over a mock transport (``get_final_response()``), openai's own state or
  chunkfold's installed with ``install_responses()``.

``us/item`` in ``extra_info`` is µs per event. Each run's final response must
equal openai's (the streams all end with ``response.completed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

openai = pytest.importorskip("openai")
httpx2 = pytest.importorskip("httpx2")

from chunkfold.compat import openai as compat  # noqa: E402
from chunkfold.compat.openai_responses import ResponseStreamState  # noqa: E402
from openai._models import construct_type  # noqa: E402
from openai.lib.streaming.responses import ResponseStreamState as OpenAIResponseStreamState  # noqa: E402
from openai.types.responses import ResponseStreamEvent  # noqa: E402

FIXTURES = Path(__file__).parent.parent / "tests" / "data" / "fixtures" / "responses"
STREAMS = {
    "text": "vercel-openai-compaction-gpt52",
    "reasoning": "dotnet-reasoning-summary-o3mini",
    "code": "vercel-azure-code-interpreter",
}
STATES: dict[str, Any] = {"openai": OpenAIResponseStreamState, "chunkfold": ResponseStreamState}


def body_of(stream: str) -> bytes:
    return (FIXTURES / f"{STREAMS[stream]}.sse").read_bytes()


def events_of(body: bytes) -> list[Any]:
    """The stream's events as openai's ``Stream`` builds them (``construct_type``)."""
    events = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
        if data and data != b"[DONE]":
            events.append(construct_type(type_=ResponseStreamEvent, value=json.loads(data)))
    return events


def dump(response: Any) -> Any:
    return response.model_dump(mode="json", warnings=False)


@pytest.mark.parametrize("impl", list(STATES))
@pytest.mark.parametrize("stream", list(STREAMS))
def test_state(benchmark: Any, stream: str, impl: str) -> None:
    events = events_of(body_of(stream))
    state_type = STATES[impl]

    def run() -> Any:
        state = state_type(input_tools=openai.omit, text_format=openai.omit)
        handle = state.handle_event
        for event in events:
            handle(event)
        return state._completed_response

    benchmark.group = f"compat-responses-state-{stream}"
    benchmark.extra_info["items"] = len(events)
    final = benchmark(run)
    if benchmark.stats is not None:
        benchmark.extra_info["us/item"] = benchmark.stats.stats.mean * 1e6 / len(events)
    reference = OpenAIResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    for event in events:
        reference.handle_event(event)
    assert dump(final) == dump(reference._completed_response)


def transport(body: bytes) -> Any:
    def reply(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.MockTransport(reply)


def final_response(client: Any) -> Any:
    with client.responses.stream(model="gpt-4o", input="hi") as stream:
        return stream.get_final_response()


@pytest.mark.parametrize("impl", list(STATES))
@pytest.mark.parametrize("stream", list(STREAMS))
def test_stream_helper(benchmark: Any, stream: str, impl: str) -> None:
    body = body_of(stream)
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=transport(body)),
    )
    run: Callable[[], Any] = lambda: final_response(client)  # noqa: E731
    benchmark.group = f"compat-responses-stream-{stream}"
    count = len(events_of(body))
    benchmark.extra_info["items"] = count
    reference = final_response(client)
    if impl == "chunkfold":
        with compat.responses_installed():
            final = benchmark(run)
    else:
        final = benchmark(run)
    if benchmark.stats is not None:
        benchmark.extra_info["us/item"] = benchmark.stats.stats.mean * 1e6 / count
    assert dump(final) == dump(reference)
