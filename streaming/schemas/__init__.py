"""The core's schemas: the `Event` base every contract extends, the validated codec, dead letters, and the
window aggregates the core's windows emit. Domain events live in the `contracts` package."""

from streaming.schemas.base import EntityId, Event, EventTime, Probability
from streaming.schemas.codec import Codec, EventDecodeError, encode
from streaming.schemas.dead_letter import DeadLetter, DeadLetterReason
from streaming.schemas.window import WindowAggregate

__all__ = [
    "Codec",
    "DeadLetter",
    "DeadLetterReason",
    "EntityId",
    "Event",
    "EventDecodeError",
    "EventTime",
    "Probability",
    "WindowAggregate",
    "encode",
]
