"""``TokenUsage``: one shape for the token counts of every protocol.

Each protocol reports usage in its own object (Chat Completions'
``CompletionUsage``, Responses' ``ResponseUsage``, Anthropic's ``Usage``),
with its own names and its own idea of what "input" includes. A gateway that
meters all three wants one shape; every accumulator's ``token_usage`` and
:class:`~chunkfold.gateway.StreamSummary` give this one, next to the
protocol's own usage object.

Every field is ``None`` where the provider did not report it (never ``0`` by
default), so "not reported" and "zero" stay apart.
"""

from __future__ import annotations

import msgspec

__all__ = ["TokenUsage"]


class TokenUsage(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Token counts of one stream, the same shape for every protocol.

    ``input`` counts every input token, cached or not (Anthropic's own
    ``input_tokens`` excludes the cache: its cache reads and writes are added
    back here); ``cached_input`` and ``cache_creation_input`` are the parts of
    ``input`` read from and written to the prompt cache; ``reasoning`` is the
    part of ``output`` spent on reasoning.
    """

    input: int | None = None
    cached_input: int | None = None
    cache_creation_input: int | None = None
    output: int | None = None
    reasoning: int | None = None
    total: int | None = None
