"""What every implementation ``chunkfold bench`` times shares, whatever its protocol.

An :class:`Implementation` is a function from a list of reads (the ``bytes`` a
socket returned) to its native result, and how to load it; a protocol's check
raises :class:`ResultMismatch` when a result differs from what its corpus
recorded, using :func:`plain` and :func:`first_difference`.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

__all__ = [
    "Implementation",
    "Kind",
    "Reads",
    "ResultMismatch",
    "Run",
    "feed_all",
    "first_difference",
    "plain",
    "traced_peak",
]

Reads = list[bytes]
Run = Callable[[Reads], Any]
Kind = Literal["sse", "chunks", "fold", "logprobs"]


class ResultMismatch(AssertionError):
    """An implementation's result differs from what the corpus recorded."""


@dataclass(frozen=True, slots=True)
class Implementation:
    """One way to read a stream, and how to load it."""

    name: str
    label: str
    kind: Kind
    baseline: bool
    packages: tuple[str, ...]
    """The PyPI packages it needs beyond chunkfold's own dependencies."""
    make: Callable[[], Run]
    """Imports what it needs and returns the run function; its docstring describes it."""
    scenarios: tuple[str, ...] | None = None
    """The only scenarios it applies to (``None``: all)."""
    check: Callable[[Implementation, Any, Any], None] | None = None
    """Its own result check, used instead of its protocol's (``None``: the protocol's)."""
    memory: bool = False
    """Whether the runner also measures its memory per stream (:func:`traced_peak`)."""

    @property
    def description(self) -> str:
        """What the implementation does, from its loader's docstring."""
        return (self.make.__doc__ or self.label).strip().rstrip(".")

    def load(self) -> Run:
        """Imports what the implementation needs and returns its run function.

        Raises ``ImportError`` naming the packages to install if one is missing.
        """
        try:
            return self.make()
        except ImportError as exc:
            need = " ".join(self.packages)
            raise ImportError(f"{self.name} needs {need} (pip install {need}): {exc}") from exc


def plain(obj: Any) -> Any:
    """Builtins for Structs (as they encode: OpenAI's fields included, absent
    extensions left out), pydantic models (extras included) and containers."""
    if isinstance(obj, msgspec.Struct):
        return msgspec.to_builtins(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="python")
    if isinstance(obj, dict):
        return {key: plain(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(item) for item in obj]
    return obj


def first_difference(got: Any, want: Any, path: str = "") -> str:
    """Where ``got`` first differs from ``want``, as ``path: got ..., expected ...``."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(want.keys() | got.keys()):
            if got.get(key) != want.get(key):
                return first_difference(got.get(key), want.get(key), f"{path}.{key}")
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if g != w:
                return first_difference(g, w, f"{path}[{i}]")
    return f"{path or 'result'}: got {_excerpt(got)}, expected {_excerpt(want)}"


def _excerpt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def feed_all(accumulator: Callable[[], Any], reads: Reads) -> Any:
    """Feeds every read to a new ``accumulator()`` and returns its ``finish()``: what every
    protocol's ``feed`` implementation times."""
    acc = accumulator()
    feed = acc.feed
    for read in reads:
        feed(read)
    return acc.finish()


def traced_peak(fn: Callable[[Reads], Any], reads: Reads) -> int:
    """tracemalloc's peak during one ``fn(reads)``, in bytes above what was traced before
    the call: the Python heap only (memory a Rust extension allocates is not seen)."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn(reads)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        if not tracing:
            tracemalloc.stop()
