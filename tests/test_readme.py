"""Every code block in the README runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
BASH_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=[f"python-{i}" for i in range(len(PYTHON_BLOCKS))])
def test_python_block_runs(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {})


def test_quick_start_has_exactly_two_commands() -> None:
    assert len(BASH_BLOCKS) == 2
    run, test = (block.strip() for block in BASH_BLOCKS)
    assert run.endswith("chunkfold demo")
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert test in ci, ".ci/run must run the README's test command"
    assert run.rsplit("&& ", 1)[-1] in ci
