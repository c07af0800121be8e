"""Responses models and ResponseEventDecoder: every recorded event decodes,
encodes back to what openai-python reads, and any split of the reads gives
the same events."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest
from chunkfold import ChunkDecodeError, EventTooLargeError, SSEDecoder
from chunkfold.responses import ResponseEventDecoder, iter_events
from chunkfold.responses import models as m
from conftest import RESPONSES, responses_streams, stream_id
from openai.types import responses as sdk

SDK_EVENT = pydantic.TypeAdapter(sdk.ResponseStreamEvent)
INDEX = {entry["file"]: entry for entry in json.loads((RESPONSES / "INDEX.json").read_text())}


def payloads(path: Path) -> list[bytes]:
    decoder = SSEDecoder()
    events = decoder.feed(path.read_bytes()) + decoder.finish()
    return [e.raw for e in events if e.raw.strip() and e.raw.strip() != b"[DONE]"]


def declared(model: Any) -> Any:
    """A pydantic model's dump without the extra (undeclared) fields it kept."""
    if isinstance(model, pydantic.BaseModel):
        return {
            name: declared(getattr(model, name))
            for name in type(model).model_fields
            if name not in (model.model_extra or {})
        }
    if isinstance(model, list):
        return [declared(v) for v in model]
    if isinstance(model, dict):
        return {k: declared(v) for k, v in model.items()}
    return model


def test_every_fixture_is_indexed() -> None:
    assert sorted(p.name for p in responses_streams()) == sorted(INDEX)
    assert len(INDEX) == 72


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_fixture_events_decode_and_encode_as_the_sdk_reads_them(path: Path) -> None:
    compared = 0
    for raw in payloads(path):
        event = m.decode_event(raw)
        wire = json.loads(raw)
        assert event.type == wire["type"]
        if isinstance(event, m.UnknownEvent):
            assert event.raw == wire
            continue
        assert m.event_from_builtins(wire) == event
        try:
            original = SDK_EVENT.validate_json(raw)
        except pydantic.ValidationError:
            continue  # openai-python itself rejects it (a type it lacks, a provider's shape)
        ours = SDK_EVENT.validate_json(m.encode(event))
        assert declared(ours) == declared(original), wire["type"]
        compared += 1
    # openai-python requires sequence_number: it rejects every event of the one
    # early-2025 recording without them.
    assert compared > 0 or "no_sequence_number" in INDEX[path.name]["features"]


def test_keepalive_and_apply_patch_events_are_typed() -> None:
    keepalive = m.decode_event(b'{"type":"keepalive","sequence_number":7}')
    assert isinstance(keepalive, m.ResponseKeepaliveEvent)
    assert keepalive.sequence_number == 7
    diff = m.decode_event(
        b'{"type":"response.apply_patch_call_operation_diff.delta","item_id":"a","output_index":1,'
        b'"delta":"+x","sequence_number":3}'
    )
    assert isinstance(diff, m.ResponseApplyPatchCallOperationDiffDeltaEvent)
    assert diff.delta == "+x"


def test_unknown_event_and_item_types_are_kept() -> None:
    ping = m.decode_event(b'{"type":"ping","sequence_number":4,"x":[1]}')
    assert isinstance(ping, m.UnknownEvent)
    assert (ping.type, ping.sequence_number, ping.raw) == (
        "ping",
        4,
        {"type": "ping", "sequence_number": 4, "x": [1]},
    )
    assert m.encode(ping) == b'{"type":"ping","sequence_number":4,"x":[1]}'
    payload = (
        b'{"type":"response.output_item.added","sequence_number":2,"output_index":0,'
        b'"item":{"type":"hologram","id":"h1","beam":true}}'
    )
    added = m.decode_event(payload)
    assert isinstance(added, m.ResponseOutputItemAddedEvent)
    assert isinstance(added.item, m.UnknownItem)
    assert (added.item.type, added.item.id) == ("hologram", "h1")
    assert json.loads(m.encode(added)) == json.loads(payload)
    done = m.decode_event(
        b'{"type":"response.completed","sequence_number":9,"response":{"id":"r","output":'
        b'[{"type":"hologram"},{"type":"message","id":"m","role":"assistant","status":"completed","content":[]}]}}'
    )
    assert isinstance(done, m.ResponseCompletedEvent)
    assert [type(i) for i in done.response.output] == [m.UnknownItem, m.ResponseOutputMessage]


def test_nested_error_event_keeps_every_field() -> None:
    event = m.decode_event(
        b'{"type":"error","sequence_number":2,"error":{"type":"insufficient_quota",'
        b'"code":"insufficient_quota","message":"over","param":null}}'
    )
    assert isinstance(event, m.ResponseErrorEvent)
    assert event.error == {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "over",
        "param": None,
    }


@pytest.mark.parametrize(
    "bad", [b"[]", b"{}", b'{"type":3}', b"nope", b'{"type":"response.output_text.delta","delta":5}']
)
def test_malformed_events_are_validation_errors(bad: bytes) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
        m.decode_event(bad)


def test_usage_fields() -> None:
    usage = msgspec.json.decode(
        b'{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":7,'
        b'"output_tokens_details":{"reasoning_tokens":5},"total_tokens":17}',
        type=m.ResponseUsage,
    )
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (4, 5)


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_decoder_whole_bytewise_and_random_splits_agree(path: Path) -> None:
    body = path.read_bytes()
    whole = list(iter_events([body]))
    assert whole == [m.decode_event(p) for p in payloads(path)]
    rng = random.Random(path.name)
    cuts = sorted(rng.sample(range(1, len(body)), min(40, len(body) - 1)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert list(iter_events(pieces)) == whole
    if len(body) <= 20_000:
        assert list(iter_events([body[i : i + 1] for i in range(len(body))])) == whole


def test_decoder_errors_name_the_offset_and_lose_nothing() -> None:
    good = b'data: {"type":"keepalive","sequence_number":1}\n\n'
    bad = b"data: {not json\n\n"
    body = good + bad + good.replace(b"1", b"2")
    decoder = ResponseEventDecoder()
    with pytest.raises(ChunkDecodeError) as info:
        decoder.feed(body)
    assert info.value.offset == len(good)
    assert [e.sequence_number for e in info.value.decoded] == [1]  # type: ignore[union-attr]
    assert [e.sequence_number for e in decoder.finish()] == [2]  # type: ignore[union-attr]
    lenient = ResponseEventDecoder(strict=False)
    assert len(lenient.feed(body) + lenient.finish()) == 2
    assert lenient.skipped == 1


def test_decoder_oversized_event() -> None:
    decoder = ResponseEventDecoder(max_event_size=64)
    body = b'data: {"type":"keepalive"}\n\ndata: {"type":"ping","pad":"' + b"x" * 100 + b'"}\n\n'
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(body)
    assert [e.type for e in info.value.decoded] == ["keepalive"]


def test_decoder_error_event_is_an_event() -> None:
    body = (RESPONSES / "vercel-openai-error-insufficient-quota-then-failed.sse").read_bytes()
    types = [e.type for e in iter_events([body])]
    assert types[-2:] == ["error", "response.failed"]
