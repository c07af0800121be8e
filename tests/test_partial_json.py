"""PartialJSON: incremental partial-JSON parsing of streamed tool-call arguments."""

from __future__ import annotations

import gc
import itertools
import json
import pickle
import re
import time
from typing import Any

import pytest
from chunkfold import partial_json
from chunkfold.errors import ChunkfoldError
from chunkfold.partial_json import PartialJSON, PartialJSONError, parse_partial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# -- reference: an obviously-correct, from-scratch partial parser -----------------------------------

_COMPLETE_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"[-+0-9.eEa-z]+")
_EVEN = r"(?:^|(?<=[^\\]))((?:\\\\)*)"  # an even run of backslashes (possibly none), kept as group 1
_TRAILING_CUT_ESCAPE = re.compile(_EVEN + r"\\(?:u[0-9a-fA-F]{0,3})?$")
_TRAILING_HIGH_SURROGATE = re.compile(_EVEN + r"\\u[dD][89abAB][0-9a-fA-F]{2}$")


def _enclosing(tokens: list[str], index: int) -> str | None:
    """The opening bracket of the container that tokens[index] is directly inside."""
    stack: list[str] = []
    for tok in tokens[:index]:
        if tok in ("{", "["):
            stack.append(tok)
        elif tok in ("}", "]"):
            stack.pop()
    return stack[-1] if stack else None


def _is_key(tokens: list[str], index: int) -> bool:
    return (
        tokens[index].startswith('"') and _enclosing(tokens, index) == "{" and tokens[index - 1] in ("{", ",")
    )


def reference(prefix: str) -> Any:
    """Complete a prefix of valid JSON the simple way and json.loads it.

    Tokenize; end an open string (dropping a cut escape and a trailing high surrogate);
    drop a scalar the prefix ends in unless it is a complete literal; drop dangling
    keys, colons and commas; close the open brackets.
    """
    tokens: list[str] = []
    i = 0
    while i < len(prefix):
        c = prefix[i]
        if c in " \t\n\r":
            i += 1
        elif c in "{}[]:,":
            tokens.append(c)
            i += 1
        elif c == '"':
            m = _COMPLETE_STRING.match(prefix, i)
            if m is None:  # the prefix ends inside this string
                body = _TRAILING_CUT_ESCAPE.sub(r"\1", prefix[i + 1 :])
                body = _TRAILING_HIGH_SURROGATE.sub(r"\1", body)
                tokens.append('"' + body + '"')
                break
            tokens.append(m.group())
            i = m.end()
        else:
            m = _SCALAR.match(prefix, i)
            assert m is not None, prefix
            if m.end() < len(prefix) or m.group() in ("true", "false", "null"):
                tokens.append(m.group())
            i = m.end()
    while tokens:
        if tokens[-1] == ",":
            tokens.pop()
        elif tokens[-1] == ":":
            del tokens[-2:]
        elif _is_key(tokens, len(tokens) - 1):
            tokens.pop()
        else:
            break
    stack: list[str] = []
    for tok in tokens:
        if tok in ("{", "["):
            stack.append("}" if tok == "{" else "]")
        elif tok in ("}", "]"):
            stack.pop()
    text = "".join(tokens) + "".join(reversed(stack))
    return json.loads(text) if text else None


def test_reference_itself() -> None:
    assert reference("") is None
    assert reference('{"a": [1, 2') == {"a": [1]}
    assert reference('{"a": "x\\') == {"a": "x"}
    assert reference('{"a": "x\\\\') == {"a": "x\\"}
    assert reference('["\\ud83d\\ud') == [""]
    assert reference('["\\ud83d\\ud83d\\ud') == ["\ud83d"]
    assert reference('{"a": 1, "b":') == {"a": 1}
    assert reference('{"a": 1, "b"') == {"a": 1}
    assert reference('{"a": 1, "b') == {"a": 1}
    assert reference("[tru") == []
    assert reference("[true") == [True]


# -- strategies ----------------------------------------------------------------------------------

_chars = (
    st.characters()
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])  # lone surrogates
    | st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\u2028é😀\ud83d\ude00')
)
_text = st.text(_chars, max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(10**30), 10**30)
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=25,
)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    value = draw(json_values)
    indent = draw(st.sampled_from([None, None, 0, 2, "\t"]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=draw(st.booleans()))
    pad = draw(st.sampled_from(["", " ", "\n", " \r\n\t"]))
    return pad + text + draw(st.sampled_from(["", " ", "\n\n"]))


def _split(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=max(1, len(text) // 2))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


_fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- property tests ------------------------------------------------------------------------------


@_fast
@given(st.data())
def test_fragments_match_reference_and_json_loads(data: st.DataObject) -> None:
    text = data.draw(json_texts())
    fragments = _split(data.draw, text)
    parser = PartialJSON()
    fed = 0
    for fragment in fragments:
        parser.feed(fragment)
        fed += len(fragment)
        assert parser.processed == fed
        assert parser.value == reference(text[:fed]), text[:fed]
    assert parser.close() == json.loads(text)
    assert parser.value == json.loads(text)
    assert parser.complete


@_fast
@given(json_texts())
def test_one_char_at_a_time(text: str) -> None:
    parser = PartialJSON()
    for k, c in enumerate(text, 1):
        parser.feed(c)
        assert parser.value == reference(text[:k]), text[:k]
    assert parser.close() == json.loads(text)


@_fast
@given(json_texts())
def test_whole_text_and_value_not_read(text: str) -> None:
    parser = PartialJSON()
    parser.feed(text)
    assert parser.close() == json.loads(text)
    assert parse_partial(text) == reference(text)


_noise = st.text(st.sampled_from(list('{}[]:,"\\ 0123456789-+.eEtruefalsnul\n\x01xé')), max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_noise, json_texts().map(lambda t: t[: len(t) // 2] + "]" + t[len(t) // 2 :])), st.data())
def test_rejects_exactly_what_json_loads_rejects(text: str, data: st.DataObject) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        expected = PartialJSONError
    parser = PartialJSON()
    error: PartialJSONError | None = None
    try:
        for fragment in _split(data.draw, text):
            parser.feed(fragment)
        got = parser.close()
    except PartialJSONError as exc:
        error = exc
    if error is None:
        assert got == expected, text
        return
    assert expected is PartialJSONError, text
    assert 0 <= error.offset <= len(text)
    # The prefix before the offending character is valid, and value shows exactly it.
    assert parser.value == reference(text[: error.offset])
    with pytest.raises(PartialJSONError) as again:
        parser.feed("1")
    assert again.value is error
    with pytest.raises(PartialJSONError):
        parser.close()


# -- unit tests ----------------------------------------------------------------------------------


def feed_all(*fragments: str) -> PartialJSON:
    parser = PartialJSON()
    for fragment in fragments:
        parser.feed(fragment)
    return parser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  \n", None),
        ("{", {}),
        ('{"a"', {}),
        ('{"a":', {}),
        ('{"a": ', {}),
        ('{"a": "', {"a": ""}),
        ('{"a": "hel', {"a": "hel"}),
        ('{"a": 12', {}),  # a number is shown only once a delimiter (or close()) ends it
        ('{"a": 12 ', {"a": 12}),
        ('{"a": 12,', {"a": 12}),
        ('{"a": 1.5e', {}),
        ('{"a": -', {}),
        ('{"a": tr', {}),
        ('{"a": true', {"a": True}),
        ('{"a": null', {"a": None}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": {"b": [', {"a": {"b": []}}),
        ('[[[1, [2, "x', [[[1, [2, "x"]]]]),
        ("[[], [[]], {}", [[], [[]], {}]),
        ('"root str', "root str"),
        ("42", None),
        ("false", False),
        ('{"a": 1, "a": "x', {"a": "x"}),  # duplicate keys: the last wins, as in json.loads
    ],
)
def test_partial_views(text: str, expected: Any) -> None:
    assert parse_partial(text) == expected
    assert parse_partial(text) == reference(text)


@pytest.mark.parametrize(
    ("fragments", "expected"),
    [
        (['"a\\', 'nb"'], "a\nb"),
        (['"a\\u', "00", 'e9"'], "aé"),
        (['"\\u00e', '9"'], "é"),
        (['"\\ud83d', '\\ude00"'], "😀"),
        (['"\\ud83d\\', 'ude00"'], "😀"),
        (['"\\ud83d\\u', 'de00"'], "😀"),
        (['"\\uD83D\\uDE0', '0x"'], "😀x"),
        (['"\\ud83dx"'], "\ud83dx"),  # lone high surrogate, kept like json.loads does
        (['"\\ud83d\\n"'], "\ud83d\n"),
        (['"\\ud83d\\ud83d\\ude00"'], "\ud83d😀"),
        (['"\\ude00"'], "\ude00"),
        (['"\\"\\\\\\/\\b\\f\\n\\r\\t"'], '"\\/\b\f\n\r\t'),
    ],
)
def test_escapes_split_across_fragments(fragments: list[str], expected: str) -> None:
    parser = PartialJSON()
    for fragment in fragments:
        parser.feed(fragment)
        assert isinstance(parser.value, str)
        assert expected.startswith(parser.value)
    assert parser.close() == expected == json.loads("".join(fragments))


def test_cut_escapes_wait() -> None:
    parser = feed_all('{"k": "ab\\')
    assert parser.value == {"k": "ab"}
    parser.feed("u00")
    assert parser.value == {"k": "ab"}
    parser.feed("41")
    assert parser.value == {"k": "abA"}
    parser.feed("\\ud83d")  # a high surrogate waits for a possible low one
    assert parser.value == {"k": "abA"}
    parser.feed('\\ude00"}')
    assert parser.close() == {"k": "abA😀"}


def test_numbers() -> None:
    for text in ["0", "-0", "12", "-12.5", "1e5", "1E+5", "2.5e-3", "-0.0", "123456789012345678901234567890"]:
        assert parse_partial(text) is None  # not ended yet
        parser = feed_all(text)
        got = parser.close()
        assert got == json.loads(text)
        assert type(got) is type(json.loads(text))
        assert parse_partial(f"[{text}]") == [json.loads(text)]
    assert feed_all("[1", "2", "3 ").value == [123]


def test_values_are_built_in_place() -> None:
    parser = feed_all('{"a": [1, ')
    root = parser.value
    parser.feed('"xy')
    assert parser.value is root
    assert root == {"a": [1, "xy"]}
    parser.feed('z", 2]}')
    assert parser.value is root
    assert root == {"a": [1, "xyz", 2]}


@pytest.mark.parametrize(
    ("fragments", "offset"),
    [
        (["[1,", "]"], 3),
        (['{"a": 1,}'], 8),
        (["01"], 1),
        (["[-]"], 2),
        (["[1.]"], 3),
        (["[1e]"], 3),
        (["nul", "l1"], 4),
        (['"a\x01"'], 2),
        (['"\\x"'], 2),
        (['"\\u12g4"'], 5),
        (["{1}"], 1),
        (['{"a" 1}'], 5),
        (["true", " false"], 5),
        (["NaN"], 0),
        (["[Infinity]"], 1),
        (["\ufeff{}"], 0),
    ],
)
def test_invalid_during_feed(fragments: list[str], offset: int) -> None:
    parser = feed_all(*fragments[:-1])
    with pytest.raises(PartialJSONError) as info:
        parser.feed(fragments[-1])
    assert info.value.offset == offset
    assert f"at offset {offset}" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ChunkfoldError)
    text = "".join(fragments)
    assert parser.value == reference(text[:offset])
    if "N" not in text and "I" not in text:  # json.loads takes NaN and Infinity, strict JSON does not
        with pytest.raises(ValueError):  # noqa: PT011 - json.loads agrees that the text is invalid
            json.loads(text)


@pytest.mark.parametrize(
    "text", ["", "  ", "[", '{"a"', '{"a":', '{"a": 1', '"abc', "-", "1.", "1e+", "tru", "[1"]
)
def test_close_rejects_incomplete(text: str) -> None:
    parser = feed_all(text)
    before = parser.value
    with pytest.raises(PartialJSONError) as info:
        parser.close()
    assert info.value.offset == len(text)
    assert parser.value == before


def test_close_twice_and_feed_after_close() -> None:
    parser = feed_all("[1] \n")
    assert parser.close() == [1]
    assert parser.close() == [1]
    with pytest.raises(PartialJSONError, match="after close"):
        parser.feed(" ")


def test_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(PartialJSONError("bad", 7)))
    assert (err.reason, err.offset, str(err)) == ("bad", 7, "bad at offset 7")


def test_empty_fragments_are_harmless() -> None:
    parser = feed_all("", '{"a"', "", ": ", "", '"b"', "", "}")
    assert parser.close() == {"a": "b"}


# -- cost ----------------------------------------------------------------------------------------


def _argument_stream(size: int, fragments: int) -> tuple[str, list[str]]:
    """A tool-call JSON text with a ``size``-character string argument, cut into ``fragments``."""
    arg = ("lorem ipsum \n dolor \u00e9 " * (size // 22 + 1))[:size]  # with \n and \u00e9 escapes
    text = json.dumps({"path": "x.txt", "content": arg})
    step = len(text) // fragments + 1
    return text, [text[k : k + step] for k in range(0, len(text), step)]


def _timed(size: int, fragments: int) -> float:
    text, parts = _argument_stream(size, fragments)
    parser = PartialJSON()
    start = time.perf_counter()
    for part in parts:
        parser.feed(part)
    elapsed = time.perf_counter() - start
    assert parser.processed == len(text)
    assert parser.close() == json.loads(text)
    return elapsed


def test_each_character_is_processed_once() -> None:
    parser = PartialJSON()
    text = json.dumps({"a": ["x" * 1000, 1.5, {"b": None}]}, indent=2)
    for k in range(0, len(text), 7):
        parser.feed(text[k : k + 7])
        assert parser.processed == min(k + 7, len(text))


def test_string_characters_are_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Count the work of the hot path: every run of plain string characters goes through one
    # regex match.  Over a 1 MB argument in 10,000 fragments, the matched characters add up to
    # the plain characters of the text, and the calls to at most one per fragment and escape.
    text, parts = _argument_stream(1_000_000, 10_000)
    calls = scanned = 0
    real = partial_json._STRING_RUN

    def counting(s: str, pos: int) -> re.Match[str] | None:
        nonlocal calls, scanned
        calls += 1
        m = real(s, pos)
        scanned += 0 if m is None else m.end() - pos
        return m

    monkeypatch.setattr(partial_json, "_STRING_RUN", counting)
    parser = PartialJSON()
    for part in parts:
        parser.feed(part)
    assert parser.close() == json.loads(text)
    arg = json.loads(text)["content"]
    escaped = arg.count("\n") + arg.count("\u00e9")  # decoded from escapes, not scanned as runs
    assert scanned == len("path") + len("x.txt") + len("content") + len(arg) - escaped
    assert calls <= len(parts) + text.count("\\") + text.count('"')
    assert parser.processed == len(text)


def test_linear_time_over_a_1mb_argument() -> None:
    # Same fragment size (~100 chars): 10x the text must cost ~10x, not ~100x as a re-parse per
    # fragment would.  Best of five interleaved runs without GC, and a generous bound (40), so
    # that load on the machine cannot fail it.
    small, large = [], []
    gc.disable()
    try:
        for _ in range(5):
            small.append(_timed(100_000, 1_000))
            large.append(_timed(1_000_000, 10_000))
    finally:
        gc.enable()
    assert min(large) / min(small) < 40, (small, large)
    assert min(large) < 10.0
