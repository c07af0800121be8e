"""WHATWG Server-Sent Events conformance of :class:`chunkfold.SSEDecoder`.

The case table ``tests/data/sse_conformance.json`` collects streams from

* the WHATWG HTML standard's own examples (9.2 Server-sent events),
* web-platform-tests ``eventsource/format-*`` and friends (bodies as their
  ``resources/*.py`` handlers serve them),
* Chromium's ``EventSourceParser`` unit tests, and
* the ``eventsource-parser`` npm package's test suite (rexxars),

plus edge cases read straight off the parsing rules. Expected results are what
the spec says; where a public suite expects something else, the case carries a
``note`` saying so. Every case is decoded fed whole, in its original chunks,
byte by byte and in seeded random splits, and must give the same events.

The property tests check that any partition of the reads gives the events of
one feed, and that those agree with a literal transcription of the spec's
"interpret an event stream" steps (``reference_parse`` below).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chunkfold
import pytest
from chunkfold import ServerSentEvent, SSEDecoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "sse_conformance.json"
FIXTURES = DATA / "fixtures"

_DOC = json.loads(CORPUS.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = _DOC["cases"]
FIXTURE_STREAMS = sorted([*FIXTURES.glob("openai/*.sse"), *FIXTURES.glob("providers/*.sse")])

RANDOM_SPLITS = 6
U64_MAX = 2**64 - 1

Expected = list[tuple[str, str, str | None, int | None]]


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def case_input(case: dict[str, Any]) -> list[bytes]:
    return [chunk.encode("latin-1") for chunk in case["chunks"]]


def case_expected(case: dict[str, Any]) -> Expected:
    return [(e[0], e[1], e[2], e[3]) for e in case["expected"]]


Buffer = bytes | bytearray | memoryview


def decode(reads: Iterable[Buffer], **kwargs: Any) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for read in reads:
        events.extend(decoder.feed(read))
    events.extend(decoder.finish())
    return events, decoder


def summary(events: Sequence[ServerSentEvent]) -> Expected:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def full(events: Sequence[ServerSentEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.raw, e.id, e.retry, e.offset) for e in events]


def random_partition(stream: bytes, rng: random.Random, max_piece: int | None = None) -> list[bytes]:
    """Cuts ``stream`` at random places (sometimes many tiny pieces, sometimes a few big ones)."""
    if not stream:
        return [b""]
    if max_piece is None:
        max_piece = rng.choice([1, 2, 3, 7, 16, max(1, len(stream) // 3), len(stream)])
    pieces = []
    pos = 0
    while pos < len(stream):
        size = rng.randint(1, max_piece)
        pieces.append(stream[pos : pos + size])
        pos += size
        if rng.random() < 0.05:
            pieces.append(b"")  # empty reads must be harmless
    return pieces


def as_buffers(pieces: Iterable[bytes], rng: random.Random) -> Iterator[Buffer]:
    """Yields the pieces as bytes, bytearray or memoryview (also non-zero-offset views)."""
    for piece in pieces:
        kind = rng.randrange(4)
        if kind == 0:
            yield piece
        elif kind == 1:
            yield bytearray(piece)
        elif kind == 2:
            yield memoryview(piece)
        else:
            yield memoryview(b"#" + piece + b"#")[1:-1]


def check_event_invariants(events: Sequence[ServerSentEvent]) -> None:
    for e in events:
        assert isinstance(e.raw, bytes)
        assert e.data == e.raw.decode("utf-8", "replace")
        assert bytes(memoryview(e)) == e.raw
        assert len(e) == len(e.raw)
        assert e.event != ""
        assert e.retry is None or e.retry >= 0
        assert e.offset >= 0


# ----------------------------------------------------------------------------------------
# A literal transcription of WHATWG HTML 9.2.6 "interpreting an event stream".
# Bytes are split into lines before decoding: CR, LF and ':' and ' ' are ASCII, never part
# of a multi-byte sequence, and the UTF-8 decoder ends a broken sequence at any ASCII byte,
# so decoding each field on its own gives exactly the characters of decoding the stream.
# ----------------------------------------------------------------------------------------


@dataclass
class RefEvent:
    event: str
    data: str
    raw: bytes
    id: str | None
    retry: int | None


def reference_parse(stream: bytes) -> tuple[list[RefEvent], str | None, int | None]:
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    events: list[RefEvent] = []
    data = bytearray()
    has_data = False
    event_type = b""
    last_id: str | None = None
    retry: int | None = None
    pos = 0
    n = len(stream)
    while pos < n:
        cr = stream.find(b"\r", pos)
        lf = stream.find(b"\n", pos)
        ends = [i for i in (cr, lf) if i != -1]
        if not ends:
            break  # an incomplete line at EOF is discarded
        end = min(ends)
        line = stream[pos:end]
        pos = end + 2 if stream[end : end + 2] == b"\r\n" else end + 1
        if not line:
            if has_data:
                body = bytes(data[:-1])
                events.append(
                    RefEvent(
                        event_type.decode("utf-8", "replace") or "message",
                        body.decode("utf-8", "replace"),
                        body,
                        last_id,
                        retry,
                    )
                )
            data.clear()
            has_data = False
            event_type = b""
            continue
        if line.startswith(b":"):
            continue
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"event":
            event_type = value
        elif name == b"data":
            data += value + b"\n"
            has_data = True
        elif name == b"id":
            if b"\0" not in value:
                last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value and all(0x30 <= c <= 0x39 for c in value):
            ms = int(value)
            if ms <= U64_MAX:  # beyond that the decoder ignores the field (an implementation limit)
                retry = ms
    return events, last_id, retry


def ref_full(events: Sequence[RefEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.raw, e.id, e.retry) for e in events]


def dec_full(events: Sequence[ServerSentEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.data, e.raw, e.id, e.retry) for e in events]


# ----------------------------------------------------------------------------------------
# the corpus
# ----------------------------------------------------------------------------------------


def test_corpus_is_large_and_well_formed() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) >= 120
    assert len(set(names)) == len(names)
    for case in CASES:
        assert case["source"]
        assert isinstance(case["chunks"], list)
        for event in case["expected"]:
            assert len(event) == 4


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance_case(case: dict[str, Any]) -> None:
    chunks = case_input(case)
    stream = b"".join(chunks)
    expected = case_expected(case)

    whole, decoder = decode([stream])
    assert summary(whole) == expected, f"fed whole: {stream!r}"
    check_event_invariants(whole)
    reference = full(whole)

    final = case.get("final", {})
    if "last_event_id" in final:
        assert decoder.last_event_id == final["last_event_id"]
    if "retry" in final:
        assert decoder.retry == final["retry"]

    if stream.endswith(b"\n"):
        # Every line is complete once an LF has been read: nothing may wait for finish().
        d = SSEDecoder()
        got = d.feed(stream)
        assert d.finish() == []
        assert summary(got) == expected

    partitions: list[tuple[str, list[bytes]]] = [
        ("original chunks", chunks),
        ("byte by byte", [stream[i : i + 1] for i in range(len(stream))]),
    ]
    for seed in range(RANDOM_SPLITS):
        rng = random.Random(f"{case['name']}/{seed}")
        partitions.append((f"random split seed={seed}", random_partition(stream, rng)))

    for label, pieces in partitions:
        rng = random.Random(f"{case['name']}/{label}/types")
        events, decoder = decode(as_buffers(pieces, rng))
        assert summary(events) == expected, label
        assert full(events) == reference, label
        if "last_event_id" in final:
            assert decoder.last_event_id == final["last_event_id"], label
        if "retry" in final:
            assert decoder.retry == final["retry"], label


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reference_model_agrees_with_corpus(case: dict[str, Any]) -> None:
    """Guards the oracle used by the property tests (and the table against typos)."""
    stream = b"".join(case_input(case))
    events, last_id, retry = reference_parse(stream)
    assert [(e.event, e.data, e.id, e.retry) for e in events] == case_expected(case)
    final = case.get("final", {})
    if "last_event_id" in final:
        assert last_id == final["last_event_id"]
    if "retry" in final:
        assert retry == final["retry"]


# ----------------------------------------------------------------------------------------
# property tests
# ----------------------------------------------------------------------------------------

_EOL = st.sampled_from([b"\n", b"\r", b"\r\n"])
_NAMES = st.sampled_from(
    [*[b"data"] * 3, b"event", b"id", b"retry", b"Data", b"foo", b"data ", b" data", b"\xef\xbb\xbfdata"]
)
_TEXT = st.text(
    alphabet=st.sampled_from([*"abZ07 :\t\0", "\u00e9", "\u20ac", "\U0001f600", "\ufeff", "\u2028", "\x85"]),
    max_size=8,
)
_INVALID = st.sampled_from(
    [b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\xef\xbb"]
)
_RETRY_VALUES = st.one_of(
    st.integers(0, 10**12).map(lambda n: str(n).encode()),
    st.sampled_from([b"", b"0", b"007", b"12a", b"-1", b"+3", b" 5", b"5 ", b"1.5", b"\xd9\xa1"]),
)


@st.composite
def _value(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.one_of(_TEXT.map(lambda s: s.encode("utf-8")), _INVALID), max_size=3))
    return b"".join(parts)


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b""  # blank line: dispatch
    if kind == 1:
        return b":" + draw(_value())  # comment
    if kind == 2:
        return b"retry" + draw(st.sampled_from([b":", b": ", b""])) + draw(_RETRY_VALUES)
    if kind == 3:
        return draw(_NAMES)  # field without a colon
    name = draw(_NAMES)
    sep = draw(st.sampled_from([b":", b": ", b":  "]))
    return name + sep + draw(_value())


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    out = bytearray()
    if draw(st.booleans()):
        out += draw(st.sampled_from([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xef\xbb"]))
    for _ in range(draw(st.integers(0, 25))):
        out += draw(_line()) + draw(_EOL)
        if draw(st.integers(0, 4)) == 0:
            out += draw(_EOL)  # often end the block
    if draw(st.booleans()):
        out += draw(_line())  # maybe an unterminated tail
    return bytes(out)


# Arbitrary byte soup over the bytes that matter to the parser.
_SYNTAX_TOKENS = [b"\n", b"\r", b"\r\n", b":", b" ", b"data", b"event", b"id", b"retry", b"1", b"x", b"\0"]
_BYTE_TOKENS = [b"\xef\xbb\xbf", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xff", b"\xe2\x82"]
_SOUP = st.lists(
    st.sampled_from([*_SYNTAX_TOKENS, *_BYTE_TOKENS]),
    max_size=60,
).map(b"".join)


@st.composite
def _stream_and_cuts(draw: st.DrawFn, streams: st.SearchStrategy[bytes]) -> tuple[bytes, list[bytes]]:
    stream = draw(streams)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=max(1, len(stream)))))
    pieces = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        pieces.append(stream[prev:cut])
        prev = cut
    return stream, pieces


_PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@_PROPERTY_SETTINGS
@given(_stream_and_cuts(sse_streams()))
def test_any_partition_gives_the_events_of_one_feed(sample: tuple[bytes, list[bytes]]) -> None:
    stream, pieces = sample
    whole, d1 = decode([stream])
    split, d2 = decode(pieces)
    assert full(split) == full(whole)
    assert split == whole
    assert (d2.last_event_id, d2.retry) == (d1.last_event_id, d1.retry)
    check_event_invariants(whole)


@_PROPERTY_SETTINGS
@given(_stream_and_cuts(_SOUP))
def test_any_partition_of_byte_soup_gives_the_events_of_one_feed(sample: tuple[bytes, list[bytes]]) -> None:
    stream, pieces = sample
    whole, _ = decode([stream])
    split, _ = decode(pieces)
    assert full(split) == full(whole)


@_PROPERTY_SETTINGS
@given(st.one_of(sse_streams(), _SOUP))
def test_events_match_the_spec_reference(stream: bytes) -> None:
    events, _ = decode([stream])
    expected, _, _ = reference_parse(stream)
    assert dec_full(events) == ref_full(expected)


def test_byte_by_byte_matches_one_feed_on_generated_streams() -> None:
    rng = random.Random(20240601)
    for _ in range(200):
        stream = _random_stream(rng)
        whole, _ = decode([stream])
        single, _ = decode(stream[i : i + 1] for i in range(len(stream)))
        assert full(single) == full(whole), stream


def _random_stream(rng: random.Random) -> bytes:
    tokens = [
        b"data: ",
        b"data:",
        b"data",
        b"event: x",
        b"id: 1",
        b"id",
        b"retry: 10",
        b": c",
        b"\xef\xbb\xbf",
        b"\xc3",
        b"\xe2\x82\xac",
        b"\xf0\x9f",
        b"q",
    ]
    eols = [b"\n", b"\r", b"\r\n"]
    out = bytearray()
    for _ in range(rng.randint(0, 30)):
        out += rng.choice(tokens)
        if rng.random() < 0.6:
            out += rng.choice(eols)
    return bytes(out)


# ----------------------------------------------------------------------------------------
# recorded streams
# ----------------------------------------------------------------------------------------


def test_recorded_fixtures_are_present() -> None:
    assert any(p.parent.name == "openai" for p in FIXTURE_STREAMS)
    assert any(p.parent.name == "providers" for p in FIXTURE_STREAMS)


@pytest.mark.parametrize("path", FIXTURE_STREAMS, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURE_STREAMS])
def test_recorded_stream_frames(path: Path) -> None:
    body = path.read_bytes()
    events, _ = decode([body])
    assert events, f"{path.name}: no events"
    check_event_invariants(events)
    rng = random.Random(path.name)
    split, _ = decode(as_buffers(random_partition(body, rng, max_piece=97), rng))
    assert full(split) == full(events)
    assert dec_full(events) == ref_full(reference_parse(body)[0])


# ----------------------------------------------------------------------------------------
# API edges the corpus relies on
# ----------------------------------------------------------------------------------------


def test_feeding_str_is_a_type_error() -> None:
    decoder = SSEDecoder()
    with pytest.raises(TypeError):
        decoder.feed("data: x\n\n")  # type: ignore[arg-type]


def test_feed_after_finish_raises() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: x\n\n")
    decoder.finish()
    with pytest.raises(chunkfold.DecoderFinishedError):
        decoder.feed(b"data: y\n\n")


def test_oversized_event_is_skipped_and_decoding_resumes() -> None:
    decoder = SSEDecoder(max_event_size=64)
    stream = b"data: a\n\ndata: " + b"x" * 200 + b"\n\ndata: b\n\n"
    got: list[ServerSentEvent] = []
    errors = []
    for i in range(0, len(stream), 16):
        try:
            got.extend(decoder.feed(stream[i : i + 16]))
        except chunkfold.EventTooLargeError as exc:
            errors.append(exc)
            got.extend(exc.decoded)
    got.extend(decoder.finish())
    assert len(errors) == 1
    assert errors[0].limit == 64
    assert summary(got) == [("message", "a", None, None), ("message", "b", None, None)]
