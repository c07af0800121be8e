"""openai's own stream helper, with openai's state and with chunkfold's (``install()``).

Groups ``openai-stream-{scenario}-{pattern}``: ``client.chat.completions.stream(...)``
read to ``get_final_completion()`` over a mock transport (no request leaves the
process), for the 500-token ``chat`` and 4000-token ``long`` streams. Both rows pay
for openai's HTTP layer, its SSE decoder and its pydantic chunks; only the state
that folds the chunks and builds the events differs, so the difference per chunk is
what ``compat.openai.install()`` saves. ``us/item`` in ``extra_info`` is µs per chunk::

    pytest benches/test_bench_openai_stream.py --benchmark-enable \
        --benchmark-columns=median --benchmark-sort=name

Both final completions are checked against the ``json`` reference, and against each
other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest
from chunkfold.compat import openai as compat

from benches.test_bench_accumulate import check

BASE_URL = "http://127.0.0.1:9/v1"  # never connected to: the transport answers
REQUEST: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def helper(install: bool) -> Callable[[list[bytes]], Any]:
    """Reads → the stream helper's final completion, with chunkfold's state or openai's."""
    reads: list[bytes] = []

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(reads))

    http = httpx2.Client(transport=httpx2.MockTransport(reply))
    client = openai.OpenAI(api_key="sk-bench", base_url=BASE_URL, max_retries=0, http_client=http)

    def run(stream_reads: list[bytes]) -> Any:
        reads[:] = stream_reads
        with client.chat.completions.stream(**REQUEST) as stream:
            for _ in stream:
                pass
            if install:
                assert isinstance(stream._state, compat.ChatCompletionStreamState)
            return stream.get_final_completion()

    if not install:
        return run

    def run_installed(stream_reads: list[bytes]) -> Any:
        with compat.installed():
            return run(stream_reads)

    return run_installed


@pytest.mark.parametrize("state", ["chunkfold", "openai"])
def test_openai_stream_helper(run: Any, scenario_stream: tuple[str, Any], state: str) -> None:
    scenario, stream = scenario_stream
    group = f"openai-stream-{scenario}-{stream.pattern}"
    completion = run(group, helper(state == "chunkfold"), stream, len(stream.chunks))
    check(completion, stream)
    assert completion.model_dump(warnings=False) == helper(state != "chunkfold")(stream.reads).model_dump(
        warnings=False
    )
