"""Partitions that cannot start because the broker holds their committed offsets as unstable.

A read_committed member asks for its partitions' committed offsets with `require_stable`: while a
transaction that committed offsets for them is still open, the broker answers UNSTABLE_OFFSET_COMMIT and the
client asks again, forever. Normally the transaction ends (committed, aborted, or aborted by the transaction
coordinator after `transaction.timeout.ms`) and the answer comes. After a broker crash it has been seen never
to end: the group coordinator kept a pending offset commit of this service's producer that no transaction
marker cleared, and the partition sat still for minutes.

The group coordinator clears a producer's pending offsets on any transaction marker of that producer id, so
the remedy is one offsets-only transaction of the same producer, aborted (`CommitStrategy.clear_unstable`):
the pending commit is thrown away and nothing else changes.
"""

from __future__ import annotations

from streaming.kafka import TopicPartition


class UnstableOffsetsWatch:
    """Tells when partitions have waited for their committed offsets longer than a transaction can live.

    Parameters
    ----------
    patience_seconds
        How long a partition may wait before it counts as stuck: longer than the producer's transaction
        timeout, after which the broker ends every transaction it still knows.

    >>> watch = UnstableOffsetsWatch(patience_seconds=45.0)
    >>> stuck = {TopicPartition("readings", 1)}
    >>> watch.overdue(stuck, now=100.0), watch.overdue(stuck, now=146.0)
    ([], [TopicPartition(topic='readings', partition=1)])
    >>> watch.overdue(stuck, now=150.0)  # patience starts again after each remedy
    []
    >>> watch.overdue(set(), now=151.0), watch.attempts
    ([], 1)
    """

    def __init__(self, patience_seconds: float) -> None:
        self.patience_seconds = patience_seconds
        #: How many times partitions were found stuck.
        self.attempts = 0
        self._waiting_since: dict[TopicPartition, float] = {}

    def overdue(self, waiting: set[TopicPartition], now: float) -> list[TopicPartition]:
        """The partitions of `waiting` (those still without a position) that waited past the patience; each
        is reported once per patience period."""
        self._waiting_since = {partition: self._waiting_since.get(partition, now) for partition in waiting}
        overdue = sorted(
            (
                partition
                for partition, since in self._waiting_since.items()
                if now - since > self.patience_seconds
            ),
            key=lambda partition: (partition.topic, partition.partition),
        )
        if overdue:
            self.attempts += 1
            for partition in overdue:
                self._waiting_since[partition] = now
        return overdue
