"""A value a fold keeps as the provider sent it (chat logprob tokens and
usage, Responses items and response fields) that msgspec refuses makes
``finish()`` raise a typed ``ChunkDecodeError`` naming the stream position,
with msgspec's error as the cause; never msgspec's own exception."""

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


@pytest.mark.parametrize("value", REFUSED[:-1], ids=range(len(REFUSED) - 1))
def test_responses_kept_fields(value: bytes) -> None:
    _refused_by_msgspec(value)
    body = RESPONSES.read_bytes()
    assert body.count(b'"metadata":{}') > 0
    body = body.replace(b'"metadata":{}', b'"metadata":{"x":' + value + b"}")
    acc = chunkfold.ResponseAccumulator(strict=False)
    acc.feed(body)
    with pytest.raises(ChunkDecodeError) as raised:
        acc.finish()
    assert raised.value.offset == len(body)
    assert isinstance(raised.value.__cause__, (msgspec.MsgspecError, RecursionError))


def test_responses_too_deep_is_decoded_leniently() -> None:
    body = RESPONSES.read_bytes().replace(b'"metadata":{}', b'"metadata":{"x":' + REFUSED[-1] + b"}")
    acc = chunkfold.ResponseAccumulator(strict=False)
    acc.feed(body)
    assert isinstance(acc.finish(), chunkfold.responses.Response)
