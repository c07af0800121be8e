"""``ChatCompletionStreamState``: openai-python's stream state, folded by chunkfold."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from chunkfold import events as ev
from chunkfold.chat.accumulate import ChatCompletionAccumulator

__all__ = ["ChatCompletionStreamState", "dump_for_openai"]

_any = msgspec.json.Decoder()
_TEXT_FIELDS = frozenset({"content", "refusal", "role"})


@dataclass
class _Choice:
    """What openai's ``ChoiceEventState`` tracks, plus the text snapshots."""

    content: str | None = None
    refusal: str | None = None
    tools: dict[int, str] = field(default_factory=dict)
    logprobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    done_tools: set[int] = field(default_factory=set)
    current_tool: int | None = None
    finished: bool = False


@dataclass
class _Message:
    """What openai's ``maybe_parse_content`` reads of a message."""

    content: str | None
    refusal: str | None


class ChatCompletionStreamState:
    """Drop-in for ``openai.lib.streaming.chat.ChatCompletionStreamState``.

    Switch with one import: ``from chunkfold.compat.openai import
    ChatCompletionStreamState``. ``handle_chunk()``,
    ``current_completion_snapshot`` and ``get_final_completion()`` take and
    return openai-python's own types, and ``response_format`` /
    ``input_tools`` parsing is openai-python's own; the folding is
    chunkfold's. ``input_tools`` and ``response_format`` take openai's "not
    given" sentinels (``omit``, ``NOT_GIVEN``) as well as ``None``.
    :func:`chunkfold.compat.openai.install` puts it behind openai's
    ``client.chat.completions.stream(...)``.

    Deliberate differences, per the README's merge rules: repeated roles are
    not concatenated, choices and tool calls are merged by ``index`` (and
    index-less tool calls by id) rather than list position, ``null`` never
    erases, and usage is the last non-null value. ``handle_chunk()``
    returns a lazy iterable of openai's events (``ChunkEvent``,
    ``ContentDeltaEvent`` and the rest): they are built only when iterated,
    so callers that ignore them pay nothing. ``content.done`` and
    ``arguments.done`` parse inside ``handle_chunk()``, as openai does, and
    the snapshot carries what they parsed; before them ``parsed`` /
    ``parsed_arguments`` stay ``None`` (openai re-parses the partial text on
    every delta).
    """

    def __init__(self, *, input_tools: Any = None, response_format: Any = None) -> None:
        from openai import omit
        from openai.lib._parsing._completions import has_parseable_input

        self._acc = ChatCompletionAccumulator(events=True)
        self._input_tools: list[Any] = list(input_tools) if _given(input_tools) else []
        self._response_format = response_format if _given(response_format) else omit
        self._rich_response_format = response_format if inspect.isclass(response_format) else omit
        # openai raises LengthFinishReasonError / ContentFilterFinishReasonError
        # from handle_chunk only when there is something to parse.
        self._parseable = has_parseable_input(
            response_format=self._response_format, input_tools=self._input_tools
        )
        self._choices: dict[int, _Choice] = {}
        self._snapshot: tuple[int, Any] | None = None
        self._seen = False
        # What content.done / arguments.done parsed, laid over every snapshot
        # built from the fold, as openai stores it in its live snapshot.
        self._parsed: dict[int, Any] = {}
        self._parsed_arguments: dict[tuple[int, int], Any] = {}

    def handle_chunk(self, chunk: Any) -> Iterable[Any]:
        """Folds one openai ``ChatCompletionChunk``; returns its events, lazily.

        Like openai's, it raises ``LengthFinishReasonError`` /
        ``ContentFilterFinishReasonError`` when a choice ends with
        ``"length"`` / ``"content_filter"`` and there is something to parse,
        and the parse errors of ``content.done`` / ``arguments.done``.
        """
        if self._parseable and self._seen:
            self._raise_if_cut(chunk)
        self._seen = True
        if self._parsed:
            # openai rebuilds the message of every choice in the chunk, and
            # with it drops what content.done parsed.
            for choice in chunk.choices or ():
                self._parsed.pop(choice.index, None)
        payload = chunk.model_dump_json(exclude_unset=True, warnings=False).encode()
        plan: list[tuple[Any, ...]] = [("chunk", chunk)]
        by_choice: dict[int, list[ev.StreamEvent]] = {}
        for event in self._acc.add_json(payload):
            by_choice.setdefault(getattr(event, "choice", -1), []).append(event)
        text_only = self._snapshot is not None and self._text_only(chunk, self._snapshot[1])
        for index, choice_events in by_choice.items():
            if index >= 0:
                self._plan_choice(self._choices.setdefault(index, _Choice()), index, choice_events, plan)
        if text_only and self._snapshot is not None:
            # Only text grew: the last snapshot is brought up to date in place
            # (as openai's is) instead of being rebuilt from the whole fold.
            snapshot = self._snapshot[1]
            for choice in snapshot.choices:
                state = self._choices.get(choice.index)
                if state is not None:
                    choice.message.content = state.content
                    choice.message.refusal = state.refusal
                    choice.message.parsed = self._parsed.get(choice.index)
            self._snapshot = (self._acc.chunks, snapshot)
        else:
            self._snapshot = None
        return _Events(self, plan)

    @staticmethod
    def _text_only(chunk: Any, snapshot: Any) -> bool:
        """Whether the chunk changes nothing but the text of choices the
        snapshot has: no usage, fingerprint, finish, logprobs or other field."""
        if chunk.usage is not None or chunk.system_fingerprint != snapshot.system_fingerprint:
            return False
        known = {choice.index: choice for choice in snapshot.choices}
        for choice in chunk.choices or ():
            delta = choice.delta
            old = known.get(choice.index)
            if (
                old is None
                or choice.finish_reason is not None
                or choice.logprobs is not None
                or choice.model_extra
                or delta.model_extra
                or not _TEXT_FIELDS.issuperset(delta.model_fields_set)
                or not isinstance(delta.content, str | None)
                or delta.role not in (None, old.message.role)
            ):
                return False
        return True

    def _raise_if_cut(self, chunk: Any) -> None:
        """openai's check, at the same point: the choices before the cut one
        are folded whole, the cut one without its logprobs, and the chunk's
        usage and fingerprint not at all."""
        for position, choice in enumerate(chunk.choices or ()):
            if choice.finish_reason not in ("length", "content_filter"):
                continue
            from openai import ContentFilterFinishReasonError, LengthFinishReasonError

            value = chunk.model_dump(exclude_unset=True, warnings=False)
            value.pop("usage", None)
            value.pop("system_fingerprint", None)
            value["choices"] = value["choices"][: position + 1]
            value["choices"][-1].pop("logprobs", None)
            self._acc.add_json(msgspec.json.encode(value))
            self._snapshot = None
            if choice.finish_reason == "length":
                raise LengthFinishReasonError(completion=self.current_completion_snapshot)
            raise ContentFilterFinishReasonError(completion=self.current_completion_snapshot)

    def _plan_choice(
        self, state: _Choice, index: int, events: list[Any], plan: list[tuple[Any, ...]]
    ) -> None:
        tool_order: list[int] = []
        for event in events:
            if isinstance(event, ev.ContentDelta):
                state.content = (state.content or "") + event.delta
                plan.append(("content.delta", event.delta, state.content))
            elif isinstance(event, ev.RefusalDelta):
                state.refusal = (state.refusal or "") + event.delta
                plan.append(("refusal.delta", event.delta, state.refusal))
            elif isinstance(event, ev.ToolArgumentsDelta):
                state.tools[event.index] = state.tools.get(event.index, "") + event.delta
                parsed = self._parsed_arguments.get((index, event.index))
                plan.append(
                    ("tool.delta", event.index, event.name, state.tools[event.index], event.delta, parsed)
                )
                tool_order.append(event.index)
            elif isinstance(event, ev.LogprobsDelta):
                kind = "refusal" if event.refusal else "content"
                snapshot = state.logprobs.setdefault(kind, [])
                snapshot.extend(event.tokens)
                plan.append((f"logprobs.{kind}.delta", event.tokens, list(snapshot)))
            elif isinstance(event, ev.ChoiceFinished):
                state.finished = True
        # openai's ChoiceEventState.get_done_events, step for step: a finished
        # choice stays finished.
        if state.finished:
            self._plan_done(state, index, plan)
            if state.current_tool is not None:
                self._plan_tool_done(state, index, state.current_tool, plan)
        for tool in tool_order:
            if state.current_tool != tool:
                self._plan_done(state, index, plan)
                if state.current_tool is not None:
                    self._plan_tool_done(state, index, state.current_tool, plan)
            state.current_tool = tool

    def _plan_done(self, state: _Choice, index: int, plan: list[tuple[Any, ...]]) -> None:
        if state.content and "content" not in state.done:
            from openai.lib._parsing._completions import maybe_parse_content

            state.done.add("content")
            # Parsed now, as openai does inside handle_chunk: its errors come
            # from here, and the live snapshot shows the result.
            message: Any = _Message(state.content, state.refusal)
            parsed = maybe_parse_content(response_format=self._response_format, message=message)
            self._parsed[index] = parsed
            self._snapshot = None
            plan.append(("content.done", state.content, parsed))
        if state.refusal is not None and "refusal" not in state.done:
            state.done.add("refusal")
            plan.append(("refusal.done", state.refusal))
        for kind in ("content", "refusal"):
            tokens = state.logprobs.get(kind)
            if tokens is not None and f"logprobs.{kind}" not in state.done:
                state.done.add(f"logprobs.{kind}")
                plan.append((f"logprobs.{kind}.done", list(tokens)))

    def _plan_tool_done(self, state: _Choice, index: int, tool: int, plan: list[tuple[Any, ...]]) -> None:
        if tool in state.done_tools:
            return
        state.done_tools.add(tool)
        parsed = None
        if self._input_tools:
            from openai.lib._parsing._completions import parse_function_tool_arguments

            function = _message(self, index).tool_calls[tool].function
            parsed = parse_function_tool_arguments(input_tools=self._input_tools, function=function)
            self._parsed_arguments[(index, tool)] = parsed
            self._snapshot = None
        plan.append(("tool.done", index, tool, parsed))

    @property
    def current_completion_snapshot(self) -> Any:
        """The completion so far, as openai's ``ParsedChatCompletionSnapshot``."""
        from openai._models import construct_type
        from openai.lib.streaming.chat._types import ParsedChatCompletionSnapshot

        if self._snapshot is None or self._snapshot[0] != self._acc.chunks:
            value = dump_for_openai(self._acc.snapshot())
            raw_usage = self._acc.usage_json()
            if raw_usage is not None:
                # The provider's usage as sent: openai keeps unknown counters
                # (DeepSeek's cache hits, OpenRouter's cost) as extras.
                value["usage"] = _any.decode(raw_usage)
            for choice in value["choices"]:
                for position, call in enumerate(choice["message"].get("tool_calls") or []):
                    call["index"] = position
            snapshot = construct_type(type_=ParsedChatCompletionSnapshot, value=value)
            if self._parsed or self._parsed_arguments:
                self._lay_parsed(snapshot)
            self._snapshot = (self._acc.chunks, snapshot)
        return self._snapshot[1]

    def _lay_parsed(self, snapshot: Any) -> None:
        for choice in snapshot.choices:
            choice.message.parsed = self._parsed.get(choice.index)
            for position, call in enumerate(choice.message.tool_calls or []):
                parsed = self._parsed_arguments.get((choice.index, position))
                if parsed is not None:
                    call.function.parsed_arguments = parsed

    def get_final_completion(self) -> Any:
        """The final completion, parsed by openai-python (``ParsedChatCompletion``)."""
        from openai.lib._parsing._completions import parse_chat_completion

        return parse_chat_completion(
            chat_completion=self.current_completion_snapshot,
            response_format=self._rich_response_format,
            input_tools=self._input_tools,
        )


class _Events:
    """openai stream events for one chunk, built when iterated."""

    def __init__(self, state: ChatCompletionStreamState, plan: list[tuple[Any, ...]]) -> None:
        self._state = state
        self._plan = plan

    def __iter__(self) -> Iterator[Any]:
        from openai._models import build, construct_type
        from openai.lib.streaming.chat import _events as oe
        from openai.types.chat import ChatCompletionTokenLogprob

        def tokens(raw: list[dict[str, Any]]) -> list[Any]:
            return [construct_type(type_=ChatCompletionTokenLogprob, value=t) for t in raw]

        state = self._state
        for step in self._plan:
            kind = step[0]
            # The events of every chunk are built with model_construct: their
            # fields are openai objects and strings already, and openai's
            # build() would walk them all again (most of its cost per chunk).
            if kind == "chunk":
                snapshot = state.current_completion_snapshot
                yield oe.ChunkEvent.model_construct(type="chunk", chunk=step[1], snapshot=snapshot)
            elif kind == "content.delta":
                yield oe.ContentDeltaEvent.model_construct(
                    type="content.delta", delta=step[1], snapshot=step[2], parsed=None
                )
            elif kind == "refusal.delta":
                yield oe.RefusalDeltaEvent.model_construct(
                    type="refusal.delta", delta=step[1], snapshot=step[2]
                )
            elif kind == "tool.delta":
                _, index, name, arguments, delta, parsed = step
                yield oe.FunctionToolCallArgumentsDeltaEvent.model_construct(
                    type="tool_calls.function.arguments.delta",
                    name=name,
                    index=index,
                    arguments=arguments,
                    parsed_arguments=parsed,
                    arguments_delta=delta,
                )
            elif kind == "logprobs.content.delta":
                yield build(
                    oe.LogprobsContentDeltaEvent, type=kind, content=tokens(step[1]), snapshot=tokens(step[2])
                )
            elif kind == "logprobs.refusal.delta":
                yield build(
                    oe.LogprobsRefusalDeltaEvent, type=kind, refusal=tokens(step[1]), snapshot=tokens(step[2])
                )
            elif kind == "logprobs.content.done":
                yield build(oe.LogprobsContentDoneEvent, type=kind, content=tokens(step[1]))
            elif kind == "logprobs.refusal.done":
                yield build(oe.LogprobsRefusalDoneEvent, type=kind, refusal=tokens(step[1]))
            elif kind == "content.done":
                yield build(oe.ContentDoneEvent, type="content.done", content=step[1], parsed=step[2])
            elif kind == "refusal.done":
                yield build(oe.RefusalDoneEvent, type="refusal.done", refusal=step[1])
            elif kind == "tool.done":
                call = _message(state, step[1]).tool_calls[step[2]]
                yield build(
                    oe.FunctionToolCallArgumentsDoneEvent,
                    type="tool_calls.function.arguments.done",
                    name=call.function.name,
                    index=step[2],
                    arguments=call.function.arguments,
                    parsed_arguments=step[3],
                )


def _given(value: Any) -> bool:
    """openai's ``is_given``, for every "not given" sentinel the installed
    openai has (``omit`` / ``Omit``, ``NOT_GIVEN`` / ``not_given``), and ``None``."""
    from openai import _types

    sentinels = tuple(getattr(_types, name) for name in ("Omit", "NotGiven") if hasattr(_types, name))
    return value is not None and not isinstance(value, sentinels)


def _message(state: ChatCompletionStreamState, choice: int) -> Any:
    snapshot = state.current_completion_snapshot
    return next(c.message for c in snapshot.choices if c.index == choice)


def dump_for_openai(value: Any) -> Any:
    """Like ``msgspec.to_builtins`` but keeping fields equal to their default
    (openai requires ``index=0``); absent (``None``/UNSET) fields are left out."""
    if isinstance(value, msgspec.Struct):
        return {
            name: dump_for_openai(field)
            for name in value.__struct_fields__
            if (field := getattr(value, name)) is not msgspec.UNSET and field is not None
        }
    if isinstance(value, list):
        return [dump_for_openai(item) for item in value]
    return value
