"""What a simulator hands to the producer loop: one Kafka record, ready to send."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class OutgoingRecord:
    """One record for a catalog topic (`topic` is the logical name, e.g. `sensor_readings`).

    `events` is how many events it carries (readings of a sensor batch, 1 for a transaction or label);
    `due_time` is the event time at which it exists in the simulated world, so the clock pacer sends it
    then; `kind` tells fresh records from injected faults.

    >>> OutgoingRecord("labels", b"m-1", b"{}", 1_700_000_000_000, events=1, due_time=1.7e9).kind
    'event'
    """

    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int
    events: int
    due_time: float
    kind: str = "event"
