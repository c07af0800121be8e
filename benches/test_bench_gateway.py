"""Gateway load: the CPU ``tap`` costs a proxy, next to plain forwarding and a
LiteLLM-style path (``examples/load.py``).

The mock upstream and the three proxies run as uvicorn processes on
127.0.0.1. With timing off (the default) a small load is a smoke test: 20
concurrent unpaced streams of 50 tokens through each proxy, then 300
sequential streams through ``tap``, in under 10 s. It asserts that every
stream arrived whole (byte for byte through ``plain`` and ``tap``), that the
three proxies delivered the same chunks, that ``tap`` metered every token the
mock sent, and that the tap proxy's resident set stayed put.

``--benchmark-enable`` runs the full load instead (200 and then 1,000
concurrent streams of 50 tokens at 5 tokens/s, 3 rounds, then 10,000
sequential streams: about 5 minutes on 2 cores) with the same assertions, and
puts CPU seconds per 1,000 chunks, the ratios to ``plain`` and the wall times
in ``extra_info``. The same as a table::

    python examples/load.py --streams 200 1000 --tokens 50 --rate 5 --repeat 3 --sequential 10000
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import load

SMOKE = load.Settings(streams=(20,), tokens=50, rate=0, repeat=1, sequential=300, every=100)
FULL = load.Settings(streams=(200, 1000), tokens=50, rate=5, repeat=3, sequential=10_000)
#: Smoke runs: how much the tap proxy's resident set may grow over its sequential streams.
SMOKE_RSS_GROWTH = 2 * 2**20


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides conftest's: these benches connect to their own servers on 127.0.0.1, and
    nowhere else."""
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)

        def loopback_only(self: socket.socket, address: Any, *, _original: Any = original) -> Any:
            if not (isinstance(address, tuple) and address[0] == load.HOST):
                raise AssertionError(f"benches connect only to {load.HOST}, not {address!r}")
            return _original(self, address)

        monkeypatch.setattr(socket.socket, name, loopback_only)


def check(results: dict[str, Any], tokens: int) -> None:
    """What every run must show, fast or slow."""
    rows = results["load"]
    assert [r["check"] for r in rows] == ["ok"] * len(rows), rows
    for streams in {r["streams"] for r in rows}:
        chunks = {r["variant"]: r["chunks"] for r in rows if r["streams"] == streams}
        assert chunks == dict.fromkeys(load.VARIANTS, streams * (tokens + 3))
    tap = [r for r in results["rounds"] if r["variant"] == "tap"]
    assert [r["metered_tokens"] for r in tap] == [r["streams"] * tokens for r in tap]
    memory = results["memory"]
    assert memory["errors"] == {}
    assert memory["wrong"] == 0
    assert memory["metered_tokens"] == memory["streams"] * memory["tokens"]
    assert results["server_stderr"] == {}


def test_gateway_load(benchmark: Any) -> None:
    full = not benchmark.disabled
    config = FULL if full else SMOKE
    benchmark.group = "gateway-load"
    results = benchmark.pedantic(load.run, args=(config,), rounds=1, iterations=1)
    check(results, config.tokens)
    info = benchmark.extra_info
    info.update(results["settings"])
    for r in results["load"]:
        name = f"{r['streams']}-{r['variant']}"
        info[f"{name} CPU s/1k chunks"] = round(r["cpu_s_per_1k_chunks"], 4)
        info[f"{name} vs plain"] = r["vs_plain"]
        info[f"{name} wall s"] = r["wall_s"]
        info[f"{name} reads/chunk"] = r["reads_per_chunk"]
    memory = results["memory"]
    info.update({"sequential streams": memory["streams"], "sequential RSS growth": memory["growth"]})
    if full:
        assert memory["flat"], memory
    else:
        (_, first), *_, (_, last) = memory["rss_bytes"]
        assert last - first < SMOKE_RSS_GROWTH, memory
