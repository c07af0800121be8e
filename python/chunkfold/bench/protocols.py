"""The protocols ``chunkfold bench`` times, each with its scenarios, implementations and check.

:data:`PROTOCOLS` is what the runner iterates: OpenAI Chat Completions
(:mod:`chunkfold.bench.corpus`, :mod:`chunkfold.bench.baselines`, LiteLLM's paths
in :mod:`chunkfold.bench.litellm` when it is installed), the OpenAI
Responses API (:mod:`chunkfold.bench.responses`) and Anthropic Messages
(:mod:`chunkfold.bench.anthropic`). Every protocol has a ``feed``
implementation (its accumulator's Rust fast path), which its baselines'
speed-ups are measured against; implementations that do the same job share a
name across protocols (``feed``, ``msgspec``, ``openai``), so they share a
column of the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol as TypingProtocol

from chunkfold.bench import anthropic, baselines, corpus, litellm, responses
from chunkfold.bench.implementation import Implementation

__all__ = [
    "PROTOCOLS",
    "BenchScenarioLike",
    "Protocol",
    "by_scenario",
    "implementation_names",
    "scenario_names",
]


class BenchScenarioLike(TypingProtocol):
    """A scenario of any protocol: a name, a description and a seeded stream."""

    @property
    def name(self) -> str:
        """The scenario's name, unique across protocols."""
        ...

    @property
    def description(self) -> str:
        """What the stream holds."""
        ...

    def stream(self, seed: int = 0) -> Any:
        """The stream (``name``, ``body``, ``chunks`` and what its check needs) for ``seed``."""
        ...


@dataclass(frozen=True, slots=True)
class Protocol:
    """One protocol's scenarios, the implementations timed on them, and its result check."""

    name: str
    scenarios: Mapping[str, BenchScenarioLike]
    implementations: tuple[Implementation, ...]
    """Every implementation, chunkfold's first."""
    limits: tuple[Implementation, ...]
    """Implementations timed only when asked for by name."""
    check: Callable[[Implementation, Any, Any], None]
    """Raises :class:`~chunkfold.bench.implementation.ResultMismatch` for a wrong result."""


#: Every protocol, in the order the table lists them.
PROTOCOLS: tuple[Protocol, ...] = (
    Protocol(
        "chat",
        corpus.SCENARIOS,
        (*baselines.IMPLEMENTATIONS, *litellm.IMPLEMENTATIONS),
        baselines.LIMITS,
        baselines.check,
    ),
    Protocol("responses", responses.SCENARIOS, responses.IMPLEMENTATIONS, (), responses.check),
    Protocol("anthropic", anthropic.SCENARIOS, anthropic.IMPLEMENTATIONS, (), anthropic.check),
)


def scenario_names(protocols: tuple[Protocol, ...] = PROTOCOLS) -> tuple[str, ...]:
    """Every scenario, chat's first."""
    return tuple(name for p in protocols for name in p.scenarios)


def implementation_names(
    protocols: tuple[Protocol, ...] = PROTOCOLS, *, limits: bool = False
) -> tuple[str, ...]:
    """Every implementation name once, in first-seen order (the msgspec limits too if ``limits``)."""
    names = (i.name for p in protocols for i in (*p.implementations, *(p.limits if limits else ())))
    return tuple(dict.fromkeys(names))


def by_scenario(name: str, protocols: tuple[Protocol, ...] = PROTOCOLS) -> Protocol:
    """The protocol a scenario belongs to (``KeyError`` if none)."""
    for protocol in protocols:
        if name in protocol.scenarios:
            return protocol
    raise KeyError(name)
