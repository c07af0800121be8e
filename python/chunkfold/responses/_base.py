"""Shared Struct options and the two catch-alls, ``UnknownEvent`` and ``UnknownItem``."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["UNKNOWN_TAG", "UnknownEvent", "UnknownItem"]

#: The tag the catch-alls carry inside a tagged union. No provider sends it:
#: the decoder builds them directly from an event or item whose ``type`` no
#: Struct knows, and :func:`~chunkfold.responses.models.to_json` writes them
#: back as the JSON they came from.
UNKNOWN_TAG = "chunkfold.unknown"


class _Model(msgspec.Struct, kw_only=True, omit_defaults=False, gc=False, repr_omit_defaults=True):
    """Shared Struct options: fields the SDK marks optional default to
    ``UNSET`` and stay absent when encoded; required ones are always written."""


class _Tagged(_Model, tag_field="type"):
    """A Struct told apart by its ``type`` field."""

    @property
    def type(self) -> str:
        """The ``type`` field: msgspec keeps it as the class's tag."""
        tag = self.__struct_config__.tag
        return tag if isinstance(tag, str) else ""


class UnknownEvent(_Tagged, tag=UNKNOWN_TAG):
    """A stream event of a type no Struct here knows (a proxy's ``ping``, a
    newer API's event): its ``type`` and the whole payload, never an error."""

    event_type: str
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def type(self) -> str:
        """The event's ``type`` as the stream gave it."""
        return self.event_type

    @property
    def sequence_number(self) -> int | None:
        """The event's ``sequence_number``, if it carried an integer one."""
        value = self.raw.get("sequence_number")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class UnknownItem(_Tagged, tag=UNKNOWN_TAG):
    """An output item of a type no Struct here knows: its ``type`` and the
    whole item object, never an error."""

    item_type: str
    raw: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def type(self) -> str:
        """The item's ``type`` as the stream gave it."""
        return self.item_type

    @property
    def id(self) -> str | None:
        """The item's ``id``, if it carried a string one."""
        value = self.raw.get("id")
        return value if isinstance(value, str) else None
