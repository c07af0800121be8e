"""chunkfold.compat.anthropic against anthropic-sdk-python's own fold, inside
its own MessageStream / AsyncMessageStream fed by a mock transport."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")
httpx2 = pytest.importorskip("httpx2")
jiter = pytest.importorskip("jiter")

from anthropic.lib.streaming import _messages  # noqa: E402
from chunkfold.compat import anthropic as compat  # noqa: E402
from chunkfold.compat import anthropic_json  # noqa: E402
from chunkfold.errors import StreamAPIError  # noqa: E402

FIXTURES = sorted((Path(__file__).parent / "data" / "fixtures" / "anthropic").glob("*.sse"))
ORIGINAL_ACCUMULATE = _messages.accumulate_event
ORIGINAL_BUILD = _messages.build_events


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    compat.uninstall()
    assert _messages.accumulate_event is ORIGINAL_ACCUMULATE


def _chunks(body: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(body):
        step = rng.randint(1, 200)
        out.append(body[at : at + step])
        at += step
    return out


class _AsyncBody(httpx2.AsyncByteStream):  # type: ignore[misc]
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def _handler(body: bytes, *, is_async: bool) -> Callable[[Any], Any]:
    parts = _chunks(body, len(body))
    headers = {"content-type": "text/event-stream"}

    def handle(request: Any) -> Any:
        assert request.url.host == "127.0.0.1"
        if is_async:
            return httpx2.Response(200, headers=headers, stream=_AsyncBody(parts))
        return httpx2.Response(200, headers=headers, stream=httpx2.ByteStream(b"".join(parts)))

    return handle


ARGS: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return [type(value).__name__, value.model_dump(warnings=False)]
    return value


def _record(stream: Any, event: Any) -> tuple[Any, Any]:
    snapshot = stream._current_snapshot_or_none()
    return _dump(event), None if snapshot is None else snapshot.model_dump(warnings=False)


def run_sync(body: bytes) -> dict[str, Any]:
    """Every event (with its snapshot) the stream yields, the message after
    each, the final message, or the exception and where it came."""
    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://127.0.0.1:9",
        http_client=httpx2.Client(transport=httpx2.MockTransport(_handler(body, is_async=False))),
        max_retries=0,
    )
    seen: list[Any] = []
    try:
        with client.messages.stream(**ARGS) as stream:
            for event in stream:
                seen.append(_record(stream, event))
            final = stream.get_final_message().model_dump(warnings=False)
            return {"events": seen, "final": final, "bufs": dict(stream._MessageStream__json_bufs)}
    except Exception as exc:
        return {"events": seen, "error": (type(exc).__name__, str(exc))}


def run_async(body: bytes) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        client = anthropic.AsyncAnthropic(
            api_key="test",
            base_url="http://127.0.0.1:9",
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(_handler(body, is_async=True))),
            max_retries=0,
        )
        seen: list[Any] = []
        try:
            async with client.messages.stream(**ARGS) as stream:
                async for event in stream:
                    seen.append(_record(stream, event))
                final = (await stream.get_final_message()).model_dump(warnings=False)
                return {"events": seen, "final": final, "bufs": dict(stream._AsyncMessageStream__json_bufs)}
        except Exception as exc:
            return {"events": seen, "error": (type(exc).__name__, str(exc))}

    return asyncio.run(main())


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_fixture_streams_match_anthropic(path: Path, runner: Callable[[bytes], dict[str, Any]]) -> None:
    body = path.read_bytes()
    theirs = runner(body)
    with compat.installed():
        assert _messages.accumulate_event is compat.accumulate_event
        ours = runner(body)
    assert _messages.accumulate_event is ORIGINAL_ACCUMULATE
    assert _messages.build_events is ORIGINAL_BUILD
    assert len(ours["events"]) == len(theirs["events"])
    for mine, expected in zip(ours["events"], theirs["events"], strict=True):
        assert mine == expected
    assert ours == theirs
    assert theirs["events"], "the fixture yields events"


def test_the_fixtures_cover_tool_input_and_an_error() -> None:
    results = {p.stem: run_sync(p.read_bytes()) for p in FIXTURES}
    assert any(r.get("bufs") for r in results.values())
    kind, message = results["hw-error-overloaded-mid-text"]["error"]
    assert kind == "APIStatusError"
    assert "overloaded_error" in message
    inputs = [e for r in results.values() for e in r["events"] if e[0][0] == "InputJsonEvent"]
    assert len(inputs) > 20


# A tool input fed fragment by fragment, to both folds directly.


def _start(index: int = 0) -> list[dict[str, Any]]:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    block = {"type": "tool_use", "id": "toolu_1", "name": "write", "input": {}}
    return [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": index, "content_block": block},
    ]


def _deltas(fragments: list[str], index: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": f},
        }
        for f in fragments
    ]


def fold(accumulate: Callable[..., Any], events: list[dict[str, Any]]) -> list[Any]:
    """The snapshot after each event, or the error that stopped the fold
    (snapshots as reprs, where NaN equals NaN)."""
    snapshot, bufs, out = None, {}, []  # type: ignore[var-annotated]
    for event in events:
        try:
            snapshot = accumulate(event=event, current_snapshot=snapshot, json_bufs=bufs)
        except Exception as exc:
            out.append((type(exc).__name__, str(exc)))
            return out
        out.append(repr(snapshot.model_dump(warnings=False)))
    out.append({k: bytes(v) for k, v in bufs.items()})
    return out


def _split(text: str, rng: random.Random) -> list[str]:
    cuts = (
        sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 40))))
        if len(text) > 1
        else []
    )
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


SAMPLES = [
    '{"path": "a.py", "content": "def f():\\n    return \\"x\\" \\\\ 1\\n", "mode": "w"}',
    '{"a": [1, 2.5, -0, 1e3, true, false, null, {"b": "\\u00e9\\ud83d\\ude00"}], "c": ""}',
    '{"q": "caf\u00e9 \u2603", "n": 12345678901234567890, "f": -1.5E-3}',
    '{"a": "\\ud83d\\u0041"}',
    '{"a": "\\udc00x"}',
    '{"a": "x\ny"}',
    '{"a": "\\x"}',
    '{"a": 1,}',
    '{"a": 1} {"b": "c\\q"}',
    '[1 2, "a\\q"]',
    '"top"',
    '{"a": NaN, "b": [Infinity, -Infinity], "c": 01}',
    '  {  "k" : [ ] , "l" : { } }  ',
]


@pytest.mark.parametrize("text", SAMPLES)
def test_tool_input_matches_anthropic_at_every_split(text: str) -> None:
    rng = random.Random(text)
    for _ in range(30):
        events = _start() + _deltas(_split(text, rng))
        assert fold(compat.accumulate_event, events) == fold(ORIGINAL_ACCUMULATE, events)
    events = _start() + _deltas(list(text))
    assert fold(compat.accumulate_event, events) == fold(ORIGINAL_ACCUMULATE, events)


def test_tool_input_matches_anthropic_on_random_json() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    values = st.recursive(scalars, lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=20)
    noise = st.sampled_from(["", " ", "\\", '"', "\\u", "\\ud83d", "\n", ",", "]", "}", "x", "\x01"])

    @hypothesis.given(values, st.booleans(), noise, st.integers(0, 400), st.randoms(use_true_random=False))
    @hypothesis.settings(max_examples=300, deadline=None)
    def check(value: Any, ascii: bool, extra: str, at: int, rng: random.Random) -> None:
        text = json.dumps({"v": value}, ensure_ascii=ascii)
        at = min(at, len(text))
        text = text[:at] + extra + text[at:]
        events = _start() + _deltas(_split(text, rng))
        assert fold(compat.accumulate_event, events) == fold(ORIGINAL_ACCUMULATE, events)

    check()


def _code(size: int) -> str:
    return ('line \\"quoted\\" \\\\ tab\\t caf\u00e9\\n' * (size // 30 + 1))[:size].rstrip("\\")


LONG_INPUTS = {
    "string": lambda: '{"path": "a.txt", "content": "' + _code(60_000) + '"}',
    "numbers": lambda: json.dumps({"rows": [[i, i * 0.5, -i] for i in range(3000)]}),
    "edits": lambda: json.dumps(
        {"edits": [{"old": f"x{i}", "new": "y\n" * (i % 7), "n": i, "ok": i % 2 == 0} for i in range(1500)]}
    ),
    "top-level array": lambda: json.dumps([{"k": [None, True, {"d": {}}]}] * 2000, indent=1),
}


@pytest.mark.parametrize("name", list(LONG_INPUTS))
def test_a_long_input_is_parsed_in_linear_time(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real = anthropic_json._from_json

    def counting(data: bytes, *, partial: bool) -> Any:
        parsed.append(len(data))
        return real(data, partial=partial)

    monkeypatch.setattr(anthropic_json, "_from_json", counting)
    text = LONG_INPUTS[name]()
    fragments = [text[i : i + 9] for i in range(0, len(text), 9)]
    snapshot, bufs = None, {}  # type: ignore[var-annotated]
    for event in _start() + _deltas(fragments):
        snapshot = compat.accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    assert snapshot.content[0].input == json.loads(text)
    assert bufs[0] == text.encode()
    total = len(text.encode())
    assert len(fragments) > 5000
    assert sum(parsed) < 4 * total, (len(parsed), sum(parsed), total)


def _jiter(data: bytes) -> Any:
    try:
        return repr(jiter.from_json(data, partial_mode=True))
    except ValueError as exc:
        return ("ValueError", str(exc))


def _buffer_views(fragments: list[bytes]) -> list[Any]:
    buffer, out, value = None, [], None
    for fragment in fragments:
        if buffer is None:
            buffer = anthropic_json.ArgumentBuffer(fragment)
            changed = True
        else:
            changed = buffer.add(fragment)
        if changed or not out:
            try:
                value = repr(buffer.parse())
            except ValueError as exc:
                value = ("ValueError", str(exc))
        out.append(value)
        if isinstance(value, tuple):
            break
    return out


def _prefix_views(fragments: list[bytes]) -> list[Any]:
    out, data = [], b""
    for fragment in fragments:
        data += fragment
        out.append(_jiter(data))
        if isinstance(out[-1], tuple):
            break
    return out


@pytest.mark.parametrize("depth", [63, 64, 65, 199, 200, 201, 202, 2000])
def test_deep_nesting_is_left_to_jiter(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        fragments = [text[i : i + 10].encode() for i in range(0, len(text), 10)]
        assert _buffer_views(fragments) == _prefix_views(fragments)


def test_argument_buffer_equals_jiter_on_every_prefix() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    values = st.recursive(
        scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=3), c, max_size=4)
    )
    noise = st.lists(
        st.sampled_from(
            [" ", "\\", '"', "\\u", "\\ud83d", "\n", ",", "]", "}", "[", "{", ":", "x", "\x01", "0"]
        ),
        max_size=2,
    )

    @hypothesis.given(values, st.booleans(), st.integers(0, 8), noise, st.data())
    @hypothesis.settings(max_examples=1500, deadline=None)
    def check(value: Any, ascii: bool, indent: int, extra: list[str], data: Any) -> None:
        text = json.dumps(value, ensure_ascii=ascii, indent=indent or None, allow_nan=True)
        for piece in extra:
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + piece + text[at:]
        cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=30))))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        fragments = [p.encode("utf-8", "surrogatepass") for p in pieces if p]
        assert _buffer_views(fragments) == _prefix_views(fragments)

    check()


def test_a_buffer_left_by_anthropics_fold_is_taken_over() -> None:
    events = _start() + _deltas(['{"a": "x', 'yz", "b"', ": 2}"])
    snapshot, bufs = None, {}  # type: ignore[var-annotated]
    for event in events[:3]:
        snapshot = ORIGINAL_ACCUMULATE(event=event, current_snapshot=snapshot, json_bufs=bufs)
    for event in events[3:]:
        snapshot = compat.accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    assert snapshot.content[0].input == {"a": "xyz", "b": 2}
    assert bufs[0] == b'{"a": "xyz", "b": 2}'


# Where chunkfold differs on purpose (the README's table).


def _text_events() -> list[dict[str, Any]]:
    return [
        _start()[0],
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": " there"}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_a_skipped_index_and_a_delta_before_its_start_fold_by_index() -> None:
    body = _sse(_text_events())
    assert run_sync(body)["error"][0] == "IndexError"
    with compat.installed():
        result = run_sync(body)
        assert run_async(body) == result
    blocks = result["final"]["content"]
    assert [(b["type"], b.get("text") or b.get("thinking")) for b in blocks] == [
        ("text", "Hi"),
        ("thinking", "hm"),
        ("text", " there"),
    ]
    texts = [e[0][1] for e in result["events"] if e[0][0] == "TextEvent"]
    assert [(t["text"], t["snapshot"]) for t in texts] == [("Hi", "Hi"), (" there", " there")]
    stops = [e[0][1] for e in result["events"] if e[0][0] == "ParsedContentBlockStopEvent"]
    assert [s["content_block"]["text"] for s in stops] == ["Hi", " there"]
    assert result["final"]["stop_reason"] == "end_turn"


def test_a_start_for_an_index_already_started_replaces_its_block() -> None:
    events = _text_events()[:3]
    events += [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Yo"}},
    ]
    theirs = fold(ORIGINAL_ACCUMULATE, events)[-2]
    ours = fold(compat.accumulate_event, events)[-2]
    assert theirs.count("'type': 'text'") == 2  # anthropic: a second block, that no delta reaches
    assert "'text': 'HiYo'" in theirs
    assert ours.count("'type': 'text'") == 1
    assert "'text': 'Yo'" in ours


def test_a_second_message_start_raises_and_keeps_the_first_message() -> None:
    events = _text_events()[:4]
    body = _sse([*events, events[0], *events[1:3]])
    theirs = run_sync(body)
    assert theirs["final"]["content"][0]["text"] == "HiHi"  # anthropic merges the second message
    snapshots = []
    with compat.installed():
        client = anthropic.Anthropic(
            api_key="test",
            base_url="http://127.0.0.1:9",
            http_client=httpx2.Client(transport=httpx2.MockTransport(_handler(body, is_async=False))),
        )
        with client.messages.stream(**ARGS) as stream:
            caught = None
            try:
                for _ in stream:
                    snapshots.append([b.text for b in stream.current_message_snapshot.content])
            except StreamAPIError as exc:
                caught = exc
            assert stream.current_message_snapshot.content[0].text == "Hi"
    assert caught is not None
    assert "second message_start" in str(caught)
    assert caught.type == "protocol_error"
    assert snapshots[-1] == ["Hi"]


def test_data_only_events_are_dropped_by_anthropics_stream_either_way() -> None:
    body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in _text_events()[:4])
    with compat.installed():
        result = run_sync(body)
    assert result["events"] == []
    assert result["error"][0] == "AssertionError"  # get_final_message() with no message_start


# install() / uninstall()


def test_install_is_idempotent_and_uninstall_restores_anthropics() -> None:
    compat.uninstall()
    assert _messages.accumulate_event is ORIGINAL_ACCUMULATE
    compat.install()
    compat.install()
    assert _messages.accumulate_event is compat.accumulate_event
    assert _messages.build_events is compat.build_events
    compat.uninstall()
    compat.uninstall()
    assert _messages.accumulate_event is ORIGINAL_ACCUMULATE
    assert _messages.build_events is ORIGINAL_BUILD


def test_installed_restores_what_was_there() -> None:
    with compat.installed():
        assert _messages.accumulate_event is compat.accumulate_event
        with compat.installed():
            pass
        assert _messages.accumulate_event is compat.accumulate_event
    assert _messages.accumulate_event is ORIGINAL_ACCUMULATE
    compat.install()
    with compat.installed():
        pass
    assert _messages.accumulate_event is compat.accumulate_event


def _spy_on_arguments(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The argument fragments chunkfold's fold is handed, as it is handed them."""
    calls: list[Any] = []
    real = compat._add_arguments

    def spy(*args: Any) -> None:
        calls.append(args[2])
        real(*args)

    monkeypatch.setattr(compat, "_add_arguments", spy)
    return calls


def test_the_patched_stream_uses_chunkfold(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_on_arguments(monkeypatch)
    body = (FIXTURES[0].parent / "vercel-tool-use-json-haiku45.sse").read_bytes()
    theirs = run_sync(body)
    assert not calls
    with compat.installed():
        ours = run_sync(body)
    assert calls
    assert ours == theirs
    assert run_sync(body) == theirs
    assert len(calls) == len([e for e in ours["events"] if e[0][0] == "InputJsonEvent"])


def test_a_non_model_event_is_converted_as_anthropic_does() -> None:
    events = _text_events()[:4]
    assert fold(compat.accumulate_event, events) == fold(ORIGINAL_ACCUMULATE, events)
    with pytest.raises(RuntimeError, match="before"):
        compat.accumulate_event(event=events[1], current_snapshot=None, json_bufs={})


def _fixture_events(path: Path) -> list[dict[str, Any]]:
    """The fixture's events as dicts, as anthropic's Stream would hand them over."""
    events = []
    for block in path.read_text().replace("\r\n", "\n").split("\n\n"):
        names = [line[6:].strip() for line in block.split("\n") if line.startswith("event:")]
        data = "\n".join(line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:"))
        if names and data and names[0] not in ("ping", "error"):
            events.append(json.loads(data))
    return events


def fold_parsed(accumulate: Callable[..., Any], events: list[dict[str, Any]]) -> list[Any]:
    """As ``fold``, with structured output on (``output_format=Any``)."""
    snapshot, bufs, out = None, {}, []  # type: ignore[var-annotated]
    for event in events:
        try:
            snapshot = accumulate(event=event, current_snapshot=snapshot, json_bufs=bufs, output_format=Any)
        except Exception as exc:
            out.append((type(exc).__name__, str(exc)))
            return out
        out.append(repr(snapshot.model_dump(warnings=False)))
    return out


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_structured_output_is_parsed_as_anthropic_does(path: Path) -> None:
    events = _fixture_events(path)
    assert events[0]["type"] == "message_start"
    assert fold_parsed(compat.accumulate_event, events) == fold_parsed(ORIGINAL_ACCUMULATE, events)


def test_structured_output_is_parsed_at_the_text_block_stop() -> None:
    snapshot, bufs = None, {}  # type: ignore[var-annotated]
    for event in _fixture_events(FIXTURES[0].parent / "vercel-json-output-format.sse"):
        snapshot = compat.accumulate_event(
            event=event, current_snapshot=snapshot, json_bufs=bufs, output_format=dict[str, Any]
        )
    assert snapshot is not None
    block = snapshot.content[0]
    assert block.parsed_output == json.loads(block.text)
    assert block.parsed_output["characters"]
