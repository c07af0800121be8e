"""ChatCompletionAccumulator on every recorded stream in tests/data/fixtures.

* Every ``*/*.sse`` folds without error and equals ``reference_fold`` of its payloads
  (framed with chunkfold.SSEDecoder, blank keep-alives skipped, stopping at [DONE]),
  in one read and in small reads.
* ``openai/*.expected.json``: what the owning SDK test asserted about the completion
  (choices, message, content, tool calls, refusal, logprobs, usage) is compared with
  our final result. SDK-only fields (``parsed``, ``parsed_arguments``, ``__type__``)
  are ignored; assertions about the SDK's event sequence are skipped.
* ``openai/*.sse``: openai-python's ``ChatCompletionStreamState`` on the same chunks.

Where the SDKs' values differ from the contract (notes/accumulator-contract.md), the
test says so and asserts OUR rule:

* openai-python (<= 1.5x) and openai-node print ``tool_calls=[]`` for a message with no
  tool calls; rule 3 says ``tool_calls`` is None when there were none.
* openai-python's ChatCompletionStreamState assigns ``usage = chunk.usage`` on every
  chunk, so openai-dotnet's recordings (a usage chunk, then a chunk with ``usage:
  null``) end with usage None there; rule 5 (null never erases, last non-null wins)
  keeps the usage chunk's value.
* ChatCompletionStreamState iterates ``chunk.choices`` unconditionally and fails on
  dotnet's chunks without a ``choices`` key (rule 9: normal); it is given
  ``choices: []`` for those. It also concatenates ``audio.id`` when the id is repeated
  on each audio delta; rule 2 sets it once (checked in test_accumulate.py).
* On provider streams it concatenates a role repeated on every delta
  ("assistantassistant..."); rule 2 sets the role once. It cannot fold some provider
  shapes at all (SDK_CANNOT_FOLD below).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import chunkfold
import pytest
from conftest import FIXTURES, fixture_streams, stream_id
from reference_fold import (
    choice_view,
    fixture_events,
    normalize,
    reference_fold,
    reference_status,
    sdk_snapshot,
)

Accumulator = chunkfold.ChatCompletionAccumulator

ERROR_STREAMS = {"groq_gpt_oss_reasoning_then_error_event", "openrouter_midstream_error_chunk"}
EXPECTED = sorted((FIXTURES / "openai").glob("*.expected.json"))
OPENAI_STREAMS = sorted((FIXTURES / "openai").glob("*.sse"))


def fold(path: Path, read: int = 0) -> tuple[Any, dict[str, Any]]:
    body = path.read_bytes()
    acc = Accumulator()
    for i in range(0, len(body), read or len(body) or 1):
        assert acc.feed(body[i : i + (read or len(body))]) == []
    return acc, normalize(acc.finish())


@pytest.mark.parametrize("path", fixture_streams(), ids=stream_id)
def test_fixture_folds_to_the_reference(path: Path) -> None:
    payloads, events, done = fixture_events(path)
    acc, result = fold(path)
    assert result == reference_fold(payloads, events)
    assert acc.done == done
    assert acc.status == reference_status(payloads, events, done=done, finished=True)
    if path.stem in ERROR_STREAMS:
        assert acc.status == "error"
        assert isinstance(acc.error, chunkfold.StreamAPIError)
    elif path.read_bytes().rstrip().endswith(b"data: [DONE]"):
        assert acc.status == "done"
        assert acc.error is None
    assert acc.bytes == path.stat().st_size
    assert acc.skipped == 0
    assert acc.chunks == len(payloads)
    assert normalize(acc.usage) == result["usage"]


@pytest.mark.parametrize("path", fixture_streams(), ids=stream_id)
def test_fixture_in_small_reads_folds_the_same(path: Path) -> None:
    read = 7 if path.stat().st_size < 50_000 else 997
    acc, result = fold(path, read)
    whole_acc, whole = fold(path)
    assert result == whole
    assert (acc.status, acc.done, acc.chunks) == (whole_acc.status, whole_acc.done, whole_acc.chunks)


# --- openai/*.expected.json ------------------------------------------------------

_CHOICE_LISTS = (
    "listener.stream.get_final_completion().choices",
    "listener.stream.current_completion_snapshot.choices",
    "state.get_final_completion().choices",
)
_CHOICES = ("completion.choices[0]", "(await stream.finalChatCompletion()).choices[0]", "choice")
_EVENTS_ONLY = (
    "[e.type for e in listener.events]",
    "[e.type for e in listener.events if e.type.startswith('logprobs')]",
)


def _check_tokens(ours: list[dict[str, Any]] | None, expected: list[dict[str, Any]] | None) -> None:
    if expected is None:
        assert ours is None
        return
    assert ours is not None
    assert [(t["token"], t["logprob"], t["bytes"]) for t in ours] == [
        (t["token"], t["logprob"], t.get("bytes")) for t in expected
    ]
    assert [[(x["token"], x["logprob"]) for x in t["top_logprobs"]] for t in ours] == [
        [(x["token"], x["logprob"]) for x in t.get("top_logprobs") or []] for t in expected
    ]


def _check_tool_calls(ours: list[dict[str, Any]] | None, expected: list[dict[str, Any]] | None) -> None:
    if not expected:
        # The SDKs print [] for "no tool calls" (openai-python <= 1.5x, openai-node);
        # rule 3: tool_calls is None when there were none.
        assert ours is None
        return
    assert ours is not None
    assert [(c["id"], c["type"], c["function"]["name"], c["function"]["arguments"]) for c in ours] == [
        (c["id"], c.get("type", "function"), c["function"]["name"], c["function"]["arguments"])
        for c in expected
    ]


def _check_choice(ours: dict[str, Any], expected: dict[str, Any]) -> None:
    assert ours["index"] == expected["index"]
    assert ours["finish_reason"] == expected["finish_reason"]
    message, exp_message = ours["message"], expected["message"]
    for key in ("role", "content", "refusal"):
        assert message[key] == exp_message.get(key), key
    _check_tool_calls(message["tool_calls"], exp_message.get("tool_calls"))
    exp_logprobs = expected.get("logprobs")
    if exp_logprobs is None:
        assert ours["logprobs"] is None
    else:
        assert ours["logprobs"] is not None
        _check_tokens(ours["logprobs"]["content"], exp_logprobs.get("content"))
        _check_tokens(ours["logprobs"]["refusal"], exp_logprobs.get("refusal"))


def _check_subset(ours: Any, expected: Any, path: str = "usage") -> None:
    """Every field the SDK printed (but ``__type__``) has the same value in ours."""
    if isinstance(expected, dict):
        assert isinstance(ours, dict), path
        for key, value in expected.items():
            if key != "__type__":
                _check_subset(ours.get(key), value, f"{path}.{key}")
    else:
        assert ours == expected, path


def _check_assertion(ours: dict[str, Any], expr: str, expected: Any) -> bool:
    """Checks one SDK assertion against our completion; False if it is not about it."""
    choices = ours["choices"]
    if expr in _CHOICE_LISTS:
        assert len(choices) == len(expected)
        for choice, exp in zip(choices, expected, strict=True):
            _check_choice(choice, exp)
    elif expr in _CHOICES:
        _check_choice(choices[0], expected)
    elif expr == "listener.stream.get_final_completion()":
        for key in ("id", "created", "model", "object", "system_fingerprint", "service_tier"):
            assert ours[key] == expected[key], key
        assert len(choices) == len(expected["choices"])
        for choice, exp in zip(choices, expected["choices"], strict=True):
            _check_choice(choice, exp)
        _check_subset(ours["usage"], expected["usage"])
    elif expr == "completion.choices[0].message.tool_calls":
        _check_tool_calls(choices[0]["message"]["tool_calls"], expected)
    elif expr == "listener.get_event_by_type('content.done')":
        assert expected["content"] in [c["message"]["content"] for c in choices]
    elif expr == "listener.get_event_by_type('refusal.done')":
        assert expected["refusal"] in [c["message"]["refusal"] for c in choices]
    elif expr == "listener.get_event_by_type('tool_calls.function.arguments.done')":
        calls = [c["function"] for ch in choices for c in ch["message"]["tool_calls"] or []]
        assert {"name": expected["name"], "arguments": expected["arguments"]} in calls
    elif expr == "[e for e in listener.events if e.type.startswith('logprobs')]":
        # The ".done" events carry each choice's whole token list.
        for event in expected:
            part = {"logprobs.content.done": "content", "logprobs.refusal.done": "refusal"}.get(event["type"])
            if part is not None:
                assert len(choices) == 1
                _check_tokens(choices[0]["logprobs"][part], event[part])
    else:
        assert expr in _EVENTS_ONLY, f"unhandled printed_expr {expr!r}"
        return False
    return True


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_sdk_expected_values(path: Path) -> None:
    spec = json.loads(path.read_text())
    stream = path.with_name(path.name.removesuffix(".expected.json") + ".sse")
    acc, ours = fold(stream)
    assert acc.status == "done"
    if spec.get("raises") == "LengthFinishReasonError":
        # The SDK raises because a choice finished with "length"; what applies to us
        # is that finish_reason, and a usable completion with its usage.
        assert [c["finish_reason"] for c in ours["choices"]] == ["length"]
        assert ours["usage"] is not None
    checked = [_check_assertion(ours, a["printed_expr"], a["expected"]) for a in spec["assertions"]]
    assert any(checked) or spec.get("raises")


# --- openai-python's ChatCompletionStreamState ---------------------------------------


@pytest.mark.parametrize("path", OPENAI_STREAMS, ids=lambda p: p.stem)
def test_matches_openai_python_stream_state(path: Path) -> None:
    payloads, _, _ = fixture_events(path)
    _, ours = fold(path)
    sdk = sdk_snapshot(payloads)
    assert [choice_view(c) for c in ours["choices"]] == [choice_view(c) for c in sdk.choices]
    sdk_usage = None if sdk.usage is None else sdk.usage.to_dict()
    if path.name.startswith("dotnet-ChatWithAudio") or path.name.startswith("dotnet-ChatWithBasicAudio"):
        # These end with a usage chunk and then a chunk with "usage": null. The SDK
        # takes usage from the last chunk (None); rule 5: the last non-null value wins.
        assert sdk_usage is None
        usages = [p["usage"] for p in payloads if p.get("usage") is not None]
        assert payloads[-1].get("usage", None) is None
        assert len(usages) == 1
        _check_subset(ours["usage"], usages[0])
    elif sdk_usage is None:
        assert ours["usage"] is None
    else:
        _check_subset(ours["usage"], sdk_usage)


# Provider streams where ChatCompletionStreamState cannot follow (it is not meant for
# them): it raises on a tool index that is not the next list position (Anthropic's
# compatibility layer starts at 1), on tool calls without "index" (Mistral), and on
# lists without "index" keys (Magistral's content parts, OpenRouter's annotations).
SDK_CANNOT_FOLD = {
    "anthropic_openai_compat_tool_index_starts_at_1",
    "mistral_magistral_content_parts",
    "mistral_tool_call_no_index_no_type",
    "openrouter_web_search_annotations_usage",
}


@pytest.mark.parametrize("path", sorted((FIXTURES / "providers").glob("*.sse")), ids=lambda p: p.stem)
def test_provider_streams_vs_openai_python_stream_state(path: Path) -> None:
    """Where the SDK can fold a provider stream, content, refusal, tool calls, finish
    reasons and logprobs agree. Roles differ: the SDK concatenates a role repeated on
    every delta (OpenRouter, Perplexity, Together, Z.ai: "assistantassistant...") and
    leaves it None when never sent (GLM via Mistral); rule 2 sets it once, default
    "assistant"."""
    payloads, _, _ = fixture_events(path)
    _, ours = fold(path)
    assert all(c["message"]["role"] == "assistant" for c in ours["choices"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic, about list content
            sdk = sdk_snapshot(payloads)
    except (IndexError, RuntimeError, TypeError):
        assert path.stem in SDK_CANNOT_FOLD
        return
    assert [choice_view(c) for c in ours["choices"]] == [choice_view(c) for c in sdk.choices]
