"""Anthropic Messages scenarios and baselines for the bench.

Scenarios (synthetic streams shaped like the recorded ones: ``event:`` lines,
pings, whitespace-padded JSON): a long text answer, a tool call whose input
streams in 2,000 ``input_json_delta`` fragments (and one in 16,000, to show the
cost per event does not grow), and extended thinking followed by text.

Implementations, each from reads to the final message:

* ``feed``: :class:`chunkfold.MessageAccumulator`;
* ``msgspec``: the best pure Python we know: ``bytes.split`` framing, msgspec
  Structs and a minimal fold that joins each tool's fragments and parses them
  once;
* ``anthropic``: anthropic-sdk-python's ``MessageStream`` over its own
  ``Stream`` of pydantic events (what ``client.messages.stream(...)`` gives),
  on an in-memory response: no request is sent.

``python -m chunkfold.bench.anthropic`` prints µs per event for each, at 64 KiB
reads, best of a few rounds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

import chunkfold

__all__ = ["IMPLEMENTATIONS", "SCENARIOS", "events_in", "measure", "reads", "scenario"]

Reads = Sequence[bytes]


def _event(name: str, obj: dict[str, Any], pad: int = 0) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if pad:
        data = data[:-1] + " " * pad + "}"
    return f"event: {name}\ndata: {data}\n\n".encode()


def _start(model: str = "claude-sonnet-4-5-20250929") -> bytes:
    message: dict[str, Any] = {
        "model": model,
        "id": "msg_01BenchBenchBenchBench",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 812, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }
    return _event("message_start", {"type": "message_start", "message": message})


def _end(stop_reason: str, output_tokens: int) -> bytes:
    delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    delta["usage"] = {"input_tokens": 812, "output_tokens": output_tokens}
    return _event("message_delta", delta, 11) + _event("message_stop", {"type": "message_stop"}, 9)


_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "streaming",
    "tokens",
    "arrive",
    "one",
    "by",
    "one",
]


def _text_block(index: int, deltas: int, kind: str = "text") -> list[bytes]:
    field, delta_type = ("text", "text_delta") if kind == "text" else ("thinking", "thinking_delta")
    start = {"type": kind, field: ""} if kind == "text" else {"type": kind, "thinking": "", "signature": ""}
    out = [
        _event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
    ]
    for i in range(deltas):
        if i % 40 == 20:
            out.append(_event("ping", {"type": "ping"}))
        delta = {"type": delta_type, field: " " + _WORDS[i % len(_WORDS)] + ("\n" if i % 17 == 0 else "")}
        body = {"type": "content_block_delta", "index": index, "delta": delta}
        out.append(_event("content_block_delta", body, i % 13))
    if kind == "thinking":
        signature = {"type": "signature_delta", "signature": "EqQBCkYIBxgCKkBbench" * 8}
        body = {"type": "content_block_delta", "index": index, "delta": signature}
        out.append(_event("content_block_delta", body))
    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}, 14))
    return out


def _tool_block(index: int, fragments: int) -> list[bytes]:
    block = {"type": "tool_use", "id": "toolu_01Bench", "name": "write_rows", "input": {}}
    out = [
        _event("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
    ]
    pieces = ['{"rows": [']
    for i in range(fragments - 2):
        pieces.append(f'{{"id": {i}, "city": "Paris"}}, ' if i % 2 == 0 else f'{{"id": {i}, "ok": true}}, ')
    pieces.append('{"id": -1}]}')
    for piece in pieces:
        delta = {"type": "input_json_delta", "partial_json": piece}
        body = {"type": "content_block_delta", "index": index, "delta": delta}
        out.append(_event("content_block_delta", body, 7))
    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}, 14))
    return out


def _text(n: int) -> bytes:
    return b"".join([_start(), *_text_block(0, n), _end("end_turn", n)])


def _tool(n: int) -> bytes:
    return b"".join([_start(), *_text_block(0, 20), *_tool_block(1, n), _end("tool_use", n)])


def _thinking(n: int) -> bytes:
    blocks = [*_text_block(0, n // 2, "thinking"), *_text_block(1, n // 2)]
    return b"".join([_start(), *blocks, _end("end_turn", n)])


#: Scenario name -> stream bytes builder.
SCENARIOS: dict[str, Callable[[], bytes]] = {
    "anthropic-text-2000": lambda: _text(2000),
    "anthropic-tool-2000": lambda: _tool(2000),
    "anthropic-tool-16000": lambda: _tool(16000),
    "anthropic-thinking-2000": lambda: _thinking(2000),
}


def scenario(name: str) -> bytes:
    """The stream bytes of scenario ``name``."""
    return SCENARIOS[name]()


def events_in(body: bytes) -> int:
    """Events in a stream (one ``data:`` line each)."""
    return body.count(b"\ndata: ") + body.startswith(b"data: ")


def reads(body: bytes, size: int = 65536) -> list[bytes]:
    """``body`` cut into reads of ``size`` bytes."""
    return [body[i : i + size] for i in range(0, len(body), size)]


# --- implementations -------------------------------------------------------------------


def _feed() -> Callable[[Reads], Any]:
    def run(reads: Reads) -> Any:
        acc = chunkfold.MessageAccumulator()
        for read in reads:
            acc.feed(read)
        return acc.finish()

    return run


class _Delta(msgspec.Struct, gc=False):
    type: str = ""
    stop_reason: str | None = None
    stop_sequence: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None


class _Event(msgspec.Struct, gc=False):
    type: str
    index: int | None = None
    delta: _Delta | None = None
    content_block: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


def _msgspec() -> Callable[[Reads], Any]:
    decode = msgspec.json.Decoder(_Event).decode

    def run(reads: Reads) -> Any:
        message: dict[str, Any] = {}
        blocks: dict[int, dict[str, Any]] = {}
        parts: dict[int, list[str]] = {}
        usage: dict[str, Any] = {}
        carry = b""
        for read in reads:
            chunks = (carry + read if carry else read).split(b"\n\n")
            carry = chunks.pop()
            for chunk in chunks:
                event = decode(chunk[chunk.find(b"data: ") + 6 :])
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    assert delta is not None
                    assert event.index is not None
                    if delta.text is not None or delta.thinking is not None or delta.partial_json is not None:
                        parts.setdefault(event.index, []).append(
                            delta.text or delta.thinking or delta.partial_json or ""
                        )
                    elif delta.signature is not None:
                        blocks[event.index]["signature"] = delta.signature
                elif kind == "content_block_start":
                    assert event.index is not None
                    assert event.content_block is not None
                    blocks[event.index] = event.content_block
                elif kind == "content_block_stop":
                    assert event.index is not None
                    block, joined = blocks[event.index], "".join(parts.pop(event.index, ()))
                    if block["type"] == "tool_use":
                        block["input"] = msgspec.json.decode(joined) if joined else block["input"]
                    elif block["type"] in ("text", "thinking"):
                        block[block["type"]] += joined
                elif kind == "message_start":
                    message = event.message or {}
                    usage.update(message.get("usage") or {})
                elif kind == "message_delta":
                    if event.delta is not None:
                        for key in ("stop_reason", "stop_sequence"):
                            if getattr(event.delta, key) is not None:
                                message[key] = getattr(event.delta, key)
                    usage.update({k: v for k, v in (event.usage or {}).items() if v is not None})
        message["content"] = [blocks[i] for i in sorted(blocks)]
        message["usage"] = usage
        return message

    return run


def _anthropic() -> Callable[[Reads], Any]:
    import anthropic
    import httpx2
    from anthropic.lib.streaming import MessageStream
    from anthropic.types import RawMessageStreamEvent

    base = "http://127.0.0.1:9"
    client = anthropic.Anthropic(api_key="sk-bench", base_url=base, max_retries=0)
    request = httpx2.Request("POST", f"{base}/v1/messages")
    headers = {"content-type": "text/event-stream"}

    def run(reads: Reads) -> Any:
        response = httpx2.Response(200, headers=headers, content=iter(reads), request=request)
        cast_to: Any = RawMessageStreamEvent
        raw: anthropic.Stream[Any] = anthropic.Stream(cast_to=cast_to, response=response, client=client)
        stream: MessageStream[None] = MessageStream(raw, anthropic.NOT_GIVEN)
        for _ in stream:
            pass
        return stream.get_final_message()

    return run


#: Implementation name -> factory of a function from reads to the final message.
IMPLEMENTATIONS: dict[str, Callable[[], Callable[[Reads], Any]]] = {
    "feed": _feed,
    "msgspec": _msgspec,
    "anthropic": _anthropic,
}


def measure(run: Callable[[Reads], Any], body: bytes, *, rounds: int = 5, size: int = 65536) -> float:
    """Best µs per event of ``run`` over ``rounds`` runs at reads of ``size``.

    Each read is copied just before the run, as fresh network data would be:
    a stream larger than the CPU cache would otherwise be timed from RAM.
    """
    pieces = reads(body, size)
    best = float("inf")
    for _ in range(rounds):
        fresh = [bytes(bytearray(p)) for p in pieces]
        start = time.perf_counter()
        run(fresh)
        best = min(best, time.perf_counter() - start)
    return best / events_in(body) * 1e6


def _feed_only(reads: Reads) -> Any:
    acc = chunkfold.MessageAccumulator()
    for read in reads:
        acc.feed(read)
    return acc


def main() -> None:  # pragma: no cover - a manual tool
    """Prints µs per event for every scenario and implementation: the whole
    fold to the final message, and ``feed()`` alone (before ``finish()``
    builds the Python message)."""
    names = [*IMPLEMENTATIONS, "feed()"]
    print(f"{'scenario':<26}" + "".join(f"{name:>12}" for name in names) + "   feed vs")
    runs = {name: factory() for name, factory in IMPLEMENTATIONS.items()}
    for name in SCENARIOS:
        body = scenario(name)
        slow = name.endswith("16000")
        times = {
            impl: measure(run, body, rounds=1 if slow and impl == "anthropic" else 5)
            for impl, run in runs.items()
        }
        times["feed()"] = measure(_feed_only, body)
        ratios = ", ".join(
            f"{impl} {times[impl] / times['feed']:.0f}x" for impl in IMPLEMENTATIONS if impl != "feed"
        )
        print(f"{name:<26}" + "".join(f"{t:>12.3f}" for t in times.values()) + f"   {ratios}")


if __name__ == "__main__":  # pragma: no cover
    main()
