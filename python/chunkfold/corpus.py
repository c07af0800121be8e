"""Deterministic, seeded OpenAI chat completion streams for benchmarks and tests.

Every stream has the exact shape of what ``api.openai.com`` sends for
``stream: true`` with ``stream_options: {"include_usage": true}``: compact JSON,
the same ``id``/``created``/``model``/``system_fingerprint``/``service_tier`` on
every chunk, ``"usage":null`` until the final usage chunk, and an
``obfuscation`` string that pads each JSON payload to a length of
``1 (mod 16)`` characters, as recorded streams show. Non-ASCII text is sent as
raw UTF-8, not ``\\u`` escapes.

>>> body = chat_stream(3, seed=1)
>>> body.endswith(b"data: [DONE]\\n\\n")
True
>>> len(reads(body, "event")) == 3 + 4
True

New scenarios (parallel tool calls, ``n=3``, logprobs, reasoning, CJK) are
functions ``(seed) -> bytes`` built on :class:`StreamBuilder` and registered
with :func:`scenario`.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DONE_FRAME",
    "MODEL",
    "READ_PATTERNS",
    "SCENARIOS",
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

# Common English words, with a few non-ASCII ones so that reads cut UTF-8
# sequences. Tokens are drawn uniformly from it.
_WORD_TEXT: Final = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there one all we their can has been if more when will "
    "would who so no time people year way day man thing woman life child world school state "
    "family student group country problem hand part place case week company system program "
    "question work government number night point home water room mother area money story fact "
    "month lot right study book eye job word business issue side kind head house service friend "
    "father power hour game line end member law car city community name president team minute "
    "idea kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education good new first last long great little own other old big high different small "
    "large next early young important few public bad same able make know take see come think "
    "look want give use find tell ask seem feel try leave call keep provide hold turn follow "
    "begin bring show hear play run move live believe happen write sit stand lose pay meet "
    "include continue set learn lead understand watch stop create speak read allow add spend "
    "grow open walk win offer remember consider appear buy wait serve die send expect build stay "
    "fall cut reach kill remain suggest raise pass sell require report decide pull however often "
    "usually quickly carefully simply especially example pattern stream token model response "
    "request chunk parser buffer latency café naïve résumé façade coördinate"
)
_WORDS: Final = tuple(_WORD_TEXT.split())
_PUNCT: Final = (",", ".", ";", ":", "\u2019s", " \u2014", ".\n\n")
_PUNCT_WEIGHTS: Final = (10, 8, 1, 1, 2, 1, 2)


def words(count: int, *, seed: int = 0) -> list[str]:
    """Returns ``count`` English-ish tokens as a model streams them.

    Words carry a leading space, sentences start capitalised, punctuation
    (including ``".\\n\\n"`` paragraph breaks) comes as separate tokens, and
    the text ends with ``"."``. The same ``count`` and ``seed`` give the same text.
    """
    rng = random.Random(f"words:{seed}")
    last = count - 1 if count > 1 else count
    out: list[str] = []
    sentence_start = True
    since_punct = 0
    while len(out) < last:
        if since_punct >= 3 and len(out) < last - 1 and rng.random() < 0.18:
            mark = rng.choices(_PUNCT, _PUNCT_WEIGHTS)[0]
            out.append(mark)
            since_punct = 0
            sentence_start = mark.startswith(".")
            continue
        word = rng.choice(_WORDS)
        if sentence_start:
            word = word.capitalize()
        out.append(word if not out or out[-1].endswith("\n") else " " + word)
        since_punct += 1
        sentence_start = False
    if count > 1:
        out.append(".")
    return out


class StreamBuilder:
    """Writes the frames of one stream; the building block of every scenario.

    It fixes the per-stream envelope (``id``, ``created``, ``system_fingerprint``)
    from ``seed`` and keeps a seeded :attr:`rng` for the scenario's own choices.
    """

    __slots__ = ("_head", "created", "fingerprint", "id", "model", "rng")

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

    def frame(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        """One ``data: {...}\\n\\n`` frame carrying ``choices`` and ``usage``."""
        obj = {**self._head, "choices": choices, "usage": usage, "obfuscation": ""}
        text = _dumps(obj)
        pad = (1 - len(text)) % 16
        if pad:
            obf = "".join(self.rng.choices(_ALNUM, k=pad))
            text = text[:-2] + obf + '"}'
        return b"data: " + text.encode() + b"\n\n"

    def delta(
        self,
        delta: dict[str, Any],
        *,
        index: int = 0,
        finish_reason: str | None = None,
        logprobs: dict[str, Any] | None = None,
    ) -> bytes:
        """A frame with a single choice carrying ``delta``."""
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        return self.frame([choice])

    def role(self, *, index: int = 0) -> bytes:
        """The first frame of a choice: ``role``, empty ``content`` and ``refusal``."""
        return self.delta({"role": "assistant", "content": "", "refusal": None}, index=index)

    def content(self, text: str, *, index: int = 0) -> bytes:
        """A content token frame."""
        return self.delta({"content": text}, index=index)

    def stop(self, reason: str = "stop", *, index: int = 0) -> bytes:
        """The empty-delta frame that ends a choice."""
        return self.delta({}, index=index, finish_reason=reason)

    def usage(self, prompt_tokens: int, completion_tokens: int, *, reasoning_tokens: int = 0) -> bytes:
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
        return self.frame([], usage)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def chat_stream(tokens: int = 500, *, seed: int = 0) -> bytes:
    """A plain text answer of ``tokens`` content chunks, then stop, usage and ``[DONE]``.

    About 300 bytes a chunk, as from OpenAI: 500 tokens make about 160 kB.
    """
    out = StreamBuilder(seed=seed)
    frames = [out.role()]
    frames.extend(out.content(token) for token in words(tokens, seed=seed))
    frames.append(out.stop())
    frames.append(out.usage(out.rng.randrange(12, 400), tokens))
    frames.append(DONE_FRAME)
    return b"".join(frames)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named corpus stream: ``build(seed)`` returns its bytes."""

    name: str
    description: str
    build: Callable[[int], bytes]

    def body(self, seed: int = 0) -> bytes:
        """The stream for ``seed``."""
        return self.build(seed)


#: Every registered scenario, by name.
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str) -> Callable[[Callable[[int], bytes]], Callable[[int], bytes]]:
    """Registers a ``(seed) -> bytes`` function in :data:`SCENARIOS` under ``name``."""

    def register(build: Callable[[int], bytes]) -> Callable[[int], bytes]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is already registered")
        SCENARIOS[name] = Scenario(name, description, build)
        return build

    return register


@scenario("chat", "gpt-4o text answer, 500 content tokens, with usage (~160 kB)")
def _chat(seed: int) -> bytes:
    return chat_stream(500, seed=seed)


@scenario("long", "gpt-4o text answer, 4000 content tokens, with usage (~1.3 MB)")
def _long(seed: int) -> bytes:
    return chat_stream(4000, seed=seed)


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
