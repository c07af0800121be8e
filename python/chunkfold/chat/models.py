"""msgspec Structs for the OpenAI Chat Completions streaming schema.

Names and fields mirror openai-python's ``openai.types.chat`` and
``openai.types.completion_usage``, so that code written against the SDK reads
the same (``chunk.choices[0].delta.content``). Provider extensions that carry
content or metering are typed fields; any other unknown field is tolerated
and dropped.

Wire format: what is encoded is what OpenAI sends. Every Struct derives from
one of two bases, and the base says how it encodes (``msgspec.json.encode``,
``msgspec.to_builtins``, ``encode_sse`` and the accumulator's results alike):

* :class:`WireModel`, for objects OpenAI always writes in full (the chunk, its
  choices, the completion, its choices and message, usage, logprobs, tool
  calls): every field OpenAI's own type declares is written, at its value,
  ``0`` and ``null`` included (``"index": 0``, ``"created": 0``,
  ``"finish_reason": null``, ``"choices": []``, ``"logprobs": null``).
* :class:`DeltaModel`, for objects OpenAI writes sparsely (a delta and its
  tool call, function and audio fragments): only the fields that hold a value
  are written, as OpenAI writes ``"delta": {"content": "Hi"}``.

In both, reading an OpenAI field that was absent gives ``None`` (or its
documented default: ``0``, ``""``, ``[]``), as in openai-python. Provider
extension fields (``reasoning_content``, ``reasoning``, ``reasoning_details``,
usage inside a choice, Azure's filter results, ``x_groq``, ``citations``,
``obfuscation``, ...) and OpenAI's own fields that OpenAI itself only
sometimes sends (``moderation``) are typed ``T | None | UnsetType`` and
default to ``msgspec.UNSET``: absent stays absent when encoded, and a ``null``
the provider sent stays ``null``. ``UNSET`` is falsy, so ``if
delta.reasoning_content:`` reads naturally. The same holds where absence and
``null`` mean different things among OpenAI's own fields: a tool call's
``index`` (Gemini and Mistral omit it).

Other conventions:

* ``choices`` that is ``null`` or missing decodes as ``[]``; a missing
  ``object`` decodes as OpenAI's value (Moonshot omits it).
* ``finish_reason`` and ``role`` keep whatever string the provider sent.
* Structs are ``kw_only`` and ``gc=False``: they hold no reference cycles.
  Neither base adds per-Struct work to decoding.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "Annotation",
    "AnnotationURLCitation",
    "ChatCompletion",
    "ChatCompletionAudio",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaAudio",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "CompletionTokensDetails",
    "CompletionUsage",
    "ContentPart",
    "DeltaModel",
    "Function",
    "FunctionCall",
    "Moderation",
    "PromptTokensDetails",
    "TopLogprob",
    "WireModel",
    "XGroq",
]


class WireModel(msgspec.Struct, kw_only=True, omit_defaults=False, gc=False, repr_omit_defaults=True):
    """Base of the objects OpenAI always writes in full: every field is
    encoded, at its value, except those that are ``msgspec.UNSET`` (provider
    extensions that were absent)."""


class DeltaModel(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False, repr_omit_defaults=True):
    """Base of the objects OpenAI writes sparsely (deltas and their
    fragments): only fields that differ from their default (``None``,
    ``UNSET``) are encoded."""


# --- usage -----------------------------------------------------------------


class CompletionTokensDetails(WireModel):
    """Breakdown of completion tokens."""

    accepted_prediction_tokens: int | None = None
    audio_tokens: int | None = None
    reasoning_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    text_tokens: int | None = None
    image_tokens: int | UnsetType | None = UNSET


class PromptTokensDetails(WireModel):
    """Breakdown of prompt tokens."""

    audio_tokens: int | None = None
    cache_write_tokens: int | None = None
    cached_tokens: int | None = None
    image_tokens: int | None = None
    text_tokens: int | None = None


class CompletionUsage(WireModel):
    """Token usage. Missing counters (some providers omit one) are 0."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    cost: float | UnsetType | None = UNSET
    """OpenRouter's price of the request, in credits."""


class XGroq(DeltaModel):
    """Groq's ``x_groq`` extension; its ``usage`` is the real usage."""

    id: str | None = None
    usage: CompletionUsage | None = None


# --- logprobs --------------------------------------------------------------


class TopLogprob(WireModel):
    """One of the most likely tokens at a position."""

    token: str
    logprob: float
    bytes: list[int] | None = None


class ChatCompletionTokenLogprob(WireModel):
    """A sampled token with its log probability."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(WireModel):
    """Log probabilities of a choice's content and refusal tokens."""

    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


# --- shared message parts ----------------------------------------------------


class AnnotationURLCitation(WireModel):
    """A web citation."""

    url: str = ""
    title: str = ""
    start_index: int = 0
    end_index: int = 0
    content: str | UnsetType | None = UNSET
    """OpenRouter's cited text."""


class Annotation(WireModel):
    """A message annotation, such as a ``url_citation``."""

    type: str = "url_citation"
    url_citation: AnnotationURLCitation | None = None


class ContentPart(DeltaModel):
    """A content part, for providers that stream ``content`` as a list
    (Mistral Magistral: ``text`` and ``thinking`` parts)."""

    type: str
    text: str | None = None
    thinking: list[ContentPart] | str | None = None


# --- chunk -----------------------------------------------------------------


class ChoiceDeltaFunctionCall(DeltaModel):
    """Deprecated ``function_call`` fragment."""

    arguments: str | None = None
    name: str | None = None


class ChoiceDeltaToolCallFunction(DeltaModel):
    """A fragment of a tool call's function name and arguments."""

    arguments: str | None = None
    name: str | None = None


class ChoiceDeltaToolCall(DeltaModel):
    """A fragment of a tool call. ``index`` is UNSET when the provider omits it."""

    index: int | UnsetType = UNSET
    id: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    type: str | None = None


class ChoiceDeltaAudio(DeltaModel):
    """A fragment of audio output."""

    id: str | None = None
    data: str | None = None
    expires_at: int | None = None
    transcript: str | None = None


class ChoiceDelta(DeltaModel):
    """What one chunk adds to a choice."""

    audio: ChoiceDeltaAudio | None = None
    content: str | list[ContentPart] | None = None
    function_call: ChoiceDeltaFunctionCall | None = None
    refusal: str | None = None
    role: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    reasoning_content: str | UnsetType | None = UNSET
    """DeepSeek, vLLM, Qwen, Z.ai."""
    reasoning: str | UnsetType | None = UNSET
    """OpenRouter, Groq, Ollama, Cerebras, xAI."""
    reasoning_details: list[dict[str, Any]] | UnsetType | None = UNSET
    """OpenRouter's structured (possibly encrypted) reasoning."""
    annotations: list[Annotation] | UnsetType | None = UNSET
    """OpenRouter sends citations one per delta."""


class Choice(WireModel):
    """One choice of a ``ChatCompletionChunk``."""

    delta: ChoiceDelta = msgspec.field(default_factory=ChoiceDelta)
    index: int = 0
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    usage: CompletionUsage | UnsetType | None = UNSET
    """Usage placed inside a choice (some vLLM and proxy builds)."""
    content_filter_results: dict[str, Any] | UnsetType | None = UNSET
    """Azure OpenAI content filtering."""


class Moderation(WireModel):
    """Moderation results attached to a chunk (kept as received)."""

    input: Any = None
    output: Any = None


class ChatCompletionChunk(WireModel):
    """One ``chat.completion.chunk`` of a streamed completion."""

    id: str = ""
    choices: list[Choice] | None = []
    created: int = 0
    model: str = ""
    object: str = "chat.completion.chunk"
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    obfuscation: str | UnsetType | None = UNSET
    """OpenAI's padding, sent on some streams only."""
    moderation: Moderation | UnsetType | None = UNSET
    """Sent with moderated requests only."""
    prompt_filter_results: list[dict[str, Any]] | UnsetType | None = UNSET
    """Azure OpenAI prompt filtering, usually on a first chunk with ``choices: []``."""
    x_groq: XGroq | UnsetType | None = UNSET
    citations: list[str] | UnsetType | None = UNSET
    """Perplexity's citation URLs, repeated in full on every chunk."""

    def __post_init__(self) -> None:
        if self.choices is None:
            self.choices = []


# --- final completion ------------------------------------------------------


class FunctionCall(WireModel):
    """Deprecated ``function_call`` of a message."""

    arguments: str = ""
    name: str = ""


class Function(WireModel):
    """The function a tool call invokes."""

    arguments: str = ""
    name: str = ""


class ChatCompletionMessageToolCall(WireModel):
    """A complete tool call."""

    id: str = ""
    function: Function = msgspec.field(default_factory=Function)
    type: str = "function"


class ChatCompletionAudio(WireModel):
    """Audio output of a message. A field the stream never sent is ``None``
    (openai's type requires all four)."""

    id: str | None = None
    data: str | None = None
    expires_at: int | None = None
    transcript: str | None = None


class ChatCompletionMessage(WireModel):
    """The message a choice produced."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    annotations: list[Annotation] | None = None
    audio: ChatCompletionAudio | None = None
    function_call: FunctionCall | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    reasoning_content: str | UnsetType | None = UNSET
    """DeepSeek, vLLM, Qwen, Z.ai, Moonshot, xAI, Mistral's ``thinking`` parts."""
    reasoning: str | UnsetType | None = UNSET
    """OpenRouter, Groq, Ollama, Cerebras."""


class ChatCompletionChoice(WireModel):
    """One choice of a ``ChatCompletion`` (openai's ``chat_completion.Choice``)."""

    index: int = 0
    message: ChatCompletionMessage = msgspec.field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(WireModel):
    """A whole chat completion, as folded from its chunks."""

    id: str = ""
    choices: list[ChatCompletionChoice] = []
    created: int = 0
    model: str = ""
    object: str = "chat.completion"
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    citations: list[str] | UnsetType | None = UNSET
    """Perplexity's citation URLs."""
