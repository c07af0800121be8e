#!/usr/bin/env python3
"""Reference-leak check for chunkfold's compiled core, in the spirit of CPython's
``regrtest -R``: run each scenario for a warm-up round, then for several measured
rounds of identical work (the RNG is re-seeded per round), and compare
``sys.gettotalrefcount()`` (plus ``sys.getallocatedblocks()`` and glibc's in-use
heap, which is where Rust's allocations go) after ``gc.collect()`` between rounds.
A per-call leak shows as growth of at least ``--per-round`` refs in every round;
a clean entry point shows ~0.

Needs a debug CPython (``python3.11-dbg``): ``sys.gettotalrefcount`` exists only
there. ``.ci/debug-python`` builds chunkfold against one and runs it; by hand,
from the repo root with chunkfold installed (``maturin develop``):

    python tests/refleak.py [--rounds 5] [--per-round 400] [--bound 10] [--self-test]

Exit status 0: no leak; 1: a scenario leaked; 2: not a debug interpreter.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from types import ModuleType

if not hasattr(sys, "gettotalrefcount"):
    print(
        "refleak_check.py needs a debug build of CPython (sys.gettotalrefcount is missing)", file=sys.stderr
    )
    sys.exit(2)

import chunkfold
import chunkfold.anthropic.accumulate
import chunkfold.bench.anthropic
import msgspec
from chunkfold import (
    ChatCompletionAccumulator,
    ChunkDecodeError,
    ChunkDecoder,
    ChunkfoldError,
    ConcurrentUseError,
    DecoderFinishedError,
    EventTooLargeError,
    MessageAccumulator,
    MessageEventDecoder,
    ResponseAccumulator,
    ResponseEventDecoder,
    ServerSentEvent,
    SSEDecoder,
    StreamAPIError,
)

# the repo root: this file's folder or the nearest one above it with the fixtures
ROOT = next(
    (
        p
        for p in (Path.cwd(), *Path(__file__).resolve().parents)
        if (p / "tests" / "data" / "fixtures").is_dir()
    ),
    Path.cwd(),
)
FIXTURE_DIR = ROOT / "tests" / "data" / "fixtures"
# Fixtures up to 64 KiB keep a round short in a debug build; the larger ones
# (up to ~0.5 MB of logprobs) are fed once per round by the "large" scenario.
ALL = sorted((FIXTURE_DIR / "openai").glob("*.sse")) + sorted((FIXTURE_DIR / "providers").glob("*.sse"))
BODIES = [p.read_bytes() for p in ALL]
SMALL = [b for b in BODIES if len(b) <= 64 * 1024]
LARGE = [b for b in BODIES if len(b) > 64 * 1024]

RESPONSES = [p.read_bytes() for p in sorted((FIXTURE_DIR / "responses").glob("*.sse"))]
RESPONSES_SMALL = [b for b in RESPONSES if len(b) <= 64 * 1024]
ANTHROPIC = [p.read_bytes() for p in sorted((FIXTURE_DIR / "anthropic").glob("*.sse"))]
ANTHROPIC_SMALL = [b for b in ANTHROPIC if len(b) <= 64 * 1024]
TOOL_START = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":1,'
    b'"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}\n\n'
)
TOOL_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,'
    b'"delta":{"type":"input_json_delta","partial_json":"{\\"a\\": [1, \\"\\u00e9"}}\n\n'
)
TOOL_END = (
    b'data: {"type":"content_block_delta","index":1,'
    b'"delta":{"type":"input_json_delta","partial_json":"]}"}}\n\n'
    b'data: {"type":"content_block_stop","index":1}\n\n'
)
ANTHROPIC_GARBAGE = [
    b"data: {not json\n\n",
    b'data: {"type":"content_block_delta","index":1,'
    b'"delta":{"type":"input_json_delta","partial_json":"{,"}}\n\n'
    b'data: {"type":"content_block_stop","index":1}\n\n',  # invalid tool input: kept as text, counted
    b"data: \xff\xfe\xfd\n\n",
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    b"event: error\ndata: not json at all\n\n",
    b'data: {"type":"message_start","message":{"id":"again","content":[]}}\n\n',  # a second start
    b'data: {"type":"content_block_delta","index":9,"delta":{"type":"mystery_delta","x":1}}\n\n',
    b'data: {"type":"content_block_start","index":4,"content_block":{"type":"mystery","v":[1]}}\n\n',
    b'event: ping\ndata: {"type":"content_block_stop","index":1}\n\n',  # renamed
    b"data: " + b"[" * 5000 + b"\n\n",
]
DELTA = (
    b'data: {"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc",'
    b'"delta":"{\\"a\\": [1"}\n\n'
)

CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
)
TINY = b'data: {"id":"c","choices":[]}\n\n'  # fits max_event_size=64
TOOL = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
    b'"delta":{"tool_calls":[{"index":0,"id":"t","type":"function",'
    b'"function":{"name":"f","arguments":"{\\"a\\": [1, \\"x"}}]},'
    b'"finish_reason":null}]}\n\n'
)
GARBAGE = [
    b"data: {not json\n\n",
    b'data: {"choices": 5}\n\n',
    b"data: \xff\xfe\xfd\n\n",
    b'data: {"error": {"message": "boom", "type": "server_error", "code": 500, "param": null}}\n\n',
    b'data: {"error": "plain string"}\n\n',
    b'data: {"object": "error", "message": "vllm says no", "code": 400}\n\n',
    b"event: error\ndata: not json at all\n\n",
    b'event: error\ndata: {"message": "evented"}\n\n',
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1},"error":{"message":"mid"}}\n\n',
    b"data: " + b"[" * 5000 + b"\n\n",  # nesting deeper than msgspec decodes
    b"data: 12345678901234567890123456789012345678901234567890\n\n",
]

# A tool input in 8,000 fragments (~1.3 MiB of stream: feed() releases the interpreter).
LONG_TOOL = chunkfold.bench.anthropic.message_stream("tool", 8000)[0]

try:  # the compat fold needs anthropic (not in every debug environment)
    import chunkfold.compat.anthropic as _compat
    from anthropic._models import construct_type as _construct
    from anthropic.types import RawMessageStreamEvent as _RawEvent

    _anthropic_compat: tuple[object, object, Callable[..., object]] | None = (_compat, _RawEvent, _construct)
except ImportError:
    _anthropic_compat = None


def pieces(rng: random.Random, body: bytes) -> Iterator[bytes | bytearray | memoryview]:
    """``body`` cut at random points, as bytes, bytearray or memoryview."""
    pos = 0
    while pos < len(body):
        step = rng.choice((1, 2, 7, 64, 500, 4096, len(body)))
        part = body[pos : pos + step]
        pos += step
        kind = rng.randrange(8)
        yield bytearray(part) if kind == 0 else memoryview(part) if kind == 1 else part


def expect(
    exc_type: type[BaseException] | tuple[type[BaseException], ...], call: Callable[[], object]
) -> None:
    try:
        call()
    except exc_type as exc:
        _touch_error(exc)
    else:
        raise AssertionError(f"{call} did not raise {exc_type}")


def _touch_error(exc: BaseException) -> None:
    if isinstance(exc, ChunkfoldError):
        _ = (exc.offset, list(exc.decoded), str(exc), exc.__cause__)
        if isinstance(exc, ChunkDecodeError):
            _ = exc.excerpt
        if isinstance(exc, EventTooLargeError):
            _ = exc.limit
        if isinstance(exc, StreamAPIError):
            _ = (exc.message, exc.type, exc.code, exc.param, exc.raw, exc.chunk)


def touch_event(ev: ServerSentEvent) -> None:
    _ = (ev.event, ev.data, ev.raw, ev.id, ev.retry, ev.offset, len(ev), repr(ev), ev == ev, ev != 1)
    with memoryview(ev) as view:
        _ = bytes(view[:8])
    with suppress(msgspec.DecodeError):
        msgspec.json.decode(ev)  # through the buffer protocol, no copy


# --- scenarios: each does one iteration's worth of work -------------------------------


def sse_decoder(rng: random.Random) -> None:
    dec = SSEDecoder()
    for part in pieces(rng, rng.choice(SMALL)):
        for ev in dec.feed(part):
            touch_event(ev)
    _ = (dec.last_event_id, dec.retry, dec.max_event_size, dec.position)
    assert dec.finish() == []
    expect(DecoderFinishedError, lambda: dec.feed(b"data: x\n\n"))
    expect(DecoderFinishedError, dec.finish)


def sse_errors(rng: random.Random) -> None:
    dec = SSEDecoder(max_event_size=64)
    big = b"id: 7\nevent: e\ndata: " + b"x" * 200 + b"\n\n"
    expect(EventTooLargeError, lambda: dec.feed(b"data: before\n\n" + big + b"retry: 5\ndata: after\n\n"))
    for ev in dec.feed(b"data: more\r\n\r\n" + bytes(rng.randbytes(50))):
        touch_event(ev)
    dec.finish()
    expect(TypeError, lambda: SSEDecoder().feed("text"))  # type: ignore[arg-type]
    expect(TypeError, lambda: SSEDecoder().feed(123))  # type: ignore[arg-type]
    expect(ValueError, lambda: SSEDecoder(max_event_size=0))
    expect(ValueError, lambda: SSEDecoder(max_event_size=2**70))
    expect(TypeError, lambda: SSEDecoder(max_event_size="1"))  # type: ignore[arg-type]
    ev = ServerSentEvent("payload", event="e", id="1", retry=5)
    touch_event(ev)
    touch_event(ServerSentEvent())


def chunk_decoder(rng: random.Random) -> None:
    dec = ChunkDecoder()
    out = []
    try:
        for part in pieces(rng, rng.choice(SMALL)):
            out.extend(dec.feed(part))
        out.extend(dec.finish())
    except StreamAPIError as exc:  # the provider error fixtures
        _touch_error(exc)
    _ = (dec.done, dec.keepalives, [chunkfold.encode_sse(c) for c in out[:3]])
    _ = list(chunkfold.iter_chunks([CHUNK, CHUNK[:10], CHUNK[10:], chunkfold.DONE_FRAME]))


def chunk_decoder_errors(rng: random.Random) -> None:
    bad = rng.choice(GARBAGE)
    dec = ChunkDecoder()
    # valid before, garbage, valid after: `decoded` has the first, the next call the last
    expect((ChunkDecodeError, StreamAPIError), lambda: dec.feed(CHUNK + bad + CHUNK))
    _ = dec.finish()
    lax = ChunkDecoder(strict=False)  # skips undecodable payloads; API errors still raise
    with suppress(StreamAPIError):
        _ = (lax.feed(CHUNK + bad + CHUNK), lax.finish(), lax.skipped)
    small = ChunkDecoder(max_event_size=64)
    expect(EventTooLargeError, lambda: small.feed(TINY + CHUNK + TINY))
    _ = small.finish()
    lax_small = ChunkDecoder(strict=False, max_event_size=64)
    _ = (lax_small.feed(CHUNK), lax_small.skipped)
    dec = ChunkDecoder()
    for part in pieces(rng, CHUNK + bad):
        with suppress(ChunkfoldError):
            dec.feed(part)
    with suppress(ChunkfoldError):
        dec.finish()  # may still raise for what the backlog holds
    expect(DecoderFinishedError, dec.finish)
    expect(TypeError, lambda: ChunkDecoder().feed("x"))  # type: ignore[arg-type]
    with suppress(ChunkfoldError):
        list(chunkfold.iter_chunks([CHUNK, bad, rng.randbytes(40)]))


def accumulator(rng: random.Random) -> None:
    acc = ChatCompletionAccumulator(events=rng.random() < 0.5, partial_json=rng.random() < 0.5)
    body = rng.choice(SMALL)
    for i, part in enumerate(pieces(rng, body)):
        _ = acc.feed(part)
        if i % 5 == 0:
            _ = acc.snapshot()
    with suppress(ValueError):
        _ = acc.tool_arguments()
    _ = (acc.status, acc.done, acc.chunks, acc.bytes, acc.skipped, acc.usage, acc.usage_json(), acc.error)
    _ = (acc.first_byte_ns, acc.first_token_ns, acc.last_token_ns)
    final = acc.finish()
    # refold the decoded chunks through add() / add_json()
    again = ChatCompletionAccumulator(events=True, partial_json=True)
    with suppress(ChunkfoldError):
        for chunk in ChunkDecoder().feed(body)[:20]:
            again.add(chunk)
    again.add_json(TOOL[6:-2])
    _ = (again.tool_arguments(), again.finish(), final)


def accumulator_errors(rng: random.Random) -> None:
    bad = rng.choice(GARBAGE)
    acc = ChatCompletionAccumulator(events=True, partial_json=True)
    with suppress(ChunkDecodeError, EventTooLargeError):
        acc.feed(CHUNK + TOOL + bad + CHUNK)
    _ = (acc.snapshot(), acc.error, acc.status)
    with suppress(ChunkDecodeError):
        acc.add_json(bad[6:-2])
    expect(ChunkDecodeError, lambda: acc.add_json(b"{not json"))
    _ = acc.finish()
    expect(DecoderFinishedError, acc.finish)
    expect(DecoderFinishedError, lambda: acc.feed(CHUNK))
    lax = ChatCompletionAccumulator(strict=False, max_event_size=64)
    _ = (lax.feed(CHUNK + bad + b"data: {x\n\n"), lax.skipped, lax.finish())
    small = ChatCompletionAccumulator(max_event_size=64, events=True)
    expect(EventTooLargeError, lambda: small.feed(CHUNK))
    for part in pieces(rng, CHUNK + rng.randbytes(60) + bad):
        with suppress(ChunkfoldError):
            small.feed(part)
    expect(TypeError, lambda: ChatCompletionAccumulator().feed("x"))  # type: ignore[arg-type]
    expect(ValueError, lambda: ChatCompletionAccumulator(max_event_size=-1))
    expect(ValueError, lambda: ChatCompletionAccumulator(partial_json=False).tool_arguments())


def responses(rng: random.Random) -> None:
    """ResponseAccumulator and ResponseEventDecoder over the recorded Responses streams."""
    body = rng.choice(RESPONSES_SMALL)
    acc = ResponseAccumulator(events=rng.random() < 0.5, partial_json=rng.random() < 0.5)
    decoder = ResponseEventDecoder()
    decoded = []
    for i, part in enumerate(pieces(rng, body)):
        _ = acc.feed(part)
        decoded += decoder.feed(part)
        if i % 5 == 0:
            _ = acc.snapshot()
    decoded += decoder.finish()
    with suppress(ValueError):
        _ = acc.tool_arguments()
    _ = (acc.status, acc.finish_reasons, acc.error, acc.usage, acc.usage_json(), acc.token_usage)
    _ = (acc.model, acc.response_id, acc.duplicates, acc.sequence_gaps, acc.ignored, acc.audio_transcript)
    final = acc.finish()
    again = ResponseAccumulator(events=True, partial_json=True)
    for event in decoded[:30]:
        again.add(event)
    again.add_json(DELTA[6:-2])
    _ = (again.tool_arguments(), again.finish(), final)


def responses_errors(rng: random.Random) -> None:
    bad = rng.choice(GARBAGE)
    acc = ResponseAccumulator(events=True, partial_json=True)
    with suppress(ChunkDecodeError, EventTooLargeError):
        acc.feed(DELTA + bad + DELTA)
    _ = (acc.snapshot(), acc.error, acc.status)
    expect(ChunkDecodeError, lambda: acc.add_json(b"{not json"))
    _ = acc.finish()
    expect(DecoderFinishedError, acc.finish)
    decoder = ResponseEventDecoder(max_event_size=64)
    for part in pieces(rng, DELTA + rng.randbytes(60) + bad):
        with suppress(ChunkfoldError):
            decoder.feed(part)
    with suppress(ChunkfoldError):
        decoder.finish()
    expect(TypeError, lambda: ResponseAccumulator().feed("x"))  # type: ignore[arg-type]


def anthropic(rng: random.Random) -> None:
    """MessageAccumulator, MessageEventDecoder and the compat fold over the recorded Anthropic streams."""
    body = rng.choice(ANTHROPIC_SMALL)
    acc = MessageAccumulator(events=rng.random() < 0.5, partial_json=rng.random() < 0.5)
    decoder = MessageEventDecoder()
    decoded = []
    try:
        for i, part in enumerate(pieces(rng, body)):
            _ = acc.feed(part)
            decoded += decoder.feed(part)
            if i % 5 == 0:
                _ = acc.snapshot()
                with suppress(ValueError):
                    _ = acc.tool_input(1)
        decoded += decoder.finish()
    except StreamAPIError as exc:  # the decoder raises the recorded error events
        _touch_error(exc)
    _ = (acc.status, acc.finish_reasons, acc.error, acc.usage, acc.usage_json(), acc.token_usage)
    _ = (acc.model, acc.response_id, acc.stop_reason, acc.done, acc.chunks, acc.bytes, acc.skipped)
    _ = (acc.ignored, acc.renamed, acc.mismatched_deltas, acc.invalid_inputs, acc.unknown_deltas)
    _ = (acc.first_byte_ns, acc.first_token_ns, acc.last_token_ns)
    final = acc.finish()
    again = MessageAccumulator(events=True, partial_json=True)
    for event in decoded[:30]:
        _ = again.add(event)
    _ = again.feed(TOOL_START + TOOL_DELTA)
    _ = (again.tool_input(1), again.snapshot())
    _ = again.feed(TOOL_END)
    _ = (again.finish(), final, msgspec.json.encode(final))
    _compat_anthropic(decoded)


def _compat_anthropic(decoded: list[object]) -> None:
    """chunkfold.compat.anthropic.accumulate_event over the decoded events, as
    anthropic's pydantic events (skipped when anthropic is not installed)."""
    if _anthropic_compat is None:
        return
    compat, event_type, construct = _anthropic_compat
    assert isinstance(compat, ModuleType)
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in decoded[:40]:
        raw = msgspec.json.decode(chunkfold.anthropic.accumulate.encode_event(event))  # type: ignore[arg-type]
        with suppress(StreamAPIError, ValueError):
            snapshot = compat.accumulate_event(
                event=construct(type_=event_type, value=raw), current_snapshot=snapshot, json_bufs=bufs
            )
    _ = snapshot


def anthropic_errors(rng: random.Random) -> None:
    bad = rng.choice(ANTHROPIC_GARBAGE)
    acc = MessageAccumulator(events=True, partial_json=True)
    with suppress(ChunkDecodeError, EventTooLargeError):
        acc.feed(TOOL_START + TOOL_DELTA + bad + TOOL_DELTA)
    _ = (acc.snapshot(), acc.error, acc.status, acc.tool_input(1), acc.invalid_inputs)
    expect(ChunkDecodeError, lambda: acc.add_json(b"{not json"))
    _ = acc.finish()
    expect(DecoderFinishedError, acc.finish)
    expect(DecoderFinishedError, lambda: acc.feed(TOOL_DELTA))
    lax = MessageAccumulator(strict=False, max_event_size=64)
    _ = (lax.feed(TOOL_DELTA + bad + b"data: {x\n\n"), lax.skipped, lax.finish())
    small = MessageAccumulator(max_event_size=64, events=True)
    expect(EventTooLargeError, lambda: small.feed(TOOL_DELTA))
    for part in pieces(rng, TOOL_START + rng.randbytes(60) + bad + TOOL_END):
        with suppress(ChunkfoldError):
            small.feed(part)
    decoder = MessageEventDecoder(max_event_size=64)
    for part in pieces(rng, TOOL_DELTA + rng.randbytes(60) + bad):
        with suppress(ChunkfoldError):
            decoder.feed(part)
    with suppress(ChunkfoldError):
        decoder.finish()
    expect(TypeError, lambda: MessageAccumulator().feed("x"))  # type: ignore[arg-type]
    expect(ValueError, lambda: MessageAccumulator(partial_json=False).tool_input(0))


def large(rng: random.Random) -> None:
    """The big fixtures through all three entry points (run fewer times)."""
    body = rng.choice(LARGE) if LARGE else max(BODIES, key=len)
    _ = SSEDecoder().feed(body)
    _ = ChunkDecoder().feed(body)
    acc = ChatCompletionAccumulator(events=True)
    acc.feed(body)
    _ = acc.finish()
    # >= 1 MiB inputs take the detach (interpreter released) paths
    huge = CHUNK * 8000
    _ = ChunkDecoder().feed(huge)
    acc = ChatCompletionAccumulator()
    acc.feed(huge)
    _ = acc.finish()
    anthropic = MessageAccumulator()
    anthropic.feed(LONG_TOOL)
    _ = anthropic.finish()


def concurrent(rng: random.Random) -> None:
    """ConcurrentUseError: one thread feeds >= 1 MiB (interpreter released), this one collides."""
    huge = CHUNK * 8000
    for make in (
        SSEDecoder,
        ChunkDecoder,
        ChatCompletionAccumulator,
        ResponseAccumulator,
        MessageAccumulator,
    ):
        obj = make()
        worker = threading.Thread(target=obj.feed, args=(huge,))
        worker.start()
        while worker.is_alive():
            with suppress(ConcurrentUseError):
                obj.feed(b": keep-alive\n\n")
        worker.join()
        obj.finish()


def _leak_refs(rng: random.Random) -> None:  # --self-test: one lost reference per call
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(object()))


def _leak_heap(rng: random.Random) -> None:  # --self-test: 256 bytes of malloc never freed
    _libc.malloc(256)


SCENARIOS: dict[str, tuple[Callable[[random.Random], None], float]] = {
    # name: (one iteration, share of --per-round iterations)
    "sse_decoder": (sse_decoder, 1.0),
    "sse_errors": (sse_errors, 1.0),
    "chunk_decoder": (chunk_decoder, 1.0),
    "chunk_decoder_errors": (chunk_decoder_errors, 1.0),
    "accumulator": (accumulator, 1.0),
    "accumulator_errors": (accumulator_errors, 1.0),
    "responses": (responses, 1.0),
    "responses_errors": (responses_errors, 1.0),
    "anthropic": (anthropic, 1.0),
    "anthropic_errors": (anthropic_errors, 1.0),
    "large": (large, 0.025),
    "concurrent": (concurrent, 0.025),
}
SELF_TEST = {"_leak_refs": (_leak_refs, 1.0), "_leak_heap": (_leak_heap, 1.0)}


# --- measuring ---------------------------------------------------------------------------


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


try:
    _libc = ctypes.CDLL(None)
    _libc.mallinfo2.restype = _MallInfo2
    _libc.malloc.restype = ctypes.c_void_p
    _libc.malloc.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):  # not glibc >= 2.33
    _libc = None


def heap_in_use() -> int:
    if _libc is None:
        return 0
    info = _libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def settle() -> tuple[int, int, int]:
    sys._clear_type_cache()
    # msgspec keeps a 512-slot cache of short dict-key strings and drops the
    # unshared ones on every 10th GC traversal of its module: ten full
    # collections always include one, so the cache never shows as growth.
    for _ in range(10):
        gc.collect()
    return sys.gettotalrefcount(), sys.getallocatedblocks(), heap_in_use()


def noop(rng: random.Random) -> None:
    pass


def run_rounds(
    name: str, func: Callable[[random.Random], None], n: int, rounds: int, seed: int
) -> list[tuple[int, int, int]]:
    deltas = []
    for r in range(rounds + 1):  # round 0 is the warm-up
        rng = random.Random(seed)
        before = settle()
        for _ in range(n):
            func(rng)
        del rng
        after = settle()
        if r:
            deltas.append((after[0] - before[0], after[1] - before[1], after[2] - before[2]))
    return deltas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after one warm-up round")
    parser.add_argument("--per-round", type=int, default=400, help="iterations of each scenario per round")
    parser.add_argument(
        "--bound", type=int, default=10, help="largest refcount growth tolerated in one round"
    )
    parser.add_argument("--seed", type=int, default=20240806)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--self-test", action="store_true", help="check that two deliberate leaks are caught")
    args = parser.parse_args()
    scenarios = SELF_TEST if args.self_test else SCENARIOS

    print(
        f"{sys.version.split()[0]} debug={hasattr(sys, 'gettotalrefcount')} chunkfold {chunkfold.__version__}"
    )
    print(
        f"{len(SMALL)} small + {len(LARGE)} large fixtures; "
        f"{args.rounds} rounds x {args.per_round} iterations"
    )
    print(
        f"{'scenario':<22}{'iters':>6}  {'refs per round':<34}{'blocks per round':<34}"
        "heap KiB per round   verdict"
    )
    leaked = []
    start = time.perf_counter()
    # what the measuring itself costs per round, subtracted from every scenario's deltas
    base = run_rounds("noop", noop, 1, args.rounds, args.seed)
    offset = tuple(sorted(d[i] for d in base)[len(base) // 2] for i in range(3))
    print(f"{'(measuring offset)':<28}{offset[0]:<34}{offset[1]:<34}{offset[2] // 1024}")
    for name, (func, share) in scenarios.items():
        if args.only and name not in args.only:
            continue
        n = max(1, round(args.per_round * share))
        t0 = time.perf_counter()
        deltas = [
            tuple(a - b for a, b in zip(d, offset, strict=True))
            for d in run_rounds(name, func, n, args.rounds, args.seed)
        ]
        refs = [d[0] for d in deltas]
        blocks = [d[1] for d in deltas]
        heap = [d[2] // 1024 for d in deltas]
        # regrtest's rule (every round grew), plus an absolute bound on any one round
        leak = all(d > 0 for d in refs) or max(abs(d) for d in refs) > args.bound
        # a Rust-side leak shows only in the heap: every round growing by >= 64 bytes an iteration
        heap_leak = all(d[2] >= 64 * n for d in deltas)
        verdict = "LEAK" if leak else "HEAP-GROWTH" if heap_leak else "ok"
        if leak or heap_leak:
            leaked.append(name)
        print(
            f"{name:<22}{n:>6}  {refs!s:<34}{blocks!s:<34}{heap!s:<21}{verdict}  "
            f"({time.perf_counter() - t0:.1f}s)"
        )
    total = time.perf_counter() - start
    if args.self_test:
        caught = leaked == list(SELF_TEST)
        print(
            f"self-test {total:.1f}s: "
            + ("both deliberate leaks caught" if caught else f"MISSED: only {leaked} flagged")
        )
        return 0 if caught else 1
    print(f"total {total:.1f}s: " + (f"LEAKS in {', '.join(leaked)}" if leaked else "no leaks"))
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
