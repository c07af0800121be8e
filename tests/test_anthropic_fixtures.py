"""MessageAccumulator and MessageEventDecoder on every recorded Anthropic stream.

* Every ``anthropic/*.sse`` folds without error and equals ``reference_fold`` of its
  events (tests/anthropic_reference.py), whole, byte by byte and at random splits.
* anthropic-sdk-python's ``accumulate_event`` is the differential oracle for the
  content and the usage counters it knows. Where it is wrong, the test says so and
  asserts our rule instead:

  - it does not fold ``compaction_delta`` (the compaction block stays ``content:
    null``; rule 3 appends);
  - it does not track ``mcp_tool_use`` input (it stays ``{}``; rule 4 parses it);
  - it partial-parses the argument text on every delta and keeps whatever that gives:
    ``vercel-handwritten-empty-first-input-delta`` sends ``"command":"view",...}``
    without its ``{``, and the SDK's input ends up the string ``"command"``; rule 4
    makes the input ``None``, keeps the text and counts it;
  - its usage keeps only the counters it declares (``fallback_credit``,
    ``iterations`` and a later ``cache_creation`` are dropped); rule 7 keeps them.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import msgspec
import pytest
from anthropic_reference import FIXTURES, Reference, fixture_events, reference_fold
from chunkfold import MessageAccumulator, MessageEventDecoder
from chunkfold.anthropic import models
from chunkfold.errors import StreamAPIError

INDEX = {entry["file"]: entry for entry in json.loads((FIXTURES / "INDEX.json").read_text())}
PATHS = sorted(FIXTURES.glob("*.sse"))
IDS = [p.stem for p in PATHS]


def test_every_indexed_fixture_is_here_unchanged() -> None:
    import hashlib

    assert sorted(INDEX) == sorted(p.name for p in PATHS)
    for path in PATHS:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == INDEX[path.name]["sha256"]


def fold(reads: list[bytes]) -> MessageAccumulator:
    acc = MessageAccumulator()
    for read in reads:
        acc.feed(read)
    acc.finish()
    return acc


def check(acc: MessageAccumulator, ref: Reference) -> None:
    assert json.loads(acc._core.snapshot_json()) == ref.message
    assert acc.status == ref.status
    assert (acc.chunks, acc.ignored, acc.renamed) == (ref.chunks, ref.ignored, ref.renamed)
    assert (acc.mismatched_deltas, acc.invalid_inputs) == (ref.mismatched, ref.invalid_inputs)
    assert acc.unknown_deltas == ref.unknown_deltas
    usage = acc.usage_json()
    assert (None if usage is None else json.loads(usage)) == ref.usage


def reference(path: Path) -> Reference:
    events, tail = fixture_events(path.read_bytes())
    return reference_fold(events, tail=tail)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_whole(path: Path) -> None:
    data = path.read_bytes()
    acc = fold([data])
    check(acc, reference(path))
    message = acc.snapshot()
    assert isinstance(message, models.Message)
    assert acc.bytes == len(data)
    assert acc.model == (INDEX[path.name]["models"] or [None])[0]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_byte_by_byte_and_random_splits(path: Path) -> None:
    data = path.read_bytes()
    whole = fold([data])._core.snapshot_json()
    if len(data) <= 60_000:
        assert fold([data[i : i + 1] for i in range(len(data))])._core.snapshot_json() == whole
    rng = random.Random(path.name)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 40))))
        reads = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        acc = fold(reads)
        assert acc._core.snapshot_json() == whole
        check(acc, reference(path))


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_decoder_then_add_folds_the_same(path: Path) -> None:
    data = path.read_bytes()
    decoder = MessageEventDecoder()
    events: list[Any] = []
    try:
        events += decoder.feed(data)
    except StreamAPIError as exc:
        events += exc.decoded
        assert path.stem.startswith("hw-error")
    events += decoder.finish()
    assert decoder.done == ("message_stop" in INDEX[path.name]["event_types"])
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    acc.finish()
    fed = fold([data])
    assert acc.snapshot() == fed.snapshot()


def _sdk_fold(path: Path) -> Any:
    from anthropic._models import construct_type_unchecked
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent

    snapshot = None
    json_bufs: dict[int, bytes] = {}
    known = {"message_start", "message_delta", "message_stop"} | {
        f"content_block_{k}" for k in ("start", "delta", "stop")
    }
    for _, payload in fixture_events(path.read_bytes())[0]:
        obj = json.loads(payload)
        if obj.get("type") in known:
            event = construct_type_unchecked(type_=RawMessageStreamEvent, value=obj)  # type: ignore[arg-type]
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns about unknown block types
        return snapshot.to_dict(mode="json") if snapshot is not None else None


SDK_USAGE = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "server_tool_use",
    "output_tokens_details",
)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_against_anthropic_sdk(path: Path) -> None:
    sdk = _sdk_fold(path)
    ours = json.loads(fold([path.read_bytes()])._core.snapshot_json())
    assert len(ours["content"]) == len(sdk["content"])
    for theirs, mine in zip(sdk["content"], ours["content"], strict=True):
        mine = dict(mine)
        if mine["type"] == "compaction":  # the SDK does not fold compaction_delta
            assert theirs["content"] is None
            assert isinstance(mine["content"], str)
            continue
        if mine["type"] == "mcp_tool_use":  # the SDK does not track mcp_tool_use input
            assert theirs["input"] == {}
            assert mine["input"]
            continue
        if "input_json" in mine:  # the SDK keeps a partial parse of invalid JSON
            assert path.stem == "vercel-handwritten-empty-first-input-delta"
            assert mine["input"] is None
            assert theirs["input"] == "command"
            continue
        assert mine == theirs
    for key in ("id", "model", "role", "type", "stop_reason", "stop_sequence"):
        assert ours[key] == sdk[key]
    for key in SDK_USAGE:
        assert ours["usage"].get(key) == sdk["usage"].get(key), key


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_what_we_encode_validates_with_the_sdk_types(path: Path) -> None:
    from anthropic.types import Message as SDKMessage
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter, ValidationError

    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    decoder = MessageEventDecoder()
    try:
        events = decoder.feed(path.read_bytes()) + decoder.finish()
    except StreamAPIError as exc:
        events = exc.decoded
    for event, (_, payload) in zip(events, fixture_events(path.read_bytes())[0], strict=False):
        if isinstance(event, models.PingEvent | models.UnknownEvent):
            continue
        original = json.loads(payload)
        original.pop("provider_metadata", None)  # Vercel's gateway: not modelled
        try:
            expected = adapter.validate_python(original).model_dump(mode="json", exclude_unset=True)
        except ValidationError:
            continue  # the SDK's types reject what the API sent (an "advisor" tool name)
        encoded = msgspec.json.encode(event)
        ours = adapter.validate_json(encoded).model_dump(mode="json", exclude_unset=True)
        assert ours == expected
    final = fold([path.read_bytes()]).snapshot()
    plain = all(type(b).__name__ in {"TextBlock", "ThinkingBlock", "ToolUseBlock"} for b in final.content)
    if plain and final.usage.input_tokens is not None and final.usage.output_tokens is not None:
        theirs = SDKMessage.model_validate_json(msgspec.json.encode(final))
        assert theirs.model_dump(mode="json", exclude_none=True)["content"] == [
            msgspec.to_builtins(block) for block in final.content
        ]
