"""What every event schema shares: a version field and validated decoding."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

#: Event times are epoch seconds. The bounds reject garbage such as milliseconds sent as seconds.
EventTime = Annotated[float, msgspec.Meta(ge=946_684_800.0, le=4_102_444_800.0)]
#: Identifiers are short printable strings: they become Kafka keys.
EntityId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class Event(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=False):
    """Base of every event. `schema_version` travels on the wire; decoders refuse versions they don't know.

    >>> class Ping(Event):
    ...     name: str
    >>> Ping(name="a").schema_version
    1
    """

    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1})

    schema_version: int = 1

    def entity_key(self) -> str:
        """The Kafka key: the id of the entity the event is about."""
        raise NotImplementedError
