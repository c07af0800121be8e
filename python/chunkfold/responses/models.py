"""msgspec Structs for OpenAI Responses API streams, named as in openai-python's
``openai.types.responses``.

* :data:`ResponseStreamEvent`: every stream event, a tagged union on ``type``
  (every type openai-python knows, plus ``keepalive`` and the apply-patch diff
  events the API sends); an event of any other type decodes as
  :class:`UnknownEvent`, never an error.
* :data:`ResponseOutputItem`: output items, a tagged union on ``type``; an
  unknown item type decodes as :class:`UnknownItem`.
* :class:`Response`, :class:`ResponseUsage` (``input_tokens_details.cached_tokens``,
  ``output_tokens_details.reasoning_tokens``).

Wire format: encoding writes every field the SDK declares required (``0``,
``""``, ``null`` included) and leaves a field the SDK declares optional out
when the payload did not have it (``UNSET``), so that
``encode(decode_event(p))`` validates with openai-python's own types and
dumps equal to ``p``. Use :func:`encode` rather than msgspec's encoder: it
writes the unknown events and items back as the JSON they came from.
"""

from __future__ import annotations

from typing import Any

import msgspec

from chunkfold.responses._base import UNKNOWN_TAG, UnknownEvent, UnknownItem
from chunkfold.responses._events import (
    ResponseApplyPatchCallOperationDiffDeltaEvent,
    ResponseApplyPatchCallOperationDiffDoneEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCompactionCompactingEvent,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseKeepaliveEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpListToolsCompletedEvent,
    ResponseMcpListToolsFailedEvent,
    ResponseMcpListToolsInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseQueuedEvent,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseShellCallCommandAddedEvent,
    ResponseShellCallCommandDeltaEvent,
    ResponseShellCallCommandDoneEvent,
    ResponseShellCallOutputContentDeltaEvent,
    ResponseShellCallOutputContentDoneEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
)
from chunkfold.responses._items import (
    AdditionalTools,
    Annotation,
    AnnotationContainerFileCitation,
    AnnotationFileCitation,
    AnnotationFilePath,
    AnnotationURLCitation,
    ImageGenerationCall,
    IncompleteDetails,
    InputTokensDetails,
    LocalShellCall,
    LocalShellCallOutput,
    Logprob,
    LogprobTopLogprob,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    McpListTools,
    OutputTokensDetails,
    PartReasoningText,
    Program,
    ProgramOutput,
    Response,
    ResponseApplyPatchToolCall,
    ResponseApplyPatchToolCallOutput,
    ResponseCodeInterpreterToolCall,
    ResponseCompactionItem,
    ResponseComputerToolCall,
    ResponseComputerToolCallOutputItem,
    ResponseContentPartDoneEventPartReasoningText,
    ResponseCustomToolCall,
    ResponseCustomToolCallOutputItem,
    ResponseError,
    ResponseFileSearchToolCall,
    ResponseFunctionShellToolCall,
    ResponseFunctionShellToolCallOutput,
    ResponseFunctionToolCall,
    ResponseFunctionToolCallOutputItem,
    ResponseFunctionWebSearch,
    ResponseOutputItem,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseReasoningItemContent,
    ResponseReasoningItemSummary,
    ResponseReasoningSummaryPartAddedEventPart,
    ResponseReasoningSummaryPartDoneEventPart,
    ResponseToolSearchCall,
    ResponseToolSearchOutputItem,
    ResponseUsage,
)

__all__ = [
    "AdditionalTools",
    "Annotation",
    "AnnotationContainerFileCitation",
    "AnnotationFileCitation",
    "AnnotationFilePath",
    "AnnotationURLCitation",
    "ImageGenerationCall",
    "IncompleteDetails",
    "InputTokensDetails",
    "LocalShellCall",
    "LocalShellCallOutput",
    "Logprob",
    "LogprobTopLogprob",
    "McpApprovalRequest",
    "McpApprovalResponse",
    "McpCall",
    "McpListTools",
    "OutputTokensDetails",
    "PartReasoningText",
    "Program",
    "ProgramOutput",
    "Response",
    "ResponseApplyPatchCallOperationDiffDeltaEvent",
    "ResponseApplyPatchCallOperationDiffDoneEvent",
    "ResponseApplyPatchToolCall",
    "ResponseApplyPatchToolCallOutput",
    "ResponseAudioDeltaEvent",
    "ResponseAudioDoneEvent",
    "ResponseAudioTranscriptDeltaEvent",
    "ResponseAudioTranscriptDoneEvent",
    "ResponseCodeInterpreterCallCodeDeltaEvent",
    "ResponseCodeInterpreterCallCodeDoneEvent",
    "ResponseCodeInterpreterCallCompletedEvent",
    "ResponseCodeInterpreterCallInProgressEvent",
    "ResponseCodeInterpreterCallInterpretingEvent",
    "ResponseCodeInterpreterToolCall",
    "ResponseCompactionCompactingEvent",
    "ResponseCompactionItem",
    "ResponseCompletedEvent",
    "ResponseComputerToolCall",
    "ResponseComputerToolCallOutputItem",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseContentPartDoneEventPartReasoningText",
    "ResponseCreatedEvent",
    "ResponseCustomToolCall",
    "ResponseCustomToolCallInputDeltaEvent",
    "ResponseCustomToolCallInputDoneEvent",
    "ResponseCustomToolCallOutputItem",
    "ResponseError",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
    "ResponseFileSearchCallCompletedEvent",
    "ResponseFileSearchCallInProgressEvent",
    "ResponseFileSearchCallSearchingEvent",
    "ResponseFileSearchToolCall",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseFunctionShellToolCall",
    "ResponseFunctionShellToolCallOutput",
    "ResponseFunctionToolCall",
    "ResponseFunctionToolCallOutputItem",
    "ResponseFunctionWebSearch",
    "ResponseImageGenCallCompletedEvent",
    "ResponseImageGenCallGeneratingEvent",
    "ResponseImageGenCallInProgressEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseInProgressEvent",
    "ResponseIncompleteEvent",
    "ResponseKeepaliveEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseMcpListToolsCompletedEvent",
    "ResponseMcpListToolsFailedEvent",
    "ResponseMcpListToolsInProgressEvent",
    "ResponseOutputItem",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputMessage",
    "ResponseOutputRefusal",
    "ResponseOutputText",
    "ResponseOutputTextAnnotationAddedEvent",
    "ResponseQueuedEvent",
    "ResponseReasoningItem",
    "ResponseReasoningItemContent",
    "ResponseReasoningItemSummary",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartAddedEventPart",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryPartDoneEventPart",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseRefusalDeltaEvent",
    "ResponseRefusalDoneEvent",
    "ResponseShellCallCommandAddedEvent",
    "ResponseShellCallCommandDeltaEvent",
    "ResponseShellCallCommandDoneEvent",
    "ResponseShellCallOutputContentDeltaEvent",
    "ResponseShellCallOutputContentDoneEvent",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseToolSearchCall",
    "ResponseToolSearchOutputItem",
    "ResponseUsage",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "UnknownEvent",
    "UnknownItem",
    "decode_event",
    "decode_response",
    "encode",
    "event_from_builtins",
    "to_builtins",
]

_event_decoder = msgspec.json.Decoder(ResponseStreamEvent)
_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
_EVENT_TAGS = frozenset(
    cls.__struct_config__.tag for cls in ResponseStreamEvent.__args__ if cls is not UnknownEvent
)
_ITEM_TAGS = frozenset(
    cls.__struct_config__.tag for cls in ResponseOutputItem.__args__ if cls is not UnknownItem
)


def decode_event(payload: bytes | str, /) -> ResponseStreamEvent:
    """Decodes one event's JSON payload.

    An event whose ``type`` is unknown gives :class:`UnknownEvent`, an output
    item whose ``type`` is unknown gives :class:`UnknownItem`; a payload that
    is not a JSON object with a string ``type``, or a known event with fields
    of the wrong type, raises ``msgspec.ValidationError`` or
    ``msgspec.DecodeError``.
    """
    try:
        return _event_decoder.decode(payload)
    except msgspec.ValidationError:
        obj = _any_decoder.decode(payload)
    return event_from_builtins(obj)


def event_from_builtins(obj: Any, /) -> ResponseStreamEvent:
    """:func:`decode_event` for a payload already decoded to Python objects."""
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise msgspec.ValidationError("a stream event must be a JSON object with a string `type`")
    if obj["type"] not in _EVENT_TAGS:
        return UnknownEvent(event_type=obj["type"], raw=obj)
    item = obj.get("item")
    if isinstance(item, dict):
        obj = {**obj, "item": _wrap_item(item)}
    response = obj.get("response")
    if isinstance(response, dict) and isinstance(response.get("output"), list):
        output = [_wrap_item(i) if isinstance(i, dict) else i for i in response["output"]]
        obj = {**obj, "response": {**response, "output": output}}
    event: ResponseStreamEvent = msgspec.convert(obj, ResponseStreamEvent)
    return event


_response_decoder = msgspec.json.Decoder(Response)


_raw_object_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_item_decoder = msgspec.json.Decoder(ResponseOutputItem)


class _Typed(msgspec.Struct, gc=False):
    type: str = ""


_typed_decoder = msgspec.json.Decoder(_Typed)


def decode_response(payload: bytes | str, /) -> Response:
    """Decodes a ``Response`` object, as leniently as the stream allows.

    An output item of an unknown ``type``, one whose fields do not fit its
    type, or one nested deeper than msgspec decodes, becomes
    :class:`UnknownItem` (holding its JSON when it could be decoded at all);
    any other top-level field whose value does not fit is left out
    (``UNSET``) rather than losing the whole response. Only a payload that is
    not a JSON object raises (``msgspec.DecodeError`` / ``msgspec.ValidationError``).
    """
    try:
        return _response_decoder.decode(payload)
    except (msgspec.ValidationError, RecursionError):
        fields = _raw_object_decoder.decode(payload)
    obj: dict[str, Any] = {}
    for key, raw in fields.items():
        if key == "output":
            try:
                obj[key] = [_lenient_item(item) for item in _raw_list_decoder.decode(raw)]
            except msgspec.ValidationError:
                continue
        else:
            try:
                obj[key] = _any_decoder.decode(raw)
            except RecursionError:
                continue
    for _ in range(len(obj) + 1):
        try:
            response: Response = msgspec.convert(obj, Response)
            return response
        except msgspec.ValidationError as exc:
            bad = _top_level_key(str(exc))
            if bad is None or bad not in obj:
                raise
            obj = {k: v for k, v in obj.items() if k != bad}
    raise msgspec.ValidationError("response did not decode")  # pragma: no cover


def _lenient_item(raw: msgspec.Raw) -> ResponseOutputItem:
    try:
        item: ResponseOutputItem = _item_decoder.decode(raw)
        return item
    except msgspec.ValidationError:
        pass
    except RecursionError:
        try:
            kind = _typed_decoder.decode(raw).type
        except (msgspec.ValidationError, RecursionError):
            kind = ""
        return UnknownItem(item_type=kind)
    obj = _any_decoder.decode(raw)
    if not isinstance(obj, dict):
        return UnknownItem(item_type="", raw={"value": obj})
    wrapped = _wrap_item(obj)
    try:
        converted: ResponseOutputItem = msgspec.convert(wrapped, ResponseOutputItem)
        return converted
    except msgspec.ValidationError:
        return UnknownItem(item_type=str(obj.get("type")), raw=obj)


def _top_level_key(message: str) -> str | None:
    """The top-level key a msgspec error names (``... - at `$.usage.x` ``)."""
    _, _, path = message.rpartition("at `$.")
    key = path.split(".", 1)[0].split("[", 1)[0].rstrip("`")
    return key or None


def _wrap_item(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type")
    if isinstance(kind, str) and kind in _ITEM_TAGS:
        return item
    return {"type": UNKNOWN_TAG, "item_type": str(kind), "raw": item}


def to_builtins(obj: Any, /) -> Any:
    """``msgspec.to_builtins`` that writes unknown events and items back as they came."""
    return _restore(msgspec.to_builtins(obj))


def encode(obj: Any, /) -> bytes:
    """Encodes a Struct of this module as JSON; unknown events and items are
    written back as the JSON they came from."""
    if isinstance(obj, UnknownEvent):
        return _encoder.encode(obj.raw)
    data = _encoder.encode(obj)
    if UNKNOWN_TAG.encode() not in data:
        return data
    return _encoder.encode(to_builtins(obj))


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("type") == UNKNOWN_TAG and isinstance(value.get("raw"), dict):
            return value["raw"]
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value
