"""The ``chunkfold`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from chunkfold import ChatCompletionAccumulator, ChunkDecoder, SSEDecoder, __version__

__all__ = ["main"]


def _sample() -> bytes:
    return resources.files("chunkfold").joinpath("data/sample.sse").read_bytes()


def _demo(path: str | None) -> int:
    """Frames, decodes and folds a stream (the bundled sample by default) and reports what it holds."""
    body = _sample() if path is None else sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    events = SSEDecoder()
    framed = events.feed(body) + events.finish()
    chunks = ChunkDecoder()
    decoded = chunks.feed(body) + chunks.finish()
    acc = ChatCompletionAccumulator()
    acc.feed(body)
    completion = acc.finish()
    print(f"source:   {path or 'bundled sample (chunkfold/data/sample.sse)'}, {len(body)} bytes")
    print(f"framed:   {len(framed)} SSE events, {len(decoded)} typed chunks")
    print(f"status:   {acc.status} ({acc.chunks} chunks folded)")
    for choice in completion.choices:
        print(f"choice {choice.index}: {choice.message.content!r} (finish_reason={choice.finish_reason})")
        for call in choice.message.tool_calls or []:
            print(f"  tool call {call.id}: {call.function.name}({call.function.arguments})")
    usage = acc.usage
    if usage is not None:
        counts = f"prompt={usage.prompt_tokens} completion={usage.completion_tokens}"
        print(f"usage:    {counts} total={usage.total_tokens}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chunkfold`` console script."""
    parser = argparse.ArgumentParser(prog="chunkfold", description=__doc__)
    parser.add_argument("--version", action="version", version=f"chunkfold {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser("demo", help="frame, decode and fold a stream (default: the bundled sample)")
    demo.add_argument("file", nargs="?", help="a captured SSE body, or - for standard input")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        return _demo(getattr(args, "file", None))
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2  # pragma: no cover
