"""ResponseAccumulator on every recorded Responses stream: whole, byte by byte and at
random splits; against the reference fold, openai-python's stream state, and the
terminal response."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest
from chunkfold import ResponseAccumulator, ResponseEventDecoder
from chunkfold.responses import models as m
from chunkfold.usage import TokenUsage
from conftest import RESPONSES, responses_streams, stream_id
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types import responses as sdk
from responses_reference import reference_fold, sse_events

INDEX = {entry["file"]: entry for entry in json.loads((RESPONSES / "INDEX.json").read_text())}
SDK_EVENT = pydantic.TypeAdapter(sdk.ResponseStreamEvent)


def fold(pieces: list[bytes], **options: Any) -> ResponseAccumulator:
    acc = ResponseAccumulator(**options)
    for piece in pieces:
        acc.feed(piece)
    acc.finish()
    return acc


def state(acc: ResponseAccumulator) -> tuple[Any, ...]:
    return (
        acc._core.snapshot_json(),
        acc.status,
        acc.finish_reasons,
        acc.chunks,
        acc.usage_json(),
        acc.duplicates,
        acc.sequence_gaps,
        acc.item_id_mismatches,
        acc.ignored,
        acc.error is not None and acc.error.raw,
    )


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_fixture_whole_bytewise_and_random_splits(path: Path) -> None:
    body = path.read_bytes()
    whole = fold([body])
    rng = random.Random(path.name)
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(body)), min(rng.randint(1, 200), len(body) - 1)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert state(fold(pieces)) == state(whole)
    step = 1 if len(body) <= 120_000 else 7
    assert state(fold([body[i : i + step] for i in range(0, len(body), step)])) == state(whole)
    assert state(fold([body[i : i + 65536] for i in range(0, len(body), 65536)])) == state(whole)


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_fixture_matches_the_reference_fold(path: Path) -> None:
    body = path.read_bytes()
    acc = fold([body])
    ref = reference_fold(sse_events(body))
    assert json.loads(acc._core.snapshot_json()) == ref.response
    assert acc.status == ref.status
    assert acc.finish_reasons == ([ref.finish_reason] if ref.finish_reason else [])
    assert (acc.chunks, acc.duplicates, acc.sequence_gaps, acc.item_id_mismatches, acc.ignored) == (
        ref.chunks,
        ref.duplicates,
        ref.gaps,
        ref.mismatches,
        ref.ignored,
    )
    assert (acc.first_token_ns is not None) == (ref.tokens > 0)
    # Cut before the terminal event, the folded items alone must match too.
    cut = body.rfind(b"event: response.")
    if cut > 0:
        partial = fold([body[:cut]])
        ref_partial = reference_fold(sse_events(body[:cut]))
        assert json.loads(partial._core.snapshot_json()) == ref_partial.response
        assert partial.status == ref_partial.status


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_fixture_status_usage_and_final_response(path: Path) -> None:
    features = INDEX[path.name]["features"]
    acc = fold([path.read_bytes()])
    response = acc.snapshot()
    assert isinstance(response, m.Response)
    terminal = next(f.split(":", 1)[1] for f in features if f.startswith("terminal:"))
    expected = {"response.completed": "done", "response.incomplete": "incomplete", "response.failed": "error"}
    assert acc.status == expected[terminal]
    assert acc.done
    assert response.status == {"done": "completed", "incomplete": "incomplete", "error": "failed"}[acc.status]
    if "usage:absent" in features:
        assert acc.usage is None
        assert acc.token_usage is None
    else:
        usage = acc.usage
        assert usage is not None
        assert response.usage == usage
        assert acc.token_usage == TokenUsage(
            input=usage.input_tokens,
            cached_input=usage.input_tokens_details.cached_tokens,
            cache_creation_input=json.loads(acc.usage_json() or b"{}")
            .get("input_tokens_details", {})
            .get("cache_write_tokens"),
            output=usage.output_tokens,
            reasoning=usage.output_tokens_details.reasoning_tokens,
            total=usage.total_tokens,
        )
        if "usage:cached_tokens" in features:
            assert acc.token_usage.cached_input
        if "usage:reasoning_tokens" in features:
            assert acc.token_usage.reasoning
    if acc.status == "error":
        assert acc.error is not None
        assert response.error is not None
    assert acc.model == response.model
    assert acc.response_id == response.id


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_final_response_is_the_terminal_one(path: Path) -> None:
    """Rule 5: the terminal response, as decoded by our models, plus nothing."""
    body = path.read_bytes()
    events = [e for e in ResponseEventDecoder().feed(body) if isinstance(e, m.ResponseCompletedEvent)]
    if not events:
        pytest.skip("no response.completed")
    ours = fold([body]).snapshot()
    terminal = events[-1].response
    if terminal.output:
        assert ours.output == terminal.output
    assert ours.usage == terminal.usage


def sdk_view(item: Any) -> Any:
    """What openai-python's snapshot folds of an output item: its identity, output
    text and function call arguments (it leaves refusals, reasoning, custom tool
    input and code as announced: we fold those, so they are not compared)."""
    data = item if isinstance(item, dict) else item.model_dump(mode="json")
    out = {k: data.get(k) for k in ("type", "id")}
    if data.get("type") == "function_call":
        out["arguments"] = data.get("arguments")
    content = data.get("content")
    if data.get("type") == "message" and isinstance(content, list):
        out["content"] = [c.get("text") for c in content if c.get("type") == "output_text"]
    return out


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_cut_off_fold_agrees_with_openai_python_where_it_copes(path: Path) -> None:
    """openai-python's ResponseStreamState snapshot before the terminal event (text and
    argument deltas, items replaced on done) against our fold of the same events."""
    entry = INDEX[path.name]
    kinds = entry["event_types"]
    if "deltas_disagree_with_done" in entry["features"] or (
        "response.function_call_arguments.done" in kinds
        and "response.function_call_arguments.delta" not in kinds
    ):
        pytest.skip("the done values carry text the deltas did not: openai-python ignores done values")
    body = path.read_bytes()
    cut = body.rfind(b"event: response.")
    head = body[:cut] if cut > 0 else body
    try:
        sdk_state = ResponseStreamState(input_tools=[], text_format=omit)
        for _, data in sse_events(head):
            if not data.strip() or data.strip() == b"[DONE]":
                continue
            # As openai-python's own stream does: constructed, not validated.
            sdk_state.handle_event(construct_type(type_=sdk.ResponseStreamEvent, value=json.loads(data)))
        snapshot = sdk_state._completed_response or sdk_state._ResponseStreamState__current_snapshot
    except (pydantic.ValidationError, RuntimeError, KeyError, IndexError, ValueError, AttributeError) as exc:
        pytest.skip(f"openai-python cannot fold this stream: {type(exc).__name__}")
    if snapshot is None:
        pytest.skip("openai-python kept no snapshot")
    ours = json.loads(fold([head])._core.snapshot_json())["output"]
    theirs = [sdk_view(item) for item in snapshot.output]
    assert [sdk_view(item) for item in ours] == theirs


def test_snapshot_decodes_with_unknown_items() -> None:
    body = (
        b'data: {"type":"response.output_item.added","output_index":0,'
        b'"item":{"type":"hologram","id":"h"}}\n\n'
        b'data: {"type":"response.output_text.delta","output_index":1,"content_index":0,"delta":"hi"}\n\n'
    )
    response = fold([body]).snapshot()
    assert isinstance(response.output[0], m.UnknownItem)
    assert response.output[0].type == "hologram"
    assert isinstance(response.output[1], m.ResponseOutputMessage)
    assert response.status == "in_progress"
    assert msgspec.json.decode(m.encode(response))["output"][0] == {"type": "hologram", "id": "h"}
