"""Generates python/chunkfold/responses/_items.py and _events.py from openai-python's types.

Run after an openai upgrade and review the diff:

    python tools/gen_responses_models.py

Every model of ``openai.types.responses`` that a stream carries becomes a msgspec
Struct with the SDK's name and fields. Nested types the fold never reads (tool
definitions, tool choice, actions, search results) stay plain JSON (``Any``),
which round-trips them byte for byte. Required fields get a lenient default
(``""``, ``0``, ``[]``) so that a provider that omits one still decodes; fields
the SDK marks optional default to ``UNSET``, so that absent stays absent.
"""

from __future__ import annotations

import re
import subprocess
import types
import typing
from pathlib import Path

import pydantic
from openai.types import responses as R
from openai.types.responses import response_output_item as roi

ROOT = Path(__file__).resolve().parent.parent / "python" / "chunkfold" / "responses"

events = [t for t in typing.get_args(typing.get_args(R.ResponseStreamEvent)[0])]
items = list(typing.get_args(typing.get_args(R.ResponseOutputItem)[0]))

# Nested models spelled out; everything else nested is Any.
NESTED = [
    R.ResponseOutputText,
    R.ResponseOutputRefusal,
    *typing.get_args(typing.get_args(R.ResponseOutputText.model_fields["annotations"].annotation)[0])[
        0
    ].__args__,
    R.response_output_text.Logprob,
    R.response_output_text.LogprobTopLogprob,
    R.response_reasoning_item.Summary,
    R.response_reasoning_item.Content,
    R.response_content_part_added_event.PartReasoningText,
    R.response_content_part_done_event.PartReasoningText,
    R.response_reasoning_summary_part_added_event.Part,
    R.response_reasoning_summary_part_done_event.Part,
    R.response_usage.InputTokensDetails,
    R.response_usage.OutputTokensDetails,
    R.ResponseUsage,
    R.ResponseError,
    R.response.IncompleteDetails,
    R.Response,
]
RENAME = {
    R.response_reasoning_item.Summary: "ResponseReasoningItemSummary",
    R.response_reasoning_item.Content: "ResponseReasoningItemContent",
    R.response_content_part_added_event.PartReasoningText: "PartReasoningText",
    R.response_content_part_done_event.PartReasoningText: "ResponseContentPartDoneEventPartReasoningText",
    R.response_reasoning_summary_part_added_event.Part: "ResponseReasoningSummaryPartAddedEventPart",
    R.response_reasoning_summary_part_done_event.Part: "ResponseReasoningSummaryPartDoneEventPart",
    R.response.IncompleteDetails: "IncompleteDetails",
    R.response_output_text.LogprobTopLogprob: "LogprobTopLogprob",
    roi.ImageGenerationCall: "ImageGenerationCall",
}
ANNOTATIONS = typing.get_args(
    typing.get_args(typing.get_args(R.ResponseOutputText.model_fields["annotations"].annotation)[0])[0]
)
UNIONS = {
    frozenset(ANNOTATIONS): "Annotation",
    frozenset(items): "ResponseOutputItem",
    frozenset(events): "ResponseStreamEvent",
}
KNOWN: dict[type, str] = {}
for cls in [*NESTED, *items, *events]:
    KNOWN[cls] = RENAME.get(cls, cls.__name__)


def literal_type(values: tuple[object, ...]) -> str:
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return "bool"
    if kinds <= {int}:
        return "int"
    return "str"


def spell(tp: object) -> str:
    """The msgspec annotation for an SDK annotation (None handled by the caller)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return spell(args[0])
    if tp in (str, int, float, bool):
        return tp.__name__  # type: ignore[union-attr]
    if origin is typing.Literal:
        return literal_type(args)
    if origin in (list, typing.List):  # noqa: UP006
        return f"list[{spell(args[0])}]"
    if origin in (dict, typing.Dict):  # noqa: UP006
        return "dict[str, Any]"
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if all(isinstance(m, type) and m in KNOWN for m in members):
            name = UNIONS.get(frozenset(members))
            if name:
                return name
            return " | ".join(KNOWN[m] for m in members)
        spelled = {spell(m) for m in members}
        if len(spelled) == 1:
            return spelled.pop()
        return "Any"
    if isinstance(tp, type) and tp in KNOWN:
        return KNOWN[tp]
    return "Any"


DEFAULTS = {"str": '""', "int": "0", "float": "0.0", "bool": "False", "Any": "None"}


def field_line(name: str, info: pydantic.fields.FieldInfo) -> str:
    tp = info.annotation
    args = typing.get_args(tp)
    nullable = typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args
    spelled = spell(tp)
    key = info.alias or name
    rename = f'msgspec.field(name="{key}", ' if key != name else None
    if info.is_required():
        if nullable:
            ann, default = f"{spelled} | None", "None"
        elif spelled.startswith("list["):
            ann, default = spelled, "msgspec.field(default_factory=list)"
        elif spelled.startswith("dict["):
            ann, default = spelled, "msgspec.field(default_factory=dict)"
        elif spelled in DEFAULTS:
            ann, default = spelled, DEFAULTS[spelled]
        elif spelled not in KNOWN.values():
            ann, default = spelled, None
        else:
            ann, default = spelled, f"msgspec.field(default_factory={spelled})"
    else:
        ann, default = f"{spelled} | None | UnsetType", "UNSET"
    if ann.startswith("Any |"):
        ann = "Any"
    if default is None:
        return f"    {name}: {ann}"
    if rename:
        return f"    {name}: {ann} = {rename}default={default})"
    return f"    {name}: {ann} = {default}"


def struct(cls: type[pydantic.BaseModel], base: str) -> str:
    name = KNOWN[cls]
    fields = dict(cls.model_fields)
    tag = None
    t = fields.get("type")
    if t is not None and typing.get_origin(t.annotation) is typing.Literal:
        values = typing.get_args(t.annotation)
        if len(values) == 1:
            tag = values[0]
            del fields["type"]
    head = f'class {name}({base}, tag="{tag}"):' if tag else f"class {name}({base}):"
    if len(head) > 110:
        head = f'class {name}(\n    {base}, tag="{tag}"\n):'
    doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").strip()
    doc = " ".join(doc.split()) or f"openai-python's ``{cls.__name__}``."
    if len(doc) > 96:
        doc = doc[:93].rsplit(" ", 1)[0] + "..."
    lines = [head, f'    """{doc}"""', ""]
    spelled = [field_line(n, f) for n, f in fields.items()]
    # msgspec wants fields without a default first.
    lines += [line for line in spelled if " = " not in line] + [line for line in spelled if " = " in line]
    lines += EXTRA.get(name, [])
    return "\n".join(lines)


EXTRA = {
    "ResponseErrorEvent": [
        "    error: dict[str, Any] | None | UnsetType = UNSET",
        '    """The nested shape some servers send: ``{type, code, message, param}``."""',
    ],
}


HEADER = '''"""{doc}

Generated by ``tools/gen_responses_models.py`` from openai-python {version}; do not edit by hand.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
'''


EXTRA_CORE_NAMES = ["ResponseKeepaliveEvent"]
EXTRA_CORE_EVENTS = '''

# An event the API sends that openai-python has no type for.


class ResponseKeepaliveEvent(_Tagged, tag="keepalive"):
    """Sent about every 30 s while a turn waits; it carries a sequence number."""

    sequence_number: int | None | UnsetType = UNSET
'''
EXTRA_TOOL_NAMES = [
    "ResponseApplyPatchCallOperationDiffDeltaEvent",
    "ResponseApplyPatchCallOperationDiffDoneEvent",
]
EXTRA_TOOL_EVENTS = '''

# Events the API sends that openai-python has no type for.

class ResponseApplyPatchCallOperationDiffDeltaEvent(
    _Tagged, tag="response.apply_patch_call_operation_diff.delta"
):
    """A fragment of an ``apply_patch_call``'s ``operation.diff``."""

    delta: str = ""
    item_id: str = ""
    output_index: int = 0
    sequence_number: int = 0


class ResponseApplyPatchCallOperationDiffDoneEvent(
    _Tagged, tag="response.apply_patch_call_operation_diff.done"
):
    """An ``apply_patch_call``'s finished ``operation.diff``."""

    diff: str | None | UnsetType = UNSET
    item_id: str = ""
    output_index: int = 0
    sequence_number: int = 0
'''


TOOL_WORDS = ("call", "mcp", "image_gen", "web_search", "file_search", "compaction")


def is_tool(cls: type[pydantic.BaseModel]) -> bool:
    tag = typing.get_args(cls.model_fields["type"].annotation)[0]
    return any(word in tag for word in TOOL_WORDS)


def write_events(
    filename: str,
    doc: str,
    classes: list[type[pydantic.BaseModel]],
    extra: str,
    extra_names: list[str],
    item_names: list[str],
    version: str,
    union: tuple[list[type[pydantic.BaseModel]], list[str]] | None,
) -> None:
    structs = [struct(cls, "_Tagged") for cls in classes]
    text = "\n".join(structs) + extra
    used = sorted({n for n in item_names if re.search(rf"\b{n}\b", text)})
    lines = [HEADER.format(doc=doc, version=version)]
    lines.append("from chunkfold.responses._base import _Tagged" + (", UnknownEvent" if union else ""))
    if used:
        lines += ["from chunkfold.responses._items import (", *(f"    {n}," for n in used), ")"]
    names = [KNOWN[c] for c in classes] + extra_names
    if union:
        _, tool_names = union
        lines += ["from chunkfold.responses._tool_events import (", *(f"    {n}," for n in tool_names), ")"]
        names += [*tool_names, "ResponseStreamEvent"]
    lines += ["", "__all__ = [", *(f'    "{n}",' for n in sorted(names)), "]", ""]
    for struct_text in structs:
        lines += ["", struct_text, ""]
    lines.append(extra)
    if union:
        members = [KNOWN[e] for e in union[0]] + EXTRA_CORE_NAMES + EXTRA_TOOL_NAMES
        lines += [
            "",
            "ResponseStreamEvent = (\n    " + "\n    | ".join(members) + "\n    | UnknownEvent\n)",
            "",
        ]
    (ROOT / filename).write_text("\n".join(lines))


def main() -> None:
    import openai

    nested_items = [*NESTED[:-1], *items]
    body = [
        HEADER.format(doc="Output items, content parts, usage and ``Response``.", version=openai.__version__),
        "from chunkfold.responses._base import _Model, _Tagged, UnknownItem",
        "",
    ]
    for cls in nested_items:
        tagged = (
            "type" in cls.model_fields
            and typing.get_origin(cls.model_fields["type"].annotation) is typing.Literal
        )
        body += ["", struct(cls, "_Tagged" if tagged else "_Model"), ""]
    body += ["", "Annotation = (\n    " + "\n    | ".join(KNOWN[a] for a in ANNOTATIONS) + "\n)", ""]
    body += [
        "",
        "ResponseOutputItem = (\n    " + "\n    | ".join(KNOWN[i] for i in items) + "\n    | UnknownItem\n)",
        "",
    ]
    body += ["", struct(R.Response, "_Model"), ""]
    names = sorted([KNOWN[c] for c in nested_items] + ["Annotation", "Response", "ResponseOutputItem"])
    body.insert(3, "__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n")
    (ROOT / "_items.py").write_text("\n".join(body))

    tools = [cls for cls in events if is_tool(cls)]
    core = [cls for cls in events if not is_tool(cls)]
    item_names = [*(KNOWN[c] for c in nested_items), "Response", "ResponseOutputItem", "Annotation"]
    write_events(
        "_tool_events.py",
        "Stream events of tool calls (function, MCP, code, shell, patch, search, image).",
        tools,
        EXTRA_TOOL_EVENTS,
        EXTRA_TOOL_NAMES,
        item_names,
        openai.__version__,
        union=None,
    )
    write_events(
        "_events.py",
        "Stream events: one Struct per ``type``, and their union.",
        core,
        EXTRA_CORE_EVENTS,
        EXTRA_CORE_NAMES,
        item_names,
        openai.__version__,
        union=(events, [KNOWN[c] for c in tools] + EXTRA_TOOL_NAMES),
    )
    files = [str(ROOT / name) for name in ("_items.py", "_events.py", "_tool_events.py")]
    subprocess.run(["ruff", "format", "--quiet", *files], check=True, cwd=ROOT.parents[2])
    subprocess.run(["ruff", "check", "--fix", "--quiet", *files], check=False, cwd=ROOT.parents[2])
    subprocess.run(["ruff", "format", "--quiet", *files], check=True, cwd=ROOT.parents[2])


if __name__ == "__main__":
    main()
