"""A tool's argument text, parsed as jiter's ``partial_mode=True`` would
parse it whole, in O(total length) instead of once per fragment.

anthropic-sdk-python keeps a tool's ``input`` as ``jiter.from_json(text,
partial_mode=True)`` of all the text so far, re-parsed on every
``input_json_delta``. :class:`ArgumentBuffer` gives the same value with jiter
parsing each finished element once: a lexer walks only the new bytes and keeps
the stack of open arrays and objects, each with its finished elements (parsed
by jiter, strictly, when they end); the value is rebuilt from that stack, with
the element still arriving parsed by jiter in partial mode. Bytes that stay
inside a string leave the value as it was (jiter drops an unfinished string).

Anything the lexer does not follow exactly (invalid JSON, which jiter's
partial mode sometimes cuts short instead of rejecting; a top-level scalar;
bytes after the value) switches the buffer to re-parsing all of it with
jiter, which is exact by construction.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ArgumentBuffer"]

# A run of string bytes that can neither end the string, start an escape, nor
# be an error (jiter refuses raw control characters). UTF-8 continuation and
# lead bytes are all >= 0x80.
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]*')
_SIMPLE_ESCAPES = frozenset(b'"\\/bfnrt')
_WHITESPACE = frozenset(b" \t\n\r")
# The bytes a scalar (number or literal) may hold; jiter judges them.
_SCALAR = frozenset(b"0123456789+-.eEaflnrstuINfinityNaN")
_OUT, _IN, _ESCAPE, _HEX = 0, 1, 2, 3
# Deeper nesting is left to jiter, whose own limit (about 200) is an error.
_MAX_DEPTH = 64
_INSIDE_ELEMENT = _WHITESPACE | _SCALAR | frozenset(b'":')
_OPEN = {ord("{"): ord("}"), ord("["): ord("]")}
_QUOTE, _BACKSLASH, _COMMA, _COLON = ord('"'), ord("\\"), ord(","), ord(":")


def _from_json(data: bytes, *, partial: bool) -> Any:
    from jiter import from_json

    return from_json(data, partial_mode=partial)


class _Level:
    """An open array or object: its finished elements and where the one
    arriving starts."""

    __slots__ = ("after_child", "close", "count", "done", "key", "start")

    def __init__(self, close: int, start: int) -> None:
        self.close = close
        self.done: Any = {} if close == ord("}") else []
        self.count = 0
        self.start = start  # byte offset of the element arriving
        self.key: Any = None  # an object member's key, once its value is a container
        self.after_child: Any = _NOTHING  # a finished container element, not yet ended by , or the close


_NOTHING = object()


class ArgumentBuffer(bytearray):
    """A tool's argument bytes, with jiter's partial parse kept up to date.

    It compares equal to the ``bytes`` anthropic keeps in ``json_bufs``.
    """

    __slots__ = ("broken", "dead", "hex_left", "stack", "state", "top", "unsure")

    def __init__(self, data: bytes = b"") -> None:
        super().__init__()
        self.state = _OUT
        self.hex_left = 0
        # The next byte follows a \\u escape, which the surrogate pair rules
        # may reject: leave the verdict to jiter.
        self.unsure = False
        self.stack: list[_Level] = []
        self.top: Any = _NOTHING  # the finished top-level value
        self.broken = False  # re-parse everything with jiter from now on
        self.dead = False  # a parse failed: always re-parse, never skip
        self.add(data)

    def add(self, data: bytes) -> bool:
        """Appends ``data``; returns whether jiter's partial parse may have
        changed (``False`` only when it provably did not)."""
        quiet = self.state in (_IN, _ESCAPE) and not self.unsure and not self.dead
        base = len(self)
        self += data
        at, end = 0, len(data)
        while at < end:
            state = self.state
            if state == _IN:
                run = _STRING_RUN.match(data, at).end()  # type: ignore[union-attr]
                if run > at:
                    self.unsure = False
                at = run
                if at == end:
                    break
                byte = data[at]
                if byte == _QUOTE:
                    self.state, quiet, self.unsure = _OUT, False, False
                elif byte == _BACKSLASH:
                    self.state = _ESCAPE  # after a \\u escape, still unsure
                else:
                    quiet = False  # a control character: an error for jiter
            elif state == _OUT:
                quiet = False
                byte = data[at]
                if byte == _QUOTE:
                    self.state = _IN
                if not self.broken:
                    self._structure(byte, base + at)
            elif state == _ESCAPE:
                byte = data[at]
                if byte == ord("u"):
                    self.state, self.hex_left, quiet = _HEX, 4, False
                else:
                    self.state = _IN
                    quiet = quiet and byte in _SIMPLE_ESCAPES
                self.unsure = False
            else:
                self.hex_left -= 1
                quiet = False
                if not self.hex_left:
                    self.state, self.unsure = _IN, True
            at += 1
        return not (quiet and self.state != _OUT)

    def _structure(self, byte: int, at: int) -> None:
        """Follows one byte outside strings, at buffer offset ``at``."""
        stack = self.stack
        if not stack:
            if byte in _WHITESPACE:
                return
            if byte in _OPEN and self.top is _NOTHING:
                stack.append(_Level(_OPEN[byte], at + 1))
            else:  # a top-level scalar, or bytes after the value
                self.broken = True
            return
        level = stack[-1]
        if level.after_child is not _NOTHING:
            if byte == _COMMA or byte == level.close:
                self._end_element(level, at)
                if byte == level.close:
                    self._close()
            elif byte not in _WHITESPACE:
                self.broken = True
            return
        if byte in _OPEN:
            if len(stack) >= _MAX_DEPTH:
                self.broken = True
                return
            if level.close == ord("}"):
                # The member's value is a container: its key is needed now.
                text = bytes(self[level.start : at])
                try:
                    member = _from_json(b"{" + text + b" 0}", partial=False)
                except ValueError:
                    self.broken = True
                    return
                if len(member) != 1 or not text.rstrip().endswith(b":"):
                    self.broken = True
                    return
                level.key = next(iter(member))
            elif self[level.start : at].strip():
                self.broken = True  # an array element that is not only this container
                return
            stack.append(_Level(_OPEN[byte], at + 1))
        elif byte == _COMMA:
            self._end_element(level, at)
        elif byte == ord("}") or byte == ord("]"):
            if byte != level.close:
                self.broken = True
            elif level.count or self[level.start : at].strip():
                self._end_element(level, at)
                self._close()
            else:
                self._close()  # an empty container
        elif byte not in _INSIDE_ELEMENT:
            self.broken = True

    def _end_element(self, level: _Level, at: int) -> None:
        """The element arriving at ``level`` ended at ``at`` (a comma or the close)."""
        if self.broken:
            return
        child = level.after_child
        if child is not _NOTHING:
            if level.close == ord("}"):
                level.done[level.key] = child
            else:
                level.done.append(child)
        else:
            text = bytes(self[level.start : at])
            try:
                if level.close == ord("}"):
                    value = _from_json(b"{" + text + b"}", partial=False)
                    ok = len(value) == 1
                    if ok:
                        level.done.update(value)
                else:
                    value = _from_json(b"[" + text + b"]", partial=False)
                    ok = len(value) == 1
                    if ok:
                        level.done.append(value[0])
            except ValueError:
                ok = False
            if not ok:
                self.broken = True
                return
        level.count += 1
        level.after_child = _NOTHING
        level.start = at + 1

    def _close(self) -> None:
        if self.broken:
            return
        finished = self.stack.pop()
        if self.stack:
            self.stack[-1].after_child = finished.done
        else:
            self.top = finished.done

    def parse(self) -> Any:
        """jiter's ``from_json(buffer, partial_mode=True)``, value or ``ValueError``."""
        if not self.broken and not self.dead and (self.stack or self.top is not _NOTHING):
            if self.top is not _NOTHING:
                return self.top
            try:
                return self._build(0)
            except ValueError:
                self.broken = True
        try:
            return _from_json(bytes(self), partial=True)
        except ValueError:
            self.dead = True
            raise

    def _build(self, depth: int) -> Any:
        level = self.stack[depth]
        is_object = level.close == ord("}")
        out: Any = dict(level.done) if is_object else list(level.done)
        if depth + 1 < len(self.stack):
            child = self._build(depth + 1)
        elif level.after_child is not _NOTHING:
            child = level.after_child
        else:
            # The element still arriving, as jiter shows it: dropped, or as
            # far as it goes (what came before it cannot change that).
            head = b"{" if is_object else b"["
            partial = _from_json(head + self[level.start :], partial=True)
            if is_object:
                out.update(partial)
            else:
                out.extend(partial)
            return out
        if is_object:
            out[level.key] = child
        else:
            out.append(child)
        return out
