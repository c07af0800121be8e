"""chunkfold's ChatCompletionStreamState inside openai's own stream helper.

Every recorded OpenAI stream is replayed through ``client.chat.completions.stream(...)``
(``ChatCompletionStream`` and ``AsyncChatCompletionStream``) over a mock transport, with
the request its SDK test made (``.expected.json`` / ``.request.json``), once with
openai's state and once with chunkfold's (``compat.openai.install()``). Both runs must
give the same events (``repr``: every field, parsed values' types included), the same
live snapshot after every event, and the same final completion or the same exception.

The one difference, on purpose (README, "Where we differ"): openai re-parses the partial
content and strict tool arguments on every delta; chunkfold parses once, at
``content.done`` / ``arguments.done``. The reference run therefore has openai's partial
parser (``from_json``, used only for that) switched off; ``test_partial_parse_is_the_only_difference``
shows what that changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx2
import openai
import pydantic
import pytest
from chunkfold.compat import openai as compat
from conftest import FIXTURES
from openai.lib.streaming.chat import _completions

OPENAI = FIXTURES / "openai"


class Location(pydantic.BaseModel):
    city: str
    temperature: float
    units: Literal["c", "f"]


class NodeLocation(pydantic.BaseModel):
    """openai-node's tests: ``z.object({city: z.string(), units: z.enum(['c', 'f']).default('f')})``."""

    city: str
    units: Literal["c", "f"] = "f"


class GetWeatherArgs(pydantic.BaseModel):
    """Get the temperature for the given country/city combo"""

    city: str
    country: str
    units: Literal["c", "f"] = "c"


class GetStockPrice(pydantic.BaseModel):
    ticker: str
    exchange: str


WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
STRICT_WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "state": {"type": "string"}},
            "required": ["city", "state"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

#: The arguments of each openai-python test, by test name (``.expected.json``'s ``request``).
PY_REQUESTS: dict[str, Callable[[], dict[str, Any]]] = {
    "allows_non_strict_tools_but_no_parsing": lambda: {"tools": [WEATHER_TOOL]},
    "content_logprobs_events": lambda: {"logprobs": True},
    "non_pydantic_response_format": lambda: {"response_format": {"type": "json_object"}},
    "parse_max_tokens_reached": lambda: {"max_tokens": 1, "response_format": Location},
    "parse_multiple_pydantic_tools": lambda: {
        "tools": [
            openai.pydantic_function_tool(GetWeatherArgs),
            openai.pydantic_function_tool(
                GetStockPrice, name="get_stock_price", description="Fetch the latest price for a given ticker"
            ),
        ]
    },
    "parse_nothing": dict,
    "parse_pydantic_model": lambda: {"response_format": Location},
    "parse_pydantic_model_multiple_choices": lambda: {"n": 3, "response_format": Location},
    "parse_pydantic_model_refusal": lambda: {"response_format": Location},
    "parse_pydantic_tool": lambda: {"tools": [openai.pydantic_function_tool(GetWeatherArgs)]},
    "parse_strict_tools": lambda: {"tools": [STRICT_WEATHER_TOOL]},
    "refusal_logprobs_events": lambda: {"logprobs": True, "response_format": Location},
}
MESSAGES = [{"role": "user", "content": "What's the weather like in SF?"}]


def request_for(path: Path) -> dict[str, Any]:
    """The keyword arguments of ``stream(...)`` for a fixture, from its SDK test."""
    stem = path.name.removesuffix(".sse")
    if stem.startswith("py-"):
        test = stem.split("-", 4)[4]
        return {"model": "gpt-4o-2024-08-06", "messages": MESSAGES, **PY_REQUESTS[test]()}
    if stem.startswith("node-"):
        # openai-node's ChatCompletionStream tests all stream with zodResponseFormat(location).
        return {"model": "gpt-4o-2024-08-06", "messages": MESSAGES, "response_format": NodeLocation}
    recorded = json.loads(path.with_name(f"{stem}.request.json").read_text())
    recorded.pop("stream")
    return {"messages": MESSAGES, **recorded}


def openai_fixtures() -> list[Path]:
    return sorted(OPENAI.glob("*.sse"))


def transport(body: bytes) -> httpx2.MockTransport:
    def reply(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/chat/completions"
        assert json.loads(request.content)["stream"] is True
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.MockTransport(reply)


def async_transport(body: bytes) -> httpx2.MockTransport:
    sync = transport(body)

    async def reply(request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return sync.handler(request)  # type: ignore[no-any-return]

    return httpx2.MockTransport(reply)


BASE_URL = "http://127.0.0.1:9/v1"  # never connected to: the transport answers


def describe(value: Any) -> Any:
    """A comparable view of an event or completion: its ``repr`` (class names, parsed
    values' types and every field) and its dump."""
    return repr(value), value.model_dump(warnings=False)


def step(event: Any, stream: Any) -> Any:
    """One event, and after each chunk the live snapshot. openai's state has done all of
    a chunk's work (folding, parsing, done events) when its ``ChunkEvent`` comes out, so
    the snapshot is taken there; the event holds that same object."""
    if event.type != "chunk":
        return describe(event)
    snapshot = stream.current_completion_snapshot
    assert event.snapshot is snapshot
    return "chunk", describe(event.chunk), describe(snapshot)


def outcome(exc: BaseException) -> Any:
    completion = getattr(exc, "completion", None)
    return ("raised", type(exc), str(exc), None if completion is None else describe(completion))


def replay_sync(body: bytes, request: dict[str, Any]) -> list[Any]:
    """Every event and the snapshot after each chunk, then the final completion or the error."""
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(transport=transport(body)),
    )
    trace: list[Any] = []
    try:
        with client.chat.completions.stream(**request) as stream:
            trace.append(type(stream._state))
            trace.extend(step(event, stream) for event in stream)
            trace.append(("final", describe(stream.get_final_completion())))
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
            async with client.chat.completions.stream(**request) as stream:
                trace.append(type(stream._state))
                async for event in stream:
                    trace.append(step(event, stream))
                trace.append(("final", describe(await stream.get_final_completion())))
        except Exception as exc:
            trace.append(outcome(exc))
        return trace

    return asyncio.run(run())


@pytest.fixture
def no_partial_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """openai's state without its per-delta partial parse: the documented difference."""
    monkeypatch.setattr(_completions, "from_json", lambda *args, **kwargs: None)
    return


def both(
    body: bytes, request: dict[str, Any], replay: Callable[..., list[Any]]
) -> tuple[list[Any], list[Any]]:
    assert not compat.is_installed()
    theirs = replay(body, request)
    with compat.installed():
        ours = replay(body, request)
    assert theirs.pop(0).__module__ == "openai.lib.streaming.chat._completions"
    assert ours.pop(0) is compat.ChatCompletionStreamState
    return theirs, ours


#: What openai's state crashes with on chunks it cannot fold (README, "Where we differ":
#: chunks without ``choices``): up to the crash, chunkfold must give the same.
CRASHES = (TypeError, IndexError, KeyError, AttributeError, RuntimeError)


def assert_same(theirs: list[Any], ours: list[Any]) -> None:
    end = theirs[-1]
    if end[0] == "raised" and issubclass(end[1], CRASHES):
        # openai crashed: chunkfold goes on to the end instead.
        theirs = theirs[:-1]
        assert ours[-1][0] == "final", ours[-1]
        ours = ours[: len(theirs)]
    assert len(ours) == len(theirs)
    for position, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == reference, f"step {position} of {len(theirs)}"


def fixture_params(*, long: bool = True) -> list[Any]:
    return [
        pytest.param(path, id=path.stem)
        for path in openai_fixtures()
        # 700 chunks of 3 top logprobs, snapshot compared after each: a minute a run;
        # the sync run covers it, the async one the wiring on every other stream.
        if long or "TokenLogProbabilitiesStreaming_True" not in path.stem
    ]


@pytest.mark.parametrize("path", fixture_params())
def test_stream_helper_sync(path: Path, no_partial_parse: None) -> None:
    theirs, ours = both(path.read_bytes(), request_for(path), replay_sync)
    assert_same(theirs, ours)


@pytest.mark.parametrize("path", fixture_params(long=False))
def test_stream_helper_async(path: Path, no_partial_parse: None) -> None:
    theirs, ours = both(path.read_bytes(), request_for(path), replay_async)
    assert_same(theirs, ours)


def fixture(name: str) -> bytes:
    return (OPENAI / f"{name}.sse").read_bytes()


def finish_reasons(body: bytes, old: bytes, new: bytes, *, count: int = -1) -> bytes:
    """The body with ``count`` of its ``"finish_reason":old`` turned into ``new``."""
    changed = body.replace(b'"finish_reason":"' + old + b'"', b'"finish_reason":"' + new + b'"', count)
    assert changed != body
    return changed


PARSE_MODEL = "py-2024-08-06-parse_pydantic_model"
CUT_STREAMS = [
    # One choice cut by the content filter, with a response_format and with strict tools.
    pytest.param(PARSE_MODEL, b"stop", b"content_filter", 1, id="content_filter-response_format"),
    pytest.param("py-2024-08-06-parse_strict_tools", b"tool_calls", b"content_filter", 1, id="cf-tools"),
    pytest.param("py-2024-08-06-parse_pydantic_tool", b"tool_calls", b"length", 1, id="length-pydantic_tool"),
    # n=3: the second choice to finish is cut; the first finished normally in the same stream.
    pytest.param("py-2024-08-06-parse_pydantic_model_multiple_choices", b"stop", b"length", 2, id="n3"),
    # No parseable input: nothing raised while streaming, get_final_completion() raises.
    pytest.param("py-2024-08-06-parse_nothing", b"stop", b"length", 1, id="length-nothing_to_parse"),
    pytest.param("py-2024-08-06-non_pydantic_response_format", b"stop", b"content_filter", 1, id="cf-json"),
]


@pytest.mark.parametrize(("name", "old", "new", "count"), CUT_STREAMS)
@pytest.mark.parametrize("replay", [replay_sync, replay_async], ids=["sync", "async"])
def test_cut_streams_raise_as_openai_does(
    name: str, old: bytes, new: bytes, count: int, replay: Callable[..., list[Any]], no_partial_parse: None
) -> None:
    body = finish_reasons(fixture(name), old, new, count=count)
    theirs, ours = both(body, request_for(OPENAI / f"{name}.sse"), replay)
    assert theirs[-1][0] == "raised"
    assert_same(theirs, ours)


def test_a_cut_first_chunk_is_not_checked(no_partial_parse: None) -> None:
    """openai checks finish_reason for LengthFinishReasonError only from the second chunk
    on; the choice counts as finished, so the next chunk's content.done parses the few
    characters there are, and fails. chunkfold does the same."""
    body = fixture("py-2024-08-06-parse_pydantic_model")
    first, rest = body.split(b"\n\n", 1)
    body = first.replace(b'"finish_reason":null', b'"finish_reason":"length"') + b"\n\n" + rest
    theirs, ours = both(body, request_for(OPENAI / "py-2024-08-06-parse_pydantic_model.sse"), replay_sync)
    assert theirs[-1][:2] == ("raised", pydantic.ValidationError)
    assert_same(theirs, ours)


def test_partial_parse_is_the_only_difference() -> None:
    """With openai's partial parser on, only ``parsed_arguments`` of delta events and of
    the snapshot before ``arguments.done`` differ: chunkfold's stay ``None`` there."""
    name = "py-2024-08-06-parse_strict_tools"
    theirs, ours = both(fixture(name), request_for(OPENAI / f"{name}.sse"), replay_sync)
    differ = [i for i, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b]
    assert differ, "openai's partial parse must show somewhere"
    for i in differ:
        if theirs[i][0] == "chunk":
            assert theirs[i][1] == ours[i][1]
            their_call = theirs[i][2][1]["choices"][0]["message"]["tool_calls"][0]["function"]
            our_call = ours[i][2][1]["choices"][0]["message"]["tool_calls"][0]["function"]
            assert our_call["parsed_arguments"] is None
            assert their_call["parsed_arguments"] is not None
            assert {**their_call, "parsed_arguments": None} == our_call
        else:
            their_event, our_event = theirs[i][1], ours[i][1]
            assert their_event["type"] == "tool_calls.function.arguments.delta"
            assert our_event["parsed_arguments"] is None
            assert {**their_event, "parsed_arguments": None} == our_event
    assert theirs[-1] == ours[-1]  # the final completion


def test_sentinels_mean_not_given() -> None:
    from openai._types import NOT_GIVEN, NotGiven, not_given, omit

    chunk = openai.types.chat.ChatCompletionChunk.model_validate(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "{}"}, "finish_reason": "length"}],
        }
    )
    for sentinel in (omit, NOT_GIVEN, not_given, NotGiven(), None):
        state = compat.ChatCompletionStreamState(input_tools=sentinel, response_format=sentinel)
        assert [e.type for e in state.handle_chunk(chunk)] == ["chunk", "content.delta", "content.done"]
        assert state.current_completion_snapshot.choices[0].message.parsed is None


def test_snapshot_carries_what_was_parsed() -> None:
    """content.done's parse and arguments.done's are in the live snapshot from the
    chunk that fired them, whether or not its events are iterated."""
    name = "py-2024-08-06-parse_multiple_pydantic_tools"
    request = request_for(OPENAI / f"{name}.sse")
    state = compat.ChatCompletionStreamState(input_tools=request["tools"])
    stream = openai.Stream(
        cast_to=openai.types.chat.ChatCompletionChunk,
        response=httpx2.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=fixture(name),
            request=httpx2.Request("POST", f"{BASE_URL}/chat/completions"),
        ),
        client=openai.OpenAI(api_key="sk-test", base_url=BASE_URL),
    )
    seen: list[list[Any]] = []
    for chunk in stream:
        state.handle_chunk(chunk)  # events never iterated
        calls = state.current_completion_snapshot.choices[0].message.tool_calls or []
        seen.append([call.function.parsed_arguments for call in calls])
    assert seen[-1] == [
        GetWeatherArgs(city="Edinburgh", country="UK", units="c"),
        GetStockPrice(ticker="AAPL", exchange="NASDAQ"),
    ]
    first_parsed = next(i for i, calls in enumerate(seen) if calls and calls[0] is not None)
    assert all(not calls or calls[0] is None for calls in seen[:first_parsed])
    assert len(seen[first_parsed]) == 2  # parsed when the second call began


def test_install_is_idempotent_and_undone() -> None:
    original = _completions.ChatCompletionStreamState
    assert not compat.is_installed()
    compat.install()
    compat.install()
    try:
        assert compat.is_installed()
        assert _completions.ChatCompletionStreamState is compat.ChatCompletionStreamState
    finally:
        compat.uninstall()
    assert _completions.ChatCompletionStreamState is original
    assert not compat.is_installed()
    compat.uninstall()  # without install(): nothing
    assert _completions.ChatCompletionStreamState is original
    with compat.installed():
        assert _completions.ChatCompletionStreamState is compat.ChatCompletionStreamState
        with compat.installed():
            pass
        assert compat.is_installed()  # the inner block leaves the outer one's install
    assert _completions.ChatCompletionStreamState is original
    with pytest.raises(ZeroDivisionError), compat.installed():
        1 / 0  # noqa: B018
    assert _completions.ChatCompletionStreamState is original


def test_after_uninstall_the_stream_helper_uses_openai_again() -> None:
    body, request = (
        fixture("py-2024-08-06-parse_nothing"),
        request_for(OPENAI / "py-2024-08-06-parse_nothing.sse"),
    )
    with compat.installed():
        assert replay_sync(body, request)[0] is compat.ChatCompletionStreamState
    assert replay_sync(body, request)[0] is _completions.ChatCompletionStreamState
