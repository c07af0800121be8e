"""The stream and scenario shapes the Responses and Anthropic bench scenarios share.

A chat scenario (:class:`chunkfold.bench.corpus.Scenario`) records a whole
:class:`~chunkfold.bench.corpus.Expected` fold; the other protocols' scenarios
record the final result as the provider sends it (a dict), which their checks
compare every implementation's result with.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chunkfold.bench.implementation import Implementation, ResultMismatch, first_difference

__all__ = ["BenchScenario", "BenchStream", "checker", "events_in", "scenarios"]


def events_in(body: bytes) -> int:
    """The number of events (``data:`` lines) in an SSE body."""
    return body.count(b"\ndata: ") + body.startswith(b"data: ")


@dataclass(frozen=True, slots=True)
class BenchStream:
    """A scenario's bytes with the final result a correct fold gives."""

    name: str
    body: bytes
    expected: Any
    """The final response or message as the provider would send it whole (plain JSON values)."""

    @property
    def chunks(self) -> int:
        """The number of events."""
        return events_in(self.body)


@dataclass(frozen=True, slots=True)
class BenchScenario:
    """A named stream: ``build(seed)`` writes its bytes and the result they fold to."""

    name: str
    description: str
    build: Callable[[int], tuple[bytes, Any]]

    def stream(self, seed: int = 0) -> BenchStream:
        """The stream for ``seed`` with its expected result."""
        body, expected = self.build(seed)
        return BenchStream(self.name, body, expected)

    def body(self, seed: int = 0) -> bytes:
        """The stream's bytes for ``seed``."""
        return self.build(seed)[0]


def scenarios(
    build: Callable[..., tuple[bytes, Any]], *specs: tuple[str, str, int, str]
) -> dict[str, BenchScenario]:
    """Scenarios by name from ``(name, kind, events, description)`` specs, each stream
    written by ``build(kind, events, seed=seed)``."""
    return {
        name: BenchScenario(name, description, functools.partial(_build, build, kind, events))
        for name, kind, events, description in specs
    }


def _build(build: Callable[..., tuple[bytes, Any]], kind: str, events: int, seed: int) -> tuple[bytes, Any]:
    return build(kind, events, seed=seed)


def checker(summarize: Callable[[Any], Any]) -> Callable[[Implementation, Any, BenchStream], None]:
    """A protocol's check: raises :class:`~chunkfold.bench.implementation.ResultMismatch`
    unless ``summarize(result)`` equals ``summarize`` of what the stream recorded."""

    def check(implementation: Implementation, result: Any, stream: BenchStream) -> None:
        got, want = summarize(result), summarize(stream.expected)
        if got != want:
            raise ResultMismatch(f"{implementation.name} on {stream.name}: {first_difference(got, want)}")

    return check
