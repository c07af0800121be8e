"""``add(chunk)`` reads chunks of the common shape straight from the Struct:
it must fold every chunk exactly as the JSON of that chunk folds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold import _core
from chunkfold.chat.models import ChatCompletionChunk, Choice, ChoiceDelta, ChoiceLogprobs, CompletionUsage

_encoder = msgspec.json.Encoder()


class _Subclass(ChatCompletionChunk, kw_only=True):
    error: dict[str, Any] | None = None


def _chunk(**fields: Any) -> ChatCompletionChunk:
    fields.setdefault("id", "c1")
    fields.setdefault("model", "m")
    fields.setdefault("created", 7)
    return ChatCompletionChunk(**fields)


def _one(delta: ChoiceDelta, **choice: Any) -> list[Choice]:
    return [Choice(delta=delta, **choice)]


EDGES: list[ChatCompletionChunk] = [
    _chunk(choices=_one(ChoiceDelta(role="assistant", content=""))),
    _chunk(choices=_one(ChoiceDelta(content='Hé\n"x"')), system_fingerprint="fp1", service_tier="default"),
    _chunk(choices=_one(ChoiceDelta(content="")), system_fingerprint="", service_tier=None),
    _chunk(choices=_one(ChoiceDelta(reasoning_content="think", reasoning="r", refusal="no"), index=2)),
    _chunk(choices=_one(ChoiceDelta(content="a"), finish_reason="")),
    _chunk(choices=_one(ChoiceDelta(content="b"), finish_reason="stop", index=1)),
    _chunk(choices=_one(ChoiceDelta(content="surrogate \ud800"))),
    _chunk(choices=_one(ChoiceDelta(content="late")), created=True),  # type: ignore[arg-type]
    _chunk(choices=_one(ChoiceDelta(content=None)), created=2**70),
    _chunk(choices=_one(ChoiceDelta(content=5))),  # type: ignore[arg-type]
    _chunk(choices=_one(ChoiceDelta(content="x"), index=True)),  # type: ignore[arg-type]
    _chunk(choices=_one(ChoiceDelta(content="x"), logprobs=ChoiceLogprobs(content=[]))),
    _chunk(choices=[], usage=CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3)),
    _chunk(choices=[]),
    _chunk(choices=None),
    _chunk(choices=_one(ChoiceDelta(content="p")) + _one(ChoiceDelta(content="q"), index=1)),
    _chunk(choices=_one(ChoiceDelta(content="o")), object="error"),
    _chunk(choices=_one(ChoiceDelta(content="c")), citations=["https://a"]),
    _Subclass(id="c1", choices=_one(ChoiceDelta(content="e")), error={"message": "boom"}),
    _chunk(id="", model="", created=0, choices=_one(ChoiceDelta(content="z"))),
]


def _outcome(add: Callable[[ChatCompletionChunk], list[Any]], chunk: ChatCompletionChunk) -> Any:
    """What ``add`` returned, or the type of what it raised (a str with a
    lone surrogate cannot be encoded either way)."""
    try:
        return repr(add(chunk))  # events hold exceptions, which compare by identity
    except Exception as exc:
        return type(exc)


def _state(acc: chunkfold.ChatCompletionAccumulator) -> tuple[Any, ...]:
    return (
        _encoder.encode(acc.snapshot()),
        acc.status,
        acc.chunks,
        acc.usage_json(),
        acc.error is not None,
        acc.first_token_ns is not None,
    )


@pytest.mark.parametrize("events", [False, True])
@pytest.mark.parametrize("at", range(len(EDGES)))
def test_add_folds_like_the_chunks_json(events: bool, at: int) -> None:
    # Each edge after a few ordinary chunks, so that it meets a fold with state.
    chunks = [*EDGES[:3], EDGES[at], *EDGES[:2]]
    direct = chunkfold.ChatCompletionAccumulator(events=events)
    via_json = chunkfold.ChatCompletionAccumulator(events=events)
    for chunk in chunks:
        assert _outcome(direct.add, chunk) == _outcome(lambda c: via_json.add_json(_encoder.encode(c)), chunk)
    assert _state(direct) == _state(via_json)


def test_add_between_feeds_keeps_the_fingerprint() -> None:
    # The prefix cache must not skip a fingerprint that add() changed.
    def frame(fp: str, text: str) -> bytes:
        return (
            b"data: "
            + _encoder.encode(_chunk(choices=_one(ChoiceDelta(content=text)), system_fingerprint=fp))
            + b"\n\n"
        )

    acc = chunkfold.ChatCompletionAccumulator()
    acc.feed(frame("fp1", "a") + frame("fp1", "b"))
    acc.add(_chunk(choices=_one(ChoiceDelta(content="c")), system_fingerprint="fp2"))
    acc.feed(frame("fp1", "d"))
    completion = acc.finish()
    assert completion.system_fingerprint == "fp1"
    assert completion.choices[0].message.content == "abcd"


def test_add_after_finish_raises() -> None:
    acc = chunkfold.ChatCompletionAccumulator()
    acc.finish()
    with pytest.raises(chunkfold.DecoderFinishedError):
        acc.add(EDGES[1])


def test_the_models_are_read_directly() -> None:
    # The Rust reader knows the Structs' field order; when the models change
    # it falls back to encoding every chunk (correct, but slow): this notices.
    encode = msgspec.json.Encoder().encode
    args = (ChatCompletionChunk, Choice, ChoiceDelta, msgspec.structs.astuple, msgspec.UNSET, encode)
    assert _core.register_chat_models(*args) is True
