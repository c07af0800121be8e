"""Incremental parsing of partial JSON, for streamed tool-call arguments.

:class:`PartialJSON` is a resumable state machine: each :meth:`~PartialJSON.feed`
looks only at the characters it is given, so a whole stream costs O(total length)
however it is cut up.  Open objects and arrays are real ``dict``/``list`` objects,
built in place on a stack; :attr:`~PartialJSON.value` returns the best current view
of the text so far, in the spirit of jiter's ``partial_mode="trailing-strings"``
(as used by openai-python):

* an incomplete string *value* is shown as the prefix decoded so far (an escape
  sequence cut by a fragment boundary waits for the rest, and so does a ``\\uD83D``
  high surrogate that may still be paired with a following low one);
* open objects and arrays are shown as they stand;
* an object key without a complete value (``{"a"``, ``{"a":``) is left out, and so
  are incomplete ``true``/``false``/``null`` literals;
* numbers are left out until a delimiter (``,`` ``]`` ``}`` or whitespace) ends
  them, or :meth:`~PartialJSON.close` does: ``{"a": 12`` is ``{}``, because the
  ``12`` might still become ``123``.  jiter shows ``{"a": 12}`` here instead;
* nothing fed yet (or whitespace only) is ``None``.

The text must be strict JSON (RFC 8259): ``NaN``/``Infinity``, trailing commas,
comments and control characters inside strings are errors.  Duplicate keys keep
the last value, as :func:`json.loads` does.

:attr:`~PartialJSON.value` returns the live objects under construction, not a copy:
later feeds mutate them, and mutating them corrupts the parser.  Reading it costs
O(1), plus O(length) of a pending string value when that has grown since the last
read.
"""

from __future__ import annotations

import re
from typing import Any, Final

from chunkfold.errors import ChunkfoldError

__all__ = ["PartialJSON", "PartialJSONError", "parse_partial"]

# Parser states.
_VALUE: Final = 0  # a value must come next
_ARR_FIRST: Final = 1  # after "[": a value or "]"
_OBJ_FIRST: Final = 2  # after "{": a key or "}"
_KEY: Final = 3  # after "," in an object: a key
_COLON: Final = 4  # after a key: ":"
_AFTER: Final = 5  # after a value inside a container: "," or the closing bracket
_DONE: Final = 6  # root value complete: only whitespace may follow
_STRING: Final = 7  # inside a string
_ESCAPE: Final = 8  # after a backslash inside a string
_UHEX: Final = 9  # inside the four hex digits of a \u escape
_NUMBER: Final = 10  # inside a number
_LITERAL: Final = 11  # inside true / false / null

_WHITESPACE: Final = " \t\n\r"
_STRING_RUN: Final = re.compile(r'[^"\\\x00-\x1f]+').match
_ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX: Final = {c: int(c, 16) for c in "0123456789abcdefABCDEF"}
_LITERALS: Final = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# Number DFA: -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?
# States: 0 start, 1 after "-", 2 "0", 3 int digits, 4 ".", 5 fraction digits, 6 "e", 7 exponent sign,
# 8 exponent digits.  A character with no transition ends the number.
_DIGITS: Final = "0123456789"
_NUM_NEXT: Final[tuple[dict[str, int], ...]] = (
    {"-": 1, "0": 2, **dict.fromkeys("123456789", 3)},
    {"0": 2, **dict.fromkeys("123456789", 3)},
    {".": 4, "e": 6, "E": 6},
    {**dict.fromkeys(_DIGITS, 3), ".": 4, "e": 6, "E": 6},
    dict.fromkeys(_DIGITS, 5),
    {**dict.fromkeys(_DIGITS, 5), "e": 6, "E": 6},
    {"+": 7, "-": 7, **dict.fromkeys(_DIGITS, 8)},
    dict.fromkeys(_DIGITS, 8),
    dict.fromkeys(_DIGITS, 8),
)
_NUM_ACCEPT: Final = frozenset({2, 3, 5, 8})
_NUM_INT: Final = frozenset({2, 3})


class PartialJSONError(ChunkfoldError, ValueError):
    """The text is not valid JSON (or not a prefix of valid JSON).

    Attributes:
        offset: 0-based *character* offset of the offending character in the whole
            text fed so far (the text length when the input ended too early).
        reason: the message without the offset.
    """

    offset: int
    reason: str

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at offset {offset}", offset=offset)
        self.reason = reason

    def __reduce__(self) -> tuple[type[PartialJSONError], tuple[str, int]]:
        return (type(self), (self.reason, self.offset))


class PartialJSON:
    """Incremental JSON parser whose value can be read after every fragment.

    >>> p = PartialJSON()
    >>> p.feed('{"city": "Par')
    >>> p.value
    {'city': 'Par'}
    >>> p.feed('is", "days": [1, 2')
    >>> p.value
    {'city': 'Paris', 'days': [1]}
    >>> p.feed("]}")
    >>> p.close()
    {'city': 'Paris', 'days': [1, 2]}

    An invalid character raises :class:`PartialJSONError` from :meth:`feed`; the
    characters before it have been consumed, :attr:`value` still reads as it was
    before the bad character, and every later :meth:`feed` or :meth:`close`
    raises the same error again.
    """

    def __init__(self) -> None:
        self._state: int = _VALUE
        self._stack: list[dict[str, Any] | list[Any]] = []  # open containers, innermost last
        self._root: Any = None
        self._key: str = ""  # the completed key waiting for its value in the innermost object
        self._processed: int = 0
        self._error: PartialJSONError | None = None
        self._closed: bool = False
        # Pending string: decoded pieces; is it a key; a \uD800-\uDBFF escape awaiting its low surrogate
        # (-1: none); pieces count at the last read of `value` (-1: not yet shown in its container).
        self._pieces: list[str] = []
        self._is_key: bool = False
        self._high: int = -1
        self._shown: int = -1
        self._hex: int = 0
        self._nhex: int = 0
        # Pending number (pieces and DFA state) and literal (text, matched length, value).
        self._num: list[str] = []
        self._nstate: int = 0
        self._lit: str = ""
        self._lit_pos: int = 0
        self._lit_value: Any = None

    @property
    def processed(self) -> int:
        """Characters consumed so far; each is examined O(1) times, never re-scanned."""
        return self._processed

    @property
    def complete(self) -> bool:
        """Whether the root value is complete (only whitespace may follow)."""
        return self._state == _DONE

    @property
    def value(self) -> Any:
        """The best current view of the text so far (see the module docstring)."""
        if self._shown != len(self._pieces) and self._state in (_STRING, _ESCAPE, _UHEX) and not self._is_key:
            text = "".join(self._pieces)
            self._pieces = [text] if text else []
            self._place(text, self._shown >= 0, complete=False)
            self._shown = len(self._pieces)
        return self._root

    def feed(self, fragment: str) -> None:
        """Consume the next fragment of JSON text.

        Raises:
            PartialJSONError: the text so far is not a prefix of valid JSON, or
                :meth:`close` was called before.
        """
        if self._error is not None:
            raise self._error
        if self._closed:
            raise self._fail("feed() after close()", self._processed)
        text, n, base, i = fragment, len(fragment), self._processed, 0
        try:
            while i < n:
                state = self._state
                if state == _STRING:
                    m = _STRING_RUN(text, i)
                    if m is not None:
                        if self._high >= 0:
                            self._flush_high()
                        self._pieces.append(m.group())
                        i = m.end()
                        if i == n:
                            break
                    c = text[i]
                    if c == '"':
                        self._end_string()
                    elif c == "\\":
                        self._state = _ESCAPE
                    else:
                        raise self._fail(f"invalid control character {c!r} in string", base + i)
                    i += 1
                elif state == _ESCAPE:
                    c = text[i]
                    if c == "u":
                        self._hex = self._nhex = 0
                        self._state = _UHEX
                    else:
                        decoded = _ESCAPES.get(c)
                        if decoded is None:
                            raise self._fail(f"invalid escape \\{c}", base + i)
                        if self._high >= 0:
                            self._flush_high()
                        self._pieces.append(decoded)
                        self._state = _STRING
                    i += 1
                elif state == _UHEX:
                    digit = _HEX.get(text[i])
                    if digit is None:
                        raise self._fail(f"invalid \\u escape digit {text[i]!r}", base + i)
                    self._hex, self._nhex, i = self._hex * 16 + digit, self._nhex + 1, i + 1
                    if self._nhex == 4:
                        self._code_point(self._hex)
                        self._state = _STRING
                elif state == _NUMBER:
                    start = i
                    ns = self._nstate
                    while i < n:
                        nxt = _NUM_NEXT[ns].get(text[i], -1)
                        if nxt < 0:
                            break
                        ns = nxt
                        i += 1
                    self._nstate = ns
                    if i > start:
                        self._num.append(text[start:i])
                    if i < n:  # text[i] ends the number; it is examined again in the next state
                        if ns not in _NUM_ACCEPT:
                            raise self._fail(f"invalid number, unexpected {text[i]!r}", base + i)
                        self._check_follow(text[i], base + i)
                        self._end_number(base + i)
                elif state == _LITERAL:
                    lit, pos = self._lit, self._lit_pos
                    while i < n and pos < len(lit):
                        if text[i] != lit[pos]:
                            self._lit_pos = pos
                            raise self._fail(f"invalid literal, expected {lit!r}", base + i)
                        pos += 1
                        i += 1
                    self._lit_pos = pos
                    if pos == len(lit):
                        self._place(self._lit_value, False)
                else:
                    c = text[i]
                    if c not in _WHITESPACE:
                        self._structural(c, state, base + i)
                        if self._state >= _NUMBER:  # a number or literal starts here: examine c again
                            continue
                    i += 1
        finally:
            self._processed = base + i

    def close(self) -> Any:
        """Finalize the text and return the complete value.

        Raises:
            PartialJSONError: the text is not a complete JSON value.
        """
        if self._error is not None:
            raise self._error
        if not self._closed:
            state = self._state
            if state == _NUMBER and not self._stack and self._nstate in _NUM_ACCEPT:
                self._end_number(self._processed)
            elif state != _DONE:
                empty = state == _VALUE and not self._stack
                raise self._fail("empty input" if empty else "unexpected end of input", self._processed)
            self._closed = True
        return self._root

    # -- internals -------------------------------------------------------------------------------

    def _fail(self, reason: str, offset: int) -> PartialJSONError:
        self._error = PartialJSONError(reason, offset)
        return self._error

    def _place(self, value: Any, replace: bool, complete: bool = True) -> None:
        """Put a value into the innermost container (or make it the root).

        ``replace`` overwrites the slot shown for a pending string; ``complete`` ends the value.
        """
        if not self._stack:
            self._root = value
        elif isinstance(top := self._stack[-1], dict):
            top[self._key] = value
        elif replace:
            top[-1] = value
        else:
            top.append(value)
        if complete:
            self._state = _AFTER if self._stack else _DONE

    def _structural(self, c: str, state: int, offset: int) -> None:
        """Handle one non-whitespace character outside strings, numbers and literals."""
        if state in (_VALUE, _ARR_FIRST):
            if c == '"':
                self._is_key, self._state = False, _STRING
            elif c == "{" or c == "[":
                container: dict[str, Any] | list[Any] = {} if c == "{" else []
                self._place(container, False)
                self._stack.append(container)
                self._state = _OBJ_FIRST if c == "{" else _ARR_FIRST
            elif c == "-" or c in _DIGITS:
                self._num = []
                self._nstate = 0
                self._state = _NUMBER
            elif c in _LITERALS:
                self._lit, self._lit_value = _LITERALS[c]
                self._lit_pos = 0
                self._state = _LITERAL
            elif c == "]" and state == _ARR_FIRST:
                self._pop()
            else:
                raise self._fail(f"expected a value, got {c!r}", offset)
        elif state in (_AFTER, _DONE):
            self._check_follow(c, offset)
            if c == ",":
                self._state = _KEY if isinstance(self._stack[-1], dict) else _VALUE
            else:
                self._pop()
        elif state in (_OBJ_FIRST, _KEY):
            if c == '"':
                self._is_key, self._state = True, _STRING
            elif c == "}" and state == _OBJ_FIRST:
                self._pop()
            else:
                raise self._fail(f"expected an object key, got {c!r}", offset)
        else:
            if c != ":":
                raise self._fail(f"expected ':', got {c!r}", offset)
            self._state = _VALUE

    def _check_follow(self, c: str, offset: int) -> None:
        """Raise unless ``c`` may follow a complete value; checked before a number is placed."""
        if c in _WHITESPACE:
            return
        if not self._stack:
            raise self._fail(f"extra data after the JSON value: {c!r}", offset)
        closer = "}" if isinstance(self._stack[-1], dict) else "]"
        if c != "," and c != closer:
            raise self._fail(f"expected ',' or {closer!r}, got {c!r}", offset)

    def _pop(self) -> None:
        self._stack.pop()
        self._state = _AFTER if self._stack else _DONE

    def _flush_high(self) -> None:
        """Emit a high-surrogate escape that turned out not to be followed by a low one."""
        self._pieces.append(chr(self._high))
        self._high = -1

    def _code_point(self, cp: int) -> None:
        """Append the code point of a completed \\uXXXX escape, pairing surrogates like json.loads."""
        if 0xDC00 <= cp <= 0xDFFF and self._high >= 0:
            self._pieces.append(chr(0x10000 + ((self._high - 0xD800) << 10) + (cp - 0xDC00)))
            self._high = -1
            return
        if self._high >= 0:
            self._flush_high()  # the pending high surrogate stays unpaired, as in json.loads
        if 0xD800 <= cp <= 0xDBFF:
            self._high = cp
        else:
            self._pieces.append(chr(cp))

    def _end_string(self) -> None:
        if self._high >= 0:
            self._flush_high()
        text = "".join(self._pieces)
        self._pieces = []
        if self._is_key:
            self._key = text
            self._state = _COLON
        else:
            self._place(text, self._shown >= 0)
            self._shown = -1

    def _end_number(self, offset: int) -> None:
        text = "".join(self._num)
        try:
            number: int | float = int(text) if self._nstate in _NUM_INT else float(text)
        except ValueError as exc:  # more digits than sys.get_int_max_str_digits() allows
            raise self._fail(f"number not representable: {exc}", offset) from None
        self._num = []
        self._place(number, False)


def parse_partial(text: str) -> Any:
    """The :attr:`PartialJSON.value` view of ``text``, a prefix of a JSON text.

    Raises:
        PartialJSONError: ``text`` is not a prefix of valid JSON.
    """
    parser = PartialJSON()
    parser.feed(text)
    return parser.value
