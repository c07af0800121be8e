"""Hostile input: a typed error or a correct result, bounded memory, never a panic."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold import (
    ChatCompletionAccumulator,
    ChunkDecoder,
    ChunkfoldError,
    ServerSentEvent,
    SSEDecoder,
)
from chunkfold.chat.decoder import raise_if_api_error
from chunkfold.gateway import (
    StreamMeter,
    adrop_usage_chunk,
    drop_usage_chunk,
    ensure_include_usage,
    tap,
)
from chunkfold.partial_json import PartialJSON, parse_partial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MiB = 1024 * 1024


def rss() -> int:
    """Resident set size in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")  # pragma: no cover


def chunk(delta: dict[str, Any], index: int = 0, **top: Any) -> bytes:
    payload = {"id": "c", "model": "m", "created": 1, "choices": [{"index": index, "delta": delta}], **top}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def test_a_gib_without_newline_stays_within_max_event_size() -> None:
    block = b"x" * (16 * MiB)
    decoder = SSEDecoder()
    before = rss()
    errors = []
    for piece in [b"data: ", *[block] * 64]:  # 1 GiB in all
        try:
            assert decoder.feed(piece) == []
        except chunkfold.EventTooLargeError as exc:
            errors.append(exc)
    assert [(e.offset, e.limit) for e in errors] == [(0, chunkfold.DEFAULT_MAX_EVENT_SIZE)]
    assert rss() - before < 48 * MiB
    assert [e.data for e in decoder.feed(b"\n\ndata: after\n\n")] == ["after"]


def test_a_gib_without_newline_in_the_accumulator() -> None:
    block = b"x" * (16 * MiB)
    acc = ChatCompletionAccumulator(strict=False)
    before = rss()
    acc.feed(b"data: ")
    for _ in range(64):
        acc.feed(block)
    assert rss() - before < 48 * MiB
    acc.feed(b"\n\n" + chunk({"content": "ok"}))
    assert acc.finish().choices[0].message.content == "ok"


def test_millions_of_one_byte_events() -> None:
    body = b"data:x\n\n" * 250_000
    decoder = SSEDecoder()
    count = sum(len(decoder.feed(body)) for _ in range(8))
    assert count == 2_000_000
    acc = ChatCompletionAccumulator()
    empty = b"data:{}\n\n" * 250_000
    for _ in range(8):
        acc.feed(empty)
    assert acc.chunks == 2_000_000


def test_json_nested_100000_deep() -> None:
    deep = b'data: {"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n\n"
    acc = ChatCompletionAccumulator()
    acc.feed(deep + chunk({"content": "after"}))  # skipped without recursion: a correct fold
    assert acc.finish().choices[0].message.content == "after"
    with pytest.raises(chunkfold.ChunkDecodeError):
        ChunkDecoder().feed(deep)
    unbalanced = b'data: {"x":' + b"[" * 100_000 + b"}\n\n"
    with pytest.raises(chunkfold.ChunkDecodeError):
        ChatCompletionAccumulator().feed(unbalanced)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"created":1e400,"choices":[]}',
        b'{"choices":[{"index":99999999999999999999999,"delta":{}}]}',
        b'{"choices":[{"index":0,"delta":{"content":"a\xffb"}}]}',
        b'{"choices":[{"index":0,"delta":{"content":"\\ud800"}}]}',
    ],
    ids=["huge-float", "huge-int", "invalid-utf8", "lone-surrogate"],
)
def test_bad_values_are_typed_errors_or_correct(payload: bytes) -> None:
    body = b"data: " + payload + b"\n\n" + chunk({"content": "ok"})
    for decoder in (ChatCompletionAccumulator(strict=False), ChunkDecoder(strict=False)):
        out = decoder.feed(body)
        if isinstance(decoder, ChatCompletionAccumulator):
            assert decoder.finish().choices[-1].message.content in ("ok", "a\ufffdbok")
        else:
            assert out[-1].choices[0].delta.content == "ok"
    with pytest.raises(ChunkfoldError):
        ChatCompletionAccumulator().feed(b"data: " + payload[:-1] + b"\n\n")


def test_nul_bytes_and_duplicate_keys() -> None:
    acc = ChatCompletionAccumulator()
    acc.feed(b'data: {"choices":[{"index":0,"delta":{"content":"a\\u0000b"}}]}\n\n')
    assert acc.snapshot().choices[0].message.content == "a\x00b"
    with pytest.raises(chunkfold.ChunkDecodeError):
        acc.feed(b"data: {\x00}\n\n")
    dup = ChatCompletionAccumulator()
    dup.feed(
        b'data: {"id":"a","id":"b","choices":[{"index":0,"delta":{"role":"assistant","role":"user"}}]}\n\n'
    )
    final = dup.finish()
    assert (final.id, final.choices[0].message.role) == ("a", "assistant")  # set once: the first wins


@pytest.mark.parametrize("index", [10**18, -(10**18), -1])
def test_huge_and_negative_indices(index: int) -> None:
    acc = ChatCompletionAccumulator()
    before = rss()
    acc.feed(
        chunk({"content": "a", "tool_calls": [{"index": index, "id": "t", "function": {"name": "f"}}]}, index)
    )
    final = acc.finish()
    assert final.choices[0].index == index
    assert final.choices[0].message.tool_calls is not None
    assert rss() - before < 16 * MiB


def test_ten_thousand_tool_calls() -> None:
    acc = ChatCompletionAccumulator()
    calls = [
        {"index": i, "id": f"call_{i}", "function": {"name": "f", "arguments": "{}"}} for i in range(10_000)
    ]
    acc.feed(b"".join(chunk({"tool_calls": calls[i : i + 100]}) for i in range(0, 10_000, 100)))
    mistral = [{"id": f"m_{i}", "function": {"name": "g", "arguments": "[]"}} for i in range(10_000)]
    acc.feed(b"".join(chunk({"tool_calls": [c]}, index=1) for c in mistral))
    final = acc.finish()
    assert len(final.choices[0].message.tool_calls or []) == 10_000
    assert len(final.choices[1].message.tool_calls or []) == 10_000


def test_a_100_mb_tool_argument() -> None:
    piece = "x" * MiB
    acc = ChatCompletionAccumulator()
    head = {"tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": ""}}]}
    acc.feed(chunk(head))
    frame = chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    for _ in range(100):
        acc.feed(frame)
    arguments = (acc.finish().choices[0].message.tool_calls or [])[0].function.arguments
    assert len(arguments) == 100 * MiB


# --- no PanicException, ever --------------------------------------------------

# Only chunkfold's errors (and TypeError for arguments of the wrong type) may leave.
ALLOWED = (ChunkfoldError, TypeError)
garbage = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=64),
    st.integers(),
    st.none(),
    st.lists(st.binary(max_size=8), max_size=3),
    st.builds(bytearray, st.binary(max_size=64)),
    st.builds(memoryview, st.binary(max_size=64)),
)
sse_garbage = st.lists(
    st.sampled_from(
        [b"data: ", b"{", b"}", b'"choices":[', b"\n", b"\r", b"\n\n", b"event: error\n", b"[DONE]", b'"']
    )
    | st.binary(max_size=16),
    max_size=40,
).map(b"".join)


def only_allowed(call: Any, *args: Any) -> None:
    with suppress(*ALLOWED):
        call(*args)


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=garbage, second=sse_garbage)
def test_garbage_through_every_entry_point(first: Any, second: bytes) -> None:
    for data in (first, second):
        for make in (SSEDecoder, ChunkDecoder, ChatCompletionAccumulator):
            obj = make()
            only_allowed(obj.feed, data)
            only_allowed(obj.feed, second)
            only_allowed(obj.finish)
            only_allowed(obj.feed, data)
        acc = ChatCompletionAccumulator(events=True, partial_json=True)
        only_allowed(acc.feed, data)
        only_allowed(acc.add_json, data)
        only_allowed(acc.add, data)
        only_allowed(acc.snapshot)
        only_allowed(getattr, acc, "error")
        only_allowed(chunkfold.encode_sse, data)
        only_allowed(lambda d: list(chunkfold.iter_chunks([d] if isinstance(d, bytes) else d)), data)
        only_allowed(lambda d: list(tap([d])), data)
    with suppress(ValueError):  # an option out of range, not stream data
        SSEDecoder(max_event_size=-1)
    with suppress(ValueError, OverflowError):
        ChatCompletionAccumulator(max_event_size=2**70)


text_garbage = st.text(max_size=64) | st.sampled_from(['{"a": [1, "x\\u00', "[tru", '{"k":', "\\ud800", "]"])
json_garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


async def drain(source: Any) -> list[Any]:
    return [item async for item in source]


async def async_reads(items: list[Any]) -> Any:
    for item in items:
        yield item


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=garbage, stream=sse_garbage, text=text_garbage, obj=json_garbage)
def test_garbage_through_the_helpers(data: Any, stream: bytes, text: str, obj: Any) -> None:
    meter = StreamMeter()
    only_allowed(meter.feed, data)
    only_allowed(meter.feed, stream)
    only_allowed(meter.close)
    # One plain loop, not asyncio.run: under -X dev on Python 3.11.2 each
    # asyncio.run's SIGINT bookkeeping reprs the runner before it, without end.
    loop = asyncio.new_event_loop()
    try:
        for reads in ([data], [stream, data]):
            only_allowed(lambda r: list(drop_usage_chunk(r)), reads)
            for helper in (adrop_usage_chunk, chunkfold.aiter_chunks):
                only_allowed(loop.run_until_complete, drain(helper(async_reads(reads))))
    finally:
        loop.close()
    parser = PartialJSON()
    only_allowed(parser.feed, text)
    only_allowed(parser.feed, data)
    only_allowed(parser.close)
    only_allowed(parse_partial, text)
    only_allowed(lambda: ServerSentEvent(text, event=text, id=text))
    only_allowed(ServerSentEvent, data)
    only_allowed(raise_if_api_error, obj)
    only_allowed(ensure_include_usage, obj)
    only_allowed(lambda: ensure_include_usage({"stream": True, "stream_options": obj}))
    only_allowed(chunkfold.encode_sse, obj)
    only_allowed(chunkfold.from_openai, obj)
    only_allowed(chunkfold.to_openai, obj)
    only_allowed(ensure_include_usage, data)


# --- threads and memory -------------------------------------------------------


def many_chunks() -> bytes:
    return chunk({"content": "x"}) * 200_000  # ~20 MB


def one_big_event() -> bytes:
    # 100 MB of data lines, joined into one event while the interpreter is released.
    return (b"data: " + b"x" * 1000 + b"\n") * 100_000 + b"\n"


@pytest.mark.parametrize(
    ("feed", "make_body", "expected"),
    [
        (lambda body: ChatCompletionAccumulator().feed(body), many_chunks, []),
        (lambda body: len(ChunkDecoder().feed(body)), many_chunks, 200_000),
        (lambda body: len(SSEDecoder(max_event_size=2**27).feed(body)), one_big_event, 1),
    ],
    ids=["Accumulator", "ChunkDecoder", "SSEDecoder"],
)
def test_large_feeds_release_the_interpreter(
    feed: Callable[[bytes], object], make_body: Callable[[], bytes], expected: object
) -> None:
    # Holding the interpreter, a feed lets the counting thread run at most a
    # tick or two (at the switch interval after it returns); released, it
    # runs freely. On a loaded machine the counter may not be scheduled in
    # time, so a few attempts are allowed.
    body = make_body()
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    seen = []
    try:
        for _ in range(5):
            time.sleep(0.01)
            before = ticks
            result = feed(body)
            seen.append(ticks - before)
            assert result == expected
            if seen[-1] > 10:
                break
    finally:
        stop.set()
        counter.join()
    assert max(seen) > 10, f"the other thread did not run during a large feed: {seen} ticks"


def test_rss_stays_flat_over_100000_streams() -> None:
    body = b"".join(chunk({"content": f"t{i}"}) for i in range(8)) + b"data: [DONE]\n\n"

    def run(n: int) -> None:
        for _ in range(n):
            acc = ChatCompletionAccumulator()
            acc.feed(body)
            acc.finish()
            decoder = ChunkDecoder()
            decoder.feed(body)
            decoder.finish()

    run(10_000)
    gc.collect()
    before = rss()
    run(100_000)
    gc.collect()
    assert rss() - before < 8 * MiB


def test_msgspec_decoders_are_reentrant_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = b"".join(chunk({"content": f"t{i}"}) for i in range(50))

    def fold(_: int) -> str | None:
        acc = ChatCompletionAccumulator()
        acc.feed(body)
        return acc.finish().choices[0].message.content

    with ThreadPoolExecutor(16) as pool:
        results = set(pool.map(fold, range(200)))
    assert results == {"".join(f"t{i}" for i in range(50))}
    assert msgspec.json.decode(b"{}") == {}


# --- one rule for bytes that are not UTF-8, however the stream is split -------------

_bad_utf8 = st.sampled_from([b"\xff", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"])
_piece = st.text(alphabet="ab\u00e9\u4e2d\U0001f600", max_size=4).map(str.encode) | _bad_utf8


@st.composite
def _utf8_streams(draw: st.DrawFn) -> bytes:
    frames = []
    for i in range(draw(st.integers(1, 5))):
        content = b"".join(draw(st.lists(_piece, max_size=4)))
        kind = draw(st.sampled_from(["content", "reasoning_content", "usage", "logprobs", "garbage"]))
        if kind == "logprobs":
            token = b'{"token":"' + content + b'","logprob":-1,"top_logprobs":[]}'
            logprobs = b'{"content":[' + token + b"]}"
            frames.append(b'data: {"choices":[{"index":0,"delta":{},"logprobs":' + logprobs + b"}]}\n\n")
        elif kind == "usage":
            frames.append(b'data: {"choices":[],"usage":{"prompt_tokens":1,"x":"' + content + b'"}}\n\n')
        elif kind == "garbage":
            frames.append(b"data: {" + content + b"\n\n")
        else:
            delta = b'{"' + kind.encode() + b'":"' + content + b'"}'
            frames.append(b'data: {"id":"c","choices":[{"index":0,"delta":' + delta + b"}]}\n\n")
        if i == 0 and draw(st.booleans()):
            frames.append(b"event: error\ndata: " + content + b"\n\n")
    return b"".join(frames)


def _splits(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(body)) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def _chunks_of(reads: list[bytes]) -> list[Any]:
    decoder = ChunkDecoder()
    out: list[Any] = []
    # Every read, then finish() until it returns (after a failure it gives the rest).
    for read in [*reads, *[None] * 8]:
        try:
            out += decoder.feed(read) if read is not None else decoder.finish()
        except chunkfold.DecoderFinishedError:
            return out  # the failure was the last thing held back
        except ChunkfoldError as exc:  # only chunkfold's errors; the chunks they carry count
            out += [*getattr(exc, "decoded", []), ("error", type(exc).__name__, exc.offset)]
        else:
            if read is None:
                return out
    raise AssertionError("finish() kept raising")


def _folded(reads: list[bytes]) -> Any:
    acc = ChatCompletionAccumulator()
    for read in reads:
        with suppress(ChunkfoldError):
            acc.feed(read)
    result = acc.finish()
    return msgspec.json.encode(result), acc.usage_json(), acc.error and acc.error.message


@settings(max_examples=200, derandomize=True, deadline=None)
@given(body=_utf8_streams(), one=st.lists(st.integers(0, 400), max_size=6), two=st.lists(st.integers(0, 400)))
def test_split_invariance_with_bytes_that_are_not_utf8(body: bytes, one: list[int], two: list[int]) -> None:
    first, second = _splits(body, one), _splits(body, two)
    assert _chunks_of(first) == _chunks_of(second)
    assert _folded(first) == _folded(second)
    # The same text everywhere: SSEDecoder's, ChunkDecoder's and the accumulator's.
    texts = []
    for event in SSEDecoder().feed(body):
        with suppress(ValueError):
            obj = json.loads(event.data)
            for choice in obj.get("choices") or []:
                texts.append(choice["delta"].get("content"))
    chunks = [c for c in _chunks_of([body]) if not isinstance(c, tuple)]
    decoded = [c.choices[0].delta.content for c in chunks if c.choices]
    assert decoded == texts
    sent = [t for t in texts if t is not None]
    content = "".join(sent) if sent else None
    acc_content = msgspec.json.decode(_folded([body])[0])["choices"]
    assert (acc_content[0]["message"]["content"] if acc_content else None) == content
    lists = [ch.logprobs.content or [] for c in chunks for ch in c.choices or [] if ch.logprobs]
    tokens = [t.token for tokens_of_chunk in lists for t in tokens_of_chunk]
    folded = acc_content[0]["logprobs"] if acc_content else None
    assert [t["token"] for t in (folded or {}).get("content") or []] == tokens


@pytest.mark.parametrize(
    "usage", [b'{"prompt_tokens":"x"}', b'{"prompt_tokens":1.5}', b"[1]", b'{"completion_tokens_details":3}']
)
def test_raw_parts_that_do_not_fit_their_type_are_left_out(usage: bytes) -> None:
    delta = (
        b'{"content":"a","annotations":[{"type":"url_citation","url_citation":{"start_index":"x"}},'
        b'{"type":"url_citation","url_citation":{"url":"u"}}]}'
    )
    logprobs = b'{"content":[{"token":1},{"token":"t","logprob":-1,"top_logprobs":[]}]}'
    choice = b'{"index":0,"delta":' + delta + b',"logprobs":' + logprobs + b"}"
    body = b'data: {"choices":[' + choice + b'],"usage":' + usage + b"}\n\n"
    acc = ChatCompletionAccumulator(events=True)
    events = acc.feed(body)
    assert not any(isinstance(e, chunkfold.events.UsageReceived) for e in events)
    result = acc.finish()
    assert acc.usage is None
    assert result.usage is None
    message = result.choices[0].message
    assert message.content == "a"
    assert [a.url_citation.url for a in message.annotations or [] if a.url_citation] == ["u"]
    assert [t.token for t in (result.choices[0].logprobs.content or [])] == ["t"]  # type: ignore[union-attr]
