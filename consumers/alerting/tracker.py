"""Which input offsets may be committed: only those every subscriber has finished with.

Each consumed alert gets a ticket that waits for one "done" per subscriber (delivered, rejected, filtered
or dead-lettered). The commit floor of a partition is its lowest offset still waiting; committing up to it,
never past it, is what makes delivery at-least-once while subscribers work at their own pace.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Ticket:
    topic: str
    partition: int
    offset: int


class CommitTracker:
    """Counts outstanding subscriber work per consumed offset. Thread-safe.

    >>> tracker = CommitTracker()
    >>> first, second = tracker.add("alerts", 0, 10, waiting=2), tracker.add("alerts", 0, 11, waiting=2)
    >>> tracker.done(second); tracker.done(second)
    >>> tracker.floors()      # offset 10 still waits for two subscribers
    {('alerts', 0): 10}
    >>> tracker.done(first); tracker.done(first)
    >>> tracker.floors(), tracker.allowed({("alerts", 0): 12})
    ({}, {('alerts', 0): 12})
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        # Offsets per partition arrive in increasing order, so a dict keeps the lowest pending one first.
        self._pending: dict[TopicPartition, dict[int, int]] = {}

    def add(self, topic: str, partition: int, offset: int, waiting: int) -> Ticket:
        ticket = Ticket(topic, partition, offset)
        if waiting <= 0:
            return ticket
        with self._lock:
            self._pending.setdefault((topic, partition), {})[offset] = waiting
        return ticket

    def done(self, ticket: Ticket) -> None:
        with self._lock:
            offsets = self._pending.get((ticket.topic, ticket.partition))
            if offsets is None or ticket.offset not in offsets:
                return  # the partition was revoked meanwhile
            offsets[ticket.offset] -= 1
            if offsets[ticket.offset] <= 0:
                del offsets[ticket.offset]
                if not offsets:
                    del self._pending[(ticket.topic, ticket.partition)]
                    self._idle.notify_all()

    def floors(self) -> dict[TopicPartition, int]:
        """The lowest offset still pending, per partition that has any."""
        with self._lock:
            return {partition: next(iter(offsets)) for partition, offsets in self._pending.items()}

    def allowed(self, proposed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Lower each proposed next-offset-to-commit to the partition's floor."""
        floors = self.floors()
        return {
            partition: min(offset, floors[partition]) if partition in floors else offset
            for partition, offset in proposed.items()
        }

    def pending(self) -> int:
        with self._lock:
            return sum(len(offsets) for offsets in self._pending.values())

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Drop revoked partitions: their new owner redelivers what was pending (receivers dedupe)."""
        with self._lock:
            for partition in partitions:
                self._pending.pop(partition, None)
            if not self._pending:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout=timeout)
