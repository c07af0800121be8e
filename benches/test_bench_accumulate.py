"""Accumulation: stream bytes to one final completion, per scenario and read pattern.

Groups ``accumulate-{scenario}-{pattern}``: ``chat`` (500 tokens) and ``long``
(4000 tokens, to show that the cost per chunk does not grow with the length of
the answer), each with ``event``, ``1k`` and ``64k`` reads. ``us/item`` in
``extra_info`` is µs per chunk. After timing, every result's content,
finish_reason and usage are checked against the stdlib ``json`` reference, and
chunkfold's whole ``ChatCompletion`` against one built from the ``json`` chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import chunkfold
import httpx2
import msgspec
import openai
import pytest
from chunkfold.models import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    CompletionUsage,
)
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as OpenAIChunk

Reads = list[bytes]
Folded = tuple[ChatCompletion, Any]
"""A chunkfold result: the completion and the accumulator that made it."""
BASE_URL = "http://127.0.0.1:9"


def reference(stream: Any) -> tuple[str, str, dict[str, Any]]:
    """Content, last finish_reason and last usage of choice 0, from the ``json`` chunks."""
    reasons = [ch["finish_reason"] for c in stream.chunks for ch in c["choices"] if ch.get("finish_reason")]
    usages = [c["usage"] for c in stream.chunks if c.get("usage") is not None]
    return stream.content, reasons[-1], usages[-1]


def check(completion: Any, stream: Any) -> None:
    """The checks every implementation must pass (chunkfold Structs or openai pydantic models)."""
    content, finish_reason, usage = reference(stream)
    assert completion.id == stream.chunks[0]["id"]
    assert completion.model == stream.chunks[0]["model"]
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.content == content
    assert choice.finish_reason == finish_reason
    got = completion.usage
    assert got is not None
    assert (got.prompt_tokens, got.completion_tokens, got.total_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
        usage["total_tokens"],
    )


def expected_completion(stream: Any) -> ChatCompletion:
    """The whole ``ChatCompletion`` the merge rules give for the corpus's one-choice streams."""
    first, last = stream.chunks[0], stream.chunks[-1]
    content, finish_reason, usage = reference(stream)
    return ChatCompletion(
        id=first["id"],
        created=first["created"],
        model=first["model"],
        service_tier=last["service_tier"],
        system_fingerprint=last["system_fingerprint"],
        usage=msgspec.convert(usage, CompletionUsage),
        choices=[
            ChatCompletionChoice(
                index=0,
                message=ChatCompletionMessage(role="assistant", content=content),
                finish_reason=finish_reason,
            )
        ],
    )


def chunkfold_feed(reads: Reads) -> Folded:
    """``ChatCompletionAccumulator.feed`` per read: framing and folding in Rust, no chunk objects."""
    acc = chunkfold.ChatCompletionAccumulator()
    feed = acc.feed
    for read in reads:
        feed(read)
    return acc.finish(), acc


def chunkfold_add(reads: Reads) -> Folded:
    """``ChunkDecoder`` to msgspec Structs, then ``ChatCompletionAccumulator.add`` per chunk."""
    decoder = chunkfold.ChunkDecoder()
    acc = chunkfold.ChatCompletionAccumulator()
    add = acc.add
    for read in reads:
        for chunk in decoder.feed(read):
            add(chunk)
    for chunk in decoder.finish():
        add(chunk)
    return acc.finish(), acc


class SplitMsgspecAccumulator:
    """The best pure Python: ``bytes.split`` framing with carry, msgspec per event, and per
    choice a list of content pieces joined at the end. usage is the last non-null value and
    finish_reason the last non-empty one.

    Only what this corpus needs: no SSE rules, tool calls, refusals or list content.
    """

    __slots__ = ("_carry", "_decode", "_pieces", "_reasons", "created", "id", "model", "usage")

    def __init__(self) -> None:
        self._decode = msgspec.json.Decoder(ChatCompletionChunk).decode
        self._carry = b""
        self._pieces: dict[int, list[str]] = {}
        self._reasons: dict[int, str] = {}
        self.id = ""
        self.model = ""
        self.created = 0
        self.usage: CompletionUsage | None = None

    def feed(self, read: bytes) -> None:
        parts = (self._carry + read if self._carry else read).split(b"\n\n")
        self._carry = parts.pop()
        decode, pieces, reasons = self._decode, self._pieces, self._reasons
        for part in parts:
            if not part.startswith(b"data: ") or part == b"data: [DONE]":
                continue
            chunk = decode(part[6:])
            if not self.id:
                self.id, self.model, self.created = chunk.id, chunk.model, chunk.created
            if chunk.usage is not None:
                self.usage = chunk.usage
            for choice in chunk.choices or ():
                index = choice.index
                if (text := choice.delta.content) is not None:
                    if (own := pieces.get(index)) is None:
                        own = pieces[index] = []
                    own.append(text)
                if choice.finish_reason:
                    reasons[index] = choice.finish_reason

    def finish(self) -> ChatCompletion:
        indices = sorted(self._pieces.keys() | self._reasons.keys())
        choices = [
            ChatCompletionChoice(
                index=i,
                message=ChatCompletionMessage(content="".join(p) if (p := self._pieces.get(i)) else None),
                finish_reason=self._reasons.get(i),
            )
            for i in indices
        ]
        return ChatCompletion(
            id=self.id, model=self.model, created=self.created, choices=choices, usage=self.usage
        )


def split_msgspec(reads: Reads) -> ChatCompletion:
    """:class:`SplitMsgspecAccumulator` fed every read."""
    acc = SplitMsgspecAccumulator()
    for read in reads:
        acc.feed(read)
    return acc.finish()


@pytest.fixture(scope="module")
def openai_client() -> Iterator[openai.OpenAI]:
    """A client that is never used to send anything (the benches forbid connections)."""
    client = openai.OpenAI(api_key="x", base_url=BASE_URL, max_retries=0)
    yield client
    client.close()


def openai_state(client: openai.OpenAI) -> Callable[[Reads], Any]:
    """``openai.Stream`` over an ``httpx2.Response`` whose body yields the reads, each chunk
    folded by ``ChatCompletionStreamState.handle_chunk``, then ``get_final_completion()``."""
    request = httpx2.Request("POST", f"{BASE_URL}/chat/completions")
    headers = {"content-type": "text/event-stream"}

    def run(reads: Reads) -> Any:
        response = httpx2.Response(200, headers=headers, content=iter(reads), request=request)
        state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
        for chunk in openai.Stream(cast_to=OpenAIChunk, response=response, client=client):
            state.handle_chunk(chunk)
        return state.get_final_completion()

    return run


def group(scenario_stream: tuple[str, Any]) -> str:
    scenario, stream = scenario_stream
    return f"accumulate-{scenario}-{stream.pattern}"


def test_chunkfold_feed(run: Any, scenario_stream: tuple[str, Any]) -> None:
    stream = scenario_stream[1]
    completion, acc = run(group(scenario_stream), chunkfold_feed, stream, len(stream.chunks))
    check(completion, stream)
    assert completion == expected_completion(stream)
    assert (acc.status, acc.done, acc.error, acc.skipped) == ("done", True, None, 0)
    assert (acc.chunks, acc.bytes) == (len(stream.chunks), len(stream.body))
    assert acc.usage == completion.usage
    assert acc.first_byte_ns is not None
    assert acc.first_token_ns is not None
    assert acc.last_token_ns is not None
    assert acc.first_byte_ns <= acc.first_token_ns <= acc.last_token_ns


def test_chunkfold_add(run: Any, scenario_stream: tuple[str, Any]) -> None:
    stream = scenario_stream[1]
    completion, acc = run(group(scenario_stream), chunkfold_add, stream, len(stream.chunks))
    check(completion, stream)
    assert completion == expected_completion(stream)
    # add() never sees [DONE]: every choice finished, so the stream counts as finished.
    assert (acc.status, acc.done, acc.error) == ("finished", False, None)
    assert acc.chunks == len(stream.chunks)


def test_split_msgspec(run: Any, scenario_stream: tuple[str, Any]) -> None:
    stream = scenario_stream[1]
    completion = run(group(scenario_stream), split_msgspec, stream, len(stream.chunks))
    check(completion, stream)


def test_openai_state(run: Any, scenario_stream: tuple[str, Any], openai_client: openai.OpenAI) -> None:
    stream = scenario_stream[1]
    completion = run(group(scenario_stream), openai_state(openai_client), stream, len(stream.chunks))
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    check(completion, stream)
