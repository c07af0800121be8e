"""ChatCompletionAccumulator: one test group per rule of notes/accumulator-contract.md,
on small hand-written streams and on the recorded provider streams that motivate them."""

from __future__ import annotations

import json
import time
from typing import Any

import chunkfold
import msgspec
import pytest
from chunkfold.chat.models import ChatCompletion, ChatCompletionChunk, CompletionUsage
from conftest import FIXTURES
from reference_fold import normalize

Accumulator = chunkfold.ChatCompletionAccumulator

PROVIDERS = FIXTURES / "providers"
OPENAI = FIXTURES / "openai"


# --- helpers ---------------------------------------------------------------------


def frame(payload: Any, event: str | None = None) -> bytes:
    """One SSE event: ``data: <compact json>\\n\\n`` (strings are sent as they are)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def sse(*payloads: Any) -> bytes:
    return b"".join(frame(p) for p in payloads)


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": list(choices),
        **top,
    }


def ch(index: int | None = 0, finish: Any = "unset", **delta: Any) -> dict[str, Any]:
    """A choice entry: ``index`` (None: no key), its delta, and ``finish_reason`` if given."""
    out: dict[str, Any] = {} if index is None else {"index": index}
    out["delta"] = delta
    if finish != "unset":
        out["finish_reason"] = finish
    return out


def fold(*payloads: Any, finish: bool = True, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Feeds ``payloads`` as SSE in one read (and checks byte-at-a-time gives the same)."""
    body = sse(*payloads)
    acc = Accumulator(**kwargs)
    assert acc.feed(body) == []
    result = acc.finish() if finish else acc.snapshot()
    slow = Accumulator(**kwargs)
    for i in range(len(body)):
        slow.feed(body[i : i + 1])
    assert normalize(slow.finish() if finish else slow.snapshot()) == normalize(result)
    return acc, normalize(result)


def fold_file(path: Any) -> tuple[Any, dict[str, Any]]:
    acc = Accumulator()
    acc.feed(path.read_bytes())
    return acc, normalize(acc.finish())


def msg(result: dict[str, Any], i: int = 0) -> dict[str, Any]:
    message: dict[str, Any] = result["choices"][i]["message"]
    return message


def calls(result: dict[str, Any], i: int = 0) -> list[tuple[str, str, str, str]] | None:
    tool_calls = msg(result, i)["tool_calls"]
    if tool_calls is None:
        return None
    return [(c["id"], c["type"], c["function"]["name"], c["function"]["arguments"]) for c in tool_calls]


def usage(prompt: int, completion: int, **extra: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        **extra,
    }


def tokens(*texts: str) -> list[dict[str, Any]]:
    return [{"token": t, "logprob": -0.5, "bytes": list(t.encode()), "top_logprobs": []} for t in texts]


# --- shape -------------------------------------------------------------------------


def test_result_is_a_chat_completion() -> None:
    acc = Accumulator()
    acc.feed(sse(chunk(ch(role="assistant", content="hi")), chunk(ch(finish="stop"))))
    result = acc.finish()
    assert isinstance(result, ChatCompletion)
    assert isinstance(acc.snapshot(), ChatCompletion)
    assert result.choices[0].message.content == "hi"
    assert result.object == "chat.completion"


def test_empty_stream() -> None:
    acc = Accumulator()
    assert acc.status == "in_progress"
    result = normalize(acc.finish())
    assert result["choices"] == []
    assert result["usage"] is None
    assert acc.status == "truncated"
    assert (acc.chunks, acc.bytes, acc.skipped, acc.done) == (0, 0, 0, False)


# --- rule 1: choices keyed by index --------------------------------------------------


def test_choices_keyed_by_index_and_sorted() -> None:
    _, result = fold(
        chunk(ch(2, content="c")),
        chunk(ch(0, content="a")),
        chunk(ch(1, content="b"), ch(2, content="C")),
        chunk(ch(0, content="A")),
    )
    assert [(c["index"], c["message"]["content"]) for c in result["choices"]] == [
        (0, "aA"),
        (1, "b"),
        (2, "cC"),
    ]


@pytest.mark.parametrize("indices", [[10**18, -5, 3], [-1, -2], [2**31, 0], [7]])
def test_sparse_negative_and_huge_choice_indices(indices: list[int]) -> None:
    payloads = [chunk(ch(i, content=f"<{i}>")) for i in indices] + [
        chunk(ch(i, finish="stop")) for i in indices
    ]
    acc, result = fold(*payloads)
    assert [c["index"] for c in result["choices"]] == sorted(indices)
    assert [msg(result, n)["content"] for n in range(len(indices))] == [f"<{i}>" for i in sorted(indices)]
    assert acc.status == "finished"


def test_missing_choice_index_is_zero() -> None:
    _, result = fold(chunk(ch(None, content="a")), chunk(ch(0, content="b")), chunk(ch(None, content="c")))
    assert len(result["choices"]) == 1
    assert result["choices"][0]["index"] == 0
    assert msg(result)["content"] == "abc"


# --- rule 2: text concatenates, set-once fields, names ------------------------------


def test_text_fields_concatenate() -> None:
    _, result = fold(
        chunk(ch(content="He", refusal="I ", reasoning_content="th", reasoning="r1")),
        chunk(ch(content='llo 中文 😀\n"q"', refusal="can't", reasoning_content="ink", reasoning="r2")),
        chunk(ch(function_call={"name": "f", "arguments": '{"a"'})),
        chunk(ch(function_call={"arguments": ":1}"})),
    )
    m = msg(result)
    assert m["content"] == 'Hello 中文 😀\n"q"'
    assert m["refusal"] == "I can't"
    assert m["reasoning_content"] == "think"
    assert m["reasoning"] == "r1r2"
    assert m["function_call"] == {"name": "f", "arguments": '{"a":1}'}


def test_text_fields_stay_none_until_a_non_null_value() -> None:
    _, result = fold(
        chunk(ch(role="assistant", content=None, refusal=None, reasoning=None)), chunk(ch(content=""))
    )
    m = msg(result)
    assert m["content"] == ""
    assert m["refusal"] is None
    assert "reasoning" not in m  # extensions stay absent (UNSET)
    assert "reasoning_content" not in m
    assert m["tool_calls"] is None
    assert m["function_call"] is None
    assert m["audio"] is None
    assert m["annotations"] is None


def test_role_defaults_to_assistant_and_is_set_once() -> None:
    _, result = fold(chunk(ch(content="x")))
    assert msg(result)["role"] == "assistant"
    # OpenRouter, Perplexity, Z.ai: role repeated on every delta; first non-empty wins
    _, result = fold(
        chunk(ch(role="")), chunk(ch(role="assistant")), chunk(ch(role="assistant")), chunk(ch(role="tool"))
    )
    assert msg(result)["role"] == "assistant"
    _, result = fold(chunk(ch(role="tool")), chunk(ch(role="assistant")))
    assert msg(result)["role"] == "tool"


def test_tool_call_id_and_type_set_once_type_defaults_to_function() -> None:
    _, result = fold(
        chunk(ch(tool_calls=[{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}])),
        chunk(ch(tool_calls=[{"index": 0, "id": "", "type": "function", "function": {"arguments": "{}"}}])),
        chunk(
            ch(tool_calls=[{"index": 0, "id": "call_other", "type": "other", "function": {"arguments": ""}}])
        ),
        chunk(ch(tool_calls=[{"index": 1, "id": "call_2", "type": "custom", "function": {"name": "g"}}])),
        chunk(ch(tool_calls=[{"index": 1, "type": "function"}])),
    )
    assert calls(result) == [("call_1", "function", "f", "{}"), ("call_2", "custom", "g", "")]


@pytest.mark.parametrize(
    ("fragments", "name"),
    [
        (["get_weather", "get_weather", "get_weather"], "get_weather"),  # repeated in full
        (["get_weather", "", None], "get_weather"),  # empty / null later (GLM via Mistral)
        (["get_", "weather"], "get_weather"),  # split
        (["get", "_", "weather", "get_weather"], "get_weather"),  # split, then repeated in full
        (["", "f"], "f"),
        (["a", "b", "ab"], "ab"),  # "ab" equals the name so far: nothing changes
        (["get_weather", "_v2"], "get_weather_v2"),
        (["f", "g", "f"], "fgf"),  # "f" differs from the name so far ("fg"): appended
    ],
)
def test_function_name_fragments(fragments: list[str | None], name: str) -> None:
    """Rule 2: a name fragment that is empty or equal to the name so far changes
    nothing; any other fragment is appended. Tool calls and function_call alike."""
    tool = [
        chunk(ch(tool_calls=[{"index": 0, "function": {"name": f, "arguments": "x"}}])) for f in fragments
    ]
    _, result = fold(chunk(ch(tool_calls=[{"index": 0, "id": "call_1", "type": "function"}])), *tool)
    assert calls(result) == [("call_1", "function", name, "x" * len(fragments))]
    legacy = [chunk(ch(function_call={"name": f, "arguments": "y"})) for f in fragments]
    _, result = fold(*legacy)
    assert msg(result)["function_call"] == {"name": name, "arguments": "y" * len(fragments)}


def test_audio_id_set_once_data_and_transcript_concatenate_expires_at_last_non_null() -> None:
    _, result = fold(
        chunk(ch(audio={"id": "audio_1", "transcript": "Hel"})),
        chunk(ch(audio={"id": "audio_1", "data": "AAAA"})),
        chunk(ch(audio={"id": "", "data": "BBBB", "transcript": "lo", "expires_at": 5})),
        chunk(ch(audio={"id": "audio_2", "expires_at": 7})),
        chunk(ch(audio={"expires_at": None, "data": None})),
    )
    assert msg(result)["audio"] == {
        "id": "audio_1",
        "data": "AAAABBBB",
        "expires_at": 7,
        "transcript": "Hello",
    }


def test_dotnet_audio_stream() -> None:
    """openai-dotnet audio output: the audio id repeated on deltas (openai-python would
    concatenate it), chunks without "choices", then a usage chunk and a usage: null chunk."""
    path = OPENAI / "dotnet-ChatWithBasicAudioOutput-0a2ce7b4.sse"
    acc, result = fold_file(path)
    audio = msg(result)["audio"]
    assert audio["id"] == "audio_6a233a354ee081918e294494ab803d56"
    assert audio["transcript"] == "Hello"
    assert audio["expires_at"] == 1780697157
    assert len(audio["data"]) > 1000
    assert audio["data"].startswith("CAAIAAcABwAIAAoACAAH")
    assert result["usage"]["completion_tokens"] == 24
    assert result["usage"]["completion_tokens_details"]["audio_tokens"] == 19
    assert acc.status == "done"


@pytest.mark.parametrize(
    "path", sorted(OPENAI.glob("dotnet-ChatWithBasicAudioOutput*.sse")), ids=lambda p: p.stem
)
def test_dotnet_usage_chunk_then_usage_null_keeps_usage(path: Any) -> None:
    acc, result = fold_file(path)
    assert result["usage"] is not None
    assert result["usage"]["total_tokens"] > 0
    assert normalize(acc.usage) == result["usage"]


def test_mistral_list_content_parts() -> None:
    _, result = fold(
        chunk(
            ch(
                content=[
                    {
                        "type": "thinking",
                        "thinking": [{"type": "text", "text": "hm"}, {"type": "text", "text": "m"}],
                    }
                ]
            )
        ),
        chunk(
            ch(
                content=[
                    {"type": "text", "text": "4"},
                    {"type": "thinking", "thinking": [{"type": "text", "text": "!"}]},
                ]
            )
        ),
        chunk(ch(content="", finish="stop")),
    )
    assert msg(result)["content"] == "4"
    assert msg(result)["reasoning_content"] == "hmm!"
    _, result = fold_file(PROVIDERS / "mistral_magistral_content_parts.sse")
    assert msg(result)["content"] == "2 + 2 = 4"
    assert msg(result)["reasoning_content"] == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."


# --- rule 3: tool calls --------------------------------------------------------------


def test_tool_calls_keyed_by_index_and_sorted_by_index() -> None:
    # index 1's first fragment before index 0's: OpenAI's index is the position in
    # message.tool_calls (openai-node places calls by it; openai-python raises IndexError)
    _, result = fold(
        chunk(
            ch(
                tool_calls=[
                    {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}
                ]
            )
        ),
        chunk(
            ch(
                tool_calls=[
                    {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}}
                ]
            )
        ),
        chunk(
            ch(
                tool_calls=[
                    {"index": 1, "function": {"arguments": "[1"}},
                    {"index": 0, "function": {"arguments": "}"}},
                ]
            )
        ),
        chunk(ch(tool_calls=[{"index": 1, "function": {"arguments": "]"}}])),
    )
    assert calls(result) == [("a", "function", "f", "{}"), ("b", "function", "g", "[1]")]


def test_tool_calls_without_index_keep_first_appearance_after_indexed_ones() -> None:
    _, result = fold(
        chunk(ch(tool_calls=[{"id": "z", "function": {"name": "n", "arguments": "1"}}])),
        chunk(ch(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g", "arguments": "2"}}])),
        chunk(ch(tool_calls=[{"id": "y", "function": {"name": "m", "arguments": "3"}}])),
        chunk(ch(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "4"}}])),
    )
    assert [c[0] for c in calls(result) or []] == ["a", "b", "z", "y"]
    acc = Accumulator(events=True)
    events = acc.feed(
        sse(
            chunk(ch(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g", "arguments": "x"}}])),
            chunk(ch(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "y"}}])),
        )
    )
    deltas = [(e.index, e.delta) for e in events if isinstance(e, chunkfold.events.ToolArgumentsDelta)]
    assert deltas == [(1, "x"), (0, "y")]


@pytest.mark.parametrize("indices", [[10**18, 5], [-1, -7], [3, 1, 2], [2**63 - 1]])
def test_huge_and_negative_tool_indices(indices: list[int]) -> None:
    first = [
        chunk(ch(tool_calls=[{"index": i, "id": f"id{i}", "function": {"name": f"n{i}"}}])) for i in indices
    ]
    rest = [
        chunk(ch(tool_calls=[{"index": i, "function": {"arguments": str(i)}}])) for i in reversed(indices)
    ]
    _, result = fold(*first, *rest)
    assert calls(result) == [(f"id{i}", "function", f"n{i}", str(i)) for i in sorted(indices)]


def test_tool_index_starting_at_1() -> None:
    _, result = fold(
        chunk(ch(content="Reading it.")),
        chunk(
            ch(tool_calls=[{"index": 1, "id": "toolu_1", "type": "function", "function": {"name": "read"}}])
        ),
        chunk(ch(tool_calls=[{"index": 1, "function": {"arguments": ""}}])),
        chunk(ch(tool_calls=[{"index": 1, "function": {"arguments": '{"p": 1}'}}])),
    )
    assert calls(result) == [("toolu_1", "function", "read", '{"p": 1}')]
    _, result = fold_file(PROVIDERS / "anthropic_openai_compat_tool_index_starts_at_1.sse")
    assert calls(result) == [("toolu_sanitized", "function", "read_file", '{"path": "a.txt"}')]
    assert msg(result)["content"] == "Reading it."
    assert result["created"] == 0


def test_same_tool_index_twice_in_one_chunk() -> None:
    _, result = fold(
        chunk(
            ch(
                tool_calls=[
                    {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}},
                    {"index": 0, "function": {"arguments": '"x":'}},
                    {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": "["}},
                    {"index": 0, "function": {"arguments": "1}"}},
                    {"index": 1, "function": {"arguments": "]"}},
                ]
            )
        )
    )
    assert calls(result) == [("a", "function", "f", '{"x":1}'), ("b", "function", "g", "[]")]


def test_mistral_tool_call_without_index_or_type() -> None:
    acc, result = fold_file(PROVIDERS / "mistral_tool_call_no_index_no_type.sse")
    assert calls(result) == [("gSIMJiOkT", "function", "weather", '{"location": "San Francisco"}')]
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert result["usage"]["total_tokens"] == 146
    assert msg(result)["content"] == ""
    assert acc.status == "done"


def test_index_less_fragments_by_id() -> None:
    _, result = fold(
        # no id and no calls yet: starts one
        chunk(ch(tool_calls=[{"function": {"name": "zero", "arguments": "0"}}])),
        # a new non-empty id starts a new call
        chunk(ch(tool_calls=[{"id": "A", "function": {"name": "fa", "arguments": "{"}}])),
        chunk(ch(tool_calls=[{"id": "B", "function": {"name": "fb", "arguments": "["}}])),
        # an existing id continues that call, also when it is not the latest
        chunk(ch(tool_calls=[{"id": "A", "function": {"arguments": "}"}}])),
        # no id / empty id: continues the most recently created call (B)
        chunk(ch(tool_calls=[{"function": {"arguments": "1"}}, {"id": "", "function": {"arguments": "]"}}])),
        chunk(ch(tool_calls=[{"id": None, "type": "function", "function": {"arguments": ""}}])),
    )
    assert calls(result) == [
        ("", "function", "zero", "0"),
        ("A", "function", "fa", "{}"),
        ("B", "function", "fb", "[1]"),
    ]


def test_several_index_less_calls_in_one_delta() -> None:
    _, result = fold(
        chunk(
            ch(
                tool_calls=[
                    {"id": "x1", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "x2", "function": {"name": "b", "arguments": "{"}},
                    {"function": {"arguments": "}"}},
                ]
            )
        )
    )
    assert calls(result) == [("x1", "function", "a", "{}"), ("x2", "function", "b", "{}")]


def test_qwen_empty_continuation_ids() -> None:
    _, result = fold_file(PROVIDERS / "alibaba_qwen3max_tool_call_empty_id.sse")
    assert calls(result) == [
        ("call_eee11723464a4b9eb8cee71d", "function", "weather", '{"location": "San Francisco"}')
    ]
    assert msg(result)["role"] == "assistant"
    assert result["usage"]["total_tokens"] == 317


def test_glm_via_mistral_empty_name_and_repeated_type() -> None:
    _, result = fold_file(PROVIDERS / "mistral_glm_incremental_tool_call_delta_index.sse")
    assert calls(result) == [
        ("chatcmpl-tool-9f149c74c42f265b", "function", "webSearchTool", '{"query": "current Berlin weather"}')
    ]


def test_parallel_tool_calls_fixture() -> None:
    _, result = fold_file(PROVIDERS / "openai_gpt4o_parallel_tool_calls.sse")
    assert calls(result) == [
        ("call_3rqTYrA6H21AYUaRGP4F66oq", "function", "get_country", "{}"),
        ("call_Xw9XMKBJU48kAAd78WgIswDx", "function", "get_product_name", "{}"),
    ]


def test_tool_calls_none_when_there_were_none() -> None:
    _, result = fold(chunk(ch(content="x", tool_calls=[])), chunk(ch(tool_calls=None, finish="stop")))
    assert msg(result)["tool_calls"] is None


def test_tool_calls_are_per_choice() -> None:
    _, result = fold(
        chunk(
            ch(0, tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "1"}}]),
            ch(1, tool_calls=[{"index": 0, "id": "b", "function": {"name": "g", "arguments": "2"}}]),
        ),
        chunk(
            ch(0, tool_calls=[{"id": "x", "function": {"name": "h", "arguments": "3"}}]),
            ch(1, tool_calls=[{"function": {"arguments": "4"}}]),  # continues choice 1's latest call
        ),
        chunk(ch(0, tool_calls=[{"function": {"arguments": "5"}}])),  # continues choice 0's "x"
    )
    assert calls(result, 0) == [("a", "function", "f", "1"), ("x", "function", "h", "35")]
    assert calls(result, 1) == [("b", "function", "g", "24")]


def test_empty_audio_and_function_call_objects_count_as_sent() -> None:
    _, result = fold(chunk(ch(audio={}, function_call={})))
    assert msg(result)["audio"] == {"id": None, "data": None, "expires_at": None, "transcript": None}
    assert msg(result)["function_call"] == {"name": "", "arguments": ""}
    # fields the stream never sent stay None (openai-python's ChatCompletionAudio needs all four)
    _, result = fold(chunk(ch(audio={"id": "a1", "transcript": ""})), chunk(ch(audio={"data": "AA"})))
    assert msg(result)["audio"] == {"id": "a1", "data": "AA", "expires_at": None, "transcript": ""}


# --- rule 4: null never erases ---------------------------------------------------------


def test_null_never_erases() -> None:
    _, result = fold(
        chunk(
            ch(role="assistant", content="a", refusal="r", reasoning="t", finish="stop"),
            system_fingerprint="fp",
            service_tier="default",
            usage=usage(1, 2),
            citations=["u"],
        ),
        chunk(
            {
                "index": 0,
                "delta": {
                    "role": None,
                    "content": None,
                    "refusal": None,
                    "reasoning": None,
                    "tool_calls": None,
                    "function_call": None,
                    "audio": None,
                    "annotations": None,
                },
                "finish_reason": None,
                "logprobs": None,
                "usage": None,
            },
            system_fingerprint=None,
            service_tier=None,
            usage=None,
            citations=None,
            x_groq=None,
        ),
    )
    m = msg(result)
    assert (m["role"], m["content"], m["refusal"], m["reasoning"]) == ("assistant", "a", "r", "t")
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["choices"][0]["logprobs"] is None
    assert (result["system_fingerprint"], result["service_tier"]) == ("fp", "default")
    assert result["usage"] == normalize(CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3))
    assert result["citations"] == ["u"]


def test_null_tool_call_fields_change_nothing() -> None:
    _, result = fold(
        chunk(
            ch(
                tool_calls=[
                    {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "1"}}
                ]
            )
        ),
        chunk(
            ch(
                tool_calls=[
                    {"index": 0, "id": None, "type": None, "function": {"name": None, "arguments": None}}
                ]
            )
        ),
        chunk(ch(tool_calls=[{"index": 0, "function": None}])),
    )
    assert calls(result) == [("a", "function", "f", "1")]


# --- rule 5: usage is state ------------------------------------------------------------


def test_usage_last_non_null_value_wins() -> None:
    acc, result = fold(
        chunk(ch(content="a"), usage=usage(1, 1)),
        chunk(ch(content="b"), usage=None),
        chunk(usage=usage(1, 5)),
        chunk(ch(finish="stop"), usage=None),
    )
    assert result["usage"] == normalize(CompletionUsage(prompt_tokens=1, completion_tokens=5, total_tokens=6))
    assert normalize(acc.usage) == result["usage"]


def test_usage_sources_in_json_order() -> None:
    """Top-level usage, a choice's usage and x_groq.usage: the last in JSON key order."""
    a, b, c = usage(1, 1), usage(2, 2), usage(3, 3)

    def total(payload: dict[str, Any]) -> int:
        acc = Accumulator()
        acc.feed(frame(payload))
        return int(normalize(acc.finish())["usage"]["total_tokens"])

    assert total({"usage": a, "x_groq": {"usage": b}}) == 4
    assert total({"x_groq": {"usage": b}, "usage": a}) == 2
    assert total({"choices": [{"index": 0, "delta": {}, "usage": c}], "usage": a}) == 2
    assert total({"usage": a, "choices": [{"index": 0, "delta": {}, "usage": c}]}) == 6
    assert total({"usage": a, "choices": [{"index": 0, "usage": c}, {"index": 1, "usage": b}]}) == 4
    assert total({"x_groq": {"id": "r"}, "usage": None, "choices": [{"usage": c}]}) == 6
    assert total({"x_groq": {"usage": b}, "usage": None}) == 4  # null never erases


def test_empty_usage_object_is_a_non_null_value() -> None:
    _, result = fold(chunk(usage=usage(3, 4)), chunk(usage={}))
    assert result["usage"] == normalize(CompletionUsage())


def test_perplexity_cumulative_usage_is_not_summed() -> None:
    path = PROVIDERS / "perplexity_sonar_citations_cumulative_usage.sse"
    payloads = [json.loads(line[6:]) for line in path.read_text().splitlines() if line.startswith("data: {")]
    _, result = fold_file(path)
    last = [p["usage"] for p in payloads if p.get("usage")][-1]
    assert result["usage"] == normalize(msgspec.convert(last, CompletionUsage))
    assert result["usage"]["completion_tokens"] == 336
    assert result["choices"][0]["finish_reason"] == "stop"


def test_groq_x_groq_usage() -> None:
    _, result = fold_file(PROVIDERS / "groq_tool_call_x_groq_usage.sse")
    assert (result["usage"]["prompt_tokens"], result["usage"]["completion_tokens"]) == (210, 15)
    assert result["usage"]["total_tokens"] == 225  # not doubled
    _, result = fold(
        chunk(ch(content="x")), chunk(ch(finish="stop"), x_groq={"id": "req", "usage": usage(7, 3)})
    )
    assert result["usage"]["total_tokens"] == 10


# --- rule 6: id, model, created, fingerprint, tier -------------------------------------


def test_id_model_created_first_non_empty() -> None:
    _, result = fold(
        {"id": "", "model": "", "created": 0, "object": "", "choices": []},
        chunk(ch(content="a"), id="first", model="m1", created=0),
        chunk(ch(content="b"), id="second", model="m2", created=5),
        chunk(ch(content="c"), id="", model="", created=9),
    )
    assert (result["id"], result["model"], result["created"]) == ("first", "m1", 5)
    assert result["object"] == "chat.completion"


def test_system_fingerprint_and_service_tier_last_non_empty() -> None:
    _, result = fold(
        chunk(ch(content="a"), system_fingerprint="fp1", service_tier="default"),
        chunk(ch(content="b"), system_fingerprint="fp2", service_tier="flex"),
        chunk(ch(content="c"), system_fingerprint="", service_tier=""),
        chunk(ch(content="d")),
    )
    assert (result["system_fingerprint"], result["service_tier"]) == ("fp2", "flex")
    _, result = fold(chunk(ch(content="a"), system_fingerprint=""))
    assert result["system_fingerprint"] is None


def test_obfuscation_never_reaches_the_result() -> None:
    acc, result = fold(chunk(ch(content="a"), obfuscation="xyzzy"), chunk(ch(finish="stop"), obfuscation=""))
    assert "xyzzy" not in msgspec.json.encode(acc.snapshot()).decode()
    assert "obfuscation" not in result


def test_azure_first_chunk() -> None:
    acc, result = fold_file(PROVIDERS / "azure_model_router_prompt_filter.sse")
    assert result["id"] == "chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt"
    assert result["created"] == 1762317021
    assert result["model"] == "gpt-5-nano-2025-08-07"
    assert result["object"] == "chat.completion"
    assert msg(result)["content"] == "Capital of Denmark."
    assert result["usage"]["completion_tokens_details"]["reasoning_tokens"] == 64
    assert acc.status == "done"


def test_vllm_fingerprint_only_on_usage_chunk() -> None:
    _, result = fold_file(PROVIDERS / "vllm_0_24_crusoe_llama.sse")
    assert result["system_fingerprint"] == "vllm-0.24.0-tp4-6d31f84d"


# --- rule 7: logprobs ---------------------------------------------------------------------


def test_logprobs_appended_per_choice() -> None:
    _, result = fold(
        chunk(ch(0, content="a"), ch(1, content="b")),
        chunk({"index": 0, "delta": {"content": "x"}, "logprobs": {"content": tokens("x"), "refusal": None}}),
        chunk(
            {
                "index": 1,
                "delta": {"refusal": "no"},
                "logprobs": {"content": None, "refusal": tokens("n", "o")},
            }
        ),
        chunk({"index": 0, "delta": {"content": "y"}, "logprobs": {"content": tokens("y")}}),
        chunk({"index": 1, "delta": {}, "logprobs": {"refusal": tokens("!")}}),
    )
    lp0, lp1 = result["choices"][0]["logprobs"], result["choices"][1]["logprobs"]
    assert [t["token"] for t in lp0["content"]] == ["x", "y"]
    assert lp0["refusal"] is None
    assert lp1["content"] is None
    assert [t["token"] for t in lp1["refusal"]] == ["n", "o", "!"]
    assert lp0["content"][0] == {"token": "x", "logprob": -0.5, "bytes": [120], "top_logprobs": []}


def test_logprobs_none_until_non_null_and_lists_none_until_a_list() -> None:
    _, result = fold(chunk(ch(content="a")), chunk({"index": 0, "delta": {}, "logprobs": None}))
    assert result["choices"][0]["logprobs"] is None
    _, result = fold(chunk({"index": 0, "delta": {}, "logprobs": {"content": None, "refusal": None}}))
    assert result["choices"][0]["logprobs"] == {"content": None, "refusal": None}
    _, result = fold(
        chunk({"index": 0, "delta": {}, "logprobs": {"content": None, "refusal": None}}),
        chunk({"index": 0, "delta": {}, "logprobs": {"content": []}}),
    )
    assert result["choices"][0]["logprobs"] == {"content": [], "refusal": None}


def test_top_logprobs_kept() -> None:
    token = {
        "token": "中",
        "logprob": -0.25,
        "bytes": [228, 184, 173],
        "top_logprobs": [
            {"token": "中", "logprob": -0.25, "bytes": [228, 184, 173]},
            {"token": "x", "logprob": -3.0},
        ],
    }
    _, result = fold(chunk({"index": 0, "delta": {"content": "中"}, "logprobs": {"content": [token]}}))
    assert result["choices"][0]["logprobs"]["content"] == [
        {
            "token": "中",
            "logprob": -0.25,
            "bytes": [228, 184, 173],
            "top_logprobs": [
                {"token": "中", "logprob": -0.25, "bytes": [228, 184, 173]},
                {"token": "x", "logprob": -3.0, "bytes": None},
            ],
        }
    ]


# --- rule 8: finish_reason ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["stop", None], "stop"),
        (["stop", ""], "stop"),
        (["", "length"], "length"),
        (["length", "stop"], "stop"),  # OpenRouter repeats the finish chunk
        (["eos"], "eos"),
        ([""], None),
        ([None], None),
    ],
)
def test_finish_reason_last_non_null(reasons: list[str | None], expected: str | None) -> None:
    _, result = fold(chunk(ch(content="x")), *[chunk(ch(finish=r)) for r in reasons])
    assert result["choices"][0]["finish_reason"] == expected


# --- rule 9: chunks without choices --------------------------------------------------------


def test_chunks_without_choices_and_choices_without_delta() -> None:
    acc, result = fold(
        {"id": "c1", "choices": None},
        {"id": "c1"},
        chunk(),
        chunk(ch(content="a")),
        chunk(usage=usage(3, 4)),
        chunk({"index": 0, "finish_reason": "stop"}),
        chunk({"index": 1, "finish_reason": "length"}),
    )
    assert [(c["index"], c["finish_reason"]) for c in result["choices"]] == [(0, "stop"), (1, "length")]
    assert msg(result, 1)["content"] is None
    assert result["usage"]["total_tokens"] == 7
    assert acc.chunks == 7
    assert acc.status == "finished"


# --- rule 10: annotations and citations ------------------------------------------------------


def test_annotations_merged_in_order_without_repeats() -> None:
    a = {
        "type": "url_citation",
        "url_citation": {"url": "https://a", "title": "A", "start_index": 0, "end_index": 1},
    }
    b = {
        "type": "url_citation",
        "url_citation": {"url": "https://b", "title": "B", "start_index": 2, "end_index": 3},
    }
    _, result = fold(
        chunk(ch(annotations=[a])),
        chunk(ch(annotations=[b])),
        chunk(ch(annotations=[a])),
        chunk(ch(annotations=[b, a])),
    )
    assert [x["url_citation"]["url"] for x in msg(result)["annotations"]] == ["https://a", "https://b"]


@pytest.mark.parametrize(
    "again",
    [
        b'{"url_citation":{"url":"https://a","title":"A","start_index":0,"end_index":1},'
        b'"type":"url_citation"}',
        b'{"type":"url_citation","url_citation":{"title":"A","url":"https://a","start_index":0,'
        b'"end_index":1}}',
        b'{"type": "url_citation", "url_citation": {"url": "https://a", "title": "A", '
        b'"start_index": 0, "end_index": 1}}',
        b'{"type":"url_citation","url_citation":{"url":"https:\\/\\/a","title":"\\u0041",'
        b'"start_index":0,"end_index":1}}',
    ],
    ids=["key-order", "nested-key-order", "whitespace", "escapes"],
)
def test_annotations_equal_values_spelled_differently_are_not_repeated(again: bytes) -> None:
    """Rule 10: "nothing twice (equal values)": equal JSON values, whatever their spelling."""
    first = b'{"type":"url_citation","url_citation":{"url":"https://a","title":"A","start_index":0,"end_index":1}}'
    assert json.loads(first) == json.loads(again)
    acc = Accumulator()
    for ann in (first, again):
        acc.feed(b'data: {"choices":[{"index":0,"delta":{"annotations":[' + ann + b"]}}]}\n\n")
    annotations = normalize(acc.finish())["choices"][0]["message"]["annotations"]
    assert len(annotations) == 1


def test_openrouter_annotations_one_per_delta() -> None:
    path = PROVIDERS / "openrouter_web_search_annotations_usage.sse"
    urls = []
    for line in path.read_text().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices") or []:
                for ann in choice.get("delta", {}).get("annotations") or []:
                    urls.append(ann["url_citation"]["url"])
    _, result = fold_file(path)
    annotations = msg(result)["annotations"]
    assert [x["url_citation"]["url"] for x in annotations] == list(dict.fromkeys(urls))
    assert len(annotations) == 5
    assert annotations[0]["url_citation"]["title"] == "AI Agent Framework, the Pydantic way - GitHub"
    assert result["usage"]["cost"] is not None


def test_citations_merged_in_order_without_repeats() -> None:
    _, result = fold(
        chunk(ch(content="a"), citations=["u1"]),
        chunk(ch(content="b"), citations=["u1", "u2"]),
        chunk(ch(content="c"), citations=["u3", "u2"]),
        chunk(ch(content="d")),
    )
    assert result["citations"] == ["u1", "u2", "u3"]
    _, result = fold(chunk(ch(content="a")))
    assert "citations" not in result
    _, result = fold_file(PROVIDERS / "perplexity_sonar_citations_cumulative_usage.sse")
    assert len(result["citations"]) == 7
    assert result["citations"][0] == "https://populationstat.com/united-states/san-francisco"


# --- rule 11: API errors ------------------------------------------------------------------


def test_error_payload_sets_status_and_is_folded() -> None:
    acc = Accumulator()
    body = sse(
        chunk(ch(content="Hi")),
        {
            "id": "c1",
            "error": {"code": 400, "message": "Token limit reached"},
            "choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": None}],
            "usage": usage(4, 5),
        },
        "[DONE]",
    )
    assert acc.feed(body) == []  # does not raise
    assert acc.status == "error"
    assert isinstance(acc.error, chunkfold.StreamAPIError)
    assert acc.error.message == "Token limit reached"
    result = normalize(acc.finish())
    assert acc.status == "error"
    assert msg(result)["content"] == "Hi!"
    assert result["usage"]["total_tokens"] == 9


def test_openrouter_midstream_error_chunk() -> None:
    acc, result = fold_file(PROVIDERS / "openrouter_midstream_error_chunk.sse")
    assert acc.status == "error"
    assert acc.done
    assert acc.error.message == "Token limit reached"
    assert result["usage"]["total_tokens"] == 53
    assert result["choices"][0]["finish_reason"] == "length"
    assert msg(result)["reasoning"] == "We need to respond to a greeting. The user"


def test_vllm_object_error() -> None:
    acc = Accumulator()
    acc.feed(
        sse(chunk(ch(content="a")), {"object": "error", "message": "bad request", "type": "BadRequestError"})
    )
    assert acc.status == "error"
    assert acc.error.message == "bad request"
    assert msg(normalize(acc.finish()))["content"] == "a"
    assert acc.status == "error"


def test_event_error() -> None:
    acc, result = fold_file(PROVIDERS / "groq_gpt_oss_reasoning_then_error_event.sse")
    assert acc.status == "error"
    assert not acc.done
    assert acc.error.code == "tool_use_failed"
    assert msg(result)["reasoning"].startswith("We need to call the tool")
    # event: error whose data is not JSON
    acc = Accumulator()
    acc.feed(frame(chunk(ch(content="a"))) + frame("upstream overloaded", event="error"))
    assert acc.status == "error"
    assert "upstream overloaded" in str(acc.error)
    assert msg(normalize(acc.finish()))["content"] == "a"


def test_only_top_level_errors_are_api_errors() -> None:
    # rule 4: "error": null changes nothing; an "error" key nested in a choice (Azure's
    # content_filter_results) or text mentioning "error" is not an error payload.
    acc, _ = fold(
        chunk(ch(content='{"error": "x"}'), error=None),
        chunk(
            {
                "index": 0,
                "delta": {"content": "error"},
                "content_filter_results": {"error": {"code": "JsonParsingError", "message": "m"}},
            }
        ),
        chunk(
            ch(
                tool_calls=[
                    {"index": 0, "id": "a", "function": {"name": "error", "arguments": '{"error":1}'}}
                ]
            )
        ),
        chunk(ch(finish="stop")),
    )
    assert acc.status == "finished"
    assert acc.error is None


def test_chunks_after_an_error_are_folded() -> None:
    """Rule 11 lists no exception for chunks after an API error (only after [DONE])."""
    acc = Accumulator()
    acc.feed(sse(chunk(ch(content="a")), {"error": {"message": "x"}}, chunk(ch(content="b", finish="stop"))))
    result = normalize(acc.finish())
    assert msg(result)["content"] == "ab"
    assert acc.status == "error"


def test_events_after_done_are_ignored() -> None:
    acc = Accumulator()
    acc.feed(sse(chunk(ch(content="a", finish="stop")), "[DONE]"))
    acc.feed(
        sse(chunk(ch(content="IGNORED", finish="length"), usage=usage(1, 1)), {"error": {"message": "late"}})
    )
    acc.feed(b"data: not json\n\n")  # not even decoded
    result = normalize(acc.finish())
    assert msg(result)["content"] == "a"
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"] is None
    assert acc.status == "done"
    assert acc.error is None
    assert acc.chunks == 1


# --- rule 12: status ---------------------------------------------------------------------


def test_status_in_progress_then_done() -> None:
    acc = Accumulator()
    acc.feed(frame(chunk(ch(content="a", finish="stop"))))
    assert acc.status == "in_progress"
    assert not acc.done
    acc.feed(b"data: [DO")
    assert acc.status == "in_progress"
    acc.feed(b"NE]\n\n")
    assert acc.status == "done"
    assert acc.done
    acc.finish()
    assert acc.status == "done"


def test_done_without_finish_reason_is_still_done() -> None:
    acc = Accumulator()
    acc.feed(sse(chunk(ch(content="a")), "[DONE]"))
    acc.finish()
    assert acc.status == "done"


def test_status_finished() -> None:
    acc = Accumulator()
    acc.feed(
        sse(
            chunk(ch(0, content="a"), ch(1, content="b")),
            chunk(ch(1, finish="stop")),
            chunk(ch(0, finish="length")),
        )
    )
    assert acc.status == "in_progress"
    acc.finish()
    assert acc.status == "finished"


@pytest.mark.parametrize(
    "payloads",
    [
        [],
        [chunk(usage=usage(1, 1))],
        [chunk(ch(0, content="a", finish="stop"), ch(1, content="b"))],
        [chunk(ch(content="a")), chunk(ch(finish=""))],
    ],
    ids=["empty", "no-choices", "one-unfinished", "empty-finish-reason"],
)
def test_status_truncated(payloads: list[dict[str, Any]]) -> None:
    acc = Accumulator()
    acc.feed(sse(*payloads))
    acc.finish()
    assert acc.status == "truncated"


def test_truncated_stream_finish_is_usable() -> None:
    body = (PROVIDERS / "openai_gpt4o_text_usage_chunk.sse").read_bytes()
    cut = body.index(b'"finish_reason":"stop"')
    acc = Accumulator()
    acc.feed(body[:cut])
    result = acc.finish()
    assert acc.status == "truncated"
    assert isinstance(result, ChatCompletion)
    assert result.id == "chatcmpl-C2P2HtMJhPkWjQ2adKerkdVilXmRL"
    assert result.choices[0].message.content == "The capital of Mexico is Mexico City."
    assert result.choices[0].finish_reason is None
    assert msgspec.json.decode(msgspec.json.encode(result), type=ChatCompletion) == result


def test_error_status_wins_over_done_and_finished() -> None:
    acc = Accumulator()
    acc.feed(sse(chunk(ch(content="a", finish="stop")), {"error": {"message": "x"}}, "[DONE]"))
    acc.finish()
    assert acc.status == "error"


# --- JSON spelling -------------------------------------------------------------------------


EMOJI = "😀".encode()


@pytest.mark.parametrize(
    "body",
    [
        b'data: {"id":"x","choices":[{"index":1,"delta":{"content":"a/' + EMOJI + b'"},'
        b'"finish_reason":"stop"}]}\n\n',
        b'data:{"id":"x","choices":[{"index":1,"delta":{"content":"a/' + EMOJI + b'"},'
        b'"finish_reason":"stop"}]}\n\n',
        b'data:  { "id" : "x" ,\t"choices" : [ { "index" : 1 , "delta" : { "content" : '
        b'"a/\\ud83d\\ude00" } , "finish_reason" : "stop" } ] } \n\n',
        b'data: {"id":"x",\ndata: "choices":[{"index":1,\ndata: "delta":{"content":'
        b'"\\u0061\\/\\uD83D\\uDE00"},\ndata: "finish_reason":"st\\u006fp"}]}\n\n',
        # escaped object keys: "\u0069d" is "id"
        b'data: {"\\u0069d":"x","\\u0063hoices":[{"\\u0069ndex":1,"d\\u0065lta":'
        b'{"cont\\u0065nt":"a/' + EMOJI + b'"},"finish_\\u0072eason":"stop"}]}\n\n',
    ],
    ids=["compact", "no-space", "whitespace", "multi-line-data", "escaped-keys"],
)
def test_json_spelling_does_not_matter(body: bytes) -> None:
    """The fold is that of the decoded JSON payload, however it is spelled."""
    acc = Accumulator()
    acc.feed(body)
    result = normalize(acc.finish())
    assert (result["id"], len(result["choices"])) == ("x", 1)
    assert result["choices"][0]["index"] == 1
    assert msg(result)["content"] == "a/😀"
    assert result["choices"][0]["finish_reason"] == "stop"
    adder = Accumulator()
    data = b"".join(line[5:] for line in body.split(b"\n") if line.startswith(b"data:"))
    adder.add(msgspec.json.decode(data, type=ChatCompletionChunk))
    assert normalize(adder.finish()) == result


# --- malformed payloads ---------------------------------------------------------------------


def test_strict_malformed_payload_raises_after_folding_the_rest() -> None:
    head = sse(chunk(ch(content="a")))
    bad = b"data: {not json\n\n"
    body = head + bad + sse(chunk(ch(content="b")), chunk(ch(finish="stop")))
    acc = Accumulator()
    with pytest.raises(chunkfold.ChunkDecodeError) as info:
        acc.feed(body)
    assert isinstance(info.value, ValueError)
    assert len(head) <= info.value.offset < len(head) + len(bad)
    # everything else in that input was folded, and the state is kept
    assert msg(normalize(acc.snapshot()))["content"] == "ab"
    assert acc.chunks == 3
    acc.feed(sse(chunk(ch(content="c")), "[DONE]"))
    result = normalize(acc.finish())
    assert msg(result)["content"] == "abc"
    assert result["choices"][0]["finish_reason"] == "stop"
    assert acc.status == "done"


def test_strict_malformed_payload_offset_across_reads() -> None:
    body = (
        sse(chunk(ch(content="a")), chunk(ch(content="b"))) + b"data: nope\n\n" + sse(chunk(ch(content="c")))
    )
    start = body.index(b"data: nope")
    acc = Accumulator()
    errors = []
    for i in range(0, len(body), 5):
        try:
            acc.feed(body[i : i + 5])
        except chunkfold.ChunkDecodeError as exc:
            errors.append(exc)
    assert len(errors) == 1
    assert start <= errors[0].offset < start + len(b"data: nope\n\n")
    assert msg(normalize(acc.finish()))["content"] == "abc"


def test_strict_mode_does_not_count_skipped() -> None:
    """Contract: ``skipped`` counts undecodable payloads skipped with strict=False."""
    acc = Accumulator()
    with pytest.raises(chunkfold.ChunkDecodeError):
        acc.feed(b"data: nope\n\n" + sse(chunk(ch(content="a"))))
    assert acc.skipped == 0


def test_non_strict_skips_and_counts() -> None:
    acc = Accumulator(strict=False)
    body = (
        sse(chunk(ch(content="a")))
        + b"data: {not json\n\ndata: nope\n\n"
        + sse(chunk(ch(content="b", finish="stop")))
    )
    assert acc.feed(body) == []
    assert acc.skipped == 2
    assert acc.chunks == 2
    assert msg(normalize(acc.finish()))["content"] == "ab"
    assert acc.status == "finished"


# --- counters and timings ---------------------------------------------------------------------


def test_chunk_and_byte_counters() -> None:
    acc = Accumulator()
    parts = [
        b": keep-alive\n\n",
        frame(chunk(ch(role="assistant"))),
        b"data: \n\n",  # blank keep-alive payload
        frame(chunk(ch(content="a"))),
        b": OPENROUTER PROCESSING\n\n",
        frame(chunk(usage=usage(1, 1))),
        b"data: [DONE]\n\n",
    ]
    fed = 0
    for part in parts:
        acc.feed(part)
        fed += len(part)
        assert acc.bytes == fed
    assert acc.chunks == 3
    acc.feed(frame(chunk(ch(content="late"))))
    assert acc.chunks == 3
    assert acc.bytes == fed + len(frame(chunk(ch(content="late"))))
    acc.feed(memoryview(b"x"))
    acc.feed(bytearray(b"y"))
    assert acc.bytes == fed + len(frame(chunk(ch(content="late")))) + 2


def test_add_counts_chunks_and_folds_like_feed() -> None:
    payloads = [
        chunk(ch(role="assistant", content="a")),
        chunk(ch(content="b", finish="stop"), usage=usage(1, 2)),
    ]
    adder = Accumulator()
    for payload in payloads:
        assert adder.add(msgspec.json.decode(json.dumps(payload), type=ChatCompletionChunk)) == []
    assert adder.chunks == 2
    feeder = Accumulator()
    feeder.feed(sse(*payloads))
    assert normalize(adder.finish()) == normalize(feeder.finish())
    assert adder.status == "finished"


def test_timings_are_monotonic_ints() -> None:
    acc = Accumulator()
    assert (acc.first_byte_ns, acc.first_token_ns, acc.last_token_ns) == (None, None, None)
    before = time.monotonic_ns()
    acc.feed(frame(chunk(ch(role="assistant"))))
    assert isinstance(acc.first_byte_ns, int)
    assert before <= acc.first_byte_ns <= time.monotonic_ns()
    first_byte = acc.first_byte_ns
    time.sleep(0.002)
    acc.feed(frame(chunk(ch(content="Hel"))))
    assert isinstance(acc.first_token_ns, int)
    assert isinstance(acc.last_token_ns, int)
    first_token, last_token = acc.first_token_ns, acc.last_token_ns
    assert first_byte <= first_token <= last_token <= time.monotonic_ns()
    time.sleep(0.002)
    acc.feed(frame(chunk(ch(content="lo"))))
    acc.feed(sse(chunk(ch(finish="stop")), "[DONE]"))
    acc.finish()
    assert acc.first_byte_ns == first_byte
    assert acc.first_token_ns == first_token
    assert last_token <= acc.last_token_ns <= time.monotonic_ns()
    assert acc.first_byte_ns <= acc.first_token_ns <= acc.last_token_ns


def test_timings_for_tool_arguments_and_reasoning() -> None:
    for delta in (
        {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]},
        {"reasoning_content": "hm"},
        {"refusal": "no"},
    ):
        acc = Accumulator()
        acc.feed(frame(chunk({"index": 0, "delta": delta})))
        assert acc.first_byte_ns is not None
        assert acc.first_token_ns is not None
        assert acc.first_byte_ns <= acc.first_token_ns <= acc.last_token_ns


def test_events_flag_does_not_change_the_fold() -> None:
    body = (PROVIDERS / "openai_gpt4o_parallel_tool_calls.sse").read_bytes()
    plain, with_events = Accumulator(), Accumulator(events=True)
    for i in range(0, len(body), 100):
        assert plain.feed(body[i : i + 100]) == []
        assert isinstance(with_events.feed(body[i : i + 100]), list)
    assert normalize(with_events.finish()) == normalize(plain.finish())
    assert with_events.status == plain.status == "done"
