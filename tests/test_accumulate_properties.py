"""Differential properties of ChatCompletionAccumulator against the reference fold.

Random, valid chunk sequences shaped like those OpenAI-compatible providers send
(see tests/data/fixtures/providers/*.md for the quirks imitated here) are encoded to
SSE bytes, fed in random reads, and the result is compared with
``reference_fold`` (tests/reference_fold.py, written from the contract), with the
same stream ``add()``-ed as decoded chunks, with other read partitions, with
``snapshot()`` mid-stream, and (for plain OpenAI-shaped streams) with
openai-python's ``ChatCompletionStreamState``.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import chunkfold
import msgspec
from chunkfold.chat.models import ChatCompletionChunk
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from reference_fold import (
    choice_view,
    encode_stream,
    is_api_error,
    normalize,
    reference_fold,
    reference_status,
    sdk_snapshot,
    stream_payloads,
)

Accumulator = chunkfold.ChatCompletionAccumulator

SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- text -----------------------------------------------------------------------

_CHARS = st.one_of(  # strings of one or more code points: ZWJ/modifier emoji too
    st.sampled_from(list('ab xyz\n\t"\\/{}[]:,')),
    st.sampled_from(["中", "文", "字", "😀", "🧪", "👍🏽", "é", "\u2028", "\x00", "\x1f", "\r"]),
    st.characters(codec="utf-8"),
)
TEXT = st.lists(_CHARS, max_size=6).map("".join)
NONEMPTY = st.lists(_CHARS, min_size=1, max_size=6).map("".join)
NAMES = ["get_weather", "search", "f", "lookup_user_by_id", "天气_查询", "emoji_🧪"]
ARGS = ['{"city":"Paris"}', "{}", '{"q":"中文 \\"quoted\\"\\n","n":3}', '{"a":[1,2,{"b":null}]}', ""]
FINISH = ["stop", "length", "tool_calls", "content_filter", "function_call", "eos", "end_turn"]
ANNOTATIONS = [
    {
        "type": "url_citation",
        "url_citation": {"url": f"https://e.com/{i}", "title": t, "start_index": 0, "end_index": i},
    }
    for i, t in enumerate(["A", "B", "中文"])
]


def _split(draw: Any, text: str, max_parts: int = 4) -> list[str]:
    """Splits text into fragments (some may be empty)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=max_parts - 1)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _token(draw: Any, *, top: bool) -> dict[str, Any]:
    text = draw(NONEMPTY)
    tok: dict[str, Any] = {"token": text, "logprob": draw(st.floats(-30, 0, allow_nan=False))}
    if draw(st.booleans()):
        tok["bytes"] = list(text.encode())
    elif draw(st.booleans()):
        tok["bytes"] = None
    if top or draw(st.booleans()):
        tops = draw(st.lists(st.tuples(NONEMPTY, st.floats(-30, 0)), max_size=2))
        tok["top_logprobs"] = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in tops]
    return tok


def _logprobs(draw: Any, part: str, *, plain: bool) -> Any:
    """Logprobs for a content or refusal delta."""
    if plain:
        tokens = [_token(draw, top=True) for _ in range(draw(st.integers(1, 2)))]
        other = "refusal" if part == "content" else "content"
        return {part: tokens, other: None}
    kind = draw(st.sampled_from(["tokens", "tokens", "empty", "null_lists", "null", "missing_other"]))
    if kind == "null":
        return None
    if kind == "null_lists":
        return {"content": None, "refusal": None}
    tokens = [] if kind == "empty" else [_token(draw, top=False) for _ in range(draw(st.integers(1, 3)))]
    return (
        {part: tokens}
        if kind == "missing_other"
        else {part: tokens, "content" if part == "refusal" else "refusal": None}
    )


def _usage(draw: Any, completion: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": 10,
        "completion_tokens": completion,
        "total_tokens": 10 + completion,
    }
    extra = draw(st.sampled_from(["none", "details", "cost", "groq_times", "nulls"]))
    if extra == "details":
        usage["completion_tokens_details"] = {"reasoning_tokens": completion // 2}
        usage["prompt_tokens_details"] = {"cached_tokens": 0}
    elif extra == "cost":
        usage["cost"] = 0.000837
    elif extra == "groq_times":
        usage["queue_time"] = 0.0415
        usage["total_time"] = 0.057
    elif extra == "nulls":
        usage["completion_tokens_details"] = None
        usage["prompt_tokens_details"] = None
    return usage


# --- JSON as other encoders write it -------------------------------------------------

_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def styled_dumps(rnd: random.Random, *, slash: bool, upper: bool, escapes: float, ws: list[str]) -> Any:
    """A JSON writer with what other encoders do: whitespace (including newlines, which
    become extra ``data:`` lines) between tokens, ``\\/``, upper-case ``\\uXXXX``,
    any character escaped (in keys too), surrogate pairs, floats with exponents, object
    keys in another order."""

    def space() -> str:
        return rnd.choice(ws)

    def string(text: str) -> str:
        out = ['"']
        for c in text:
            code = ord(c)
            if c in '"\\':
                out.append("\\" + c)
            elif c == "/" and slash:
                out.append("\\/")
            elif code < 0x20 or rnd.random() < escapes:
                if c in _SHORT_ESCAPES and rnd.random() < 0.5:
                    out.append(_SHORT_ESCAPES[c])
                    continue
                units = (
                    [code] if code <= 0xFFFF else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
                )
                out.extend(("\\u%04X" if upper else "\\u%04x") % u for u in units)
            else:
                out.append(c)
        return "".join(out) + '"'

    def value(v: Any) -> str:
        if v is None:
            return "null"
        if v is True or v is False:
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return rnd.choice([repr(v), f"{v:.17g}", f"{v:.17E}"])
        if isinstance(v, str):
            return string(v)
        if isinstance(v, list):
            return "[" + space() + ("," + space()).join(value(x) + space() for x in v) + "]"
        keys = list(v)
        if rnd.random() < 0.3:
            rnd.shuffle(keys)  # the same object, keys in another order
        items = (space() + string(k) + space() + ":" + space() + value(v[k]) + space() for k in keys)
        return "{" + ",".join(items) + "}"

    def dumps(payload: Any) -> str:
        return space() + value(payload) + space()

    return dumps


# --- per-choice operations ------------------------------------------------------
# An "op" is one choice entry of one chunk: {"delta": {...}, "finish_reason": ..., ...}.


def _tool_ops(
    draw: Any, *, plain: bool, style: str, base: int, step: int, start: int
) -> tuple[list[dict[str, Any]], int]:
    """Deltas carrying the fragments of 1..3 (parallel) tool calls, and their number;
    this choice's calls so far number ``start``. ``style`` is "indexed" (index ``base + n * step`` for the
    n-th call) or "indexless" (Mistral: told apart by id)."""
    k = draw(st.integers(1, 3))
    indices = [base + (start + j) * step for j in range(k)]
    if not plain and draw(st.booleans()):
        indices.reverse()
    interleave = draw(st.booleans())
    calls: list[list[dict[str, Any]]] = []
    for j in range(k):
        cid = f"call_{start + j}_{draw(st.integers(0, 999))}"
        name = draw(st.sampled_from(NAMES))
        args = draw(st.sampled_from(ARGS))
        arg_parts = _split(draw, args)
        name_style = "first" if plain else draw(st.sampled_from(["first", "split", "repeat", "empty_later"]))
        name_parts = _split(draw, name, 3) if name_style == "split" else [name]
        n = max(len(arg_parts), len(name_parts))
        frags: list[dict[str, Any]] = []
        for f in range(n):
            frag: dict[str, Any] = {}
            function: dict[str, Any] = {}
            if f == 0:
                frag["id"] = cid
                if plain or draw(st.booleans()):
                    frag["type"] = "function"
            elif not plain:
                cont = draw(st.sampled_from(["omit", "empty", "same", "null"]))
                if style == "indexless" and interleave:
                    cont = "same"  # interleaved index-less calls are told apart by id
                if cont != "omit":
                    frag["id"] = {"empty": "", "same": cid, "null": None}[cont]
                if draw(st.booleans()):
                    frag["type"] = draw(st.sampled_from(["function", None]))
            if f < len(name_parts):
                function["name"] = name_parts[f]
            elif name_style == "repeat":
                function["name"] = name
            elif name_style == "empty_later":
                function["name"] = draw(st.sampled_from(["", None]))
            if f < len(arg_parts):
                function["arguments"] = arg_parts[f]
            elif not plain and draw(st.booleans()):
                function["arguments"] = None
            if function or plain or draw(st.booleans()):
                frag["function"] = function
            if style == "indexed":
                frag["index"] = indices[j]  # last, as Groq sends it
                if plain or draw(st.booleans()):
                    frag = {"index": frag.pop("index"), **frag}  # first, as OpenAI sends it
            frags.append(frag)
        calls.append(frags)
    # Order of fragments: call by call, or interleaved (each call's fragments in order;
    # in plain mode calls still start in index order, as the SDK needs).
    order: list[dict[str, Any]] = []
    if not interleave:
        for frags in calls:
            order += frags
    else:
        pending = [list(f) for f in calls]
        started = 0
        while any(pending):
            candidates = [j for j, p in enumerate(pending) if p and j <= started]
            j = draw(st.sampled_from(candidates))
            started = max(started, j + 1)
            order.append(pending[j].pop(0))
    # Group consecutive fragments into deltas (one delta may carry several calls and
    # the same index twice).
    ops: list[dict[str, Any]] = []
    while order:
        take = draw(st.integers(1, min(3, len(order))))
        ops.append({"delta": {"tool_calls": order[:take]}})
        order = order[take:]
    return ops, k


def _choice_ops(draw: Any, index: int, *, plain: bool, logprobs_on: bool) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    first: dict[str, Any] = {"role": "assistant"}
    if draw(st.booleans()):
        first["content"] = ""
    if draw(st.booleans()):
        first["refusal"] = None
    if not plain and draw(st.booleans()):
        first["role"] = draw(st.sampled_from(["", "assistant", None]))
    ops.append({"delta": first})
    kinds = ["content", "content", "refusal", "reasoning_content", "reasoning", "tools"]
    if not plain:
        kinds += ["parts", "function_call", "audio", "annotation", "empty", "nodelta"]
    # one tool-call style per choice (index bases: Anthropic starts at 1; sparse, negative, huge)
    style = "indexed" if plain else draw(st.sampled_from(["indexed", "indexed", "indexless"]))
    base = 0 if plain else draw(st.sampled_from([0, 0, 1, -3, 10**18]))
    step = 1 if plain else draw(st.sampled_from([1, 1, 2, 7]))
    calls = 0
    for kind in draw(st.lists(st.sampled_from(kinds), max_size=7)):
        op: dict[str, Any] = {"delta": {}}
        if kind in ("content", "refusal", "reasoning_content", "reasoning"):
            op["delta"][kind] = draw(TEXT)
            if logprobs_on and kind in ("content", "refusal"):
                op["logprobs"] = _logprobs(draw, kind, plain=plain)
        elif kind == "tools":
            tool_ops, k = _tool_ops(draw, plain=plain, style=style, base=base, step=step, start=calls)
            calls += k
            ops += tool_ops
            continue
        elif kind == "parts":  # Mistral Magistral
            parts: list[dict[str, Any]] = []
            if draw(st.booleans()):
                parts.append({"type": "thinking", "thinking": [{"type": "text", "text": draw(TEXT)}]})
            parts.append({"type": "text", "text": draw(TEXT)})
            op["delta"]["content"] = parts
        elif kind == "function_call":
            fc: dict[str, Any] = {"arguments": draw(st.sampled_from(ARGS))}
            if draw(st.booleans()):
                fc["name"] = draw(st.sampled_from([*NAMES, ""]))
            op["delta"]["function_call"] = fc
        elif kind == "audio":
            audio: dict[str, Any] = {}
            for key in draw(
                st.lists(st.sampled_from(["id", "data", "transcript", "expires_at"]), max_size=3)
            ):
                audio[key] = {
                    "id": draw(st.sampled_from(["audio_1", "audio_2", ""])),
                    "data": draw(st.sampled_from(["CAAIAA", "+/9=", ""])),
                    "transcript": draw(TEXT),
                    "expires_at": draw(st.integers(1, 2**40)),
                }[key]
            op["delta"]["audio"] = audio
        elif kind == "annotation":  # OpenRouter: one per delta, repeats possible
            op["delta"]["annotations"] = [draw(st.sampled_from(ANNOTATIONS))]
        elif kind == "nodelta":
            del op["delta"]
        if not plain and "delta" in op and draw(st.integers(0, 3)) == 0:  # explicit nulls
            for key in draw(
                st.lists(st.sampled_from(["content", "refusal", "role", "tool_calls", "reasoning"]))
            ):
                op["delta"].setdefault(key, None)
        if not plain and "delta" in op and draw(st.integers(0, 2)) == 0:
            op["delta"].setdefault("role", "assistant")  # role repeated on every delta
        if not plain and draw(st.integers(0, 3)) == 0:
            op.setdefault("logprobs", None)
            op["finish_reason"] = None
        if not plain and "delta" in op:
            op["delta"] = _shuffled(draw, op["delta"])
        ops.append(op)
    # finish
    finish = (
        "present"
        if plain
        else draw(st.sampled_from(["present", "present", "absent", "repeated", "empty_first"]))
    )
    if finish != "absent":
        last: dict[str, Any] = {"delta": {}, "finish_reason": draw(st.sampled_from(FINISH))}
        if plain and draw(st.booleans()):
            last["finish_reason"] = draw(st.sampled_from(["", None]))
            ops.append(last)
            last = {"delta": {}, "finish_reason": draw(st.sampled_from(FINISH))}
        if finish == "empty_first":
            ops.append({"delta": {}, "finish_reason": ""})
        if not plain and draw(st.booleans()):
            last["delta"]["content"] = draw(TEXT)  # Moonshot: content and finish together
        if not plain and draw(st.booleans()):
            del last["delta"]
        ops.append(last)
        if finish == "repeated":  # OpenRouter repeats the finish chunk
            ops.append({"delta": {}, "finish_reason": draw(st.sampled_from(FINISH))})
    for op in ops:
        op["index"] = index
        if not plain and index == 0 and draw(st.integers(0, 5)) == 0:
            del op["index"]  # missing index means 0
    return ops


def _shuffled(draw: Any, d: dict[str, Any]) -> dict[str, Any]:
    keys = draw(st.permutations(list(d)))
    return {k: d[k] for k in keys}


@st.composite
def streams(draw: Any, *, plain: bool = False, errors: bool = True, garbage: bool = True) -> dict[str, Any]:
    """A stream as SSE items, with what the test needs to know about it."""
    n = draw(st.integers(1, 3))
    if plain:
        indices = list(range(n))
    else:
        pool = [0, 1, 2, 3, 7, -1, -5, 2**31, 10**18]
        indices = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=True))
    logprobs_on = draw(st.booleans())
    per_choice = {i: _choice_ops(draw, i, plain=plain, logprobs_on=logprobs_on) for i in indices}

    # Interleave the choices' ops (each choice's in order; plain: choices start in index order).
    pending = {i: list(ops) for i, ops in per_choice.items()}
    entries: list[dict[str, Any]] = []
    started = 0
    while any(pending.values()):
        ready = [i for i in indices if pending[i] and (not plain or i <= started)]
        i = draw(st.sampled_from(ready))
        if plain:
            started = max(started, i + 1)
        entries.append(pending[i].pop(0))

    # Group entries into chunks: plain has one choice per chunk; others sometimes several.
    groups: list[list[dict[str, Any]]] = []
    while entries:
        take = 1 if plain else draw(st.sampled_from([1, 1, 1, 2, 3]))
        groups.append(entries[:take])
        entries = entries[take:]

    cid, model = (
        f"chatcmpl-{draw(st.integers(0, 10**6))}",
        draw(st.sampled_from(["gpt-4o", "qwen3-max", "模型"])),
    )
    created = draw(st.integers(1, 2**33))
    usage_style = draw(
        st.sampled_from(
            ["none", "final_chunk"]
            if plain
            else [
                "none",
                "final_chunk",
                "final_chunk_nulls",
                "on_last",
                "cumulative",
                "groq",
                "x_groq",
                "dotnet",
                "choice",
            ]
        )
    )
    fp_style = draw(st.sampled_from(["fixed", "changing", "absent"]))

    def meta(k: int) -> dict[str, Any]:
        m: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        if not plain:
            if draw(st.integers(0, 5)) == 0:
                m["id"] = draw(st.sampled_from(["", "other-id"]))
            if draw(st.integers(0, 5)) == 0:
                m["model"] = draw(st.sampled_from(["", "other-model"]))
            if draw(st.integers(0, 5)) == 0:
                m["created"] = draw(st.sampled_from([0, 12345]))
            if draw(st.integers(0, 5)) == 0:
                del m["object"]  # Moonshot
        if fp_style == "fixed":
            m["system_fingerprint"] = "fp_1"
        elif fp_style == "changing":
            m["system_fingerprint"] = draw(st.sampled_from([f"fp_{k}", "", None]))
            m["service_tier"] = draw(st.sampled_from(["default", "flex", "", None]))
        if draw(st.booleans()):
            m["obfuscation"] = draw(st.sampled_from(["", "cSrmlDFz"]))
        if usage_style in ("final_chunk_nulls", "dotnet"):
            m["usage"] = None
        return m

    chunks: list[dict[str, Any]] = []
    for k, group in enumerate(groups):
        chunk = meta(k)
        chunk["choices"] = [_shuffled(draw, e) if not plain else e for e in group]
        if usage_style == "cumulative":
            chunk["usage"] = _usage(draw, k + 1)
        chunks.append(chunk)
    total = len(groups) + 1
    if usage_style == "on_last" and chunks:
        chunks[-1]["usage"] = _usage(draw, total)
    elif usage_style == "choice" and chunks:
        chunks[-1]["choices"][-1]["usage"] = _usage(draw, total)
    elif usage_style in ("groq", "x_groq") and chunks:
        usage = _usage(draw, total)
        chunks[-1]["x_groq"] = {"id": "req_1", "usage": usage}
        if usage_style == "groq":
            chunks[-1]["usage"] = usage
    elif usage_style in ("final_chunk", "final_chunk_nulls", "dotnet"):
        chunks.append({**meta(len(chunks)), "choices": [], "usage": _usage(draw, total)})
        if usage_style == "dotnet":  # a chunk without "choices" and usage: null after the usage chunk
            tail = {**meta(len(chunks)), "usage": None}
            tail.pop("choices", None)
            chunks.append(tail)
    if not plain and draw(st.booleans()):
        # Azure: first chunk with id "", created 0, model "", object "" and no choices
        azure = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [{"i": 0}],
        }
        chunks.insert(0, azure)
    if not plain:
        # Perplexity: the full citations list repeated (and growing) on chunks
        if draw(st.integers(0, 3)) == 0:
            urls = ["https://a.example", "https://b.example", "https://c.example"]
            for k, chunk in enumerate(chunks):
                chunk["citations"] = urls[: 1 + min(k, 2)]
        # chunks with choices [] / null / missing between the others
        for _ in range(draw(st.integers(0, 2))):
            filler = meta(0)
            filler["choices"] = draw(st.sampled_from([[], None, "missing"]))
            if filler["choices"] == "missing":
                del filler["choices"]
            chunks.insert(draw(st.integers(0, len(chunks))), filler)
        chunks = [_shuffled(draw, c) if draw(st.booleans()) else c for c in chunks]

    items: list[tuple[str, Any]] = [("message", c) for c in chunks]
    if not plain and errors and draw(st.integers(0, 7)) == 0:
        kind = draw(st.sampled_from(["openrouter", "groq", "vllm"]))
        if kind == "openrouter":
            err = {
                "id": cid,
                "error": {"code": 400, "message": "Token limit reached"},
                "choices": [{"index": indices[0], "delta": {"content": ""}, "finish_reason": None}],
                "usage": _usage(draw, 99),
            }
            items.append(("message", err))
        elif kind == "groq":
            items.append(
                ("error", {"error": {"message": "tool call validation failed", "code": "tool_use_failed"}})
            )
        else:
            items.append(
                ("message", {"object": "error", "message": "bad", "type": "BadRequestError", "code": 400})
            )
    if not plain:
        for _ in range(draw(st.integers(0, 2))):
            items.insert(draw(st.integers(0, len(items))), ("comment", "OPENROUTER PROCESSING"))
    has_garbage = not plain and garbage and draw(st.integers(0, 5)) == 0
    if has_garbage:
        items.insert(
            draw(st.integers(0, len(items))),
            ("garbage", draw(st.sampled_from(['{"id": "x", ', "nope", "{]"]))),
        )
    done = draw(st.booleans())
    if done:
        items.append(("done", None))
        if not plain and draw(st.booleans()):  # events after [DONE] are ignored
            items.append(("message", {**meta(0), "choices": [{"index": 0, "delta": {"content": "IGNORED"}}]}))
            items.append(("error", {"error": {"message": "after done"}}))
    body, ends = encode_stream(items, ensure_ascii=draw(st.booleans()), space=draw(st.booleans()))
    payloads, events = stream_payloads(items)
    return {
        "items": items,
        "body": body,
        "ends": ends,
        "payloads": payloads,
        "events": events,
        "done": done,
        "error": any(is_api_error(p, e) for p, e in zip(payloads, events, strict=True)),
        "garbage": has_garbage,
    }


@st.composite
def cut_points(draw: Any, body: bytes) -> list[int]:
    cuts = draw(st.lists(st.integers(0, len(body)), max_size=12))
    if draw(st.integers(0, 4)) == 0:  # a burst of one-byte reads somewhere
        start = draw(st.integers(0, len(body)))
        cuts += range(start, min(start + 40, len(body)))
    return sorted(set(cuts))


def pieces(body: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


def feed_all(reads: list[bytes], *, strict: bool = False) -> tuple[Any, Any]:
    """Feeds reads; with strict=True, ChunkDecodeError is caught and feeding goes on."""
    acc = Accumulator(strict=strict)
    errors: list[chunkfold.ChunkDecodeError] = []
    for read in reads:
        try:
            assert acc.feed(read) == []
        except chunkfold.ChunkDecodeError as exc:
            errors.append(exc)
    assert not errors or strict
    assert all(isinstance(exc.offset, int) for exc in errors)
    return acc, acc.finish()


def differences(got: Any, expected: Any, path: str = "") -> str:
    """Where two normalized completions differ, one line per leaf (for assertion messages)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return "".join(differences(got.get(k), expected.get(k), f"{path}.{k}") for k in {*got, *expected})
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        return "".join(
            differences(g, e, f"{path}[{i}]") for i, (g, e) in enumerate(zip(got, expected, strict=True))
        )
    return "" if got == expected else f"\n  {path or '.'}: got {got!r:.300}, expected {expected!r:.300}"


# --- properties ------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), stream=streams())
def test_feed_matches_reference(data: Any, stream: dict[str, Any]) -> None:
    body = stream["body"]
    reads = pieces(body, data.draw(cut_points(body), label="cuts"))
    strict = data.draw(st.booleans(), label="strict")
    acc, result = feed_all(reads, strict=strict)
    expected = reference_fold(stream["payloads"], stream["events"])
    assert normalize(result) == expected, differences(normalize(result), expected)
    assert acc.status == reference_status(
        stream["payloads"], stream["events"], done=stream["done"], finished=True
    )
    assert acc.done == stream["done"]
    assert acc.bytes == len(body)
    assert normalize(acc.usage) == expected["usage"]
    assert (acc.error is not None) == stream["error"]
    if not strict:  # (strict mode's count is tested in test_accumulate.py)
        assert acc.skipped == (1 if stream["garbage"] else 0)
    if not stream["error"]:
        assert acc.chunks == len(stream["payloads"])


@SETTINGS
@given(stream=streams(errors=False, garbage=False))
def test_add_decoded_chunks_matches_feed(stream: dict[str, Any]) -> None:
    adder = Accumulator()
    for payload in stream["payloads"]:
        chunk = msgspec.json.decode(msgspec.json.encode(payload), type=ChatCompletionChunk)
        assert adder.add(chunk) == []
    fed, result = feed_all([stream["body"]])
    added = normalize(adder.finish())
    assert added == normalize(result), differences(added, normalize(result))
    expected = reference_fold(stream["payloads"], stream["events"])
    assert added == expected, differences(added, expected)
    assert adder.chunks == fed.chunks == len(stream["payloads"])
    assert adder.status in ("finished", "truncated")
    assert adder.status == reference_status(stream["payloads"], done=False, finished=True)


@SETTINGS
@given(data=st.data(), stream=streams())
def test_any_partition_of_reads_gives_the_same_result(data: Any, stream: dict[str, Any]) -> None:
    body = stream["body"]
    partitions = [
        [body],
        pieces(body, data.draw(cut_points(body), label="cuts a")),
        pieces(body, data.draw(cut_points(body), label="cuts b")),
    ]
    if len(body) <= 3000:
        partitions.append([body[i : i + 1] for i in range(len(body))])
    results = []
    for reads in partitions:
        acc, result = feed_all(reads)
        results.append((normalize(result), acc.status, acc.done, acc.chunks, acc.skipped, acc.bytes))
    assert all(r == results[0] for r in results)


@SETTINGS
@given(data=st.data(), stream=streams(garbage=False))
def test_snapshot_mid_stream_is_the_fold_so_far(data: Any, stream: dict[str, Any]) -> None:
    body, items, ends = stream["body"], stream["items"], stream["ends"]
    cuts = data.draw(cut_points(body), label="cuts")
    acc = Accumulator()
    fed = 0
    for read in pieces(body, cuts):
        acc.feed(read)
        fed += len(read)
        complete = [item for item, end in zip(items, ends, strict=True) if end <= fed]
        payloads, events = stream_payloads(complete)
        snapshot, expected = normalize(acc.snapshot()), reference_fold(payloads, events)
        assert snapshot == expected, differences(snapshot, expected)
        done = any(kind == "done" for kind, _ in complete)
        assert acc.status == reference_status(payloads, events, done=done, finished=False)
    assert normalize(acc.finish()) == reference_fold(stream["payloads"], stream["events"])


@SETTINGS
@given(data=st.data(), stream=streams(plain=True))
def test_plain_streams_match_openai_sdk(data: Any, stream: dict[str, Any]) -> None:
    """Plain OpenAI shapes (dense choice and tool indices introduced in order, role, id,
    type and name once, non-empty logprob lists), where ChatCompletionStreamState is right."""
    body = stream["body"]
    _, result = feed_all(pieces(body, data.draw(cut_points(body), label="cuts")))
    ours = normalize(result)
    expected = reference_fold(stream["payloads"], stream["events"])
    assert ours == expected, differences(ours, expected)
    sdk = sdk_snapshot(stream["payloads"])
    assert [choice_view(c) for c in ours["choices"]] == [choice_view(c) for c in sdk.choices]


# Not shrunk: a failing example is slow to shrink here, and the message (the differing
# fields, and the body as fed) says enough.
@settings(SETTINGS, phases=[Phase.explicit, Phase.generate])
@given(data=st.data(), stream=streams(garbage=False))
def test_json_spelling_does_not_matter(data: Any, stream: dict[str, Any]) -> None:
    """The same payloads written as other JSON encoders may write them, keys included
    (``"\\u0069d"`` is ``"id"``): the fold is that of the decoded JSON. Every annotation
    is sent once more, spelled anew: equal values are not repeated (rule 10)."""
    dumps = styled_dumps(
        random.Random(data.draw(st.integers(0, 2**32), label="seed")),
        slash=data.draw(st.booleans(), label="slash"),
        upper=data.draw(st.booleans(), label="upper"),
        escapes=data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="escapes"),
        ws=data.draw(st.sampled_from([[""], ["", " ", "\t", "\n"]]), label="ws"),
    )
    items = list(stream["items"])
    # Send every annotation once more (spelled anew), so equal values meet again.
    again = [
        ("message", {"choices": [{"index": choice.get("index", 0), "delta": {"annotations": [ann]}}]})
        for kind, payload in items
        if kind == "message"
        for choice in payload.get("choices") or []
        for ann in (choice.get("delta") or {}).get("annotations") or []
    ]
    done_at = next((i for i, (kind, _) in enumerate(items) if kind == "done"), len(items))
    items[done_at:done_at] = again
    body, _ = encode_stream(items, dumps=dumps)
    note(f"body as fed: {body!r}")
    _, result = feed_all(pieces(body, data.draw(cut_points(body), label="cuts")))
    got, expected = normalize(result), reference_fold(*stream_payloads(items))
    assert got == expected, differences(got, expected)
