"""What ``chunkfold bench`` and ``benches/`` time: chunkfold's paths and today's tools.

Every implementation is a function from a list of reads (the ``bytes`` a
socket returned) to its native result. chunkfold's paths:

* ``sse``: :class:`chunkfold.SSEDecoder`, every event (framing only);
* ``chunks``: :class:`chunkfold.ChunkDecoder`, typed chunks (framing and decoding);
* ``feed``: :meth:`chunkfold.ChatCompletionAccumulator.feed`, the final completion.

The baselines fold the stream into the final completion too:

* ``openai``: openai-python's ``Stream`` (its ``SSEDecoder`` and pydantic
  chunks) folded by ``ChatCompletionStreamState``, over an ``httpx2.Response``;
* ``httpx-sse``: httpx-sse's ``EventSource.iter_sse()`` over an
  ``httpx.Response``, ``sse.json()``, and :class:`DictFold`;
* ``msgspec``: the best pure Python: ``bytes.split(b"\\n\\n")`` framing,
  msgspec Structs, and :class:`StructFold`;
* ``orjson``: the same framing, ``orjson.loads`` dicts, and :class:`DictFold`.

The ``bytes.split`` framer is not an SSE parser (no CR line ends, comments,
fields or multi-line data): it is only right for streams framed exactly as
OpenAI frames them, which is what makes it the fastest pure-Python path.
Baselines are imported when loaded, so a missing one raises ``ImportError``
naming the package to install. :func:`check` compares a result with what the
corpus recorded, and raises :class:`ResultMismatch` if they differ.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import msgspec

import chunkfold
from chunkfold.bench import limits
from chunkfold.bench.corpus import CorpusStream
from chunkfold.bench.implementation import (
    Implementation,
    Kind,
    Reads,
    ResultMismatch,
    Run,
    feed_all,
    first_difference,
    plain,
)
from chunkfold.chat.models import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    ChoiceLogprobs,
    CompletionUsage,
    Function,
)

__all__ = [
    "BY_NAME",
    "IMPLEMENTATIONS",
    "LIMITS",
    "DictFold",
    "Implementation",
    "Kind",
    "Reads",
    "ResultMismatch",
    "StructFold",
    "check",
    "openai_stream",
    "split_payloads",
    "summarize",
]

_BASE_URL = "http://127.0.0.1:9/v1"
_chunk_decoder = msgspec.json.Decoder(ChatCompletionChunk)


# --- chunkfold --------------------------------------------------------------------


def _chunkfold_sse() -> Run:
    """chunkfold.SSEDecoder: framing only, every event kept."""

    def run(reads: Reads) -> list[chunkfold.ServerSentEvent]:
        decoder = chunkfold.SSEDecoder()
        out: list[chunkfold.ServerSentEvent] = []
        for read in reads:
            out.extend(decoder.feed(read))
        out.extend(decoder.finish())
        return out

    return run


def _chunkfold_chunks() -> Run:
    """chunkfold.ChunkDecoder: typed chunks (msgspec Structs)."""

    def run(reads: Reads) -> list[ChatCompletionChunk]:
        decoder = chunkfold.ChunkDecoder()
        out: list[ChatCompletionChunk] = []
        for read in reads:
            out.extend(decoder.feed(read))
        out.extend(decoder.finish())
        return out

    return run


def _chunkfold_feed() -> Run:
    """chunkfold.ChatCompletionAccumulator.feed: bytes to the final completion."""

    def run(reads: Reads) -> ChatCompletion:
        completion: ChatCompletion = feed_all(chunkfold.ChatCompletionAccumulator, reads)
        return completion

    return run


# --- pure-Python folds ------------------------------------------------------------


class _ChoiceState:
    """One choice folded so far: text pieces in lists, joined at the end."""

    __slots__ = ("calls", "content", "finish_reason", "logprobs", "reasoning", "refusal", "role")

    def __init__(self) -> None:
        self.role: str | None = None
        self.content: list[str] | None = None
        self.refusal: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.calls: dict[int, list[Any]] = {}
        """By index: ``[id, type, name, argument pieces]``."""
        self.finish_reason: str | None = None
        self.logprobs: list[Any] | None = None

    def call(self, index: int, id: str | None, type: str | None, name: str | None) -> list[str]:
        """The argument pieces of call ``index``, after taking its id, type and name if new."""
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = [None, None, None, []]
        if id and not call[0]:
            call[0] = id
        if type and not call[1]:
            call[1] = type
        if name and not call[2]:
            call[2] = name
        pieces: list[str] = call[3]
        return pieces

    def add_logprobs(self, tokens: list[Any]) -> None:
        """Appends a chunk's ``logprobs.content`` tokens."""
        if self.logprobs is None:
            self.logprobs = list(tokens)
        else:
            self.logprobs.extend(tokens)


def _push(pieces: list[str] | None, text: str) -> list[str]:
    if pieces is None:
        return [text]
    pieces.append(text)
    return pieces


def _text(pieces: list[str] | None) -> str | None:
    return None if pieces is None else "".join(pieces)


class _Fold:
    """The envelope rules both folds share: first id, model and created; last
    fingerprint, service tier and usage."""

    __slots__ = ("choices", "created", "fingerprint", "id", "model", "service_tier", "usage")

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.fingerprint: str | None = None
        self.service_tier: str | None = None
        self.usage: Any = None
        self.choices: dict[int, _ChoiceState] = {}

    def _first(self, id: str | None, model: str | None, created: int | None) -> None:
        """Takes the first non-empty id and model and the first non-zero created
        (called only until all three are known)."""
        if id and not self.id:
            self.id = id
        if model and not self.model:
            self.model = model
        if created and not self.created:
            self.created = created

    def _choice(self, index: int) -> _ChoiceState:
        state = self.choices.get(index)
        if state is None:
            state = self.choices[index] = _ChoiceState()
        return state


class DictFold(_Fold):
    """Folds chunk dicts (``json.loads`` or ``orjson.loads`` output) into a
    ``ChatCompletion``-shaped dict: the fold one writes by hand over dicts.

    It handles what OpenAI-shaped streams carry: text, reasoning and refusal
    deltas, tool calls by ``index``, ``logprobs.content``, ``finish_reason``
    and usage. It has none of chunkfold's provider rules (calls without
    ``index``, list ``content``, annotations, errors).
    """

    __slots__ = ()

    def add(self, chunk: dict[str, Any]) -> None:
        """Folds one chunk."""
        if not (self.id and self.model and self.created):
            self._first(chunk.get("id"), chunk.get("model"), chunk.get("created"))
        if fingerprint := chunk.get("system_fingerprint"):
            self.fingerprint = fingerprint
        if tier := chunk.get("service_tier"):
            self.service_tier = tier
        if (usage := chunk.get("usage")) is not None:
            self.usage = usage
        for choice in chunk.get("choices") or ():
            state = self._choice(choice.get("index", 0))
            delta = choice.get("delta") or {}
            if (role := delta.get("role")) and state.role is None:
                state.role = role
            if (text := delta.get("content")) is not None:
                state.content = _push(state.content, text)
            if (text := delta.get("reasoning_content")) is not None:
                state.reasoning = _push(state.reasoning, text)
            if (text := delta.get("refusal")) is not None:
                state.refusal = _push(state.refusal, text)
            for call in delta.get("tool_calls") or ():
                function = call.get("function") or {}
                pieces = state.call(
                    call.get("index", 0), call.get("id"), call.get("type"), function.get("name")
                )
                if (arguments := function.get("arguments")) is not None:
                    pieces.append(arguments)
            if (logprobs := choice.get("logprobs")) is not None and (
                tokens := logprobs.get("content")
            ) is not None:
                state.add_logprobs(tokens)
            if reason := choice.get("finish_reason"):
                state.finish_reason = reason

    def finish(self) -> dict[str, Any]:
        """The completion as a dict, choices sorted by index."""
        choices = []
        for index, state in sorted(self.choices.items()):
            calls = [
                {
                    "id": c[0] or "",
                    "type": c[1] or "function",
                    "function": {"name": c[2] or "", "arguments": "".join(c[3])},
                }
                for _, c in sorted(state.calls.items())
            ]
            message = {
                "role": state.role or "assistant",
                "content": _text(state.content),
                "refusal": _text(state.refusal),
                "reasoning_content": _text(state.reasoning),
                "tool_calls": calls or None,
            }
            logprobs = None if state.logprobs is None else {"content": state.logprobs, "refusal": None}
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "finish_reason": state.finish_reason,
                    "logprobs": logprobs,
                }
            )
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "service_tier": self.service_tier,
            "system_fingerprint": self.fingerprint,
            "choices": choices,
            "usage": self.usage,
        }


class StructFold(_Fold):
    """Folds :class:`~chunkfold.chat.models.ChatCompletionChunk` Structs into a
    :class:`~chunkfold.chat.models.ChatCompletion`, by the same rules as :class:`DictFold`."""

    __slots__ = ()

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Folds one chunk."""
        if not (self.id and self.model and self.created):
            self._first(chunk.id, chunk.model, chunk.created)
        if chunk.system_fingerprint:
            self.fingerprint = chunk.system_fingerprint
        if chunk.service_tier:
            self.service_tier = chunk.service_tier
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices or ():
            state = self._choice(choice.index)
            delta = choice.delta
            if delta.role and state.role is None:
                state.role = delta.role
            if isinstance(text := delta.content, str):
                state.content = _push(state.content, text)
            if isinstance(reasoning := delta.reasoning_content, str):  # an extension: UNSET when absent
                state.reasoning = _push(state.reasoning, reasoning)
            if (text := delta.refusal) is not None:
                state.refusal = _push(state.refusal, text)
            for call in delta.tool_calls or ():
                function = call.function
                index = call.index if isinstance(call.index, int) else 0
                pieces = state.call(index, call.id, call.type, function.name if function else None)
                if function is not None and function.arguments is not None:
                    pieces.append(function.arguments)
            if choice.logprobs is not None and (tokens := choice.logprobs.content) is not None:
                state.add_logprobs(tokens)
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason

    def finish(self) -> ChatCompletion:
        """The final completion, choices sorted by index."""
        choices = []
        for index, state in sorted(self.choices.items()):
            calls = [
                ChatCompletionMessageToolCall(
                    id=c[0] or "",
                    type=c[1] or "function",
                    function=Function(name=c[2] or "", arguments="".join(c[3])),
                )
                for _, c in sorted(state.calls.items())
            ]
            message = ChatCompletionMessage(
                role=state.role or "assistant",
                content=_text(state.content),
                refusal=_text(state.refusal),
                reasoning_content=msgspec.UNSET if state.reasoning is None else _text(state.reasoning),
                tool_calls=calls or None,
            )
            tokens: list[ChatCompletionTokenLogprob] | None = state.logprobs
            logprobs = None if tokens is None else ChoiceLogprobs(content=tokens)
            choices.append(
                ChatCompletionChoice(
                    index=index, message=message, finish_reason=state.finish_reason, logprobs=logprobs
                )
            )
        usage: CompletionUsage | None = self.usage
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            service_tier=self.service_tier,
            system_fingerprint=self.fingerprint,
            choices=choices,
            usage=usage,
        )


def split_payloads(reads: Reads) -> list[bytes]:
    """``bytes.split(b"\\n\\n")`` with carry-over, ``data: `` stripped, up to ``[DONE]``:
    the fastest pure-Python framer, right only for streams framed as OpenAI frames them."""
    out: list[bytes] = []
    carry = b""
    for read in reads:
        parts = (carry + read if carry else read).split(b"\n\n")
        carry = parts.pop()
        for part in parts:
            if part.startswith(b"data: "):
                if part == b"data: [DONE]":
                    return out
                out.append(part[6:])
    return out


def _split_msgspec() -> Run:
    """bytes.split framing + msgspec Structs + a Struct fold: the best pure Python."""
    decode = msgspec.json.Decoder(ChatCompletionChunk).decode

    def run(reads: Reads) -> ChatCompletion:
        fold = StructFold()
        add = fold.add
        for payload in split_payloads(reads):
            add(decode(payload))
        return fold.finish()

    return run


def _split_orjson() -> Run:
    """bytes.split framing + orjson.loads dicts + a dict fold."""
    loads = importlib.import_module("orjson").loads

    def run(reads: Reads) -> dict[str, Any]:
        fold = DictFold()
        add = fold.add
        for payload in split_payloads(reads):
            add(loads(payload))
        return fold.finish()

    return run


# --- today's libraries ----------------------------------------------------------------


def _httpx_sse() -> Run:
    """httpx-sse's EventSource.iter_sse() + sse.json() + a dict fold."""
    import httpx
    import httpx_sse

    headers = {"content-type": "text/event-stream"}

    def run(reads: Reads) -> dict[str, Any]:
        response = httpx.Response(200, headers=headers, content=iter(reads))
        fold = DictFold()
        for sse in httpx_sse.EventSource(response).iter_sse():
            if sse.data == "[DONE]":
                break
            fold.add(sse.json())
        return fold.finish()

    return run


def openai_stream() -> Callable[[Reads], Any]:
    """A function from reads to openai-python's ``Stream`` of pydantic chunks over an
    ``httpx2.Response`` whose body yields them: what ``client.chat.completions.create(...,
    stream=True)`` returns, without a request ever being sent."""
    import httpx2
    import openai
    from openai.types.chat import ChatCompletionChunk as OpenAIChunk

    client = openai.OpenAI(api_key="sk-bench", base_url=_BASE_URL, max_retries=0)
    request = httpx2.Request("POST", f"{_BASE_URL}/chat/completions")
    headers = {"content-type": "text/event-stream"}

    def stream(reads: Reads) -> Any:
        response = httpx2.Response(200, headers=headers, content=iter(reads), request=request)
        return openai.Stream(cast_to=OpenAIChunk, response=response, client=client)

    return stream


def _openai() -> Run:
    """openai-python's Stream (its SSEDecoder, pydantic chunks) + ChatCompletionStreamState."""
    import openai
    from openai.lib.streaming.chat import ChatCompletionStreamState

    stream = openai_stream()

    def run(reads: Reads) -> Any:
        state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
        for chunk in stream(reads):
            state.handle_chunk(chunk)
        try:
            return state.get_final_completion()
        except openai.LengthFinishReasonError as exc:
            # openai raises when any choice ended with "length", even with no
            # response_format to parse (the n3 scenario); the completion is on the error.
            return exc.completion

    return run


#: Every implementation, chunkfold's first; ``feed`` is what the baselines are compared with.
IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation("sse", "chunkfold SSEDecoder", "sse", False, (), _chunkfold_sse),
    Implementation("chunks", "chunkfold ChunkDecoder", "chunks", False, (), _chunkfold_chunks),
    Implementation("feed", "chunkfold accumulate", "fold", False, (), _chunkfold_feed),
    Implementation("openai", "openai Stream + StreamState", "fold", True, ("openai",), _openai),
    Implementation("httpx-sse", "httpx-sse + json", "fold", True, ("httpx-sse",), _httpx_sse),
    Implementation("msgspec", "split + msgspec", "fold", True, (), _split_msgspec),
    Implementation("orjson", "split + orjson", "fold", True, ("orjson",), _split_orjson),
)

#: The msgspec floors of :mod:`chunkfold.bench.limits`, timed only when asked for by name.
LIMITS: tuple[Implementation, ...] = (
    Implementation("msgspec-array", "msgspec, one array", "chunks", True, (), limits.array_msgspec),
    Implementation(
        "msgspec-logprobs",
        "msgspec, logprob tokens",
        "logprobs",
        True,
        (),
        limits.logprobs_msgspec,
        ("logprobs",),
    ),
)

#: :data:`IMPLEMENTATIONS` and :data:`LIMITS` by name.
BY_NAME: dict[str, Implementation] = {impl.name: impl for impl in (*IMPLEMENTATIONS, *LIMITS)}


# --- checking results -------------------------------------------------------------------


def _token(entry: dict[str, Any]) -> tuple[Any, ...]:
    top = tuple(
        (t["token"], t["logprob"], tuple(t.get("bytes") or ())) for t in entry.get("top_logprobs") or ()
    )
    return entry["token"], entry["logprob"], tuple(entry.get("bytes") or ()), top


def _usage(usage: dict[str, Any] | None) -> dict[str, int] | None:
    if usage is None:
        return None
    details = usage.get("completion_tokens_details") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    return {
        "prompt_tokens": usage.get("prompt_tokens") or 0,
        "completion_tokens": usage.get("completion_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
        "reasoning_tokens": details.get("reasoning_tokens") or 0,
        "cached_tokens": prompt_details.get("cached_tokens") or 0,
    }


def _summary_choice(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message") or {}
    calls = [
        (
            c.get("id"),
            c.get("type"),
            (c.get("function") or {}).get("name"),
            (c.get("function") or {}).get("arguments"),
        )
        for c in message.get("tool_calls") or ()
    ]
    logprobs = choice.get("logprobs") or {}
    tokens = logprobs.get("content")
    return {
        "index": choice.get("index"),
        "role": message.get("role"),
        "content": message.get("content"),
        "refusal": message.get("refusal"),
        "reasoning_content": message.get("reasoning_content"),
        "tool_calls": calls,
        "finish_reason": choice.get("finish_reason"),
        "logprobs": None if tokens is None else [_token(t) for t in tokens],
    }


def summarize(completion: Any) -> dict[str, Any]:
    """A final completion of any implementation (chunkfold or openai models, or a dict)
    reduced to what every one must agree on, in plain Python values."""
    data = plain(completion)
    choices = sorted(data.get("choices") or (), key=lambda c: c.get("index") or 0)
    return {
        "id": data.get("id"),
        "model": data.get("model"),
        "created": data.get("created"),
        "system_fingerprint": data.get("system_fingerprint"),
        "usage": _usage(data.get("usage")),
        "choices": [_summary_choice(c) for c in choices],
    }


def check(implementation: Implementation, result: Any, stream: CorpusStream) -> None:
    """Raises :class:`ResultMismatch` unless ``result`` is what the stream must give.

    Framing must give every event's data (``[DONE]`` included); decoding, every
    chunk as msgspec decodes its payload; folding, the recorded completion
    (chunkfold's exactly, the baselines' as :func:`summarize` sees it).
    """
    expected = stream.expected
    where = f"{implementation.name} on {stream.name}"
    if implementation.kind == "sse":
        got: Any = [bytes(memoryview(event)) for event in result]
        want: Any = list(expected.payloads)
        if [event.event for event in result] != ["message"] * len(result):
            raise ResultMismatch(f"{where}: an event type is not 'message'")
    elif implementation.kind == "chunks":
        got = result
        want = [_chunk_decoder.decode(p) for p in expected.payloads if p != b"[DONE]"]
        if len(got) == len(want):
            got, want = plain(got), plain(want)
    elif implementation.kind == "logprobs":
        tokens = [t for c in expected.choices for t in c.logprobs or ()]
        got, want = plain(result), plain(msgspec.convert(tokens, list[ChatCompletionTokenLogprob]))
    elif isinstance(result, ChatCompletion) and not implementation.baseline:
        got, want = plain(result), plain(expected.completion())
    else:
        got, want = summarize(result), summarize(expected.completion())
    if got != want:
        if isinstance(got, list) and isinstance(want, list) and len(got) != len(want):
            raise ResultMismatch(f"{where}: {len(got)} items, expected {len(want)}")
        raise ResultMismatch(f"{where}: {first_difference(got, want)}")
