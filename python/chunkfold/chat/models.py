"""msgspec Structs for the OpenAI Chat Completions streaming schema.

Names and fields mirror openai-python's ``openai.types.chat`` and
``openai.types.completion_usage``, so that code written against the SDK reads
the same (``chunk.choices[0].delta.content``). Provider extensions that carry
content or metering are typed optional fields; any other unknown field is
tolerated and dropped.

Conventions:

* An absent optional field is ``None``, as in openai-python. Where absence and
  ``null`` mean different things, absence is ``msgspec.UNSET``: a tool call's
  ``index`` (Gemini and Mistral omit it) and the chunk's ``object`` (Moonshot
  omits it).
* ``choices`` that is ``null`` or missing decodes as ``[]``.
* ``finish_reason`` and ``role`` keep whatever string the provider sent.
* Structs are ``kw_only``, ``omit_defaults`` (encoding drops ``None`` fields)
  and ``gc=False``: they hold no reference cycles.
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
    "Function",
    "FunctionCall",
    "Moderation",
    "PromptTokensDetails",
    "TopLogprob",
    "XGroq",
]


class _Model(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False, repr_omit_defaults=True):
    """Shared Struct options."""


# --- usage -----------------------------------------------------------------


class CompletionTokensDetails(_Model):
    """Breakdown of completion tokens."""

    accepted_prediction_tokens: int | None = None
    audio_tokens: int | None = None
    reasoning_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    text_tokens: int | None = None
    image_tokens: int | None = None


class PromptTokensDetails(_Model):
    """Breakdown of prompt tokens."""

    audio_tokens: int | None = None
    cache_write_tokens: int | None = None
    cached_tokens: int | None = None
    image_tokens: int | None = None
    text_tokens: int | None = None


class CompletionUsage(_Model):
    """Token usage. Missing counters (some providers omit one) are 0."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    cost: float | None = None
    """OpenRouter's price of the request, in credits."""


class XGroq(_Model):
    """Groq's ``x_groq`` extension; its ``usage`` is the real usage."""

    id: str | None = None
    usage: CompletionUsage | None = None


# --- logprobs --------------------------------------------------------------


class TopLogprob(_Model):
    """One of the most likely tokens at a position."""

    token: str
    logprob: float
    bytes: list[int] | None = None


class ChatCompletionTokenLogprob(_Model):
    """A sampled token with its log probability."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(_Model):
    """Log probabilities of a choice's content and refusal tokens."""

    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


# --- shared message parts ----------------------------------------------------


class AnnotationURLCitation(_Model):
    """A web citation."""

    url: str = ""
    title: str = ""
    start_index: int = 0
    end_index: int = 0
    content: str | None = None


class Annotation(_Model):
    """A message annotation, such as a ``url_citation``."""

    type: str = "url_citation"
    url_citation: AnnotationURLCitation | None = None


class ContentPart(_Model):
    """A content part, for providers that stream ``content`` as a list
    (Mistral Magistral: ``text`` and ``thinking`` parts)."""

    type: str
    text: str | None = None
    thinking: list[ContentPart] | str | None = None


# --- chunk -----------------------------------------------------------------


class ChoiceDeltaFunctionCall(_Model):
    """Deprecated ``function_call`` fragment."""

    arguments: str | None = None
    name: str | None = None


class ChoiceDeltaToolCallFunction(_Model):
    """A fragment of a tool call's function name and arguments."""

    arguments: str | None = None
    name: str | None = None


class ChoiceDeltaToolCall(_Model):
    """A fragment of a tool call. ``index`` is UNSET when the provider omits it."""

    index: int | UnsetType = UNSET
    id: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    type: str | None = None


class ChoiceDeltaAudio(_Model):
    """A fragment of audio output."""

    id: str | None = None
    data: str | None = None
    expires_at: int | None = None
    transcript: str | None = None


class ChoiceDelta(_Model):
    """What one chunk adds to a choice."""

    audio: ChoiceDeltaAudio | None = None
    content: str | list[ContentPart] | None = None
    function_call: ChoiceDeltaFunctionCall | None = None
    refusal: str | None = None
    role: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    reasoning_content: str | None = None
    """DeepSeek, vLLM, Qwen, Z.ai."""
    reasoning: str | None = None
    """OpenRouter, Groq, Ollama, Cerebras, xAI."""
    reasoning_details: list[dict[str, Any]] | None = None
    """OpenRouter's structured (possibly encrypted) reasoning."""
    annotations: list[Annotation] | None = None
    """OpenRouter sends citations one per delta."""


class Choice(_Model):
    """One choice of a ``ChatCompletionChunk``."""

    delta: ChoiceDelta = msgspec.field(default_factory=ChoiceDelta)
    index: int = 0
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    usage: CompletionUsage | None = None
    """Usage placed inside a choice (some vLLM and proxy builds)."""
    content_filter_results: dict[str, Any] | None = None
    """Azure OpenAI content filtering."""


class Moderation(_Model):
    """Moderation results attached to a chunk (kept as received)."""

    input: Any = None
    output: Any = None


class ChatCompletionChunk(_Model):
    """One ``chat.completion.chunk`` of a streamed completion."""

    id: str = ""
    choices: list[Choice] | None = []
    created: int = 0
    model: str = ""
    object: str | UnsetType = UNSET
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    obfuscation: str | None = None
    moderation: Moderation | None = None
    prompt_filter_results: list[dict[str, Any]] | None = None
    """Azure OpenAI prompt filtering, usually on a first chunk with ``choices: []``."""
    x_groq: XGroq | None = None
    citations: list[str] | None = None
    """Perplexity's citation URLs, repeated in full on every chunk."""

    def __post_init__(self) -> None:
        if self.choices is None:
            self.choices = []


# --- final completion ------------------------------------------------------


class FunctionCall(_Model):
    """Deprecated ``function_call`` of a message."""

    arguments: str = ""
    name: str = ""


class Function(_Model):
    """The function a tool call invokes."""

    arguments: str = ""
    name: str = ""


class ChatCompletionMessageToolCall(_Model):
    """A complete tool call."""

    id: str = ""
    function: Function = msgspec.field(default_factory=Function)
    type: str = "function"


class ChatCompletionAudio(_Model):
    """Audio output of a message."""

    id: str = ""
    data: str = ""
    expires_at: int = 0
    transcript: str = ""


class ChatCompletionMessage(_Model):
    """The message a choice produced."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    annotations: list[Annotation] | None = None
    audio: ChatCompletionAudio | None = None
    function_call: FunctionCall | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class ChatCompletionChoice(_Model):
    """One choice of a ``ChatCompletion`` (openai's ``chat_completion.Choice``)."""

    index: int = 0
    message: ChatCompletionMessage = msgspec.field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(_Model):
    """A whole chat completion, as folded from its chunks."""

    id: str = ""
    choices: list[ChatCompletionChoice] = []
    created: int = 0
    model: str = ""
    object: str = "chat.completion"
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    citations: list[str] | None = None
    """Perplexity's citation URLs."""
