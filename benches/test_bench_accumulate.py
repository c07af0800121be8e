"""Accumulation: stream bytes to one final completion, per scenario and read pattern.

Groups ``accumulate-{scenario}-{pattern}``: ``chat`` (500 tokens) and ``long``
(4000 tokens, to show that the cost per chunk does not grow with the length of
the answer), each with ``event``, ``1k`` and ``64k`` reads. ``us/item`` in
``extra_info`` is µs per chunk. After timing, every result's content,
finish_reason and usage are checked against the stdlib ``json`` reference, and
chunkfold's whole ``ChatCompletion`` against one built from the ``json`` chunks.
"""

from __future__ import annotations

from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold.bench import baselines
from chunkfold.chat.models import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionMessage,
    CompletionUsage,
)

Reads = list[bytes]
Folded = tuple[ChatCompletion, Any]
"""A chunkfold result: the completion and the accumulator that made it."""


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


IMPLEMENTATIONS = baselines.BY_NAME


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


@pytest.mark.parametrize("name", ["msgspec", "orjson", "openai"])
def test_baseline(run: Any, scenario_stream: tuple[str, Any], name: str) -> None:
    """:mod:`chunkfold.bench.baselines`' folds, as ``chunkfold bench`` times them."""
    stream = scenario_stream[1]
    completion = run(group(scenario_stream), IMPLEMENTATIONS[name].load(), stream, len(stream.chunks))
    if name == "orjson":
        completion = msgspec.convert(completion, ChatCompletion)
    check(completion, stream)
