"""The ``chunkfold`` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from chunkfold import __version__
from chunkfold.cli import main
from conftest import FIXTURES


def test_demo_on_the_bundled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "12 SSE events, 11 typed chunks" in out
    assert "status:   done" in out
    assert "'The capital of Mexico is Mexico City.' (finish_reason=stop)" in out
    assert "prompt=14 completion=8 total=22" in out


def test_demo_on_a_file_with_tool_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(FIXTURES / "providers" / "openai_gpt4o_parallel_tool_calls.sse")]) == 0
    out = capsys.readouterr().out
    assert "get_country({})" in out
    assert "get_product_name({})" in out


def test_module_entry_point_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chunkfold", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"chunkfold {__version__}"
