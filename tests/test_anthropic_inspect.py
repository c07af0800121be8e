"""``chunkfold inspect`` on Anthropic streams."""

from __future__ import annotations

import json

import pytest
from anthropic_reference import FIXTURES
from chunkfold.anthropic.inspection import inspect_message_bytes
from chunkfold.cli import EXIT_PROBLEMS, main


def test_a_clean_stream_folds_to_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "vercel-tool-use-json-haiku45.sse"
    assert main(["inspect", str(path)]) == 0
    captured = capsys.readouterr()
    message = json.loads(captured.out)
    assert message["content"][0]["type"] == "tool_use"
    assert isinstance(message["content"][0]["input"], dict)
    assert "Anthropic Messages" in captured.err
    assert "ended:     message_stop" in captured.err
    assert "problems:  none" in captured.err


def test_a_mid_stream_error_is_a_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIXTURES / "hw-error-overloaded-mid-text.sse")]) == EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert "api-error" in err
    assert "overloaded_error: Overloaded" in err


def test_findings() -> None:
    body = (FIXTURES / "vercel-handwritten-empty-first-input-delta.sse").read_bytes()
    cut = body[: body.index(b"event: message_delta")]
    found = inspect_message_bytes(cut + b"data: {oops\n\n")
    codes = {f.code for f in found.problems}
    assert codes == {"invalid-tool-input", "missing-message-stop", "malformed-event"}
    assert found.status == "truncated"
