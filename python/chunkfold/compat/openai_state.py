"""``ChatCompletionStreamState``: openai-python's stream state, folded by chunkfold."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from chunkfold import events as ev
from chunkfold.chat.accumulate import ChatCompletionAccumulator

__all__ = ["ChatCompletionStreamState", "dump_for_openai"]

_any = msgspec.json.Decoder()


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


class ChatCompletionStreamState:
    """Drop-in for ``openai.lib.streaming.chat.ChatCompletionStreamState``.

    Switch with one import: ``from chunkfold.compat.openai import
    ChatCompletionStreamState``. ``handle_chunk()``,
    ``current_completion_snapshot`` and ``get_final_completion()`` take and
    return openai-python's own types, and ``response_format`` /
    ``input_tools`` parsing is openai-python's own; the folding is
    chunkfold's, O(1) per chunk instead of a rebuild of the whole message.

    Deliberate differences, per the README's merge rules: repeated roles are
    not concatenated, choices and tool calls are merged by ``index`` (and
    index-less tool calls by id) rather than list position, ``null`` never
    erases, and usage is the last non-null value. ``handle_chunk()``
    returns a lazy iterable of openai's events (``ChunkEvent``,
    ``ContentDeltaEvent`` and the rest): they are built only when iterated,
    so callers that ignore them pay nothing; ``parsed`` is left ``None`` on
    delta events (openai re-parses the partial content on every delta).
    """

    def __init__(self, *, input_tools: Any = None, response_format: Any = None) -> None:
        from openai import omit

        self._acc = ChatCompletionAccumulator(events=True)
        self._input_tools: list[Any] = [] if input_tools is None else list(input_tools)
        self._response_format = omit if response_format is None else response_format
        self._choices: dict[int, _Choice] = {}
        self._snapshot: tuple[int, Any] | None = None

    def handle_chunk(self, chunk: Any) -> Iterable[Any]:
        """Folds one openai ``ChatCompletionChunk``; returns its events, lazily."""
        payload = chunk.model_dump_json(exclude_unset=True, warnings=False).encode()
        plan: list[tuple[Any, ...]] = [("chunk", chunk)]
        by_choice: dict[int, list[ev.StreamEvent]] = {}
        for event in self._acc.add_json(payload):
            by_choice.setdefault(getattr(event, "choice", -1), []).append(event)
        for index, choice_events in by_choice.items():
            if index >= 0:
                self._plan_choice(self._choices.setdefault(index, _Choice()), index, choice_events, plan)
        return _Events(self, plan)

    def _plan_choice(
        self, state: _Choice, index: int, events: list[Any], plan: list[tuple[Any, ...]]
    ) -> None:
        finished = False
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
                plan.append(("tool.delta", event.index, event.name, state.tools[event.index], event.delta))
                tool_order.append(event.index)
            elif isinstance(event, ev.LogprobsDelta):
                kind = "refusal" if event.refusal else "content"
                snapshot = state.logprobs.setdefault(kind, [])
                snapshot.extend(event.tokens)
                plan.append((f"logprobs.{kind}.delta", event.tokens, list(snapshot)))
            elif isinstance(event, ev.ChoiceFinished):
                finished = True
        # openai's ChoiceEventState.get_done_events, step for step.
        if finished:
            self._plan_done(state, index, plan)
            if state.current_tool is not None:
                self._plan_tool_done(state, index, state.current_tool, plan)
        for tool in tool_order:
            if state.current_tool != tool:
                self._plan_done(state, index, plan)
                if state.current_tool is not None:
                    self._plan_tool_done(state, index, state.current_tool, plan)
            state.current_tool = tool

    @staticmethod
    def _plan_done(state: _Choice, index: int, plan: list[tuple[Any, ...]]) -> None:
        for kind, value in (("content", state.content), ("refusal", state.refusal)):
            if value is not None and (value or kind == "refusal") and kind not in state.done:
                state.done.add(kind)
                plan.append((f"{kind}.done", index, value))
        for kind, tokens in state.logprobs.items():
            if f"logprobs.{kind}" not in state.done:
                state.done.add(f"logprobs.{kind}")
                plan.append((f"logprobs.{kind}.done", list(tokens)))

    @staticmethod
    def _plan_tool_done(state: _Choice, index: int, tool: int, plan: list[tuple[Any, ...]]) -> None:
        if tool not in state.done_tools:
            state.done_tools.add(tool)
            plan.append(("tool.done", index, tool))

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
            self._snapshot = (self._acc.chunks, snapshot)
        return self._snapshot[1]

    def get_final_completion(self) -> Any:
        """The final completion, parsed by openai-python (``ParsedChatCompletion``)."""
        from openai.lib._parsing._completions import parse_chat_completion

        return parse_chat_completion(
            chat_completion=self.current_completion_snapshot,
            response_format=self._response_format,
            input_tools=self._input_tools,
        )


class _Events:
    """openai stream events for one chunk, built when iterated."""

    def __init__(self, state: ChatCompletionStreamState, plan: list[tuple[Any, ...]]) -> None:
        self._state = state
        self._plan = plan

    def __iter__(self) -> Iterator[Any]:
        from openai._models import build, construct_type
        from openai.lib._parsing._completions import maybe_parse_content, parse_function_tool_arguments
        from openai.lib.streaming.chat import _events as oe
        from openai.types.chat import ChatCompletionTokenLogprob

        def tokens(raw: list[dict[str, Any]]) -> list[Any]:
            return [construct_type(type_=ChatCompletionTokenLogprob, value=t) for t in raw]

        state = self._state
        for step in self._plan:
            kind = step[0]
            if kind == "chunk":
                yield build(
                    oe.ChunkEvent, type="chunk", chunk=step[1], snapshot=state.current_completion_snapshot
                )
            elif kind == "content.delta":
                yield build(oe.ContentDeltaEvent, type="content.delta", delta=step[1], snapshot=step[2])
            elif kind == "refusal.delta":
                yield build(oe.RefusalDeltaEvent, type="refusal.delta", delta=step[1], snapshot=step[2])
            elif kind == "tool.delta":
                _, index, name, arguments, delta = step
                yield build(
                    oe.FunctionToolCallArgumentsDeltaEvent,
                    type="tool_calls.function.arguments.delta",
                    name=name,
                    index=index,
                    arguments=arguments,
                    parsed_arguments=None,
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
                message = _message(state, step[1])
                parsed = maybe_parse_content(response_format=state._response_format, message=message)
                yield build(oe.ContentDoneEvent, type="content.done", content=step[2], parsed=parsed)
            elif kind == "refusal.done":
                yield build(oe.RefusalDoneEvent, type="refusal.done", refusal=step[2])
            elif kind == "tool.done":
                call = _message(state, step[1]).tool_calls[step[2]]
                parsed = parse_function_tool_arguments(input_tools=state._input_tools, function=call.function)
                yield build(
                    oe.FunctionToolCallArgumentsDoneEvent,
                    type="tool_calls.function.arguments.done",
                    name=call.function.name,
                    index=step[2],
                    arguments=call.function.arguments,
                    parsed_arguments=parsed,
                )


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
