"""Which partitions this member owns, how far it has read each, and what it has committed."""

from __future__ import annotations

from streaming.kafka import TopicPartition
from streaming.metrics import REBALANCES


class RebalanceTracker:
    """Bookkeeping of assignment and progress, shared by the loop, the commit strategy and lag.

    The rebalance callbacks run on the consumer's IO thread inside `poll()`: they only record what
    changed; restores run later in the main loop (`take_pending`).

    Parameters
    ----------
    service
        The metrics label.

    >>> tracker = RebalanceTracker("doc")
    >>> tp = TopicPartition("t", 0)
    >>> tracker.assigned_now([tp]); tracker.advance(tp, 10)
    >>> tracker.uncommitted(tracker.owned_positions()), tracker.take_pending()
    ({TopicPartition(topic='t', partition=0): 10}, [TopicPartition(topic='t', partition=0)])
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.assigned: set[TopicPartition] = set()
        self.positions: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self._pending: list[TopicPartition] = []

    def assigned_now(self, partitions: list[TopicPartition]) -> None:
        REBALANCES.labels(self.service, "assigned").inc(len(partitions))
        self.assigned.update(partitions)
        self._pending.extend(partitions)

    def revoked_now(self, partitions: list[TopicPartition], lost: bool) -> None:
        REBALANCES.labels(self.service, "lost" if lost else "revoked").inc(len(partitions))
        for partition in partitions:
            self.assigned -= {partition}
            self.positions.pop(partition, None)
            self.committed.pop(partition, None)

    def take_pending(self) -> list[TopicPartition]:
        """Newly assigned partitions (still owned) whose state must be restored before their records."""
        pending, self._pending = self._pending, []
        return [partition for partition in pending if partition in self.assigned]

    def advance(self, partition: TopicPartition, next_offset: int) -> None:
        self.positions[partition] = next_offset

    def owned_positions(self) -> dict[TopicPartition, int]:
        return {
            partition: offset for partition, offset in self.positions.items() if partition in self.assigned
        }

    def uncommitted(self, offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """`offsets` without those already committed."""
        return {
            partition: offset
            for partition, offset in offsets.items()
            if self.committed.get(partition) != offset
        }

    def mark_committed(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)

    def restart(self, partitions: list[TopicPartition]) -> None:
        """Forget progress on `partitions` and restore them again, as after a failed commit."""
        for partition in partitions:
            self.positions.pop(partition, None)
            self.committed.pop(partition, None)
        REBALANCES.labels(self.service, "commit_failed").inc()
        self._pending.extend(partitions)
