"""chunkfold's ResponseStreamState inside openai's own Responses stream helper.

Every recorded Responses stream is replayed through ``client.responses.stream(...)``
(``ResponseStream`` and ``AsyncResponseStream``) over a mock transport, once with
openai's state and once with chunkfold's (``install_responses()``). Both runs must give
the same events (``repr``: every field, parsed values' types included) and the same
final response or exception. The live snapshot after every event holds what openai's
holds (the ``response.created`` header, the items as announced, their output text and
function arguments), and is, whole, chunkfold's fold of the bytes so far.

The differences on purpose (README, "Where we differ"): openai raises ``RuntimeError``
where the merge rules fold (no ``response.created`` first, changed identities, content
for an unannounced item), and has no final response without ``response.completed``;
chunkfold returns the partial one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import openai
import pydantic
import pytest
from chunkfold.compat import openai as compat
from chunkfold.compat.openai_responses import ResponseStreamState
from chunkfold.responses import ResponseAccumulator
from conftest import RESPONSES, responses_streams, stream_id
from openai.lib.streaming.responses import _responses

BASE_URL = "http://127.0.0.1:9/v1"  # never connected to: the transport answers
SNAPSHOT = "_ResponseStreamState__current_snapshot"
#: openai's RuntimeErrors on streams the merge rules fold (README, "Where we differ").
FOLDED_NOT_RAISED = (
    "Expected to have received `response.created` before",
    "Completed output item identity changed.",
    "Received a content event for output index",
    "Lifecycle response identity changed.",
    "Response snapshot has conflicting output identities.",
    "Cannot complete response with unfinished output items.",
    "Duplicate response output index",
)
NO_COMPLETED = "Didn't receive a `response.completed` event."


def transport(body: bytes) -> httpx2.MockTransport:
    def reply(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":  # a resumed stream: ``stream(response_id=..., starting_after=...)``
            assert request.url.path.startswith("/v1/responses/resp_")
            assert request.url.params["stream"] == "true"
        else:
            assert request.url.path == "/v1/responses"
            assert json.loads(request.content)["stream"] is True
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.MockTransport(reply)


def async_transport(body: bytes) -> httpx2.MockTransport:
    sync = transport(body)

    async def reply(request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return sync.handler(request)  # type: ignore[no-any-return]

    return httpx2.MockTransport(reply)


def describe(value: Any) -> Any:
    """A comparable view of an event or response: its ``repr``, its dump, the fields
    it was given and its extras."""
    return repr(value), value.model_dump(warnings=False), value.model_fields_set, value.model_extra


def outcome(exc: BaseException) -> Any:
    return ("raised", type(exc), str(exc))


REQUEST: dict[str, Any] = {"model": "gpt-4o", "input": "hi"}


def snapshot_of(state: Any) -> Any:
    """A copy of the live snapshot (openai's changes in place)."""
    snapshot = getattr(state, SNAPSHOT)
    return None if snapshot is None else snapshot.model_copy(deep=True)


def replay_sync(body: bytes, request: dict[str, Any]) -> list[Any]:
    """The state's class, every event and the snapshot after it, then the final response or the error."""
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(body)),
    )
    trace: list[Any] = []
    try:
        with client.responses.stream(**request) as stream:
            trace.append(type(stream._state))
            for event in stream:
                trace.append(("event", describe(event), snapshot_of(stream._state)))
            trace.append(("final", describe(stream.get_final_response())))
    except Exception as exc:
        trace.append(outcome(exc))
    return trace


def replay_async(body: bytes, request: dict[str, Any]) -> list[Any]:
    async def run() -> list[Any]:
        client = openai.AsyncOpenAI(
            api_key="sk-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=async_transport(body)),
        )
        trace: list[Any] = []
        try:
            async with client.responses.stream(**request) as stream:
                trace.append(type(stream._state))
                async for event in stream:
                    trace.append(("event", describe(event), snapshot_of(stream._state)))
                trace.append(("final", describe(await stream.get_final_response())))
        except Exception as exc:
            trace.append(outcome(exc))
        return trace

    return asyncio.run(run())


def both(
    body: bytes, request: dict[str, Any], replay: Callable[..., list[Any]]
) -> tuple[list[Any], list[Any]]:
    assert not compat.is_responses_installed()
    theirs = replay(body, request)
    with compat.responses_installed():
        ours = replay(body, request)
    assert not compat.is_responses_installed()
    assert theirs.pop(0).__module__ == "openai.lib.streaming.responses._responses"
    assert ours.pop(0) is ResponseStreamState
    return theirs, ours


def identity(item: Any) -> tuple[str, Any]:
    return item.type, getattr(item, "id", None) or getattr(item, "call_id", None)


def assert_snapshot_holds(ours: Any, theirs: Any, done: dict[Any, str]) -> None:
    """What openai's snapshot holds, ours holds too; where a ``.done`` event's value
    differed from the deltas, ours holds that value (merge rule 4)."""
    for name in ("id", "model", "created_at", "object"):
        assert getattr(ours, name) == getattr(theirs, name), name
    folded = {identity(item): item for item in ours.output}
    for item in theirs.output:
        mine = folded[identity(item)]
        if item.type == "message":
            for position, part in enumerate(item.content):
                if part.type == "output_text":
                    assert mine.content[position].text == done.get((item.id, position), part.text)
        elif item.type == "function_call":
            assert mine.arguments == done.get(item.id, item.arguments)


def fold_of(events: list[bytes]) -> Any:
    """The reference snapshot: chunkfold's accumulator fed the raw payloads so far."""
    acc = ResponseAccumulator(strict=False)
    for payload in events:
        acc.add_json(payload)
    return json.loads(acc._core.snapshot_json())


def assert_same(theirs: list[Any], ours: list[Any]) -> None:
    end = theirs[-1]
    if (
        end[0] == "raised"
        and end[1] is RuntimeError
        and end[2].startswith((*FOLDED_NOT_RAISED, NO_COMPLETED))
    ):
        # openai gave up; chunkfold goes on to the end and returns the response.
        assert ours[-1][0] == "final", ours[-1]
        theirs = theirs[:-1]
        if end[2] != NO_COMPLETED:
            ours = ours[: len(theirs)]
    else:
        assert ours[-1][0] == theirs[-1][0] == "final" or ours[-1] == theirs[-1], (ours[-1], theirs[-1])
    if theirs and theirs[-1][0] == "final":
        assert ours[-1] == theirs[-1], "final response"
        theirs, ours = theirs[:-1], ours[: len(ours) - 1]
    elif ours and ours[-1][0] == "final":
        ours = ours[:-1]
    assert len(ours) == len(theirs)
    done: dict[Any, str] = {}
    for position, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine[:2] == reference[:2], f"event {position} of {len(theirs)}"
        if mine[0] != "event":
            continue
        event = mine[1][1]
        if event["type"] == "response.output_text.done":
            done[event["item_id"], event["content_index"]] = event["text"]
        elif event["type"] == "response.function_call_arguments.done":
            done[event["item_id"]] = event["arguments"]
        if reference[2] is not None:
            assert_snapshot_holds(mine[2], reference[2], done)


def payloads(body: bytes) -> list[bytes]:
    """The data of each SSE event, as openai's decoder hands them on."""
    out = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
        if data and not data[0].startswith(b"[DONE]"):
            out.append(b"\n".join(data))
    return out


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_stream_helper_sync(path: Path) -> None:
    theirs, ours = both(path.read_bytes(), REQUEST, replay_sync)
    assert_same(theirs, ours)


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_stream_helper_async(path: Path) -> None:
    theirs, ours = both(path.read_bytes(), REQUEST, replay_async)
    assert_same(theirs, ours)


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_snapshot_is_the_fold_of_the_bytes_so_far(path: Path) -> None:
    """After every event, the live snapshot is exactly what ResponseAccumulator makes
    of the raw payloads so far: nothing is lost going through openai's models."""
    raw = payloads(path.read_bytes())
    state = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(path.read_bytes())),
    )
    seen = 0
    with client.responses.create(model="gpt-4o", input="hi", stream=True) as stream:
        try:
            for event in stream:
                state.handle_event(event)
                seen += 1
                if seen in (1, 2, len(raw) // 2) or seen == len(raw):
                    expected = fold_of(raw[:seen])
                    snapshot = state.current_snapshot
                    assert snapshot.model_dump(
                        mode="json", by_alias=True, exclude_unset=True, warnings=False
                    ) == (expected)
        except openai.APIError:
            # openai's Stream raises on the nested ``error`` event shape, before any state sees it.
            assert b'"error":{' in raw[seen]
            return
    assert seen == len(raw)


def fixture(name: str) -> bytes:
    return (RESPONSES / f"{name}.sse").read_bytes()


def events_of(body: bytes) -> list[bytes]:
    """The body's SSE events, each with its blank line."""
    return [block + b"\n\n" for block in body.replace(b"\r\n", b"\n").split(b"\n\n") if block.strip()]


def without(body: bytes, *types: str) -> bytes:
    return b"".join(e for e in events_of(body) if not any(f'"type":"{t}"'.encode() in e for t in types))


class Author(pydantic.BaseModel):
    first_name: str
    last_name: str


class Book(pydantic.BaseModel):
    title: str
    author: Author
    rating: int


class Wrong(pydantic.BaseModel):
    isbn: int


class SecretRetrievalTool(pydantic.BaseModel):
    password: str


STRICT_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "secret_retrieval_tool",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"password": {"type": "string"}},
        "required": ["password"],
        "additionalProperties": False,
    },
}
PARSING = [
    pytest.param("mira-structured-output-strict", {"text_format": Book}, id="text_format"),
    pytest.param("mira-parallel-function-calls", {"tools": [STRICT_TOOL]}, id="strict-tool"),
    pytest.param(
        "mira-parallel-function-calls",
        {"tools": [openai.pydantic_responses_function_tool(SecretRetrievalTool)]},
        id="pydantic-tool",
    ),
    pytest.param("dotnet-function-call", {"tools": [STRICT_TOOL]}, id="tool-not-in-input_tools"),
]


@pytest.mark.parametrize(("name", "request_"), PARSING)
@pytest.mark.parametrize("replay", [replay_sync, replay_async], ids=["sync", "async"])
def test_parsing_is_openais(name: str, request_: dict[str, Any], replay: Callable[..., list[Any]]) -> None:
    theirs, ours = both(fixture(name), {**REQUEST, **request_}, replay)
    assert theirs[-1][0] == "final"
    assert_same(theirs, ours)
    parsed = ours[-1][1][0]
    assert "parsed=Book(" in parsed or "parsed_arguments=" in parsed


@pytest.mark.parametrize(
    ("name", "request_"),
    [
        pytest.param("mira-structured-output-strict", {"text_format": Wrong}, id="text_format"),
        pytest.param(
            "mira-parallel-function-calls", {"tools": [{**STRICT_TOOL, "name": "x"}]}, id="no-such-tool"
        ),
    ],
)
def test_parse_errors_are_openais(name: str, request_: dict[str, Any]) -> None:
    """A text that does not parse raises openai's error from the same event."""
    theirs, ours = both(fixture(name), {**REQUEST, **request_}, replay_sync)
    assert_same(theirs, ours)
    if "text_format" in request_:
        assert theirs[-1][:2] == ("raised", pydantic.ValidationError)


def final_of(body: bytes, **request: Any) -> Any:
    """chunkfold's final response for a body, through openai's stream helper."""
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(body)),
    )
    with compat.responses_installed(), client.responses.stream(**{**REQUEST, **request}) as stream:
        return stream.get_final_response()


def test_incomplete_stream_returns_the_partial_response() -> None:
    theirs, ours = both(fixture("mira-incomplete-max-output-tokens"), REQUEST, replay_sync)
    assert theirs[-1] == ("raised", RuntimeError, NO_COMPLETED)
    assert_same(theirs, ours)
    final = final_of(fixture("mira-incomplete-max-output-tokens"))
    assert final.status == "incomplete"
    assert final.incomplete_details.reason == "max_output_tokens"
    assert final.usage.output_tokens > 0
    assert final.output_text


def test_failed_stream_returns_the_failed_response() -> None:
    body = fixture("vercel-handwritten-response-failed-rate-limit")
    theirs, ours = both(body, REQUEST, replay_sync)
    assert theirs[-1] == ("raised", RuntimeError, NO_COMPLETED)
    assert_same(theirs, ours)
    final = final_of(body)
    assert (final.status, final.error.code) == ("failed", "rate_limit_exceeded")


@pytest.mark.parametrize("replay", [replay_sync, replay_async], ids=["sync", "async"])
def test_cut_stream_returns_what_arrived(replay: Callable[..., list[Any]]) -> None:
    """EOF mid-text: openai has no final response; chunkfold's holds the text so far,
    unparsed (a cut structured output is not JSON), ``status`` still ``in_progress``."""
    events = events_of(fixture("mira-structured-output-strict"))
    body = b"".join(events[: len(events) // 2])
    theirs, ours = both(body, {**REQUEST, "text_format": Book}, replay)
    assert theirs[-1] == ("raised", RuntimeError, NO_COMPLETED)
    assert_same(theirs, ours)
    final = final_of(body, text_format=Book)
    assert final.status == "in_progress"
    text = final.output[0].content[0]
    assert text.text.startswith('{"title":')
    assert text.parsed is None
    assert ours[-2][1][1]["snapshot"] == text.text


def test_content_for_an_unannounced_item_is_folded() -> None:
    """openai raises on a delta for an item never announced; chunkfold creates it (merge
    rule 2) and ends with the response openai gives for the whole stream."""
    whole = fixture("mira-text-gpt4o")
    body = without(whole, "response.output_item.added", "response.content_part.added")
    theirs, ours = both(body, REQUEST, replay_sync)
    assert theirs[-1][:2] == ("raised", RuntimeError)
    assert theirs[-1][2].startswith("Received a content event for output index 0")
    assert_same(theirs, ours)
    reference, _ = both(whole, REQUEST, replay_sync)
    assert ours[-1] == reference[-1]


@pytest.mark.parametrize("replay", [replay_sync, replay_async], ids=["sync", "async"])
def test_resumed_stream_is_folded(replay: Callable[..., list[Any]]) -> None:
    """A background response resumed after event 3 begins without ``response.created``:
    openai raises on its first event, chunkfold folds it to the completed response."""
    body = fixture("dotnet-background-resumed-from-seq3")
    request = {"response_id": "resp_0a5004ef5dc3564c0069845a9c82c481938b9b7c975a6f56b1", "starting_after": 3}
    theirs, ours = both(body, request, replay)
    assert theirs == [("raised", RuntimeError, theirs[-1][2])]
    assert theirs[-1][2].startswith("Expected to have received `response.created` before")
    # Every event but the first (sequence_number 3, not after starting_after), then the final.
    assert len(ours) == len(payloads(body))
    assert ours[-1][1][1]["status"] == "completed"
    done = next(step[1][1] for step in ours if step[1][1].get("type") == "response.output_text.done")
    assert ours[-1][1][1]["output"][0]["content"][0]["text"] == done["text"]


def test_lifecycle_response_without_output_gets_the_items_as_openai_does() -> None:
    """openai fills a terminal lifecycle event's missing ``output`` with the items so far."""
    body = fixture("mira-incomplete-max-output-tokens")
    events = events_of(body)
    last = events[-1]
    assert b'"type":"response.incomplete"' in last
    data = json.loads(last.split(b"data: ", 1)[1])
    del data["response"]["output"]
    body = b"".join(events[:-1]) + b"event: response.incomplete\ndata: " + json.dumps(data).encode() + b"\n\n"
    theirs, ours = both(body, REQUEST, replay_sync)
    assert_same(theirs, ours)
    filled = ours[-2][1][1]["response"]["output"]
    assert filled
    assert filled[0]["content"][0]["text"]


@pytest.mark.parametrize("starting_after", [0, 5, 30])
def test_starting_after(starting_after: int) -> None:
    """openai's helper drops the events up to ``starting_after`` after the state saw them."""
    request = {"response_id": "resp_x", "starting_after": starting_after}
    theirs, ours = both(fixture("mira-text-gpt4o"), request, replay_sync)
    assert_same(theirs, ours)
    assert all(step[1][1]["sequence_number"] > starting_after for step in ours if step[0] == "event")


@pytest.mark.parametrize(
    "sentinel",
    [openai.omit, openai.Omit(), openai.NOT_GIVEN, openai.not_given, None],
    ids=["omit", "Omit()", "NOT_GIVEN", "not_given", "None"],
)
def test_not_given_sentinels(sentinel: Any) -> None:
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=sentinel, text_format=sentinel)
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(fixture("mira-structured-output-strict"))),
    )
    with client.responses.create(stream=True, **REQUEST) as stream:
        fired = [fired for event in stream for fired in state.handle_event(event)]
    done = next(e for e in fired if e.type == "response.output_text.done")
    assert done.parsed is None
    final = state._completed_response
    assert final.output[0].content[0].parsed is None
    assert fired[-1].response is final
    assert state.current_snapshot.id == final.id


def test_install_is_idempotent_and_reversible() -> None:
    original = _responses.ResponseStreamState
    assert not compat.is_responses_installed()
    compat.install_responses()
    compat.install_responses()
    assert _responses.ResponseStreamState is ResponseStreamState
    with compat.responses_installed():
        assert compat.is_responses_installed()
    assert compat.is_responses_installed()  # installed before the block: stays
    compat.uninstall_responses()
    compat.uninstall_responses()
    assert _responses.ResponseStreamState is original
    assert not compat.is_responses_installed()
    # The class exported by openai for code that builds a state by hand stays openai's.
    assert openai.lib.streaming.responses.ResponseStreamState is original


def test_before_any_event() -> None:
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    assert state.current_snapshot is None
    assert state._completed_response is None
    assert state.accumulator.chunks == 0


def replace_in(body: bytes, event_type: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The body with the data of its ``event_type`` events changed by ``change``."""
    out = []
    for event in events_of(body):
        if f'"type":"{event_type}"'.encode() in event:
            head, data = event.split(b"data: ", 1)
            value = json.loads(data)
            change(value)
            event = head + b"data: " + json.dumps(value).encode() + b"\n\n"
        out.append(event)
    return b"".join(out)


def test_completed_with_empty_output_keeps_the_streamed_items() -> None:
    body = replace_in(
        fixture("mira-text-gpt4o"), "response.completed", lambda v: v["response"].update(output=[])
    )
    theirs, ours = both(body, REQUEST, replay_sync)
    assert len(theirs) == len(ours)
    *same, (_, theirs_completed, _), (_, theirs_final) = theirs
    *mine, (_, ours_completed, _), (_, ours_final) = ours
    assert_same([*same, ("final", None)], [*mine, ("final", None)])
    assert theirs_final[1]["output"] == theirs_completed[1]["response"]["output"] == []
    text = next(s[1][1]["text"] for s in same if s[1][1].get("type") == "response.output_text.done")
    assert ours_final[1]["output"][0]["content"][0]["text"] == text
    assert ours_completed[1]["response"] == ours_final[1]
    assert {**ours_final[1], "output": []} == theirs_final[1]


def test_changed_response_id_is_counted_not_raised() -> None:
    body = replace_in(
        fixture("mira-text-gpt4o"), "response.in_progress", lambda v: v["response"].update(id="resp_x")
    )
    theirs, ours = both(body, REQUEST, replay_sync)
    assert theirs[-1] == ("raised", RuntimeError, "Lifecycle response identity changed.")
    assert_same(theirs, ours)
    state = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(body)),
    )
    with client.responses.create(stream=True, **REQUEST) as stream:
        for event in stream:
            state.handle_event(event)
    assert state.accumulator.id_changes == 1
    assert state._completed_response.id == ours[0][1][1]["response"]["id"]


def test_accumulate_event_and_generic_alias() -> None:
    """openai's other public method, and ``ResponseStreamState[T]`` as openai's is subscripted."""
    state = ResponseStreamState[Book](input_tools=openai.omit, text_format=Book)
    reference = ResponseStreamState[Book](input_tools=openai.omit, text_format=Book)
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(fixture("mira-structured-output-strict"))),
    )
    with client.responses.create(stream=True, **REQUEST) as stream:
        for event in stream:
            snapshot = state.accumulate_event(event)
            reference.handle_event(event)
            assert snapshot is state.current_snapshot
            assert snapshot.model_dump(warnings=False) == reference.current_snapshot.model_dump(
                warnings=False
            )
    assert state.accumulator.status == "done"
    assert isinstance(reference._completed_response.output_parsed, Book)
    assert describe(state._completed_response) == describe(reference._completed_response)


CUT_FIXTURES = [
    "mira-parallel-function-calls",
    "pydai-reasoning-summary-o3mini",
    "vercel-openai-mcp-call",
    "vercel-openai-apply-patch",
    "dotnet-code-interpreter",
]


@pytest.mark.parametrize("name", CUT_FIXTURES)
def test_streams_cut_anywhere(name: str) -> None:
    """Cut after any of several events: openai's outcome up to the cut, then chunkfold's
    partial response, which is the fold of the payloads that arrived."""
    events = events_of(fixture(name))
    for cut in sorted({1, 2, len(events) // 3, len(events) // 2, len(events) - 2}):
        body = b"".join(events[:cut])
        theirs, ours = both(body, REQUEST, replay_sync)
        assert theirs[-1] == ("raised", RuntimeError, NO_COMPLETED), cut
        assert_same(theirs, ours)
        partial = ours[-1][1][1]
        expected = fold_of(payloads(body))
        assert (partial["id"], partial["status"]) == (expected["id"], expected["status"])
        assert [item["id"] for item in partial["output"]] == [item["id"] for item in expected["output"]], cut
