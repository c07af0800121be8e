"""``chunkfold inspect``: the folded completion of a captured stream and its problems."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chunkfold.chat.models
import msgspec
import pytest
from chunkfold.bench import corpus
from chunkfold.cli import main
from chunkfold.inspection import inspect_bytes
from conftest import FIXTURES, fixture_streams, stream_id

Run = Callable[..., tuple[int, str, str]]
HEAD = '"id":"c1","object":"chat.completion.chunk","created":1,"model":"m"'
USAGE = (
    f'data: {{{HEAD},"choices":[],"usage":{{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}}}\n\n'
)


def frame(delta: str, finish: str | None = None, index: int = 0) -> str:
    reason = "null" if finish is None else f'"{finish}"'
    return f'data: {{{HEAD},"choices":[{{"index":{index},"delta":{delta},"finish_reason":{reason}}}]}}\n\n'


CLEAN = (
    frame('{"role":"assistant","content":""}')
    + frame('{"content":"Hel"}')
    + frame('{"content":"lo"}')
    + frame("{}", "stop")
    + USAGE
    + "data: [DONE]\n\n"
)


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(body, *options)`` writes ``body`` to a file, inspects it: (exit status, stdout, stderr)."""

    def go(body: bytes | str, *options: str) -> tuple[int, str, str]:
        path = tmp_path / "capture.sse"
        path.write_bytes(body.encode() if isinstance(body, str) else body)
        status = main(["inspect", str(path), *options])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return go


def codes(body: bytes | str) -> dict[str, bool]:
    """Each finding's code, and whether it is a problem."""
    result = inspect_bytes(body.encode() if isinstance(body, str) else body)
    return {f.code: f.problem for f in result.findings}


@pytest.mark.parametrize("path", fixture_streams(), ids=stream_id)
def test_every_fixture_inspects(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["inspect", str(path)])
    captured = capsys.readouterr()
    assert status in (0, 1)
    completion = json.loads(captured.out)
    assert completion["object"] == "chat.completion"
    assert isinstance(completion["choices"], list)
    assert "ended:" in captured.err
    assert ("problems:  none" in captured.err) == (status == 0)


def test_every_fixture_prints_its_chunks(capsys: pytest.CaptureFixture[str]) -> None:
    for path in fixture_streams():
        assert main(["inspect", "--chunks", "--quiet", str(path)]) in (0, 1)
        lines = capsys.readouterr().out.splitlines()
        assert all(json.loads(line)["choices"] is not None for line in lines)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("openai_gpt4o_text_usage_chunk", 0),
        ("openai_gpt4o_parallel_tool_calls", 0),
        ("openrouter_o3_encrypted_reasoning_keepalives", 0),
        ("openrouter_midstream_error_chunk", 1),
        ("groq_gpt_oss_reasoning_then_error_event", 1),
        ("anthropic_openai_compat_tool_index_starts_at_1", 1),
    ],
)
def test_recorded_streams(name: str, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIXTURES / "providers" / f"{name}.sse")]) == status


def test_a_clean_stream(run: Run) -> None:
    status, out, err = run(CLEAN)
    assert status == 0
    completion = json.loads(out)
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello",
                "refusal": None,
                "annotations": None,
                "audio": None,
                "function_call": None,
                "tool_calls": None,
            },
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert completion["usage"]["total_tokens"] == 5
    assert "events:    6 (5 chunks); keep-alives: 0 comments, 0 empty events" in err
    assert "ended:     [DONE]" in err
    assert "usage:     prompt=3 completion=2 total=5" in err
    assert "choice 0:  finish_reason=stop, 5 chars of content" in err
    assert "problems:  none" in err
    assert "notes:" not in err


@pytest.mark.parametrize("name", list(corpus.SCENARIOS))
def test_every_corpus_scenario_is_clean(name: str) -> None:
    stream = corpus.SCENARIOS[name].stream()
    result = inspect_bytes(stream.body)
    assert result.findings == [f for f in result.findings if f.code == "finish-reason"]
    assert result.completion == stream.expected.completion()
    assert len(result.chunks) == stream.expected.chunks


def test_keep_alives_are_counted_not_problems(run: Run) -> None:
    body = ": OPENROUTER PROCESSING\n\n" + CLEAN.replace("\n\ndata", "\n\n: ping\n\ndata: \n\ndata", 2)
    status, _, err = run(body)
    assert status == 0
    assert "keep-alives: 3 comments, 2 empty events" in err
    assert "keep-alive: 3 comment line(s) and 2 empty event(s), skipped" in err


def test_malformed_events(run: Run) -> None:
    body = CLEAN.replace(
        frame('{"content":"lo"}'), 'data: {"content": nope\n\ndata: [1, 2]\n\n' + frame('{"content":"lo"}')
    )
    status, out, err = run(body)
    assert status == 1
    assert json.loads(out)["choices"][0]["message"]["content"] == "Hello"
    offset = body.index('data: {"content": nope')
    assert f"malformed-event (byte {offset}): not JSON" in err
    assert "malformed-event (byte " in err.split("not JSON", 1)[1]
    assert "not a chat.completion.chunk" in err


def test_missing_done_and_usage(run: Run) -> None:
    status, _, err = run(CLEAN.replace(USAGE, "").replace("data: [DONE]\n\n", ""))
    assert status == 1
    assert "ended:     every choice finished, but no [DONE]" in err
    assert "missing-done: no data: [DONE]; every choice finished, but no [DONE]" in err
    assert "missing-usage: no usage was sent" in err


def test_a_cut_stream(run: Run) -> None:
    cut = CLEAN[: CLEAN.index(frame("{}", "stop")) + 40]
    status, out, err = run(cut)
    assert status == 1
    assert json.loads(out)["choices"][0]["message"]["content"] == "Hello"
    assert "ended:     truncated: no [DONE], and not every choice finished" in err
    assert f"truncated-event (byte {len(cut) - 40}): the stream ends inside an event" in err
    assert "unfinished-choice: choice 0 has no finish_reason" in err


def test_an_unterminated_done_is_a_note() -> None:
    assert codes(CLEAN.removesuffix("\n\n")) == {"unterminated-done": False}


def test_invalid_tool_arguments(run: Run) -> None:
    fn = '"type":"function","function":{"name":"f","arguments":"{\\"a\\": 1"}'
    call = '{"tool_calls":[{"index":0,"id":"call_1",' + fn + "}]}"
    good = '{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"g","arguments":"{}"}}]}'  # noqa: E501
    role = frame('{"role":"assistant","content":null}')
    body = role + frame(call) + frame(good) + frame("{}", "tool_calls")
    status, _, err = run(body + USAGE + "data: [DONE]\n\n")
    assert status == 1
    assert "invalid-tool-arguments: choice 0, tool call 0 (call_1, f): arguments are not valid JSON" in err
    assert "tool call call_1 f: 7 chars of arguments, NOT valid JSON" in err
    assert "tool call call_2 g: 2 chars of arguments, valid JSON" in err
    assert "call_2, g" not in err


def test_api_errors() -> None:
    first = frame('{"content":"a"}')
    error = 'data: {"error":{"message":"overloaded","type":"server_error","code":"503"}}\n\n'
    found = inspect_bytes((first + error).encode())
    assert str(found.problems[0]) == f"api-error (byte {len(first)}): overloaded (code 503)"
    assert found.ended == "API error: overloaded"
    assert found.status == "error"
    assert codes(first + "event: error\ndata: boom\n\n")["api-error"] is True


def test_events_after_done_and_other_types() -> None:
    body = CLEAN.replace(frame("{}", "stop"), "event: delta\n" + frame("{}", "stop")) + frame(
        '{"content":"x"}'
    )
    assert codes(body) == {"event-type": False, "data-after-done": False}


def test_finish_reason_length_is_a_note() -> None:
    assert codes(CLEAN.replace('"stop"', '"length"')) == {"finish-reason": False}


def test_invalid_utf8() -> None:
    body = CLEAN.encode().replace(b"Hel", b"H\xffl")
    found = inspect_bytes(body)
    bad = body.index(b"\xff")
    assert body.rindex(b"data: ", 0, bad) < bad
    assert [(f.code, f.offset) for f in found.problems] == [("invalid-utf8", bad)]
    # WHATWG's rule, as everywhere: the byte becomes U+FFFD and the chunk is folded.
    assert found.completion.choices[0].message.content == "H\ufffdllo"


def test_curl_include_headers(run: Run) -> None:
    head = "HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200\r\ncontent-type: text/event-stream; charset=utf-8\r\n\r\n"
    status, out, err = run(head + CLEAN)
    assert status == 0
    assert json.loads(out)["choices"][0]["message"]["content"] == "Hello"
    assert "http-headers (byte 0): skipped the HTTP response head 'HTTP/2 200'" in err
    cut = inspect_bytes((head + CLEAN[:-30]).encode())
    truncated = next(f for f in cut.problems if f.code == "truncated-event")
    assert truncated.offset == len(head) + CLEAN.rindex("data: ", 0, len(CLEAN) - 30)
    failed = codes("HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\r\n" + CLEAN)
    assert failed == {"http-headers": False, "http-status": True, "content-type": True}


def test_a_log_that_lost_the_blank_lines(run: Run) -> None:
    status, out, err = run(CLEAN.replace("\n\n", "\n"))
    assert status == 1
    assert json.loads(out)["choices"][0]["message"]["content"] == "Hello"
    assert "unseparated-events: 5 data line(s) had no blank line after them" in err
    assert "problems:  1" in err


def test_no_events(run: Run) -> None:
    status, out, err = run(b"")
    assert status == 1
    assert json.loads(out)["choices"] == []
    assert "no-events: no Server-Sent Events found" in err
    assert codes(b"\x00\x01 binary junk")["no-events"] is True


def test_chunks_as_json_lines(run: Run) -> None:
    stream = corpus.SCENARIOS["n3"].stream()
    status, out, err = run(stream.body, "--chunks")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == stream.expected.chunks
    raw = [json.loads(p) for p in stream.expected.payloads[:-1]]
    assert [c["choices"][0]["index"] for c in lines[:-1]] == [c["choices"][0]["index"] for c in raw[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in lines[:-1]] == [
        c["choices"][0]["delta"].get("content") for c in raw[:-1]
    ]
    usage = chunkfold.chat.models.CompletionUsage
    assert msgspec.convert(lines[-1]["usage"], usage) == msgspec.convert(raw[-1]["usage"], usage)
    assert "problems:  none" in err


def test_quiet(run: Run) -> None:
    status, out, err = run(CLEAN, "--quiet")
    assert (status, err) == (0, "")
    assert json.loads(out)["id"] == "c1"


def inspect_stdin(body: bytes, *options: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "chunkfold", "inspect", *options, "-"]
    return subprocess.run(command, input=body, capture_output=True, check=False, timeout=60)


def test_standard_input() -> None:
    clean = inspect_stdin(CLEAN.encode())
    assert clean.returncode == 0
    assert json.loads(clean.stdout)["choices"][0]["message"]["content"] == "Hello"
    assert b"source:    standard input (" in clean.stderr
    cut = inspect_stdin(CLEAN.encode()[:-20], "--chunks")
    assert cut.returncode == 1
    assert len(cut.stdout.splitlines()) == 4  # the usage chunk was cut


def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.sse")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err


def test_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["inspect"])
    assert exc.value.code == 2
    assert "the following arguments are required: file" in capsys.readouterr().err


def test_summary_json_values() -> None:
    """The completion printed keeps OpenAI's defaults and drops nulls."""
    found = inspect_bytes(CLEAN.encode())
    assert found.summary().splitlines()[0] == f"source:    - ({len(CLEAN):,} bytes)"
    assert [f for f in found.findings] == []
    values: Any = found.chunks[0]
    assert values.choices[0].delta.role == "assistant"
