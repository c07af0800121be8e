"""Every code block in the README runs."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=[f"python-{i}" for i in range(len(PYTHON_BLOCKS))])
def test_python_block_runs(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {})


def test_quick_start_has_exactly_two_commands() -> None:
    assert len(BASH_BLOCKS) == 2
    run, test = (block.strip() for block in BASH_BLOCKS)
    assert run.endswith("chunkfold bench --quick")
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert test in ci, ".ci/run must run the README's test command"
    assert run.rsplit("&& ", 1)[-1] in ci


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("script", SH_BLOCKS, ids=[f"sh-{i}" for i in range(len(SH_BLOCKS))])
def test_shell_block_runs(script: str) -> None:
    """Shell blocks run as written, on free ports instead of 8000/8001."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    for port in ("8000", "8001"):
        script = script.replace(port, str(free_port()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "data: [DONE]" in result.stdout
    assert '"done":1' in result.stdout
