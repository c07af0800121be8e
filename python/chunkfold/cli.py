"""The ``chunkfold`` command line.

* ``chunkfold demo [FILE|-]``: frame, decode and fold a stream (the bundled sample by default).
* ``chunkfold bench``: chunkfold against openai-python, anthropic-sdk-python, httpx-sse, msgspec
  and orjson on the built-in corpus (chat, Responses and Anthropic streams); a table, and on
  request JSON and a chart.
* ``chunkfold inspect FILE|-``: the folded completion of a captured stream and what is wrong
  with it. Exit status 0 for a clean stream, 1 if problems were found, 2 if the input cannot
  be read.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from chunkfold import ChatCompletionAccumulator, ChunkDecoder, SSEDecoder, __version__

__all__ = ["main"]

#: Exit status of ``inspect`` for a stream with problems.
EXIT_PROBLEMS = 1
#: Exit status for input that cannot be read and for usage errors.
EXIT_USAGE = 2


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


def _names(values: list[str] | None) -> tuple[str, ...] | None:
    """``--x a,b --x c`` as ``("a", "b", "c")``; ``None`` if the option was not given."""
    if not values:
        return None
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Runs the benchmark as the options say and prints the table."""
    from chunkfold.bench import runner as bench

    settings = bench.Settings.quick() if args.quick else bench.Settings()
    changes: dict[str, object] = {}
    for option, name in (("scenario", "scenarios"), ("patterns", "patterns"), ("impl", "implementations")):
        if (chosen := _names(getattr(args, option))) is not None:
            changes[name] = chosen
    if args.gc:
        changes["gc"] = True
    for name in ("repeat", "warmup", "min_time", "seed"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    try:
        settings.validate()
        if args.chart:
            bench.check_chart_path(args.chart)
    except bench.BenchError as exc:
        print(f"chunkfold bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = bench.Progress(0, enabled=not args.no_progress)
    report = bench.run(settings, progress=progress)
    report.machine["command"] = shlex.join(["chunkfold", *argv])
    print(bench.format_table(report, markdown=args.markdown))
    print()
    print(bench.describe(report))
    for failure in report.failures:
        print(f"chunkfold bench: wrong result, not timed: {failure}", file=sys.stderr)
    if args.json:
        bench.write_json(report, args.json)
        print(f"wrote {args.json}")
    if args.chart and report.measurements:
        bench.write_chart(report, args.chart)
        print(f"wrote {args.chart}")
    return 1 if report.failures else 0


def _inspect(args: argparse.Namespace) -> int:
    """Inspects a captured stream: the completion (or the chunks) on stdout, the summary on stderr."""
    from chunkfold.inspection import inspect_bytes, to_json_value
    from chunkfold.responses.models import encode as encode_model

    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"chunkfold inspect: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    source = "standard input" if args.file == "-" else args.file
    from chunkfold.anthropic.inspection import inspect_message_bytes
    from chunkfold.gateway.protocols import sniff_protocol
    from chunkfold.responses.inspection import inspect_response_bytes

    found: Any = None
    protocol = sniff_protocol(body)
    if protocol == "responses":
        found = inspect_response_bytes(body, source=source)
        if args.chunks:
            for event in found.events:
                sys.stdout.write(encode_model(event).decode() + "\n")
        else:
            sys.stdout.write(msgspec.json.format(encode_model(found.response), indent=2).decode() + "\n")
    elif protocol == "anthropic":
        found = inspect_message_bytes(body, source=source)
        text = msgspec.json.encode(found.message)  # with each block's type tag
        sys.stdout.write(msgspec.json.format(text, indent=2).decode() + "\n")
    if found is not None:
        sys.stdout.flush()
        if not args.quiet:
            print(found.summary(), file=sys.stderr)
        return EXIT_PROBLEMS if found.problems else 0
    result = inspect_bytes(body, source=source)
    out = sys.stdout
    if args.chunks:
        encode = msgspec.json.Encoder().encode
        for chunk in result.chunks:
            out.write(encode(to_json_value(chunk)).decode() + "\n")
    else:
        text = msgspec.json.encode(to_json_value(result.completion))
        out.write(msgspec.json.format(text, indent=2).decode() + "\n")
    out.flush()
    if not args.quiet:
        print(result.summary(), file=sys.stderr)
    return EXIT_PROBLEMS if result.problems else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chunkfold",
        description="Fast, spec-exact parsing of OpenAI-style chat completion streams.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chunkfold {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser("demo", help="frame, decode and fold a stream (default: the bundled sample)")
    demo.add_argument("file", nargs="?", help="a captured SSE body, or - for standard input")

    bench = commands.add_parser(
        "bench",
        help="benchmark chunkfold against openai-python, anthropic, httpx-sse, msgspec and orjson",
        description="Checks, then times, chunkfold and every installed baseline on the built-in corpus "
        "of chat, Responses and Anthropic streams (chunkfold.bench.protocols). Prints µs per chunk, "
        "MB/s and speed-ups; baselines that are not installed are skipped with a note "
        "(pip install 'chunkfold[bench]' installs them).",
    )
    bench.add_argument(
        "--quick", action="store_true", help="two read patterns and short samples (< 1 minute)"
    )
    from chunkfold.bench.corpus import READ_PATTERNS
    from chunkfold.bench.protocols import implementation_names, scenario_names

    for option, names in (
        ("--scenario", scenario_names()),
        ("--patterns", READ_PATTERNS),
        ("--impl", implementation_names(limits=True)),
    ):
        listed = ", ".join(names)
        bench.add_argument(option, action="append", metavar="NAMES", help=f"comma-separated, of: {listed}")
    bench.add_argument("--repeat", type=int, help="samples per measurement (median reported)")
    bench.add_argument("--warmup", type=int, help="calls before timing, the checked call included")
    bench.add_argument("--min-time", type=float, metavar="SECONDS", help="shortest sample")
    bench.add_argument("--seed", type=int, help="corpus and random-read seed")
    bench.add_argument("--gc", action="store_true", help="keep the garbage collector on while timing")
    bench.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    bench.add_argument("--chart", metavar="PATH", help="draw a chart (.png or .svg; needs matplotlib)")
    bench.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")

    inspect = commands.add_parser(
        "inspect",
        help="fold a captured stream and report its problems",
        description="Prints the folded completion as JSON on standard output and a summary on standard "
        "error. Exit status: 0 clean, 1 problems found, 2 unreadable input or usage error.",
    )
    inspect.add_argument(
        "file", help="a .sse file, a curl -N capture or a proxy log body; - for standard input"
    )
    inspect.add_argument(
        "--chunks", action="store_true", help="print each decoded chunk as a JSON line instead"
    )
    inspect.add_argument("--quiet", action="store_true", help="no summary on standard error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chunkfold`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(args_list)
    if args.command in (None, "demo"):
        return _demo(getattr(args, "file", None))
    if args.command == "bench":
        return _bench(args, args_list)
    if args.command == "inspect":
        return _inspect(args)
    raise AssertionError(f"unknown command {args.command}")  # pragma: no cover
