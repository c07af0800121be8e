"""Shared test helpers: recorded fixtures and a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "fixtures"


#: The fixture folders that hold chat completion streams; the other protocols'
#: recordings (``responses/``, ``anthropic/``) have tests of their own.
CHAT_FIXTURES = ("openai", "providers")
RESPONSES = FIXTURES / "responses"


def fixture_streams() -> list[Path]:
    """Every recorded chat completion stream in tests/data/fixtures."""
    return sorted(p for p in FIXTURES.glob("*/*.sse") if p.parent.name in CHAT_FIXTURES)


def responses_streams() -> list[Path]:
    """Every recorded Responses API stream in tests/data/fixtures/responses."""
    return sorted(RESPONSES.glob("*.sse"))


def stream_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture(scope="session")
def serve() -> Iterator[Any]:
    """Starts ASGI apps under uvicorn on 127.0.0.1 and returns their base URL."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=5)
