"""Deterministic, seeded OpenAI chat completion streams for benchmarks and tests.

Every stream has the exact shape of what ``api.openai.com`` sends for
``stream: true`` with ``stream_options: {"include_usage": true}``: compact JSON,
the same ``id``/``created``/``model``/``system_fingerprint``/``service_tier`` on
every chunk, a first chunk per choice carrying the ``role``, ``"usage":null``
until the final usage chunk with ``"choices":[]``, ``data: [DONE]``, and an
``obfuscation`` string that pads each JSON payload to a length of
``1 (mod 16)`` characters, as recorded streams show. Non-ASCII text is sent as
raw UTF-8, not ``\\u`` escapes.

>>> body = chat_stream(3, seed=1)
>>> body.endswith(b"data: [DONE]\\n\\n")
True
>>> len(reads(body, "event")) == 3 + 4
True

Scenarios (:data:`SCENARIOS`): ``chat`` (500 tokens), ``long`` (4,000),
``tools`` (three parallel tool calls, arguments in token-sized fragments),
``n3`` (three interleaved choices), ``logprobs`` (``top_logprobs=5``),
``reasoning`` (``reasoning_content`` deltas, then content) and ``cjk`` (CJK
text and emoji, with ZWJ sequences split across chunks). Each one is a
function ``(seed) -> CorpusStream`` built on :class:`StreamBuilder`, whose typed
helpers record what every frame adds, so :attr:`CorpusStream.expected` holds
the result a correct fold must give without running any fold.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from chunkfold.bench._corpus_text import cjk_tokens, fragments, logprob_entry, tool_calls, words
from chunkfold.chat.models import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChoiceLogprobs,
    CompletionUsage,
    Function,
)

__all__ = [
    "DONE_FRAME",
    "MODEL",
    "READ_PATTERNS",
    "SCENARIOS",
    "CorpusStream",
    "Expected",
    "ExpectedChoice",
    "ExpectedToolCall",
    "Scenario",
    "StreamBuilder",
    "chat_stream",
    "reads",
    "scenario",
    "words",
]

#: The model that recorded gpt-4o streams name.
MODEL: Final = "gpt-4o-2024-08-06"
#: The frame that ends every stream.
DONE_FRAME: Final = b"data: [DONE]\n\n"
#: The read patterns :func:`reads` accepts.
READ_PATTERNS: Final = ("event", "1k", "16k", "64k", "random")

_ALNUM: Final = string.ascii_letters + string.digits
_FIXED_SIZES: Final = {"1k": 1024, "16k": 16 * 1024, "64k": 64 * 1024}
_MAX_RANDOM_READ: Final = 4096
_CONTINUATION_BYTE: Final = re.compile(rb"[\x80-\xbf]")
_BLANK_LINE: Final = re.compile(rb"(?<=\n)\n")

# --- what a correct fold gives ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedToolCall:
    """A tool call as the fold of its fragments must give it."""

    id: str
    name: str
    arguments: str
    type: str = "function"


@dataclass(frozen=True, slots=True)
class ExpectedChoice:
    """One choice as a correct fold must give it."""

    index: int
    role: str
    content: str | None
    reasoning_content: str | None
    tool_calls: tuple[ExpectedToolCall, ...]
    finish_reason: str | None
    logprobs: tuple[dict[str, Any], ...] | None
    """The ``logprobs.content`` tokens in order; ``None`` when no chunk carried logprobs."""


@dataclass(frozen=True, slots=True)
class Expected:
    """What folding a corpus stream must give, recorded while it was written."""

    id: str
    created: int
    model: str
    service_tier: str
    system_fingerprint: str
    choices: tuple[ExpectedChoice, ...]
    usage: dict[str, Any] | None
    payloads: tuple[bytes, ...]
    """The data of every event in order, ``b"[DONE]"`` included."""

    @property
    def chunks(self) -> int:
        """The number of chunk payloads, ``[DONE]`` excluded."""
        return sum(p != b"[DONE]" for p in self.payloads)

    def completion(self) -> ChatCompletion:
        """The whole :class:`~chunkfold.chat.models.ChatCompletion` the README's merge rules give."""
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            service_tier=self.service_tier,
            system_fingerprint=self.system_fingerprint,
            usage=None if self.usage is None else msgspec.convert(self.usage, CompletionUsage),
            choices=[_completion_choice(c) for c in self.choices],
        )


def _completion_choice(choice: ExpectedChoice) -> ChatCompletionChoice:
    calls = [
        ChatCompletionMessageToolCall(
            id=c.id, type=c.type, function=Function(name=c.name, arguments=c.arguments)
        )
        for c in choice.tool_calls
    ]
    message = ChatCompletionMessage(
        role=choice.role,
        content=choice.content,
        reasoning_content=msgspec.UNSET if choice.reasoning_content is None else choice.reasoning_content,
        tool_calls=calls or None,
    )
    logprobs = None
    if choice.logprobs is not None:
        logprobs = msgspec.convert({"content": list(choice.logprobs)}, ChoiceLogprobs)
    return ChatCompletionChoice(
        index=choice.index, message=message, finish_reason=choice.finish_reason, logprobs=logprobs
    )


@dataclass(frozen=True, slots=True)
class CorpusStream:
    """A corpus stream's bytes with the result folding them must give."""

    name: str
    body: bytes
    expected: Expected

    @property
    def chunks(self) -> int:
        """The number of chunk payloads, ``[DONE]`` excluded."""
        return self.expected.chunks


@dataclass(slots=True)
class _Record:
    """What the frames written so far add to one choice."""

    role: str | None = None
    content: list[str] | None = None
    reasoning: list[str] | None = None
    calls: dict[int, tuple[str, str, list[str]]] = field(default_factory=dict)
    finish_reason: str | None = None
    logprobs: list[dict[str, Any]] | None = None


def _join(pieces: list[str] | None) -> str | None:
    return None if pieces is None else "".join(pieces)


def _append(pieces: list[str] | None, text: str) -> list[str]:
    if pieces is None:
        return [text]
    pieces.append(text)
    return pieces


# --- writing streams ------------------------------------------------------------


class StreamBuilder:
    """Writes the frames of one stream and records what each adds to the fold.

    It fixes the per-stream envelope (``id``, ``created``, ``system_fingerprint``)
    from ``seed`` and keeps a seeded :attr:`rng` for the scenario's own choices.
    The typed helpers (:meth:`role`, :meth:`content`, :meth:`reasoning`,
    :meth:`tool_call`, :meth:`tool_arguments`, :meth:`stop`, :meth:`usage`,
    :meth:`done`) append a frame and record its effect; :meth:`stream` returns
    the bytes with the :class:`Expected` result. :meth:`frame` writes a raw
    frame and records nothing but its payload.
    """

    __slots__ = (
        "_frames",
        "_head",
        "_payloads",
        "_records",
        "_usage",
        "created",
        "fingerprint",
        "id",
        "model",
        "rng",
    )

    def __init__(self, *, seed: int = 0, model: str = MODEL) -> None:
        self.rng = random.Random(f"stream:{seed}")
        self.id = "chatcmpl-" + "".join(self.rng.choices(_ALNUM, k=29))
        self.created = 1_754_000_000 + self.rng.randrange(10_000_000)
        self.fingerprint = "fp_" + "".join(self.rng.choices("0123456789abcdef", k=10))
        self.model = model
        self._head = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": self.fingerprint,
        }
        self._frames: list[bytes] = []
        self._payloads: list[bytes] = []
        self._records: dict[int, _Record] = {}
        self._usage: dict[str, Any] | None = None

    def frame(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        """Appends and returns one ``data: {...}\\n\\n`` frame carrying ``choices`` and ``usage``."""
        obj = {**self._head, "choices": choices, "usage": usage, "obfuscation": ""}
        text = _dumps(obj)
        pad = (1 - len(text)) % 16
        if pad:
            obf = "".join(self.rng.choices(_ALNUM, k=pad))
            text = text[:-2] + obf + '"}'
        payload = text.encode()
        self._payloads.append(payload)
        frame = b"data: " + payload + b"\n\n"
        self._frames.append(frame)
        return frame

    def _choice(
        self,
        delta: dict[str, Any],
        *,
        index: int,
        finish_reason: str | None = None,
        logprobs: dict[str, Any] | None = None,
    ) -> _Record:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        self.frame([choice])
        return self._records.setdefault(index, _Record())

    def role(
        self,
        *,
        index: int = 0,
        content: str | None = "",
        refusal: bool = True,
        reasoning: bool = False,
        logprobs: bool = False,
    ) -> None:
        """The first frame of a choice: ``role`` and ``content`` (``""``, or ``null`` before
        tool calls), then ``refusal: null`` if ``refusal``, ``reasoning_content: ""`` if
        ``reasoning``, and an empty ``logprobs.content`` list if ``logprobs``."""
        delta: dict[str, Any] = {"role": "assistant", "content": content}
        if refusal:
            delta["refusal"] = None
        if reasoning:
            delta["reasoning_content"] = ""
        lp: dict[str, Any] | None = {"content": [], "refusal": None} if logprobs else None
        record = self._choice(delta, index=index, logprobs=lp)
        record.role = "assistant"
        if content is not None:
            record.content = _append(record.content, content)
        if reasoning:
            record.reasoning = _append(record.reasoning, "")
        if logprobs and record.logprobs is None:
            record.logprobs = []

    def content(
        self,
        text: str,
        *,
        index: int = 0,
        logprobs: list[dict[str, Any]] | None = None,
        reasoning_null: bool = False,
    ) -> None:
        """A content token frame, with its ``logprobs.content`` entries if given, and
        ``reasoning_content: null`` if ``reasoning_null`` (as DeepSeek sends after reasoning)."""
        delta: dict[str, Any] = {"content": text}
        if reasoning_null:
            delta["reasoning_content"] = None
        lp = None if logprobs is None else {"content": logprobs, "refusal": None}
        record = self._choice(delta, index=index, logprobs=lp)
        record.content = _append(record.content, text)
        if logprobs is not None:
            record.logprobs = (record.logprobs or []) + logprobs

    def reasoning(self, text: str, *, index: int = 0) -> None:
        """A ``reasoning_content`` token frame with ``content: null``, as DeepSeek and vLLM send."""
        record = self._choice({"content": None, "reasoning_content": text}, index=index)
        record.reasoning = _append(record.reasoning, text)

    def tool_call(self, *, call: int, id: str, name: str, choice: int = 0) -> None:
        """The frame that opens tool call ``call``: its id, type, name and empty arguments."""
        function = {"name": name, "arguments": ""}
        opening = {"index": call, "id": id, "type": "function", "function": function}
        record = self._choice({"tool_calls": [opening]}, index=choice)
        record.calls[call] = (id, name, [])

    def tool_arguments(self, fragment: str, *, call: int, choice: int = 0) -> None:
        """A fragment of tool call ``call``'s arguments."""
        delta = {"tool_calls": [{"index": call, "function": {"arguments": fragment}}]}
        self._choice(delta, index=choice).calls[call][2].append(fragment)

    def stop(self, reason: str = "stop", *, index: int = 0) -> None:
        """The empty-delta frame that ends a choice."""
        self._choice({}, index=index, finish_reason=reason).finish_reason = reason

    def usage(self, prompt_tokens: int, completion_tokens: int, *, reasoning_tokens: int = 0) -> None:
        """The final ``"choices":[]`` usage frame."""
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        self.frame([], usage)
        self._usage = usage

    def done(self) -> None:
        """The ``data: [DONE]`` frame."""
        self._frames.append(DONE_FRAME)
        self._payloads.append(b"[DONE]")

    def body(self) -> bytes:
        """The stream written so far."""
        return b"".join(self._frames)

    def stream(self, name: str = "") -> CorpusStream:
        """The stream written so far with the result folding it must give."""
        choices = tuple(
            ExpectedChoice(
                index=index,
                role=record.role or "assistant",
                content=_join(record.content),
                reasoning_content=_join(record.reasoning),
                tool_calls=tuple(
                    ExpectedToolCall(id, fn, "".join(fragments))
                    for _, (id, fn, fragments) in sorted(record.calls.items())
                ),
                finish_reason=record.finish_reason,
                logprobs=None if record.logprobs is None else tuple(record.logprobs),
            )
            for index, record in sorted(self._records.items())
        )
        expected = Expected(
            id=self.id,
            created=self.created,
            model=self.model,
            service_tier="default",
            system_fingerprint=self.fingerprint,
            choices=choices,
            usage=self._usage,
            payloads=tuple(self._payloads),
        )
        return CorpusStream(name, self.body(), expected)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _chat(tokens: int, seed: int) -> StreamBuilder:
    out = StreamBuilder(seed=seed)
    out.role()
    for token in words(tokens, seed=seed):
        out.content(token)
    out.stop()
    out.usage(out.rng.randrange(12, 400), tokens)
    out.done()
    return out


def chat_stream(tokens: int = 500, *, seed: int = 0) -> bytes:
    """A plain text answer of ``tokens`` content chunks, then stop, usage and ``[DONE]``.

    About 300 bytes a chunk, as from OpenAI: 500 tokens make about 160 kB.
    """
    return _chat(tokens, seed).body()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named corpus stream: ``build(seed)`` writes it."""

    name: str
    description: str
    build: Callable[[int], StreamBuilder]

    def stream(self, seed: int = 0) -> CorpusStream:
        """The stream for ``seed`` with its expected fold."""
        return self.build(seed).stream(self.name)

    def body(self, seed: int = 0) -> bytes:
        """The stream's bytes for ``seed``."""
        return self.build(seed).body()


#: Every registered scenario, by name, in registration order.
SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, description: str
) -> Callable[[Callable[[int], StreamBuilder]], Callable[[int], StreamBuilder]]:
    """Registers a ``(seed) -> StreamBuilder`` function in :data:`SCENARIOS` under ``name``."""

    def register(build: Callable[[int], StreamBuilder]) -> Callable[[int], StreamBuilder]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is already registered")
        SCENARIOS[name] = Scenario(name, description, build)
        return build

    return register


@scenario("chat", "gpt-4o text answer, 500 content tokens, with usage (~160 kB)")
def _chat_500(seed: int) -> StreamBuilder:
    return _chat(500, seed)


@scenario("long", "gpt-4o text answer, 4000 content tokens, with usage (~1.3 MB)")
def _chat_4000(seed: int) -> StreamBuilder:
    return _chat(4000, seed)


# --- tool calls -------------------------------------------------------------------


@scenario("tools", "three parallel tool calls, arguments in token-sized fragments (finish tool_calls)")
def _tools(seed: int) -> StreamBuilder:
    out = StreamBuilder(seed=seed)
    out.role(content=None, refusal=False)
    tokens = 0
    for call, (name, arguments) in enumerate(tool_calls(out.rng)):
        out.tool_call(call=call, id="call_" + "".join(out.rng.choices(_ALNUM, k=24)), name=name)
        for fragment in fragments(_dumps(arguments), out.rng):
            out.tool_arguments(fragment, call=call)
            tokens += 1
    out.stop("tool_calls")
    out.usage(out.rng.randrange(200, 900), tokens + 9)
    out.done()
    return out


# --- several choices, logprobs, reasoning ---------------------------------------------


@scenario("n3", "n=3: three 300-token choices interleaved at random, one ending with length")
def _n3(seed: int) -> StreamBuilder:
    out = StreamBuilder(seed=seed)
    texts = [words(300, seed=seed * 3 + k) for k in range(3)]
    reasons = ("stop", "stop", "length")
    # As recorded n>1 streams do: each choice's role frame just before its first token.
    for k, text in enumerate(texts):
        out.role(index=k)
        out.content(text.pop(0), index=k)
    live = [0, 1, 2]
    while live:
        k = out.rng.choice(live)
        if texts[k]:
            out.content(texts[k].pop(0), index=k)
        else:
            out.stop(reasons[k], index=k)
            live.remove(k)
    out.usage(out.rng.randrange(12, 400), 900)
    out.done()
    return out


@scenario("logprobs", "300 content tokens with logprobs and top_logprobs=5 (~1.3 kB a chunk)")
def _logprobs(seed: int) -> StreamBuilder:
    out = StreamBuilder(seed=seed)
    out.role(logprobs=True)
    for token in words(300, seed=seed):
        out.content(token, logprobs=[logprob_entry(token, out.rng)])
    out.stop()
    out.usage(out.rng.randrange(12, 400), 300)
    out.done()
    return out


@scenario("reasoning", "400 reasoning_content tokens then 200 content tokens (DeepSeek/vLLM deltas)")
def _reasoning(seed: int) -> StreamBuilder:
    """OpenAI's chat API does not stream reasoning text; DeepSeek, vLLM, SGLang and
    Qwen send it as ``reasoning_content`` deltas next to ``content: null``, then
    ``content`` deltas next to ``reasoning_content: null``. The envelope stays OpenAI's."""
    out = StreamBuilder(seed=seed)
    out.role(content=None, refusal=False, reasoning=True)
    for token in words(400, seed=seed):
        out.reasoning(token)
    for token in words(200, seed=seed + 100_000):
        out.content(token, reasoning_null=True)
    out.stop()
    out.usage(out.rng.randrange(12, 400), 600, reasoning_tokens=400)
    out.done()
    return out


# --- CJK and emoji --------------------------------------------------------------------


@scenario("cjk", "500 tokens of Chinese, Japanese and Korean text with emoji, raw UTF-8")
def _cjk(seed: int) -> StreamBuilder:
    out = StreamBuilder(seed=seed)
    out.role()
    for token in cjk_tokens(500, random.Random(f"cjk:{seed}")):
        out.content(token)
    out.stop()
    out.usage(out.rng.randrange(12, 400), 500)
    out.done()
    return out


def reads(body: bytes, pattern: str, *, seed: int = 0) -> list[bytes]:
    """Splits ``body`` into the reads a socket might return; they join back to ``body``.

    Patterns:

    * ``"event"``: one read per SSE event, each ending after its ``\\n\\n``.
    * ``"1k"``, ``"16k"``, ``"64k"``: fixed 1024, 16384 and 65536-byte reads.
    * ``"random"``: seeded sizes from 1 to 4096 bytes, cutting events, lines,
      ``\\n\\n`` pairs and some multi-byte UTF-8 characters in the middle.
    """
    if pattern == "event":
        out: list[bytes] = []
        start = 0
        while (end := body.find(b"\n\n", start)) != -1:
            out.append(body[start : end + 2])
            start = end + 2
        if start < len(body):
            out.append(body[start:])
        return out
    if pattern in _FIXED_SIZES:
        size = _FIXED_SIZES[pattern]
        return [body[i : i + size] for i in range(0, len(body), size)]
    if pattern == "random":
        return [body[a:b] for a, b in itertools.pairwise(_random_cuts(body, seed))]
    raise ValueError(f"unknown read pattern {pattern!r}; expected one of {READ_PATTERNS}")


def _random_cuts(body: bytes, seed: int) -> list[int]:
    rng = random.Random(f"reads:{seed}")
    cuts = {0, len(body)}
    pos = 0
    while pos < len(body):
        pos += rng.randint(1, _MAX_RANDOM_READ)
        cuts.add(min(pos, len(body)))
    # Extra cuts only shorten reads. Cut inside multi-byte characters and
    # between the two newlines ending an event, which sizes alone rarely hit.
    for where in (_CONTINUATION_BYTE, _BLANK_LINE):
        found = [m.start() for m in where.finditer(body)]
        cuts.update(rng.sample(found, min(len(found), 16)))
    return sorted(cuts)
