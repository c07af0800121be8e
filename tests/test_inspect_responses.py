"""``chunkfold inspect`` on Responses API streams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chunkfold.cli import main
from chunkfold.responses.inspection import inspect_response_bytes
from conftest import RESPONSES, responses_streams, stream_id


@pytest.mark.parametrize("path", responses_streams(), ids=stream_id)
def test_every_responses_fixture_inspects(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["inspect", str(path)])
    captured = capsys.readouterr()
    response = json.loads(captured.out)
    assert response["object"] == "response"
    assert isinstance(response["output"], list)
    assert "OpenAI Responses API stream" in captured.err
    assert ("problems:  none" in captured.err) == (status == 0)


@pytest.mark.parametrize(
    ("name", "status", "codes"),
    [
        ("mira-text-gpt4o", 0, set()),
        ("hw-keepalive-during-reasoning", 0, {"keep-alive"}),
        ("mira-incomplete-max-output-tokens", 1, {"incomplete"}),
        ("vercel-openai-error-insufficient-quota-then-failed", 1, {"api-error"}),
        ("dotnet-background-resumed-from-seq3", 0, set()),
    ],
)
def test_recorded_responses_streams(name: str, status: int, codes: set[str]) -> None:
    body = (RESPONSES / f"{name}.sse").read_bytes()
    found = inspect_response_bytes(body)
    assert {f.code for f in found.findings} == codes
    assert bool(found.problems) == bool(status)


def test_a_cut_stream_and_its_events(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = (RESPONSES / "mira-parallel-function-calls.sse").read_bytes()
    cut = body[: body.rindex(b"event: response.completed")]
    path = tmp_path / "cut.sse"
    path.write_bytes(cut + b"data: {not json\n\n")
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    for code in ("missing-terminal", "malformed-event", "missing-usage"):
        assert code in err
    assert "item 0:    function_call" in err
    assert "item 1:    function_call" in err
    assert main(["inspect", "--chunks", "--quiet", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(json.loads(line)["type"].startswith("response.") for line in lines)
    assert len(lines) == cut.count(b"data: ")
