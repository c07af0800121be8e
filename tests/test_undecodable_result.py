"""A value a fold keeps as the provider sent it that msgspec refuses never
lets msgspec's own exception out: the Responses fold (like the Anthropic
one, see test_anthropic_properties.py) refuses the event that carries it when
it is fed; the chat fold, which steps over logprob tokens unchecked to stay
fast, makes ``finish()`` raise a typed ``ChunkDecodeError`` naming the stream
position, with msgspec's error as the cause."""

from __future__ import annotations

from pathlib import Path

import chunkfold
import msgspec
import pytest
from chunkfold.errors import ChunkDecodeError

# JSON msgspec refuses although the folds' structural skips step over it.
REFUSED = [b'"\\ud800"', b'"\\udc00"', b"1e400", b"tru", b"01", b"[1,]", b"[" * 3000 + b"]" * 3000]

_CHUNK = (
    b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    b'"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":LOGPROB,"bytes":[97],'
    b'"top_logprobs":[]}]},"finish_reason":null}]}'
)
RESPONSES = sorted(Path(__file__).parent.joinpath("data", "fixtures", "responses").glob("*.sse"))[0]


def _refused_by_msgspec(value: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, RecursionError)):
        msgspec.json.decode(b'{"x":' + value + b"}")


@pytest.mark.parametrize("value", REFUSED, ids=range(len(REFUSED)))
def test_chat_logprob_tokens(value: bytes) -> None:
    _refused_by_msgspec(value)
    body = b"data: " + _CHUNK.replace(b"LOGPROB", value) + b"\n\ndata: [DONE]\n\n"
    acc = chunkfold.ChatCompletionAccumulator()
    acc.feed(body)
    with pytest.raises(ChunkDecodeError) as raised:
        acc.finish()
    assert raised.value.offset == len(body)
    assert isinstance(raised.value.__cause__, (msgspec.MsgspecError, RecursionError))
    assert acc.status == "done"  # the fold itself is intact


@pytest.mark.parametrize("value", REFUSED, ids=range(len(REFUSED)))
def test_responses_events_that_carry_them_are_malformed_payloads(value: bytes) -> None:
    # The Responses fold checks the events whose items or responses it
    # copies (rust/src/json/validate.rs), so the result always decodes.
    _refused_by_msgspec(value)
    body = RESPONSES.read_bytes()
    first = body.index(b'"metadata":{}')
    kept = body.count(b'"metadata":{}')
    body = body.replace(b'"metadata":{}', b'"metadata":{"x":' + value + b"}")
    with pytest.raises(ChunkDecodeError) as raised:
        chunkfold.ResponseAccumulator().feed(body)
    previous_end = body.rfind(b"\n\n", 0, first)
    assert raised.value.offset == (0 if previous_end < 0 else previous_end + 2)
    lenient = chunkfold.ResponseAccumulator(strict=False)
    lenient.feed(body)
    assert lenient.skipped == kept
    assert lenient.finish().output
