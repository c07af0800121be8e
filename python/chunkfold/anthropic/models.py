"""msgspec Structs for the Anthropic Messages streaming schema.

Names and fields mirror anthropic-sdk-python's ``anthropic.types`` (and
``anthropic.types.beta`` for ``mcp_tool_use``, ``mcp_tool_result`` and
``compaction``), so that code written against the SDK reads the same
(``message.content[0].text``).

Conventions (the wire-format rule):

* Encoding writes what the API always writes: required fields, and ``null``
  for the required-nullable ones (``stop_reason``, ``stop_sequence``).
* Optional fields that the API omits default to ``msgspec.UNSET`` and stay
  absent when encoded; ``None`` is an explicit ``null``.
* Usage counters never reported are ``None`` (required ones) or ``UNSET``
  (optional ones), never ``0``.
* Unknown event, delta and block types are kept as :class:`UnknownEvent`,
  :class:`UnknownDelta` and :class:`UnknownBlock` (their ``type`` and raw
  JSON), never an error. msgspec cannot put those in a tagged union, so
  decode through :func:`decode_event` and :func:`decode_message`, not a
  ``msgspec.json.Decoder`` of these types.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "BashCodeExecutionToolResultBlock",
    "CacheCreation",
    "CitationsDelta",
    "CodeExecutionToolResultBlock",
    "CompactionBlock",
    "CompactionDelta",
    "ContainerUploadBlock",
    "ContentBlock",
    "Delta",
    "ErrorEvent",
    "ErrorObject",
    "InputJSONDelta",
    "MCPToolResultBlock",
    "MCPToolUseBlock",
    "Message",
    "MessageDeltaUsage",
    "PingEvent",
    "RawContentBlockDelta",
    "RawContentBlockDeltaEvent",
    "RawContentBlockStartEvent",
    "RawContentBlockStopEvent",
    "RawMessageDeltaEvent",
    "RawMessageStartEvent",
    "RawMessageStopEvent",
    "RawMessageStreamEvent",
    "RedactedThinkingBlock",
    "ServerToolUsage",
    "ServerToolUseBlock",
    "SignatureDelta",
    "TextBlock",
    "TextDelta",
    "TextEditorCodeExecutionToolResultBlock",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolSearchToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownDelta",
    "UnknownEvent",
    "Usage",
    "WebFetchToolResultBlock",
    "WebSearchToolResultBlock",
    "decode_event",
    "decode_message",
    "decode_usage",
]


class _Model(msgspec.Struct, kw_only=True, omit_defaults=False, gc=False, repr_omit_defaults=True):
    """Shared Struct options."""


class _Tagged(_Model, tag_field="type"):
    """Shared options of the Structs told apart by ``type``."""

    @property
    def type(self) -> str:
        """The ``type`` the Struct is tagged with, as the SDK's models have it."""
        return str(self.__struct_config__.tag)


# --- usage -----------------------------------------------------------------


class CacheCreation(_Model):
    """Prompt-cache writes by time to live."""

    ephemeral_1h_input_tokens: int | UnsetType = UNSET
    ephemeral_5m_input_tokens: int | UnsetType = UNSET


class ServerToolUsage(_Model):
    """Server tool requests made (the API sends only the tools used)."""

    web_fetch_requests: int | UnsetType = UNSET
    web_search_requests: int | UnsetType = UNSET


class OutputTokensDetails(_Model):
    """Breakdown of output tokens."""

    thinking_tokens: int | UnsetType = UNSET


class _UsageCounters(_Model):
    """The counters that both usage shapes share."""

    cache_creation_input_tokens: int | UnsetType | None = UNSET
    cache_read_input_tokens: int | UnsetType | None = UNSET
    cache_creation: CacheCreation | UnsetType | None = UNSET
    server_tool_use: ServerToolUsage | UnsetType | None = UNSET
    output_tokens_details: OutputTokensDetails | UnsetType | None = UNSET
    service_tier: str | UnsetType | None = UNSET
    inference_geo: str | UnsetType | None = UNSET
    speed: str | UnsetType | None = UNSET
    iterations: list[dict[str, Any]] | UnsetType | None = UNSET
    """Per-iteration usage of a turn with compaction (beta)."""
    fallback_credit: dict[str, Any] | UnsetType | None = UNSET
    """Credit for a request served by a fallback model."""
    bedrock_metrics: dict[str, Any] | UnsetType = msgspec.field(
        default=UNSET, name="amazon-bedrock-invocationMetrics"
    )
    """Amazon Bedrock's ``amazon-bedrock-invocationMetrics`` of ``message_stop``."""


class Usage(_UsageCounters):
    """Token usage of a message. ``input_tokens`` excludes the prompt cache:
    the total input is ``input_tokens + cache_read_input_tokens +
    cache_creation_input_tokens`` (see ``token_usage``)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class MessageDeltaUsage(_UsageCounters):
    """The cumulative usage of a ``message_delta`` (every counter so far);
    only ``output_tokens`` is always sent."""

    input_tokens: int | UnsetType | None = UNSET
    output_tokens: int | None = None


# --- content blocks --------------------------------------------------------


class TextBlock(_Tagged, tag="text"):
    """Text, with citations when the request enabled them."""

    text: str = ""
    citations: list[dict[str, Any]] | UnsetType | None = UNSET


class ThinkingBlock(_Tagged, tag="thinking"):
    """Extended thinking, with its signature."""

    thinking: str = ""
    signature: str = ""


class RedactedThinkingBlock(_Tagged, tag="redacted_thinking"):
    """Thinking encrypted by the safety system."""

    data: str = ""


class ToolUseBlock(_Tagged, tag="tool_use"):
    """A client tool call. ``input`` is ``None`` when the streamed argument
    text was not a JSON object; the text is then in ``input_json``."""

    id: str = ""
    name: str = ""
    input: dict[str, Any] | None = msgspec.field(default_factory=dict)
    caller: dict[str, Any] | UnsetType | None = UNSET
    toolset_name: str | UnsetType | None = UNSET
    input_json: str | UnsetType = UNSET
    """chunkfold's extension: the argument text while it streams, or when invalid."""


class ServerToolUseBlock(_Tagged, tag="server_tool_use"):
    """A server tool call (web search, web fetch, code execution, ...)."""

    id: str = ""
    name: str = ""
    input: dict[str, Any] | None = msgspec.field(default_factory=dict)
    caller: dict[str, Any] | UnsetType | None = UNSET
    input_json: str | UnsetType = UNSET
    """chunkfold's extension: the argument text while it streams, or when invalid."""


class MCPToolUseBlock(_Tagged, tag="mcp_tool_use"):
    """A call to a tool of an MCP server (beta)."""

    id: str = ""
    name: str = ""
    server_name: str = ""
    input: dict[str, Any] | None = msgspec.field(default_factory=dict)
    input_json: str | UnsetType = UNSET
    """chunkfold's extension: the argument text while it streams, or when invalid."""


class _ToolResult(_Tagged):
    """Shared fields of the server tool results, which arrive whole."""

    tool_use_id: str = ""
    content: Any = None
    caller: dict[str, Any] | UnsetType | None = UNSET


class WebSearchToolResultBlock(_ToolResult, tag="web_search_tool_result"):
    """Web search results (or an error object)."""


class WebFetchToolResultBlock(_ToolResult, tag="web_fetch_tool_result"):
    """A fetched web document (or an error object)."""


class CodeExecutionToolResultBlock(_ToolResult, tag="code_execution_tool_result"):
    """The output of the code execution tool."""


class BashCodeExecutionToolResultBlock(_ToolResult, tag="bash_code_execution_tool_result"):
    """The output of a bash command run by code execution."""


class TextEditorCodeExecutionToolResultBlock(_ToolResult, tag="text_editor_code_execution_tool_result"):
    """The result of a text editor command run by code execution."""


class ToolSearchToolResultBlock(_ToolResult, tag="tool_search_tool_result"):
    """Tools found by the tool search tool."""


class MCPToolResultBlock(_Tagged, tag="mcp_tool_result"):
    """The result of an MCP tool call (beta)."""

    tool_use_id: str = ""
    content: str | list[dict[str, Any]] = ""
    is_error: bool = False


class ContainerUploadBlock(_Tagged, tag="container_upload"):
    """A file uploaded to the code execution container."""

    file_id: str = ""


class CompactionBlock(_Tagged, tag="compaction"):
    """A summary of earlier context, written by context compaction (beta)."""

    content: str | None = None
    encrypted_content: str | UnsetType | None = UNSET
    signature: str | UnsetType | None = UNSET


class UnknownBlock(_Model):
    """A block of a type this version does not know: its ``type`` and JSON."""

    type: str
    raw: msgspec.Raw


_KnownBlock = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | MCPToolUseBlock
    | WebSearchToolResultBlock
    | WebFetchToolResultBlock
    | CodeExecutionToolResultBlock
    | BashCodeExecutionToolResultBlock
    | TextEditorCodeExecutionToolResultBlock
    | ToolSearchToolResultBlock
    | MCPToolResultBlock
    | ContainerUploadBlock
    | CompactionBlock
)
ContentBlock = _KnownBlock | UnknownBlock


# --- deltas ----------------------------------------------------------------


class TextDelta(_Tagged, tag="text_delta"):
    """Text appended to a text block."""

    text: str = ""


class InputJSONDelta(_Tagged, tag="input_json_delta"):
    """A fragment of a tool call's argument JSON."""

    partial_json: str = ""


class ThinkingDelta(_Tagged, tag="thinking_delta"):
    """Text appended to a thinking block."""

    thinking: str = ""


class SignatureDelta(_Tagged, tag="signature_delta"):
    """A thinking block's signature (it replaces any earlier one)."""

    signature: str = ""


class CitationsDelta(_Tagged, tag="citations_delta"):
    """A citation appended to a text block's ``citations``."""

    citation: dict[str, Any] = msgspec.field(default_factory=dict)


class CompactionDelta(_Tagged, tag="compaction_delta"):
    """Text appended to a compaction block's ``content`` (beta)."""

    content: str | None = None


class UnknownDelta(_Model):
    """A delta of a type this version does not know: its ``type`` and JSON."""

    type: str
    raw: msgspec.Raw


_KnownDelta = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta | CompactionDelta
RawContentBlockDelta = _KnownDelta | UnknownDelta


# --- message and events -----------------------------------------------------


class Message(_Model):
    """A message, as the stream builds it."""

    id: str = ""
    type: str = "message"
    role: str = "assistant"
    model: str = ""
    content: list[ContentBlock] = msgspec.field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | UnsetType | None = UNSET
    container: dict[str, Any] | UnsetType | None = UNSET
    usage: Usage = msgspec.field(default_factory=Usage)


class Delta(_Model):
    """A ``message_delta``'s changes to the message."""

    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | UnsetType | None = UNSET
    container: dict[str, Any] | UnsetType | None = UNSET


class RawMessageStartEvent(_Tagged, tag="message_start"):
    """The message's id, model and first usage (and, for programmatic tool
    calling, whole content)."""

    message: Message


class RawMessageDeltaEvent(_Tagged, tag="message_delta"):
    """Stop reason and cumulative usage."""

    delta: Delta = msgspec.field(default_factory=Delta)
    usage: MessageDeltaUsage = msgspec.field(default_factory=MessageDeltaUsage)
    context_management: dict[str, Any] | UnsetType | None = UNSET
    """Context edits applied to the request (beta)."""


class RawMessageStopEvent(_Tagged, tag="message_stop"):
    """The end of the message."""

    bedrock_metrics: dict[str, Any] | UnsetType = msgspec.field(
        default=UNSET, name="amazon-bedrock-invocationMetrics"
    )
    """Amazon Bedrock's invocation metrics, when the stream came through Bedrock."""


class RawContentBlockStartEvent(_Tagged, tag="content_block_start"):
    """A block begins (whole, for server tool results)."""

    index: int
    content_block: ContentBlock


class RawContentBlockDeltaEvent(_Tagged, tag="content_block_delta"):
    """A delta to the block at ``index``."""

    index: int
    delta: RawContentBlockDelta


class RawContentBlockStopEvent(_Tagged, tag="content_block_stop"):
    """The block at ``index`` is complete."""

    index: int


class PingEvent(_Tagged, tag="ping"):
    """A keep-alive."""


class ErrorObject(_Model):
    """An API error: ``type`` is ``overloaded_error``, ``api_error``, ..."""

    type: str = ""
    message: str = ""


class ErrorEvent(_Tagged, tag="error"):
    """An error in the middle of the stream."""

    error: ErrorObject = msgspec.field(default_factory=ErrorObject)


class UnknownEvent(_Model):
    """An event of a type this version does not know (Vertex's
    ``vertex_event``, future events): its ``type`` and JSON."""

    type: str
    raw: msgspec.Raw


RawMessageStreamEvent = (
    RawMessageStartEvent
    | RawMessageDeltaEvent
    | RawMessageStopEvent
    | RawContentBlockStartEvent
    | RawContentBlockDeltaEvent
    | RawContentBlockStopEvent
    | PingEvent
    | ErrorEvent
    | UnknownEvent
)


# --- decoding ---------------------------------------------------------------
# Positions that may hold an unknown type are read as raw JSON first.


class _Tag(msgspec.Struct, gc=False):
    type: Any = None


class _WireMessage(Message):
    content: list[msgspec.Raw] = msgspec.field(default_factory=list)  # type: ignore[assignment]


class _KnownMessage(Message):
    """A message whose blocks are all of known types: decoded in one pass."""

    content: list[_KnownBlock] = msgspec.field(default_factory=list)  # type: ignore[assignment]


class _WireStart(_Tagged, tag="content_block_start"):
    index: int
    content_block: msgspec.Raw


class _WireDelta(_Tagged, tag="content_block_delta"):
    index: int
    delta: msgspec.Raw


class _WireMessageStart(_Tagged, tag="message_start"):
    message: _WireMessage


_WireEvent = (
    _WireMessageStart
    | RawMessageDeltaEvent
    | RawMessageStopEvent
    | _WireStart
    | _WireDelta
    | RawContentBlockStopEvent
    | PingEvent
    | ErrorEvent
)
_EVENT_TAGS = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
        "error",
    }
)
_BLOCK_TAGS = frozenset(cls.__struct_config__.tag for cls in _KnownBlock.__args__)
_DELTA_TAGS = frozenset(cls.__struct_config__.tag for cls in _KnownDelta.__args__)

_S = TypeVar("_S", bound=msgspec.Struct)
_BLOCK_CLASSES: dict[str, type[msgspec.Struct]] = {
    str(cls.__struct_config__.tag): cls for cls in _KnownBlock.__args__
}
_any_decoder = msgspec.json.Decoder()
_usage_decoder = msgspec.json.Decoder(Usage)
_encoder = msgspec.json.Encoder()
_tag_decoder = msgspec.json.Decoder(_Tag)
_event_decoder = msgspec.json.Decoder(_WireEvent)
_block_decoder = msgspec.json.Decoder(_KnownBlock)
_delta_decoder = msgspec.json.Decoder(_KnownDelta)
_message_decoder = msgspec.json.Decoder(_WireMessage)
_known_message_decoder = msgspec.json.Decoder(_KnownMessage)


def _type_of(raw: bytes | bytearray | memoryview | msgspec.Raw) -> str:
    """The ``type`` of a JSON object, as a string ("" if missing)."""
    tag = _tag_decoder.decode(raw).type
    return tag if isinstance(tag, str) else ""


def _block(raw: msgspec.Raw) -> ContentBlock:
    try:
        block: ContentBlock = _block_decoder.decode(raw)
    except msgspec.ValidationError:
        kind = _type_of(raw)
        if kind in _BLOCK_TAGS:
            raise
        return UnknownBlock(type=kind, raw=raw)
    return block


def _delta(raw: msgspec.Raw) -> RawContentBlockDelta:
    try:
        delta: RawContentBlockDelta = _delta_decoder.decode(raw)
    except msgspec.ValidationError:
        kind = _type_of(raw)
        if kind in _DELTA_TAGS:
            raise
        return UnknownDelta(type=kind, raw=raw)
    return delta


def _message(wire: _WireMessage) -> Message:
    fields = msgspec.structs.asdict(wire)
    fields["content"] = [_block(raw) for raw in wire.content]
    return Message(**fields)


def decode_message(data: bytes | bytearray | memoryview, /, *, lenient: bool = False) -> Message:
    """Decodes a ``Message`` (JSON bytes), unknown block types included.

    Raises ``msgspec.DecodeError`` (``ValidationError``) if it is not one. With
    ``lenient=True`` (what the accumulator uses: a provider may send a counter
    as a string), any field of the wrong type is left at its default instead;
    the data must still be JSON.
    """
    try:
        # One pass when every block is of a known type (a long tool input is
        # then read once, not stepped over as raw JSON and read again).
        known = _known_message_decoder.decode(data)
    except msgspec.ValidationError:
        pass
    else:
        return Message(**msgspec.structs.asdict(known))
    try:
        return _message(_message_decoder.decode(data))
    except msgspec.ValidationError:
        if not lenient:
            raise
    obj = _any_decoder.decode(data)
    message = _lenient(Message, obj, skip=("content", "usage"))
    content = obj.get("content") if isinstance(obj, dict) else None
    if isinstance(content, list):
        message.content = [_lenient_block(item) for item in content]
    message.usage = decode_usage(_encoder.encode(obj.get("usage")) if isinstance(obj, dict) else b"{}")
    return message


def decode_usage(data: bytes | bytearray | memoryview, /) -> Usage:
    """Decodes a ``Usage`` leniently: a field of the wrong type is left at its
    default (``None`` or ``UNSET``), never an error; the data must be JSON."""
    try:
        return _usage_decoder.decode(data)
    except msgspec.ValidationError:
        return _lenient(Usage, _any_decoder.decode(data))


def _lenient(cls: type[_S], obj: Any, skip: tuple[str, ...] = ()) -> _S:
    """``cls`` from the fields of ``obj`` that convert, each on its own."""
    kwargs: dict[str, Any] = {}
    if isinstance(obj, dict):
        for info in msgspec.structs.fields(cls):
            if info.encode_name not in obj or info.name in skip:
                continue
            try:
                kwargs[info.name] = msgspec.convert(obj[info.encode_name], info.type)
            except msgspec.ValidationError:
                continue
    return cls(**kwargs)


def _lenient_block(item: Any) -> ContentBlock:
    raw = msgspec.Raw(_encoder.encode(item))
    try:
        return _block(raw)
    except msgspec.ValidationError:
        cls = _BLOCK_CLASSES[item["type"]]
        return _lenient(cls, item)  # type: ignore[return-value]


def decode_event(data: bytes | bytearray | memoryview, /) -> RawMessageStreamEvent:
    """Decodes one event payload (the data of one SSE event) into its Struct.

    Unknown event, block and delta types come back as :class:`UnknownEvent`,
    :class:`UnknownBlock` and :class:`UnknownDelta`. Raises
    ``msgspec.DecodeError`` (``ValidationError``) for payloads that are not
    JSON objects or whose known type has fields of the wrong type.
    """
    try:
        wire = _event_decoder.decode(data)
    except msgspec.ValidationError:
        kind = _type_of(data)
        if kind in _EVENT_TAGS:
            raise
        return UnknownEvent(type=kind, raw=msgspec.Raw(bytes(data)))
    if isinstance(wire, _WireDelta):
        return RawContentBlockDeltaEvent(index=wire.index, delta=_delta(wire.delta))
    if isinstance(wire, _WireStart):
        return RawContentBlockStartEvent(index=wire.index, content_block=_block(wire.content_block))
    if isinstance(wire, _WireMessageStart):
        return RawMessageStartEvent(message=_message(wire.message))
    return wire
