"""chunkfold.bench.corpus: streams shaped exactly as OpenAI sends them, with the fold they must give."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import chunkfold
import pytest
from chunkfold.bench import corpus
from chunkfold.bench.corpus import SCENARIOS, CorpusStream

NAMES = list(SCENARIOS)


def payloads(stream: CorpusStream) -> list[bytes]:
    events = corpus.reads(stream.body, "event")
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events)
    return [e[6:-2] for e in events]


def chunks(stream: CorpusStream) -> list[dict[str, Any]]:
    return [json.loads(p) for p in payloads(stream)[:-1]]


@pytest.fixture(scope="module", params=NAMES)
def stream(request: pytest.FixtureRequest) -> CorpusStream:
    return SCENARIOS[request.param].stream()


def test_the_seven_scenarios() -> None:
    assert NAMES == ["chat", "long", "tools", "n3", "logprobs", "reasoning", "cjk"]
    assert all(s.description for s in SCENARIOS.values())


def test_chat_stream_is_unchanged() -> None:
    """The README's performance figures name this stream's size; the bytes are pinned."""
    body = corpus.chat_stream(500)
    assert len(body) == 165_714
    assert hashlib.sha256(body).hexdigest()[:16] == "72da5672a13469ae"
    assert SCENARIOS["chat"].body() == body
    assert len(SCENARIOS["long"].body()) == 1_317_370


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_seeded(name: str) -> None:
    scenario = SCENARIOS[name]
    assert scenario.body(3) == scenario.body(3) == scenario.stream(3).body
    assert scenario.body(3) != scenario.body(4)
    assert scenario.stream(3).expected == scenario.stream(3).expected


def test_openai_envelope(stream: CorpusStream) -> None:
    """Compact JSON, one id/created/model/fingerprint/tier, obfuscation padding, usage chunk, [DONE]."""
    raw = payloads(stream)
    assert raw[-1] == b"[DONE]"
    assert stream.body.endswith(corpus.DONE_FRAME)
    parsed = chunks(stream)
    for payload, chunk in zip(raw, parsed, strict=False):
        assert json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() == payload
        assert list(chunk) == [
            "id",
            "object",
            "created",
            "model",
            "service_tier",
            "system_fingerprint",
            "choices",
            "usage",
            "obfuscation",
        ]
        assert len(payload.decode()) % 16 == 1
    envelope = {
        (c["id"], c["created"], c["model"], c["system_fingerprint"], c["service_tier"]) for c in parsed
    }
    assert len(envelope) == 1
    assert {c["object"] for c in parsed} == {"chat.completion.chunk"}
    *body, last = parsed
    assert last["choices"] == []
    assert last["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None and len(c["choices"]) == 1 for c in body)
    assert stream.expected.payloads == tuple(raw)
    assert stream.expected.chunks == len(parsed)


def test_first_chunk_of_each_choice_carries_the_role(stream: CorpusStream) -> None:
    seen: dict[int, int] = {}
    for chunk in chunks(stream):
        for choice in chunk["choices"]:
            has_role = "role" in choice["delta"]
            assert has_role == (choice["index"] not in seen)
            if has_role:
                assert choice["delta"]["role"] == "assistant"
            seen[choice["index"]] = seen.get(choice["index"], 0) + 1
    assert len(seen) == len(stream.expected.choices)


def reference(stream: CorpusStream) -> list[dict[str, Any]]:
    """Per choice, the text fields, tool arguments, logprobs and finish reason, read
    straight off the JSON chunks (every corpus delta names its index and sends role once)."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in chunks(stream):
        for choice in chunk["choices"]:
            state = out.setdefault(choice["index"], {"calls": {}, "logprobs": None})
            delta = choice["delta"]
            for key in ("content", "reasoning_content"):
                if delta.get(key) is not None:
                    state[key] = state.get(key, "") + delta[key]
            for call in delta.get("tool_calls", ()):
                own = state["calls"].setdefault(call["index"], {"arguments": ""})
                own.update({k: call[k] for k in ("id", "type") if k in call})
                own["name"] = call["function"].get("name", own.get("name"))
                own["arguments"] += call["function"]["arguments"]
            if choice["logprobs"] is not None:
                state["logprobs"] = (state["logprobs"] or []) + choice["logprobs"]["content"]
            if choice["finish_reason"] is not None:
                state["finish_reason"] = choice["finish_reason"]
    return [out[i] for i in sorted(out)]


def test_expected_matches_the_bytes(stream: CorpusStream) -> None:
    """What the builder recorded is what the frames it wrote say."""
    expected = stream.expected
    for want, got in zip(reference(stream), expected.choices, strict=True):
        assert got.content == want.get("content")
        assert got.reasoning_content == want.get("reasoning_content")
        assert got.finish_reason == want["finish_reason"]
        assert [(c.id, c.type, c.name, c.arguments) for c in got.tool_calls] == [
            (c["id"], c["type"], c["name"], c["arguments"]) for c in want["calls"].values()
        ]
        assert got.logprobs == (None if want["logprobs"] is None else tuple(want["logprobs"]))
    assert expected.usage == chunks(stream)[-1]["usage"]


@pytest.mark.parametrize("pattern", corpus.READ_PATTERNS)
def test_chunkfold_folds_every_scenario_to_the_expected_completion(
    stream: CorpusStream, pattern: str
) -> None:
    acc = chunkfold.ChatCompletionAccumulator()
    for read in corpus.reads(stream.body, pattern):
        acc.feed(read)
    assert acc.finish() == stream.expected.completion()
    assert (acc.status, acc.chunks) == ("done", stream.expected.chunks)


def test_tools() -> None:
    stream = SCENARIOS["tools"].stream()
    (choice,) = stream.expected.choices
    assert choice.content is None
    assert choice.finish_reason == "tool_calls"
    assert [c.name for c in choice.tool_calls] == ["get_weather", "search_flights", "create_note"]
    assert len({c.id for c in choice.tool_calls}) == 3
    assert all(c.id.startswith("call_") and len(c.id) == 29 for c in choice.tool_calls)
    arguments = [json.loads(c.arguments) for c in choice.tool_calls]
    assert '"ship it"' in arguments[2]["body"]
    assert "\n" in arguments[2]["body"]
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for c in chunks(stream)[:-1]
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert max(len(f) for f in fragments) <= 7
    assert len(fragments) > 150
    # Calls run one after another, as OpenAI streams parallel calls.
    order = [
        c["choices"][0]["delta"]["tool_calls"][0]["index"]
        for c in chunks(stream)
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert order == sorted(order)


def test_n3_interleaves_three_choices() -> None:
    stream = SCENARIOS["n3"].stream()
    indices = [c["choices"][0]["index"] for c in chunks(stream)[:-1]]
    assert indices[:6] == [0, 0, 1, 1, 2, 2]
    assert indices != sorted(indices)
    assert [c.finish_reason for c in stream.expected.choices] == ["stop", "stop", "length"]
    assert len({c.content for c in stream.expected.choices}) == 3
    assert stream.expected.usage is not None
    assert stream.expected.usage["completion_tokens"] == 900


def test_logprobs_have_five_top_logprobs() -> None:
    stream = SCENARIOS["logprobs"].stream()
    (choice,) = stream.expected.choices
    assert choice.logprobs is not None
    assert len(choice.logprobs) == 300
    assert "".join(t["token"] for t in choice.logprobs) == choice.content
    for token in choice.logprobs:
        top = token["top_logprobs"]
        assert len(top) == 5
        assert [t["logprob"] for t in top] == sorted((t["logprob"] for t in top), reverse=True)
        assert token["bytes"] == list(token["token"].encode())
        assert token["logprob"] < 0
        assert any(t["token"] == token["token"] for t in top)
    first = chunks(stream)[0]["choices"][0]
    assert first["logprobs"] == {"content": [], "refusal": None}


def test_reasoning_comes_before_content() -> None:
    stream = SCENARIOS["reasoning"].stream()
    kinds = []
    for chunk in chunks(stream)[1:-2]:
        delta = chunk["choices"][0]["delta"]
        assert (delta["content"] is None) != (delta["reasoning_content"] is None)
        kinds.append("reasoning" if delta["content"] is None else "content")
    assert kinds == ["reasoning"] * 400 + ["content"] * 200
    (choice,) = stream.expected.choices
    assert choice.reasoning_content
    assert choice.content
    assert stream.expected.usage is not None
    assert stream.expected.usage["completion_tokens_details"]["reasoning_tokens"] == 400


def test_cjk_is_raw_utf8_with_split_emoji() -> None:
    stream = SCENARIOS["cjk"].stream()
    assert b"\\u" not in stream.body
    text = stream.expected.choices[0].content
    assert text is not None
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)  # Han
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text)  # Hangul
    assert any(ord(ch) > 0xFFFF for ch in text)  # four-byte UTF-8
    tokens = [c["choices"][0]["delta"]["content"] for c in chunks(stream)[1:-2]]
    # A ZWJ sequence or a flag cut between two chunks.
    assert any(t.endswith("\u200d") or t.startswith("\u200d") or t in ("🇯", "🇵") for t in tokens)


def test_reads_rejoin_and_cut_where_asked() -> None:
    body = SCENARIOS["cjk"].body()
    for pattern in corpus.READ_PATTERNS:
        assert b"".join(corpus.reads(body, pattern)) == body
    assert all(len(r) == 1024 for r in corpus.reads(body, "1k")[:-1])
    assert all(len(r) == 65536 for r in corpus.reads(body, "64k")[:-1])
    random_reads = corpus.reads(body, "random", seed=5)
    assert random_reads == corpus.reads(body, "random", seed=5) != corpus.reads(body, "random", seed=6)
    assert any(0x80 <= r[0] <= 0xBF for r in random_reads)  # a read starts inside a UTF-8 character
    assert any(
        a.endswith(b"\n") and not a.endswith(b"\n\n") and b.startswith(b"\n")
        for a, b in itertools.pairwise(random_reads)
    )
    with pytest.raises(ValueError, match="unknown read pattern"):
        corpus.reads(body, "2k")


def test_scenario_names_are_unique() -> None:
    with pytest.raises(ValueError, match="already registered"):
        corpus.scenario("chat", "again")(lambda seed: corpus.StreamBuilder(seed=seed))
