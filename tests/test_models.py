"""The Structs mirror openai-python's types, and decode what openai-python decodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold.chat import models
from conftest import fixture_streams, stream_id
from openai._models import construct_type
from openai.types import chat as oai
from openai.types import completion_usage as oai_usage
from openai.types.chat import chat_completion, chat_completion_chunk, chat_completion_message

MIRRORS = [
    (models.ChatCompletionChunk, oai.ChatCompletionChunk),
    (models.Choice, chat_completion_chunk.Choice),
    (models.ChoiceDelta, chat_completion_chunk.ChoiceDelta),
    (models.ChoiceDeltaToolCall, chat_completion_chunk.ChoiceDeltaToolCall),
    (models.ChoiceDeltaToolCallFunction, chat_completion_chunk.ChoiceDeltaToolCallFunction),
    (models.ChoiceDeltaFunctionCall, chat_completion_chunk.ChoiceDeltaFunctionCall),
    (models.ChoiceDeltaAudio, chat_completion_chunk.ChoiceDeltaAudio),
    (models.ChoiceLogprobs, chat_completion_chunk.ChoiceLogprobs),
    (models.ChatCompletionTokenLogprob, oai.ChatCompletionTokenLogprob),
    (models.TopLogprob, oai.chat_completion_token_logprob.TopLogprob),
    (models.CompletionUsage, oai_usage.CompletionUsage),
    (models.CompletionTokensDetails, oai_usage.CompletionTokensDetails),
    (models.PromptTokensDetails, oai_usage.PromptTokensDetails),
    (models.ChatCompletion, oai.ChatCompletion),
    (models.ChatCompletionChoice, chat_completion.Choice),
    (models.ChatCompletionMessage, oai.ChatCompletionMessage),
    (models.ChatCompletionAudio, oai.ChatCompletionAudio),
    (models.Annotation, chat_completion_message.Annotation),
    (models.AnnotationURLCitation, chat_completion_message.AnnotationURLCitation),
    (models.FunctionCall, chat_completion_message.FunctionCall),
]

# openai-python fields we deliberately leave out of the final ChatCompletion.
NOT_MIRRORED = {"metadata", "moderation"}


@pytest.mark.parametrize(("ours", "theirs"), MIRRORS, ids=lambda t: t.__name__)
def test_every_openai_field_is_mirrored(ours: type[msgspec.Struct], theirs: Any) -> None:
    missing = set(theirs.model_fields) - set(ours.__struct_fields__) - NOT_MIRRORED
    assert not missing


def assert_same(ours: Any, theirs: Any, where: str) -> None:
    """Field-for-field equality of a Struct tree with openai's model_dump()."""
    if isinstance(ours, msgspec.Struct):
        assert isinstance(theirs, dict), where
        for name in ours.__struct_fields__:
            value = getattr(ours, name)
            if value is msgspec.UNSET:
                assert theirs.get(name) is None, f"{where}.{name}"
            elif name == "choices" and value == [] and theirs.get(name) is None:
                continue  # documented: null or missing choices decode as []
            elif name == "object" and value == "chat.completion.chunk" and theirs.get(name) is None:
                continue  # documented: a missing object decodes as OpenAI's value
            elif name in theirs:
                assert_same(value, theirs[name], f"{where}.{name}")
            else:
                assert value in (None, []) or _is_default(ours, name), f"{where}.{name}"
    elif isinstance(ours, list):
        assert isinstance(theirs, list), where
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def _is_default(struct: msgspec.Struct, name: str) -> bool:
    info = {f.name: f for f in msgspec.structs.fields(struct)}[name]
    default = info.default_factory() if info.default is msgspec.NODEFAULT else info.default
    return bool(getattr(struct, name) == default)


def payloads(path: Path) -> list[bytes]:
    events = chunkfold.SSEDecoder().feed(path.read_bytes())
    return [e.raw for e in events if e.event == "message" and e.raw.strip() not in (b"", b"[DONE]")]


@pytest.mark.parametrize("path", fixture_streams(), ids=stream_id)
def test_chunks_equal_openai_model_dump(path: Path) -> None:
    decoder = msgspec.json.Decoder(models.ChatCompletionChunk)
    for i, payload in enumerate(payloads(path)):
        obj = json.loads(payload)
        if "error" in obj:
            continue
        theirs = construct_type(type_=oai.ChatCompletionChunk, value=obj)
        assert_same(decoder.decode(payload), theirs.model_dump(warnings=False), f"{path.name}#{i}")


def test_to_and_from_openai_round_trip() -> None:
    for path in fixture_streams():
        for payload in payloads(path):
            if b'"error"' in payload:
                continue
            chunk = msgspec.json.decode(payload, type=models.ChatCompletionChunk)
            theirs = chunkfold.to_openai(chunk)
            assert isinstance(theirs, oai.ChatCompletionChunk)
            assert chunkfold.from_openai(theirs) == chunk


def test_completion_converts_to_openai() -> None:
    completion = models.ChatCompletion(
        id="x",
        created=1,
        model="m",
        choices=[
            models.ChatCompletionChoice(
                message=models.ChatCompletionMessage(content="hi"), finish_reason="stop"
            )
        ],
        usage=models.CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
    )
    theirs = chunkfold.to_openai(completion)
    assert isinstance(theirs, oai.ChatCompletion)
    assert theirs.choices[0].message.content == "hi"
    assert chunkfold.from_openai(theirs) == completion


def test_importing_chunkfold_does_not_import_openai() -> None:
    import subprocess
    import sys

    code = "import sys, chunkfold; chunkfold.ChunkDecoder(); assert 'openai' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
