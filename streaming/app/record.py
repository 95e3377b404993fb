"""The metadata of a consumed record, handed to handlers beside the decoded event."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """Where a record came from, and its raw bytes (kept for dead letters and the late topic).

    >>> record = Record("t", partition=0, offset=7, key=b"m-1", value=b"{}", timestamp_ms=1_700_000_000_000)
    >>> record.event_time
    1700000000.0
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def event_time(self) -> float:
        """The Kafka timestamp in seconds. Producers here set it to the event time."""
        return self.timestamp_ms / 1000.0
